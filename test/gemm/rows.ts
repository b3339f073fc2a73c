// GEMM rows for the chart and model-curve tests: fp32 K = N = 64 swept at M = 1, 2, 4 on
// tensorflow, and one bf16 row of another device.
import type { GemmRow } from '../../lib/gemm/index.js';

/** A swept K = N = 64 row at M with `seconds` as its median (p10 0.9×, p90 1.2×). */
export function gemmTestRow(m: number, seconds: number, extra: Partial<GemmRow> = {}): GemmRow {
  const flops = 2 * m * 64 * 64;
  return {
    case: 'sweep', variant: 'plain', m, k: 64, n: 64, batch: 1, calls: 1, dtype: 'fp32', backend: 'tensorflow', device: 'cpu', host: 'h', versions: '',
    timestamp: '', sync: 'return', warmup: 1, reps: 5, median_s: seconds, p10_s: seconds * 0.9, p90_s: seconds * 1.2, mean_s: seconds, cv: 0.1,
    flops, bytes: 0, weight_bytes: 64 * 64 * 4, gflops: flops / seconds / 1e9, weight_gbps: 0, detail: '', ...extra,
  };
}

export const gemmTestRows: GemmRow[] = [gemmTestRow(4, 2e-5), gemmTestRow(1, 1e-5), gemmTestRow(2, 1.5e-5), gemmTestRow(1, 5e-6, { backend: 'torch', device: 'NVIDIA H200', dtype: 'bf16' })];

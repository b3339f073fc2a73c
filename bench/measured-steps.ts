// Whole Llama-3.1-8B steps timed on one NVIDIA H200 (bench/gpu/kernel_tables.py, CUDA-graph
// replays) beside stepTime priced from the kernel tables measured in the same run
// (data/examples/measured/kernels, framework 'torch'). Nothing is fitted to the steps.
// 'core' steps run the GEMMs and attention alone and are set against the sum of their rows;
// 'full' steps run every kernel of eager PyTorch, whose other kernels (norms, rotary, KV
// writes, residual adds, activation, and in FP8 the activation quantization) the profiler
// counts and stepTime prices at the calibration's graph-kernel cost plus their modelled bytes.
//   node --import tsx bench/measured-steps.ts [--steps FILE --kernel-db DIR --framework NAME --hardware ID]
import { compareMeasuredSteps, readMeasuredSteps } from '../lib/roofline/measured-steps.js';
import { loadKernelDb } from '../lib/kernels/load.js';

const flag = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};
const steps = flag('--steps', 'data/examples/measured/steps-h200_sxm-torch-2.11.0.csv');
const rows = compareMeasuredSteps(readMeasuredSteps(steps), loadKernelDb(flag('--kernel-db', 'data/examples/measured/kernels')), flag('--framework', 'torch'), flag('--hardware', 'h200'));
const table = [['phase', 'variant', 'dtype', 'batch', 'tokens', 'context', 'measured ms (p10–p90)', 'predicted ms', 'error', 'other kernels']];
for (const r of rows) {
  const s = r.step;
  table.push([s.phase, s.variant, s.dtype, String(s.batch), String(s.tokens), String(s.context), `${(s.seconds * 1e3).toFixed(2)} (${(s.p10Seconds * 1e3).toFixed(2)}–${(s.p90Seconds * 1e3).toFixed(2)})`, (r.predictedSeconds * 1e3).toFixed(2), `${r.error >= 0 ? '+' : ''}${(r.error * 100).toFixed(1)} %`, s.otherKernels ? `${s.otherKernels} (${((s.otherKernelSeconds! / s.otherKernels) * 1e6).toFixed(2)} µs each, measured)` : '-']);
}
const w = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
for (const r of table) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
console.log(`\n${steps}: measured steps; predicted = stepTime from the kernel tables ('core': the GEMM and attention rows' sum; 'full': the whole step with the profiled other-kernel count)`);
for (const [label, variant, phase, dtype] of [
  ['core (GEMMs and attention alone)', 'core', undefined, undefined],
  ['full bf16 decode', 'full', 'decode', 'bf16'],
  ['full bf16 prefill', 'full', 'prefill', 'bf16'],
  ['full fp8 decode', 'full', 'decode', 'fp8'],
] as const) {
  const e = rows.filter((r) => r.step.variant === variant && (phase === undefined || r.step.phase === phase) && (dtype === undefined || r.step.dtype === dtype)).map((r) => r.error);
  if (e.length) console.log(`${label}: ${e.length} steps, error ${(Math.min(...e) * 100).toFixed(1)} … ${(Math.max(...e) * 100).toFixed(1)} %`);
}

// Whole Llama-3.1-8B steps timed on one NVIDIA H200 (bench/gpu/kernel_tables.py, CUDA-graph
// replays) beside stepTime priced from the kernel tables measured in the same run
// (data/examples/measured/kernels, framework 'torch'). Nothing is fitted to the steps.
// 'core' steps run the GEMMs and attention alone and are set against the sum of their rows;
// 'full' steps run every kernel of eager PyTorch, whose other kernels (norms, rotary, KV
// writes, residual adds, activation, and in FP8 the activation quantization) the profiler
// counts and stepTime prices at the calibration's graph-kernel cost plus their modelled bytes.
//   node --import tsx bench/measured-steps.ts [--steps FILE --kernel-db DIR --framework NAME --hardware ID]
import { measuredStepsCheck, measuredStepsSummary, SHIPPED_GPU_STEPS } from '../lib/roofline/measured-steps.js';
import { batchlabDataDir, projectRelativePath } from '../lib/util/package-root.js';
import { defaultKernelDb, loadKernelDb } from '../lib/kernels/load.js';
import { kernelTableAgreement } from '../lib/kernels/compare.js';
import type { KernelOp } from '../lib/kernels/schema.js';

const flag = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};
const steps = flag('--steps', batchlabDataDir(SHIPPED_GPU_STEPS.steps));
const kernelDb = flag('--kernel-db', batchlabDataDir(SHIPPED_GPU_STEPS.kernelDb));
const framework = flag('--framework', SHIPPED_GPU_STEPS.framework);
const own = loadKernelDb(kernelDb);
const rows = measuredStepsCheck({ steps, kernelDb, framework, hardware: flag('--hardware', SHIPPED_GPU_STEPS.hardware) });
const table = [['phase', 'variant', 'dtype', 'batch', 'tokens', 'context', 'measured ms (p10–p90)', 'predicted ms', 'error', 'other kernels']];
for (const r of rows) {
  const s = r.step;
  table.push([s.phase, s.variant, s.dtype, String(s.batch), String(s.tokens), String(s.context), `${(s.seconds * 1e3).toFixed(2)} (${(s.p10Seconds * 1e3).toFixed(2)}–${(s.p90Seconds * 1e3).toFixed(2)})`, (r.predictedSeconds * 1e3).toFixed(2), `${r.error >= 0 ? '+' : ''}${(r.error * 100).toFixed(1)} %`, s.otherKernels ? `${s.otherKernels} (${((s.otherKernelSeconds! / s.otherKernels) * 1e6).toFixed(2)} µs each, measured)` : '-']);
}
const w = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
for (const r of table) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
console.log(`\n${projectRelativePath(steps)}: measured steps; predicted = stepTime from the kernel tables ('core': the GEMM and attention rows' sum; 'full': the whole step with the profiled other-kernel count)`);
for (const g of measuredStepsSummary(rows)) console.log(`${g.label}: ${g.steps} steps, error ${(g.minError * 100).toFixed(1)} … ${(g.maxError * 100).toFixed(1)} %`);

// The shipped tables (aiconfigurator's collectors) against this GPU's own on the shapes both measured.
const device = flag('--device', 'h200_sxm');
console.log(`\nshipped data/kernels ${device} rows over ${framework}'s rows of the same shapes (ratio < 1: the shipped kernel is faster; exact shapes only)`);
const agree = [['op', 'dtype', 'framework', 'shapes', 'median', 'p10', 'p90']];
for (const [op, dtype] of [['gemm', 'bf16'], ['gemm', 'fp8'], ['context_attention', 'bf16'], ['generation_attention', 'bf16']] as Array<[KernelOp, string]>) {
  const mine = own.table(device, framework, op);
  if (!mine) continue;
  for (const fw of ['trtllm', 'vllm', 'sglang']) {
    const theirs = defaultKernelDb().table(device, fw, op);
    if (!theirs) continue;
    const a = kernelTableAgreement(theirs, mine, (d) => d.dtype === dtype && (d.kv_dtype === undefined || d.kv_dtype === dtype));
    if (a.median !== undefined) agree.push([op, dtype, `${fw} ${theirs.version}`, String(a.pairs.length), a.median.toFixed(3), a.p10!.toFixed(3), a.p90!.toFixed(3)]);
  }
}
const aw = agree[0].map((_, i) => Math.max(...agree.map((r) => r[i].length)));
for (const r of agree) console.log(r.map((c, i) => c.padEnd(aw[i])).join('  '));

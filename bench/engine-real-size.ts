// The engine at real size on this machine: the full Llama-3.2-1B (1.24 B parameters,
// seeded float32 weights) decoding batches of 1, 8 and 32 sequences, beside the
// kernel-table prediction for this machine, with the process's peak memory.
//   node --import tsx bench/engine-real-size.ts [--rounds 5] [--prompt 16] [--long-prompt 1000]
// --long-prompt N ends the run with one prompt of N tokens and prints the peak RSS it adds.
// measureEngineVsLocal (lib/server/realsize.ts) measures this machine's kernels in the
// same run as the engine (the engine's GEMMs on its own weights at m = batch, its own
// attention; rounds interleaved with the engine's steps, as the machine is shared),
// writes them as kernel-database rows (data/measured/engine-kernels/) and predicts
// each step with stepTime over those rows.
// Targets (issue #23): every prediction within 15 % of the measured tokens/s; peak RSS
// within weights + KV + 2 GiB. Uses about 6 GB of memory: never run two at once.
import { cpus, loadavg, totalmem } from 'node:os';
import { measureEngineVsLocal } from '../lib/server/realsize.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
const span = (r: [number, number], d = 2): string => `${r[0].toFixed(d)}–${r[1].toFixed(d)}`;
console.log(`engine at real size; ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${gib(totalmem())} RAM, Node ${process.version}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const t0 = performance.now();
const r = await measureEngineVsLocal({ batches: [1, 8, 32], rounds: arg('--rounds', 5), prompt: arg('--prompt', 16), longPrompt: arg('--long-prompt', 0), log: (l) => console.log(l) });
const m0 = r.machine;
console.log(`kernel rows (measured in this run, median of rounds; fastest–slowest round) -> ${m0.kernelTable ?? 'memory'}:`);
for (const k of m0.kernels) {
  const d = k.op === 'gemm' ? `m=${k.dims.m} n=${k.dims.n} k=${k.dims.k}` : `batch=${k.dims.batch} context=${k.dims.context}`;
  console.log(`  ${k.name.padEnd(17)} ${d.padEnd(26)} ${(k.seconds * 1e3).toFixed(3).padStart(8)} ms (${span([k.range[0] * 1e3, k.range[1] * 1e3], 3)}) × ${k.callsPerStep}`);
}
console.log(`weight streaming ${(m0.bytesPerSecond / 1e9).toFixed(2)} GB/s (one-row GEMMs, measured); other kernels ${r.rows.map((x) => `${(x.kernelSeconds * 1e6).toFixed(1)} µs at batch ${x.batch}`).join(', ')} (mean kernel time of the step's other kernels in a profiled step, measured)`);
console.log('\n batch | measured tok/s (rounds) | kernel-table prediction tok/s (rounds) | error of medians | paired by round: median (lowest…highest) | predicted step: gemm + attention + elementwise + launch');
const pct = (e: number): string => `${e >= 0 ? '+' : ''}${(100 * e).toFixed(1)} %`;
let worst = 0;
let worstPaired = 0;
for (const x of r.rows) {
  worst = Math.max(worst, Math.abs(x.error));
  worstPaired = Math.max(worstPaired, Math.abs(x.roundErrors[1]));
  const b = x.breakdown;
  const ms = (s: number): string => (s * 1e3).toFixed(1);
  console.log(
    ` ${String(x.batch).padStart(5)} | ${x.measuredTokensPerSecond.toFixed(2).padStart(7)} (${span(x.measuredTokensPerSecondRange)}) | ${x.predictedTokensPerSecond.toFixed(2).padStart(7)} (${span(x.predictedTokensPerSecondRange)}) | ${(100 * x.error).toFixed(1).padStart(5)} % | ${pct(x.roundErrors[1])} (${pct(x.roundErrors[0])}…${pct(x.roundErrors[2])}) | ` +
      `${ms(x.measuredStepSeconds)} ms measured, ${ms(x.predictedStepSeconds)} ms = ${ms(b.gemm)} + ${ms(b.attention)} + ${ms(b.elementwise)} + ${ms(b.launch)} (${x.kernels} kernels, ${x.auxiliaryKernels} besides GEMMs and attention; ${x.limitedBy}-bound)`,
  );
}
console.log(`\nbatch ${r.batchCost.batch} step / batch 1 step: ${r.batchCost.measured.toFixed(2)}× measured, ${r.batchCost.predicted.toFixed(2)}× predicted (for ${r.batchCost.batch}× the tokens)`);
const m = r.memory;
if (r.longPrompt) console.log(`one prompt of ${r.longPrompt.tokens} tokens: ${r.longPrompt.seconds.toFixed(1)} s; peak RSS ${gib(r.longPrompt.peakRssBefore)} before it, ${gib(r.longPrompt.peakRssAfter)} after (measured)`);
console.log(`peak RSS ${gib(m.peakRssBytes)} (measured, whole run) against weights ${gib(m.weightBytes)} + KV ${gib(m.kvBytes)} + 2 GiB = ${gib(m.budgetBytes)}: ${m.peakRssBytes <= m.budgetBytes ? 'within' : 'OVER'} (ratio ${(m.peakRssBytes / m.budgetBytes).toFixed(2)})`);
console.log(`worst kernel-table prediction error ${(100 * worst).toFixed(1)} % of the medians, ${(100 * worstPaired).toFixed(1)} % paired by round (target ≤ 15 %): ${worst <= 0.15 ? 'met' : 'NOT met'} / ${worstPaired <= 0.15 ? 'met' : 'NOT met'}; ${((performance.now() - t0) / 1000).toFixed(0)} s in all; load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

// SLO-driven deployment search speed: a 10,000-configuration grid (5 GPUs × 4 layouts ×
// 2 precisions × 250 decode batches of Llama-3.1-70B) evaluated in full (brute force
// and Pareto frontier) and searched (configurations whose TTFT fails skipped whole), with the
// datasheet roofline and with the calibrated performance model.
//   node --import tsx bench/deployment-search.ts
// Target (issue #15): ≤ 60 s for the 10,000 configurations on 2 cores. Times are wall
// clock on a machine other processes may share; the ratio of search to brute force is
// measured within one run.
import { cpus, hostname, loadavg } from 'node:os';
import { loadHardware } from '../lib/hardware/index.js';
import { loadModel } from '../lib/models/index.js';
import { calibratedStepModel, candidateLayouts, cheapestByBruteForce, deploymentFrontier, evaluateSearchSpace, rooflineDeviceStepModel, searchCheapestDeployment, searchSpaceSize, uniformPrecision } from '../lib/deployment/index.js';
import type { SearchSpace, StepModelFactory } from '../lib/deployment/index.js';
import { formatUsd } from '../lib/util/money.js';
import { sampledRoutingLoadFactor, uniformRoutingLoadFactor } from '../lib/roofline/routing.js';

const model = loadModel('llama-3.1-70b');
const base: SearchSpace = {
  model,
  hardware: ['a100-80gb', 'h100-sxm', 'h200', 'b200', 'mi300x'].map((id) => loadHardware(id)),
  layouts: candidateLayouts(model),
  precisions: [uniformPrecision('bf16'), uniformPrecision('fp8')],
  batches: Array.from({ length: 250 }, (_, i) => (i + 1) * 2),
  load: { requestsPerSecond: 50, promptTokens: 2000, outputTokens: 500 },
};
const slo = { ttftSeconds: 1, tpotSeconds: 0.04 };
console.log(`deployment search; ${hostname()}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), load average ${loadavg()[0].toFixed(2)}, Node ${process.version}`);
console.log(`grid: ${searchSpaceSize(base)} configurations; SLO TTFT ≤ ${slo.ttftSeconds} s, TPOT ≤ ${slo.tpotSeconds * 1e3} ms`);
const roofline: StepModelFactory = (m, h, l, p) => rooflineDeviceStepModel(m, h, l, p);
let worst = 0;
for (const [name, stepModel] of [['datasheet roofline', roofline], ['calibrated performance model', calibratedStepModel]] as const) {
  const space = { ...base, stepModel };
  let t = performance.now();
  const all = evaluateSearchSpace(space);
  const frontier = deploymentFrontier(all);
  const fullS = (performance.now() - t) / 1000;
  t = performance.now();
  const brute = cheapestByBruteForce(space, slo);
  const bruteS = (performance.now() - t) / 1000;
  t = performance.now();
  const { best, evaluated } = searchCheapestDeployment(space, slo);
  const searchS = (performance.now() - t) / 1000;
  worst = Math.max(worst, fullS, bruteS);
  console.log(`\n${name}:`);
  console.log(`  all ${all.length} configurations + frontier (${frontier.length} points): ${fullS.toFixed(2)} s (${((fullS / all.length) * 1e6).toFixed(0)} µs each)`);
  console.log(`  brute-force optimum: ${bruteS.toFixed(2)} s; search: ${searchS.toFixed(3)} s over ${evaluated} points (${(bruteS / searchS).toFixed(1)}× brute force's speed)`);
  console.log(`  optimum ${best ? `${best.hardware}, layout ${best.layout}, precision ${best.precision}, batch ${best.batch}, ${formatUsd(best.usdPerMillionOutput)}/M output at ${(100 * best.utilisation).toFixed(0)} % utilisation` : 'none'}; brute force ${brute?.index === best?.index ? 'agrees' : 'DISAGREES'}`);
}
console.log(`\nslowest full evaluation: ${worst.toFixed(2)} s for 10,000 configurations (target ≤ 60 s on 2 cores): ${worst <= 60 ? 'met' : 'missed'}`);

// EPLB's load factor (issue 22): a step priced under expertRouting 'eplb' asks the placement model's factor at
// its own tokens. The step sizes below are the distinct ones `deploy --model deepseek-v3 --hardware h200 --tp 1
// --dp 32 --ep 32 --redundant 32 --eplb --batch 64 --simulate --rate 2 --requests 200` asked (recorded from that run),
// those up to 132,640 tokens: one exact draw each (sampledRoutingLoadFactor) against the grid of
// uniformRoutingLoadFactor, each on its own seed so that neither reads the other's cached draws.
const dsv3 = loadModel('deepseek-v3');
const eplbLayout = { expertParallel: 32, redundantExperts: 32 };
const stepTokens = [32, 64, 224, 256, 768, 2048, 65536, 67552, 132640];
let t0 = performance.now();
const exact = stepTokens.map((t) => sampledRoutingLoadFactor(dsv3, eplbLayout, t, 11));
const exactS = (performance.now() - t0) / 1000;
t0 = performance.now();
const grid = stepTokens.map((t) => uniformRoutingLoadFactor(dsv3, eplbLayout, t, 11 + 1));
const gridS = (performance.now() - t0) / 1000;
const gridOnSame = stepTokens.map((t) => uniformRoutingLoadFactor(dsv3, eplbLayout, t, 11));
const diff = Math.max(...gridOnSame.map((g, i) => Math.abs(g / exact[i] - 1)));
console.log(`\nEPLB load factor over ${stepTokens.length} step sizes (32 to 132,640 tokens, EP32 with 32 copies): exact sampling ${exactS.toFixed(2)} s, grid ${gridS.toFixed(2)} s (${(exactS / gridS).toFixed(1)}× faster), largest relative difference ${(100 * diff).toFixed(2)} % (grid against exact, seed 11)`);

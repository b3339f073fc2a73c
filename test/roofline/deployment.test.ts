import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadHardware } from '../../lib/hardware/index.js';
import { loadModel, modelStepOps, paramCounts, kvCacheBytesPerSequence } from '../../lib/models/index.js';
import { stepTime as stepTimeOf, stepTimer as stepTimerOf, perfStepCost as perfStepCostOf, memoryFit, maxBatchThatFits, rooflineStepCost, residualStreamDtype, pricingFramework } from '../../lib/roofline/index.js';
import type { PerfConfig } from '../../lib/roofline/index.js';

// These tests are the performance model's: without a framework of their own they price with it alone
// (framework null), not with the default engine's kernel tables a configuration naming none takes.
const alone = (c: PerfConfig): PerfConfig => ({ framework: null, ...c });
const stepTime: typeof stepTimeOf = (m, h, c, w) => stepTimeOf(m, h, alone(c), w);
const stepTimer: typeof stepTimerOf = (m, h, c) => stepTimerOf(m, h, alone(c));
const perfStepCost: typeof perfStepCostOf = (m, h, c) => perfStepCostOf(m, h, alone(c));
import { InputError } from '../../lib/util/errors.js';

const h100 = loadHardware('h100-sxm');
const h800 = loadHardware('h800');
const a100 = loadHardware('a100-80gb');
const llama = loadModel('llama-3.1-70b');
const ds = loadModel('deepseek-v3');
const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
const spec: PerfConfig = { precision: 'bf16', efficiency: 'spec', checkMemory: false };

test('stepTime(TP-1, one dtype, spec efficiency) is the datasheet roofline: Σ max(FLOPs/peak, bytes/bandwidth) over the ops', () => {
  for (const [model, work] of [
    [llama, { prefillTokens: 512, decodeTokens: 24, contextTokens: 24 * 1500 }],
    [ds, { prefillTokens: 2048, decodeTokens: 64, contextTokens: 64 * 4096, prefillSequences: 2 }],
  ] as const) {
    // Closed form from the op list alone (989.5e12 FLOP/s and 3.35e12 B/s: H100 SXM datasheet, bf16 dense).
    let expected = 0;
    for (const op of modelStepOps(model, { ...work, dtype: 'bf16' })) expected += Math.max(op.flops / 989.5e12, op.bytes / 3.35e12);
    const t = stepTime(model, h100, spec, work);
    assert.ok(rel(t.seconds, expected) < 1e-12, `${model.id}: ${t.seconds} vs ${expected}`);
    assert.equal(t.breakdown.communicationSeconds, 0);
    assert.equal(t.breakdown.launchSeconds, 0);
    assert.equal(t.breakdown.elementwiseSeconds, 0);
    assert.equal(t.seconds, t.intervalSeconds);
  }
  // rooflineStepCost is that configuration.
  const w = { prefillTokens: 0, decodeTokens: 32, contextTokens: 32 * 2000 };
  assert.equal(rooflineStepCost(llama, h100, { dtype: 'bf16' })(w), stepTime(llama, h100, spec, w).seconds);
});

test('stepTime() is non-decreasing in batch and context, and its compute non-increasing in devices', () => {
  const cfg: PerfConfig = { precision: { weights: 'fp8', activations: 'bf16' }, parallelism: { tp: 8 } };
  let prev = 0;
  for (const b of [1, 2, 8, 32, 128, 512]) {
    const t = stepTime(llama, h100, cfg, { prefillTokens: 0, decodeTokens: b, contextTokens: b * 2048 }).seconds;
    assert.ok(t >= prev, `batch ${b}`);
    prev = t;
  }
  prev = 0;
  for (const c of [0, 128, 1024, 8192, 32768]) {
    const t = stepTime(llama, h100, cfg, { prefillTokens: 0, decodeTokens: 16, contextTokens: 16 * c }).seconds;
    assert.ok(t >= prev, `context ${c}`);
    prev = t;
  }
  let prevCompute = Infinity;
  let prevMemory = Infinity;
  for (const tp of [1, 2, 4, 8]) {
    const c: PerfConfig = { precision: 'fp8', parallelism: { tp }, checkMemory: false };
    const t = stepTime(llama, h100, c, { prefillTokens: 0, decodeTokens: 64, contextTokens: 64 * 4096 });
    assert.ok(t.breakdown.computeSeconds <= prevCompute, `tp ${tp}`);
    prevCompute = t.breakdown.computeSeconds;
    const m = memoryFit(llama, h100, c, { batch: 64, context: 4096 }).totalBytes;
    assert.ok(m < prevMemory, `memory at tp ${tp}`);
    prevMemory = m;
  }
  // Expert parallelism: more devices, less expert work on the busiest one.
  let prevGemm = Infinity;
  for (const n of [8, 16, 32, 64]) {
    const t = stepTime(ds, h800, { precision: 'fp8', parallelism: { dp: n, ep: n }, checkMemory: false }, { prefillTokens: 0, decodeTokens: 128 * n, contextTokens: 128 * n * 4096 });
    assert.ok(t.breakdown.gemmSeconds <= prevGemm * (1 + 1e-9), `ep ${n}`);
    prevGemm = t.breakdown.gemmSeconds;
  }
});

test('stepTime() refuses a deployment that does not fit, saying by how much; memoryFit() adds weights, KV and activations', () => {
  const work = { prefillTokens: 0, decodeTokens: 1, contextTokens: 4096 };
  assert.throws(
    () => stepTime(ds, h100, { precision: 'fp8' }, work),
    // 80 GiB per H100 (data/hardware/h100-sxm.json) = 85.9 GB, the unit the message prints.
    (e: unknown) => e instanceof InputError && e.field === 'memory' && /does not fit/.test(e.message) && /more than its 85\.9 GB/.test(e.message),
  );
  const fit = memoryFit(ds, h100, { precision: 'fp8' }, { batch: 1, context: 4096 });
  // Weights: every parameter at 1 byte (fp8) on one device; KV: the MLA latent of one 4096-token sequence in fp8.
  assert.equal(fit.weightBytes, paramCounts(ds).total);
  assert.equal(fit.kvCacheBytes, kvCacheBytesPerSequence(ds, 'fp8', 4096));
  assert.ok(rel(-fit.headroomBytes, fit.totalBytes - 80 * 2 ** 30) < 1e-12);
  assert.match(fit.message, new RegExp(`${((fit.totalBytes - 80 * 2 ** 30) / 1e9).toFixed(1)} GB more`));
  // Spread over 32 devices with expert parallelism it fits.
  assert.ok(memoryFit(ds, h100, { precision: 'fp8', parallelism: { dp: 32, ep: 32 } }, { batch: 32 * 128, context: 4096 }).fits);
});

test('maxBatchThatFits() is the last batch memoryFit() accepts', () => {
  const cfg: PerfConfig = { precision: { weights: 'fp8', kvCache: 'bf16', activations: 'bf16' }, parallelism: { tp: 2 } };
  const b = maxBatchThatFits(llama, loadHardware('h200'), cfg, 4096);
  assert.ok(b > 0);
  assert.ok(memoryFit(llama, loadHardware('h200'), cfg, { batch: b, context: 4096 }).fits);
  assert.ok(!memoryFit(llama, loadHardware('h200'), cfg, { batch: b + 1, context: 4096 }).fits);
  assert.equal(maxBatchThatFits(ds, h100, { precision: 'bf16' }, 4096), 0);
});

test('precision per tensor class: a wider KV cache costs decode time, an FP8 dispatch half the bytes of a BF16 combine', () => {
  const w = { prefillTokens: 0, decodeTokens: 64, contextTokens: 64 * 8192 };
  const fp8kv = stepTime(llama, h100, { precision: { weights: 'fp8', kvCache: 'fp8', activations: 'bf16' }, parallelism: { tp: 4 } }, w);
  const bf16kv = stepTime(llama, h100, { precision: { weights: 'fp8', kvCache: 'bf16', activations: 'bf16' }, parallelism: { tp: 4 } }, w);
  assert.ok(bf16kv.breakdown.attentionSeconds > 1.5 * fp8kv.breakdown.attentionSeconds);
  assert.equal(bf16kv.breakdown.gemmSeconds, fp8kv.breakdown.gemmSeconds);
  // Datasheet links and no latency: time is bytes over bandwidth, FP8 carrying one FP32 scale per 128 values.
  const ep = stepTime(ds, h800, { precision: { weights: 'fp8', activations: 'bf16', dispatch: 'fp8', combine: 'bf16' }, efficiency: 'spec', parallelism: { dp: 32, ep: 32 }, checkMemory: false },
    { prefillTokens: 0, decodeTokens: 32 * 128, contextTokens: 32 * 128 * 4096 });
  assert.ok(rel(ep.breakdown.combineSeconds / ep.breakdown.dispatchSeconds, 2 / (1 + 4 / 128)) < 1e-12);
});

test('expert parallelism: the busiest device sets the step, and overlap hides what its schedule can: stage by stage in decode, the shorter side in prefill', () => {
  const w = { prefillTokens: 0, decodeTokens: 32 * 128, contextTokens: 32 * 128 * 4096 };
  const base: PerfConfig = { precision: { weights: 'fp8', activations: 'bf16' }, parallelism: { dp: 32, ep: 32 } };
  const even = stepTime(ds, h800, base, w);
  const skew = stepTime(ds, h800, { ...base, parallelism: { dp: 32, ep: 32, expertLoadFactor: 1.5 } }, w);
  assert.ok(skew.seconds > even.seconds);
  const overlapped = stepTime(ds, h800, { ...base, parallelism: { dp: 32, ep: 32, overlap: true } }, w);
  const b = overlapped.breakdown;
  // h800.json sets no overlapEfficiency: the decode schedule (per-expert, low-latency all-to-all) hides what its stages can;
  // the breakdown is of both half micro-batches. The step is at least the longer side and at most both.
  assert.equal(h800.calibration!.overlapEfficiency, undefined);
  assert.ok(rel(overlapped.seconds, b.computeSeconds + b.exposedCommunicationSeconds) < 1e-12);
  assert.ok(overlapped.seconds >= Math.max(b.computeSeconds, b.communicationSeconds) * (1 - 1e-12));
  assert.ok(overlapped.seconds < b.computeSeconds + b.communicationSeconds);
  // DeepSeek's decode at its profiling batch: combine outlasts the core attention beside it, so some communication shows.
  assert.ok(b.exposedCommunicationSeconds > 0);
  // A calibration that measured a loss hides only its share of what the schedule hides.
  const lossy = { ...h800, calibration: { ...h800.calibration!, overlapEfficiency: 0.5 } };
  const half = stepTime(ds, lossy, { ...base, parallelism: { dp: 32, ep: 32, overlap: true } }, w).breakdown;
  assert.ok(rel(half.exposedCommunicationSeconds, 0.5 * b.communicationSeconds + 0.5 * b.exposedCommunicationSeconds) < 1e-12);
  // A prefill step runs prefill's schedule, not decode's, whatever its dispatch: the whole step's shorter side hides.
  const pw = { prefillTokens: 32 * 4096, decodeTokens: 0, contextTokens: 0, prefillSequences: 32 };
  const pre = stepTime(ds, h800, { ...base, checkMemory: false, parallelism: { dp: 32, ep: 32, overlap: true } }, pw).breakdown;
  assert.ok(pre.communicationSeconds > 0);
  assert.ok(Math.abs(pre.exposedCommunicationSeconds - Math.max(0, pre.communicationSeconds - pre.computeSeconds)) <= 1e-12 * pre.computeSeconds);
  // Tensor-parallel attention's all-reduces run on the compute lane in decode: never hidden, and a
  // layout that adds them shows at least them (the whole-step rule hid them all).
  const tp = stepTime(ds, h800, { ...base, checkMemory: false, parallelism: { tp: 2, dp: 16, ep: 32, overlap: true } }, w).breakdown;
  assert.ok(tp.tensorParallelSeconds > 0);
  assert.ok(tp.exposedCommunicationSeconds >= tp.tensorParallelSeconds * (1 - 1e-12), `${tp.exposedCommunicationSeconds} vs ${tp.tensorParallelSeconds}`);
  // Prefill's normal kernels hold compute units (dispatch 'per-node'): the whole step's shorter side hides, as before.
  // Computation then runs on the 108 of 132 SMs the all-to-all leaves (data/hardware/h800.json, DeepSeek's prefill figure).
  const pn = stepTime(ds, h800, { ...base, parallelism: { dp: 32, ep: 32, overlap: true, dispatch: 'per-node' } }, w).breakdown;
  const slowed = (pn.computeSeconds * 132) / 108;
  assert.ok(rel(pn.exposedCommunicationSeconds, slowed - pn.computeSeconds + pn.communicationSeconds - Math.min(slowed, pn.communicationSeconds)) < 1e-12);
  // Two half micro-batches: memory-bound weight GEMMs read their weights twice, so overlap's GEMM time exceeds one full batch's.
  assert.ok(b.gemmSeconds > even.breakdown.gemmSeconds);
  assert.ok(rel(even.seconds, even.breakdown.computeSeconds + even.breakdown.communicationSeconds) < 1e-12);
  assert.ok(b.dispatchSeconds > 0 && b.combineSeconds > 0);
});

test('pipeline parallelism: the step crosses every stage; a new step starts every stage time', () => {
  const w = { prefillTokens: 0, decodeTokens: 64, contextTokens: 64 * 1024 };
  const one = stepTime(llama, h100, { precision: 'fp8', parallelism: { tp: 2 } }, w);
  const four = stepTime(llama, h100, { precision: 'fp8', parallelism: { tp: 2, pp: 4 } }, w);
  const p2p = four.breakdown.pipelineSeconds;
  assert.ok(p2p > 0);
  assert.ok(rel(four.seconds, one.seconds + 3 * p2p) < 1e-9);
  assert.ok(rel(four.intervalSeconds, one.seconds / 4 + p2p) < 1e-9);
});

test('a spec-only device is priced as a band from the datasheet bound to typical; a calibrated one is not', () => {
  const w = { prefillTokens: 0, decodeTokens: 8, contextTokens: 8 * 1024 };
  const t = stepTime(loadModel('llama-3.1-8b'), a100, { precision: 'bf16' }, w);
  assert.equal(t.efficiency, 'typical');
  assert.ok(t.band && t.band.boundSeconds < t.band.typicalSeconds && t.band.typicalSeconds === t.seconds);
  assert.equal(t.band.boundSeconds, stepTime(loadModel('llama-3.1-8b'), a100, { precision: 'bf16', efficiency: 'spec' }, w).seconds);
  const c = stepTime(loadModel('llama-3.1-8b'), h100, { precision: 'bf16' }, w);
  assert.equal(c.efficiency, 'calibrated');
  assert.equal(c.band, undefined);
  assert.throws(() => stepTime(loadModel('llama-3.1-8b'), a100, { precision: 'bf16', efficiency: 'calibrated' }, w), /'spec' or 'typical': a100-80gb has no sourced calibration/);
  // Calibrated is slower than the datasheet bound, and launches add up.
  const s = stepTime(loadModel('llama-3.1-8b'), h100, { precision: 'bf16', efficiency: 'spec' }, w).seconds;
  assert.ok(c.seconds > s);
  const eager = stepTime(loadModel('llama-3.1-8b'), h100, { precision: 'bf16', launch: 'eager' }, w);
  assert.ok(eager.breakdown.launchSeconds > c.breakdown.launchSeconds);
});

test('a calibration without the dtype asked for is an error naming the calibration field', () => {
  assert.throws(
    () => stepTime(llama, h100, { precision: 'fp32' }, { prefillTokens: 0, decodeTokens: 1, contextTokens: 0 }),
    (e: unknown) => e instanceof InputError && e.field === 'calibration.gemmEfficiency.fp32',
  );
  assert.throws(() => stepTime(llama, h100, { precision: 'bf16', parallelism: { tp: 3, ep: 2 } }, { prefillTokens: 1, decodeTokens: 0, contextTokens: 0 }), /parallelism\.ep/);
  assert.throws(() => perfStepCost(llama, h100, { precision: 'bf16', parallelism: { tp: 0 } }), /parallelism\.tp/);
  // Llama-3.1-70B: 64 query heads, 8 KV heads. TP 3 splits no head evenly; TP 16 copies each KV head to two devices.
  assert.throws(
    () => stepTime(llama, h100, { precision: 'bf16', parallelism: { tp: 3 } }, { prefillTokens: 0, decodeTokens: 1, contextTokens: 0 }),
    (e: unknown) => e instanceof InputError && e.field === 'parallelism.tp' && /64 attention heads/.test(e.message),
  );
  assert.ok(stepTime(llama, h100, { precision: 'bf16', parallelism: { tp: 16 }, checkMemory: false }, { prefillTokens: 0, decodeTokens: 1, contextTokens: 0 }).seconds > 0);
  assert.throws(() => perfStepCost(llama, h100, { precision: 'bf16', efficiency: 'fast' as never }), /efficiency/);
});

test('expertLoadFactor from the MoE placement module: the busiest of 32 devices (static placement, 4096 tokens) sets the step', async () => {
  const { moeExpertParallelSteps } = await import('../../lib/moe/index.js');
  const run = moeExpertParallelSteps({ kind: 'uniform', experts: 256, topK: 8 }, { tokens: 4096, devices: 32, steps: 10, warmupSteps: 5, seed: 1 });
  const factor = run.staticSummary.mean;
  assert.ok(factor > 1 && factor < 2, String(factor));
  const w = { prefillTokens: 4096, decodeTokens: 0, contextTokens: 0, prefillSequences: 4 };
  const cfg = (f: number): PerfConfig => ({ precision: { weights: 'fp8', activations: 'bf16' }, parallelism: { dp: 32, ep: 32, expertLoadFactor: f } });
  const even = stepTime(ds, h800, cfg(1), w);
  const skew = stepTime(ds, h800, cfg(factor), w);
  assert.ok(skew.breakdown.gemmSeconds > even.breakdown.gemmSeconds);
  assert.equal(skew.breakdown.attentionSeconds, even.breakdown.attentionSeconds);
});

test('on "this-machine" stepTime() prices matmuls with the measured table of this host when one exists', async () => {
  const { thisMachineHardware } = await import('../../lib/hardware/index.js');
  const { measuredMatmulCostForMachine } = await import('../../lib/cost/index.js');
  const hw = thisMachineHardware({ overheadSeconds: 2e-5, peakFlopsPerSecond: 5e10, bytesPerSecond: 1e10, dtype: 'fp32', label: 'test fit' });
  const model = loadModel('llama-3.2-1b');
  const w = { prefillTokens: 0, decodeTokens: 4, contextTokens: 4 * 256 };
  const auto = stepTime(model, hw, { precision: 'fp32', checkMemory: false }, w).seconds;
  const table = measuredMatmulCostForMachine();
  const expected = stepTime(model, hw, { precision: 'fp32', checkMemory: false, ...(table ? { matmulCost: table } : {}) }, w).seconds;
  assert.equal(auto, expected);
  // The lossless calibration of a fitted machine charges the fit's overhead per kernel.
  assert.ok(stepTime(model, hw, { precision: 'fp32', checkMemory: false, launch: 'eager' }, w).breakdown.launchSeconds > 0);
});

test('stepTime() and memoryFit() reject bad work and options with an InputError naming the field', () => {
  const cost = perfStepCost(llama, h100, { precision: 'bf16', parallelism: { tp: 4 } });
  for (const [work, field] of [
    [{ prefillTokens: -1, decodeTokens: 1, contextTokens: 0 }, 'prefillTokens'],
    [{ prefillTokens: 0, decodeTokens: Number.NaN, contextTokens: 0 }, 'decodeTokens'],
    [{ prefillTokens: 0, decodeTokens: 1, contextTokens: Infinity }, 'contextTokens'],
    [{ prefillTokens: 4, decodeTokens: 0, contextTokens: 0, prefillSequences: 5 }, 'prefillSequences'],
    [{ prefillTokens: 4, decodeTokens: 0, contextTokens: 0, prefillAttentionPairs: -3 }, 'prefillAttentionPairs'],
  ] as const) {
    assert.throws(() => cost(work as never), (e: unknown) => e instanceof InputError && e.field === field, field);
  }
  assert.throws(() => stepTime(llama, h100, { precision: 'bf16', parallelism: { overlap: 2 } }, { prefillTokens: 1, decodeTokens: 0, contextTokens: 0 }), /parallelism\.overlap/);
  assert.throws(() => stepTime(llama, h100, { precision: { weights: 'fp7' as never } }, { prefillTokens: 1, decodeTokens: 0, contextTokens: 0 }), /precision\.weights/);
  assert.throws(() => memoryFit(llama, h100, { precision: 'bf16' }, { batch: -1, context: 10 }), /batch/);
  assert.throws(() => maxBatchThatFits(llama, h100, { precision: 'bf16' }, 0), /context/);
  // A number in [0, 1] hides that share of what full overlap hides.
  const w = { prefillTokens: 0, decodeTokens: 32 * 128, contextTokens: 32 * 128 * 4096 };
  const cfg = (overlap: number | boolean): PerfConfig => ({ precision: { weights: 'fp8', activations: 'bf16' }, parallelism: { dp: 32, ep: 32, overlap } });
  const half = stepTime(ds, h800, cfg(0.5), w).breakdown;
  const full = stepTime(ds, h800, cfg(true), w).breakdown;
  assert.ok(Math.abs(half.exposedCommunicationSeconds - (0.5 * full.communicationSeconds + 0.5 * full.exposedCommunicationSeconds)) < 1e-12);
});

test('memoryFit is the one fit: USABLE_MEMORY_FRACTION of the datasheet capacity, or the engine share memoryFraction; kvCacheCapacity is what it leaves', async () => {
  const { kvCacheCapacity } = await import('../../lib/roofline/deployment.js');
  const { USABLE_MEMORY_FRACTION } = await import('../../lib/hardware/spec.js');
  const llama = loadModel('llama-3.1-70b');
  const h100 = loadHardware('h100-sxm'); // 80 GiB (data/hardware/h100-sxm.json)
  const cfg: PerfConfig = { parallelism: { tp: 4 }, precision: 'bf16', efficiency: 'spec' };
  assert.equal(USABLE_MEMORY_FRACTION, 1);
  const whole = memoryFit(llama, h100, cfg, { batch: 8, context: 4096 });
  assert.equal(whole.capacityBytes, 80 * 2 ** 30);
  // vLLM's default gpu_memory_utilization 0.9, given as the engine's setting: 72 GiB of the 80.
  const vllm = memoryFit(llama, h100, { ...cfg, memoryFraction: 0.9 }, { batch: 8, context: 4096 });
  assert.equal(vllm.capacityBytes, 0.9 * 80 * 2 ** 30);
  assert.equal(vllm.totalBytes, whole.totalBytes);
  assert.match(vllm.message, /90 % of memory/);
  assert.ok(maxBatchThatFits(llama, h100, { ...cfg, memoryFraction: 0.9 }, 4096) < maxBatchThatFits(llama, h100, cfg, 4096));
  for (const bad of [0, 1.5, Number.NaN]) {
    assert.throws(() => memoryFit(llama, h100, { ...cfg, memoryFraction: bad }, { batch: 1, context: 1 }), (e: unknown) => e instanceof InputError && e.field === 'memoryFraction');
  }
  // KV tokens: (80 GiB − 141.1 GB / 4) / (327,680 B / 4) per device (data/models/llama-3.1-70b.json: 8 KV heads split 4 ways).
  const kv = kvCacheCapacity(llama, h100, cfg);
  assert.equal(kv.bytesPerTokenPerDevice, 327_680 / 4);
  assert.equal(kv.tokens, Math.floor((whole.capacityBytes - whole.weightBytes) / (327_680 / 4)));
  // Sequences of 4,096 tokens that fill it fit (no activations); one more sequence does not.
  const seqs = Math.floor(kv.tokens / 4096);
  assert.ok(memoryFit(llama, h100, cfg, { batch: seqs, context: 4096, tokens: 0 }).fits);
  assert.ok(!memoryFit(llama, h100, cfg, { batch: seqs + 1, context: 4096, tokens: 0 }).fits);
  // Two attention groups hold their own sequences: twice the tokens (weights are replicated per group).
  const two = kvCacheCapacity(llama, h100, { ...cfg, parallelism: { tp: 4, dp: 2 } });
  assert.ok(Math.abs(two.tokens - 2 * kv.tokens) <= 1, `${two.tokens} vs 2 × ${kv.tokens}`);
  // Weights that leave no room are refused, naming memory.
  assert.throws(() => kvCacheCapacity(llama, h100, { ...cfg, parallelism: { tp: 1 } }), (e: unknown) => e instanceof InputError && e.field === 'memory');
});

test('stepTime({ auxiliaryKernels }) launches that many kernels besides the ops instead of 6 per layer', () => {
  const w = { prefillTokens: 0, decodeTokens: 8, contextTokens: 8 * 1024 };
  const model = loadModel('llama-3.1-8b');
  const base = stepTime(model, h100, { precision: 'bf16', launch: 'eager' }, w);
  const more = stepTime(model, h100, { precision: 'bf16', launch: 'eager', auxiliaryKernels: 6 * model.numLayers + 1000 }, w);
  // 6 per layer is the default count (ELEMENTWISE_KERNELS_PER_LAYER): 1,000 more kernels add 1,000 launches of the calibration's eager cost.
  assert.ok(rel(more.breakdown.launchSeconds - base.breakdown.launchSeconds, 1000 * h100.calibration!.kernelLaunchSeconds) < 1e-9);
  assert.throws(() => stepTime(model, h100, { precision: 'bf16', auxiliaryKernels: -1 }, w), (e: unknown) => e instanceof InputError && e.field === 'auxiliaryKernels');
});

test('precisionOfClasses(): the KV cache takes the attention dtype unless kvCache gives its own, checked', async () => {
  const { precisionOfClasses } = await import('../../lib/roofline/index.js');
  const classes = { weights: 'bf16', attention: 'bf16', dispatch: 'bf16', combine: 'bf16' } as const;
  assert.equal(precisionOfClasses(classes).kvCache, 'bf16');
  const fp8 = precisionOfClasses({ ...classes, kvCache: 'fp8' });
  assert.deepEqual(fp8, { weights: 'bf16', compute: 'bf16', activations: 'bf16', kvCache: 'fp8', dispatch: 'bf16', combine: 'bf16' });
  assert.throws(() => precisionOfClasses({ ...classes, kvCache: 'fp7' as 'fp8' }), (e: unknown) => e instanceof InputError && e.field === 'precision.kvCache');
});

test('stepTime() with a matmulCost reads the attention core\'s keys and values at the KV-cache dtype (W of both core matmuls), not the activation dtype', async () => {
  const { rooflineMatmulCost } = await import('../../lib/roofline/index.js');
  // Llama-3.1-70B (data/models/llama-3.1-70b.json): 80 layers, 64 query and 8 KV heads of 128 dims; one device.
  const D = 32;
  const ctx = 4096;
  const w = { prefillTokens: 0, decodeTokens: D, contextTokens: D * ctx };
  const cost = rooflineMatmulCost(h100, 'bf16');
  const at = (kvCache: 'bf16' | 'fp8') => stepTime(llama, h100, { precision: { weights: 'bf16', activations: 'bf16', kvCache }, efficiency: 'spec', launch: 'none', matmulCost: cost, checkMemory: false }, w).breakdown.attentionSeconds;
  // Closed form: per layer, scores Q[8×128]·K[128×ctx] and values P[8×ctx]·V[ctx×128], 8·D of each;
  // X and Y at 2 bytes, K or V at the cache's bytes; max(FLOPs / 989.5e12, bytes / 3.35e12) (H100 SXM datasheet, bf16 dense).
  const matmul = (m: number, k: number, n: number, kvBytes: number): number => {
    const b = 8 * D;
    return Math.max((2 * m * k * n * b) / 989.5e12, ((2 * (m * k + m * n) + kvBytes * k * n) * b) / 3.35e12);
  };
  const expected = (kvBytes: number): number => 80 * (matmul(8, 128, ctx, kvBytes) + matmul(8, ctx, 128, kvBytes));
  assert.ok(rel(at('bf16'), expected(2)) < 1e-9, `${at('bf16')} vs ${expected(2)}`);
  assert.ok(rel(at('fp8'), expected(1)) < 1e-9, `${at('fp8')} vs ${expected(1)}`);
  assert.ok(at('fp8') < 0.6 * at('bf16'));
});

test("memoryFit() under expertRouting 'eplb' holds the redundant copies' weights beside the experts", () => {
  const h200 = loadHardware('h200');
  const par = { tp: 1, dp: 32, ep: 32 };
  const plain = memoryFit(ds, h200, { parallelism: par, precision: 'fp8' }, { batch: 64, context: 2048 });
  const eplb = memoryFit(ds, h200, { parallelism: { ...par, expertRouting: 'eplb', redundantExperts: 32 }, precision: 'fp8' }, { batch: 64, context: 2048 });
  // 32 copies over 32 devices: one more expert per device in each of DeepSeek-V3's 58 MoE layers (config.json: 61 layers,
  // first_k_dense_replace 3), each expert 3 · 7168 · 2048 FP8 weights (hidden_size, moe_intermediate_size), 1 byte each.
  assert.equal(eplb.weightBytes - plain.weightBytes, 58 * 3 * 7168 * 2048);
  // EPLB without copies places the experts alone.
  assert.equal(memoryFit(ds, h200, { parallelism: { ...par, expertRouting: 'eplb' }, precision: 'fp8' }, { batch: 64, context: 2048 }).weightBytes, plain.weightBytes);
});

test('decodeScheduleExposed(): per MoE layer max(shared + pre-core attention, dispatch) + routed experts + max(core attention, combine), less the compute (DeepSeek decode figure, SGLang decode strategy)', async () => {
  const { decodeScheduleExposed } = await import('../../lib/roofline/deployment.js');
  const none = { layers: 3, moeLayers: 3, otherCompute: 0 };
  // Per layer: shared 1 + pre-core 2 against dispatch 1, routed 1, core 2 against combine 3: 7 against 6 of compute.
  assert.equal(decodeScheduleExposed({ beforeCore: 6, core: 6, gate: 0, shared: 3, routed: 3, outside: 0 }, { ...none, dispatch: 3, combine: 9 }), 3);
  // Each transfer shorter than the compute beside it: all hidden.
  assert.equal(decodeScheduleExposed({ beforeCore: 6, core: 6, gate: 0, shared: 3, routed: 3, outside: 0 }, { ...none, dispatch: 3, combine: 6 }), 0);
  // Routed experts wait for their dispatch and overlap nothing: with no other compute, all communication shows.
  assert.equal(decodeScheduleExposed({ beforeCore: 0, core: 0, gate: 0, shared: 0, routed: 30, outside: 0 }, { ...none, dispatch: 3, combine: 6 }), 9);
  // The step's elementwise and launch seconds widen every stage in proportion: doubled here, the core attention (2 a layer) hides the combine (2).
  assert.equal(decodeScheduleExposed({ beforeCore: 3, core: 3, gate: 0, shared: 0, routed: 3, outside: 0 }, { ...none, dispatch: 3, combine: 6, otherCompute: 9 }), 0);
  // Dense layers carry attention but no all-to-all: attention per layer over all 4, experts per MoE layer over 3.
  // Per MoE layer: max(1 + 1, 3) + 1 + max(1, 1) = 5 against 4 of compute.
  assert.equal(decodeScheduleExposed({ beforeCore: 4, core: 4, gate: 0, shared: 3, routed: 3, outside: 0 }, { layers: 4, moeLayers: 3, dispatch: 9, combine: 3, otherCompute: 0 }), 3);
  // The router runs in MoE layers only: its seconds per MoE layer (3 over 3), beside the core attention's per layer (4 over 4).
  // Per MoE layer: max(1 + 1, 1) + 1 + max(1 + 1, 3) = 6 against 5 of compute.
  assert.equal(decodeScheduleExposed({ beforeCore: 4, core: 4, gate: 3, shared: 3, routed: 3, outside: 0 }, { layers: 4, moeLayers: 3, dispatch: 3, combine: 9, otherCompute: 0 }), 3);
  // Never more than the communication, never less than what exceeds the compute (the whole-step bound).
  for (const [d, c] of [[1, 1], [10, 1], [1, 10], [50, 50]]) {
    const st = { beforeCore: 6, core: 6, gate: 0, shared: 3, routed: 3, outside: 0 };
    const e = decodeScheduleExposed(st, { ...none, dispatch: d, combine: c });
    assert.ok(e <= d + c && e >= Math.max(0, d + c - 18), `${d}, ${c}: ${e}`);
  }
});

test('stepTime().fromTables: the step\'s kernel and collective seconds before overlap, and those table rows priced', () => {
  const m = loadModel('llama-3.1-70b');
  const hw = loadHardware('h200');
  const work = { prefillTokens: 0, decodeTokens: 8, contextTokens: 8 * 2048 };
  const t = stepTime(m, hw, { parallelism: { tp: 8 }, precision: 'bf16', framework: 'vllm' }, work);
  const f = t.fromTables!;
  // GEMMs, attention and all-reduces are table rows; the embedding, elementwise passes and launches the model's.
  assert.ok(f.tableSeconds > 0 && f.tableSeconds < f.opSeconds, `${f.tableSeconds} of ${f.opSeconds}`);
  // Overlap only hides time: the step is never longer than its parts summed.
  assert.ok(t.seconds <= f.opSeconds * (1 + 1e-12));
  // The breakdown's parts are those seconds: compute plus communication.
  const b = t.breakdown;
  assert.ok(Math.abs(f.opSeconds - (b.computeSeconds + b.communicationSeconds)) <= 1e-9 * f.opSeconds, `${f.opSeconds} vs ${b.computeSeconds + b.communicationSeconds}`);
  // Priced without a framework's tables: no such field.
  assert.equal(stepTime(m, hw, { parallelism: { tp: 8 }, precision: 'bf16' }, work).fromTables, undefined);
});

test('8-bit activations quantize GEMM and attention inputs only: the residual stream, its norms and the tensor-parallel all-reduce stay 16-bit (residualStreamDtype)', () => {
  // aiconfigurator prices every all-reduce at 16 bits by default (sdk/config.py:25, comm_quant_mode half, commit 095f58a5).
  assert.equal(residualStreamDtype({ activations: 'fp8' }), 'bf16');
  assert.equal(residualStreamDtype({ activations: 'nvfp4' }), 'bf16');
  assert.equal(residualStreamDtype({ activations: 'fp16' }), 'fp16');
  assert.equal(residualStreamDtype({ activations: 'fp32' }), 'fp32');
  const work = { prefillTokens: 0, decodeTokens: 64, contextTokens: 64 * 2048 };
  const at = (precision: PerfConfig['precision']) => stepTime(llama, h100, { precision, efficiency: 'spec', checkMemory: false, parallelism: { tp: 4 } }, work).breakdown.communicationSeconds;
  // The datasheet ring all-reduce of a 64 × 8192 bf16 buffer, twice per layer, whatever the activations' dtype.
  assert.ok(at('bf16') > 0);
  assert.equal(at('fp8'), at('bf16'));
  assert.equal(at({ weights: 'fp8', activations: 'fp8', kvCache: 'fp8' }), at('bf16'));
  // Under vLLM's tables a uniform fp8 step reads their bf16 all-reduce rows, not the performance model.
  const t = stepTime(llama, loadHardware('h200'), { precision: 'fp8', parallelism: { tp: 4 }, framework: 'vllm', checkMemory: false }, work);
  const ar = t.kernels!.filter((k) => k.op === 'allreduce');
  assert.ok(ar.length > 0 && ar.every((k) => k.kind !== 'calibrated' && /allreduce\.csv/.test(k.from)), JSON.stringify(ar));
});

test('stepTime() refuses a field its config or parallelism does not have, naming it, instead of pricing the default it leaves in place', () => {
  const work = { prefillTokens: 0, decodeTokens: 64, contextTokens: 64 * 2048 };
  assert.throws(
    () => stepTime(llama, h100, { parallelism: { tp: 4 }, tensorParallel: 8 } as unknown as PerfConfig, work),
    (e: unknown) => e instanceof InputError && e.field === 'config.tensorParallel' && /^config\.tensorParallel must be left out \(config has the fields parallelism, precision, /.test(e.message),
  );
  assert.throws(
    () => stepTime(llama, h100, { parallelism: { tp: 4, TP: 8 } as unknown as PerfConfig['parallelism'] }, work),
    (e: unknown) => e instanceof InputError && e.field === 'parallelism.TP' && /parallelism has the fields tp, dp, ep, pp,/.test(e.message),
  );
});

test('stepTimer() resolves once and prices each step as stepTime() does, kernel tables and their memoized answers included', () => {
  const h200 = loadHardware('h200');
  const config: PerfConfig = { parallelism: { dp: 8, ep: 8 }, precision: { weights: 'fp8', activations: 'bf16' }, framework: 'vllm', checkMemory: false };
  const time = stepTimer(ds, h200, config);
  // The same steps twice over, so the second pass reads the pricer's memo.
  const works = [8, 64, 8, 64].map((d, i) => ({ prefillTokens: i % 2 ? 0 : 512, prefillSequences: 1, decodeTokens: d * 8, contextTokens: d * 8 * (1000 + 37 * i) }));
  for (const w of [...works, ...works]) assert.deepEqual(time(w), stepTime(ds, h200, config, w));
});

test('a configuration naming no framework and no efficiency is priced from the default engine\'s kernel tables where the database holds the device (as batchlab deploy prices), else by the performance model alone', () => {
  const w = { prefillTokens: 0, decodeTokens: 1, contextTokens: 2048 };
  const cfg: PerfConfig = { parallelism: { tp: 4 }, precision: 'bf16' };
  assert.equal(pricingFramework(h100, cfg), 'vllm');
  assert.deepEqual(stepTimeOf(llama, h100, cfg, w), stepTimeOf(llama, h100, { ...cfg, framework: 'vllm' }, w));
  // An asked efficiency, framework null, or a device whose tables are another framework's only (a100: trtllm) keeps the model alone.
  for (const [hw, c] of [[h100, { ...cfg, efficiency: 'calibrated' }], [h100, { ...cfg, framework: null }], [a100, cfg]] as const) {
    assert.equal(pricingFramework(hw, c), undefined);
    assert.equal(stepTimeOf(llama, hw, c, w).fromTables, undefined);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadHardware, thisMachineHardware } from '../../lib/hardware/index.js';
import { loadModel, paramCounts, decodeOps } from '../../lib/models/index.js';
import {
  rooflineMatmulCost,
  fractionalMatmulSeconds,
  opRoofline,
  ridgeIntensity,
  matmulCriticalBatch,
  rooflineStepCost,
  decodeStepTime,
  decodeThroughputCurve,
  decodeOpRoofline,
  prefillOpRoofline,
  decodeCriticalBatch,
  moeExpertBatch,
  decodeMemoryBatchLimit,
  criticalBatchGrid,
} from '../../lib/roofline/index.js';
import type { MatmulCostModel, MatmulShape } from '../../lib/core/types.js';
import { InputError } from '../../lib/util/errors.js';

const h100 = loadHardware('h100-sxm');
const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

test('rooflineMatmulCost(): max of FLOP time at the dense peak and byte time at the memory bandwidth', () => {
  const cost = rooflineMatmulCost(h100, 'bf16');
  assert.equal(cost.kind, 'roofline');
  // GEMV over an 8192² bf16 weight: (8192² + 2·8192)·2 bytes / 3.35e12 B/s (H100 datasheet bandwidth).
  assert.equal(cost.matmulSeconds({ m: 1, k: 8192, n: 8192, dtype: 'bf16' }), ((8192 * 8192 + 2 * 8192) * 2) / 3.35e12);
  // Large square GEMM: 2·8192³ / 989.5e12 FLOP/s (dense BF16 peak).
  assert.equal(cost.matmulSeconds({ m: 8192, k: 8192, n: 8192, dtype: 'bf16' }), (2 * 8192 ** 3) / 989.5e12);
  // `batch` repeats the whole matmul.
  assert.equal(cost.matmulSeconds({ m: 4, k: 64, n: 64, dtype: 'bf16', batch: 3 }), 3 * cost.matmulSeconds({ m: 4, k: 64, n: 64, dtype: 'bf16' }));
  assert.throws(() => cost.matmulSeconds({ m: -1, k: 1, n: 1, dtype: 'bf16' }), (e: unknown) => e instanceof InputError && /^m /.test(e.message));
  assert.throws(() => cost.matmulSeconds({ m: 1, k: NaN, n: 1, dtype: 'bf16' }), /k must/);
  assert.throws(() => cost.matmulSeconds(null as never), InputError);
  assert.throws(() => rooflineMatmulCost(loadHardware('a100-80gb'), 'fp8'), /dtype/);
});

test('matmulCriticalBatch() is where compute time equals memory time, about ridge·bytes/2', () => {
  const k = 8192;
  const n = 28672;
  const b = matmulCriticalBatch(h100, 'bf16', k, n);
  const compute = (2 * b * k * n) / 989.5e12;
  const memory = ((k * n + b * (k + n)) * 2) / 3.35e12;
  assert.ok(rel(compute, memory) < 1e-12);
  // Large k, n: B* → R·s/2 = (989.5e12 / 3.35e12)·2/2 = 295.4 (H100 SXM datasheet).
  assert.ok(rel(matmulCriticalBatch(h100, 'bf16', 1e7, 1e7), 989.5e12 / 3.35e12) < 0.01);
  assert.equal(ridgeIntensity(h100, 'bf16'), 989.5e12 / 3.35e12);
  // A layer too thin to ever reach the ridge: 2kn < R·s·(k+n).
  assert.equal(matmulCriticalBatch(h100, 'bf16', 128, 512), Infinity);
});

test('critical batch depends on hardware, and on dtype only through peak·bytes', () => {
  // H100: fp8 peak is twice bf16 and fp8 moves half the bytes, so the critical token count is the same.
  const bf = matmulCriticalBatch(h100, 'bf16', 8192, 8192);
  assert.ok(rel(matmulCriticalBatch(h100, 'fp8', 8192, 8192), bf) < 0.01);
  // fp32 on CUDA cores: 67e12 / 3.35e12 · 4 / 2 = 40 tokens.
  assert.ok(rel(matmulCriticalBatch(h100, 'fp32', 1e7, 1e7), (67e12 / 3.35e12) * 2) < 0.01);
  // H200 has the same peak and 4.8/3.35 times the bandwidth: a proportionally smaller critical batch.
  assert.ok(rel(matmulCriticalBatch(loadHardware('h200'), 'bf16', 1e7, 1e7), 989.5e12 / 4.8e12) < 0.01);
});

test('decodeStepTime(): batch-1 decode reads every active weight once', () => {
  const m = loadModel('llama-3.1-8b');
  const t = decodeStepTime(m, h100, { dtype: 'bf16', batch: 1, context: 0 });
  // (8.03e9 params − the embedding table, of which one row is read) · 2 bytes / 3.35e12 B/s ≈ 4.5 ms;
  // activations add well under 1%.
  const weights = ((paramCounts(m).total - paramCounts(m).embedding) * 2) / 3.35e12;
  assert.ok(t >= weights * 0.99 && t < weights * 1.01, `${t} vs ${weights}`);
  const ds = loadModel('deepseek-v3');
  const tds = decodeStepTime(ds, h100, { dtype: 'fp8', batch: 1, context: 0 });
  assert.ok(rel(tds, (paramCounts(ds).active - paramCounts(ds).embedding) / 3.35e12) < 0.01); // ~36.6 GB of fp8 active weights
});

test('decodeCriticalBatch(): dense Llama-3.1-70B turns compute-bound at a few hundred sequences, DeepSeek-V3 needs thousands of tokens', () => {
  const dense = decodeCriticalBatch(loadModel('llama-3.1-70b'), h100, { dtype: 'bf16' });
  const ridgeTokens = 989.5e12 / 3.35e12; // R·s/2 with s = 2
  assert.ok(dense >= ridgeTokens && dense < 1.1 * ridgeTokens, `dense ${dense}`);
  const moe = decodeCriticalBatch(loadModel('deepseek-v3'), h100, { dtype: 'bf16' });
  assert.ok(moe > 10 * dense && moe < 256 / 8 * dense, `moe ${moe}`);
  // Long contexts add KV reads that grow with the batch: the step turns compute-bound later or never.
  assert.ok(decodeCriticalBatch(loadModel('llama-3.1-70b'), h100, { dtype: 'bf16', context: 2048 }) > dense);
  assert.equal(decodeCriticalBatch(loadModel('llama-3.1-70b'), h100, { dtype: 'bf16', context: 100_000 }), Infinity);
});

test('decodeOpRoofline(): a routed expert turns compute-bound at E/k times the dense critical batch', () => {
  const rows = decodeOpRoofline(loadModel('deepseek-v3'), h100, { dtype: 'bf16', batch: 64, context: 4096 });
  const expert = rows.find((r) => r.name === 'moe.expert.gate_up_proj')!;
  // Once all 256 experts are reached each sees T·8/256 tokens, so T* = 32 · B*(k = 7168, n = 2·2048).
  const perExpert = matmulCriticalBatch(h100, 'bf16', 7168, 4096);
  assert.ok(Math.abs(expert.criticalBatch - 32 * Math.ceil(perExpert)) <= 32, `${expert.criticalBatch}`);
  assert.equal(expert.bound, 'memory');
  const shared = rows.find((r) => r.name === 'moe.shared.gate_up_proj')!;
  assert.equal(shared.criticalBatch, Math.ceil(perExpert));
  // The decode attention core never turns compute-bound: its KV traffic grows with its FLOPs.
  assert.equal(rows.find((r) => r.name === 'attn.core.decode')!.criticalBatch, Infinity);
  for (const r of rows) {
    assert.equal(r.seconds, Math.max(r.computeSeconds, r.memorySeconds));
    assert.equal(r.hardware, 'h100-sxm');
  }
});

test('opRoofline(): attention-core intensity is about 2·(query heads per KV head)/bytes for GQA, far higher for MLA', () => {
  const core = (id: string) => opRoofline(decodeOps(loadModel(id), { batch: 32, context: 8192 }).find((o) => o.name === 'attn.core.decode')!, h100, 'bf16');
  // Llama-3.1-70B: 4·heads·d FLOPs over 2·kv_heads·d·2 bytes per cached token = 2·8/2 = 8 FLOP/byte (less the q/o traffic).
  const g = core('llama-3.1-70b').intensity;
  assert.ok(g < 8 && g > 7.9, `${g}`);
  // DeepSeek-V3 absorbed MLA: 2·128·(576 + 512) FLOPs per cached token over its 576·2 bytes, less the
  // per-sequence query and output traffic of 128·(576 + 512)·2 bytes: 234.8 FLOP/byte at 8192 tokens.
  const mla = core('deepseek-v3').intensity;
  assert.ok(rel(mla, (2 * 128 * 1088 * 8192) / ((576 * 8192 + 128 * 1088) * 2)) < 1e-12, `${mla}`);
});

test('prefillOpRoofline(): a 2048-token prefill of Llama-3.1-70B is compute-bound in every weight matmul', () => {
  const rows = prefillOpRoofline(loadModel('llama-3.1-70b'), loadHardware('h200'), { dtype: 'bf16', tokens: 2048 });
  for (const r of rows.filter((x) => x.group !== 'embedding' && x.group !== 'lm-head')) assert.equal(r.bound, 'compute', r.name);
  // The LM head runs for one token per prompt: memory-bound.
  assert.equal(rows.find((r) => r.name === 'lm_head')!.bound, 'memory');
});

test('decodeThroughputCurve(): tokens/s grows with batch, then flattens at peak / (2 · matmul params)', () => {
  const m = loadModel('llama-3.1-8b');
  const pts = decodeThroughputCurve(m, h100, { dtype: 'bf16', context: 0, batches: [1, 8, 64, 512, 8192] });
  for (let i = 1; i < pts.length; i++) assert.ok(pts[i].tokensPerSecond >= pts[i - 1].tokensPerSecond * (1 - 1e-12));
  // Memory-bound: 8 sequences cost about what one does, so throughput is about 8 times higher.
  assert.ok(pts[1].tokensPerSecond > 7.9 * pts[0].tokensPerSecond);
  const ceiling = 989.5e12 / (2 * (paramCounts(m).total - paramCounts(m).embedding));
  const last = pts[pts.length - 1].tokensPerSecond;
  assert.ok(last <= ceiling && last > 0.99 * ceiling, `${last} vs ${ceiling}`);
  assert.ok(pts[4].computeSeconds > pts[4].memorySeconds && pts[0].computeSeconds < pts[0].memorySeconds);
  assert.equal(pts[0].tokensPerSecondPerSequence, 1 / pts[0].stepSeconds);
  assert.throws(() => decodeThroughputCurve(m, h100, { dtype: 'bf16', context: 0, batches: [] }), /batches/);
});

test('rooflineStepCost(): positive, finite and non-decreasing in every field; decode-only equals decodeStepTime', () => {
  const m = loadModel('deepseek-v3');
  const cost = rooflineStepCost(m, h100, { dtype: 'fp8' });
  const grid = [0, 1, 7, 64, 1000];
  for (const P of grid) {
    for (const D of grid) {
      for (const cpt of [0, 10, 5000]) {
        const C = D * cpt;
        const t = cost({ prefillTokens: P, decodeTokens: D, contextTokens: C });
        assert.ok(Number.isFinite(t) && t > 0);
        assert.ok(cost({ prefillTokens: P + 1, decodeTokens: D, contextTokens: C }) >= t, `P ${P} D ${D} C ${C}`);
        assert.ok(cost({ prefillTokens: P, decodeTokens: D + 1, contextTokens: C }) >= t, `D ${P} ${D} ${C}`);
        if (D > 0) assert.ok(cost({ prefillTokens: P, decodeTokens: D, contextTokens: C + 100 }) >= t, `C ${P} ${D} ${C}`);
      }
    }
  }
  assert.equal(cost({ prefillTokens: 0, decodeTokens: 16, contextTokens: 16 * 300 }), decodeStepTime(m, h100, { dtype: 'fp8', batch: 16, context: 300 }));
  // An empty step costs the cheaper one-token step: positive, and never more than a step with work.
  assert.equal(
    cost({ prefillTokens: 0, decodeTokens: 0, contextTokens: 0 }),
    Math.min(cost({ prefillTokens: 1, decodeTokens: 0, contextTokens: 0 }), cost({ prefillTokens: 0, decodeTokens: 1, contextTokens: 0 })),
  );
  assert.throws(() => cost({ prefillTokens: -1, decodeTokens: 1, contextTokens: 0 }), /prefillTokens/);
  assert.throws(() => cost({ prefillTokens: 0, decodeTokens: 1.5, contextTokens: 0 }), /decodeTokens/);
});

test('rooflineStepCost(): a given matmulCost replaces the spec for every matmul', () => {
  const m = loadModel('llama-3.1-8b');
  const calls: MatmulShape[] = [];
  const fixed: MatmulCostModel = { kind: 'fitted', label: 'test', matmulSeconds: (s) => (calls.push(s), 1e-3) };
  const t = rooflineStepCost(m, h100, { dtype: 'bf16', matmulCost: fixed })({ prefillTokens: 0, decodeTokens: 4, contextTokens: 400 });
  const ops = decodeOps(m, { batch: 4, context: 100 });
  const matmulCalls = ops.reduce((s, o) => s + o.calls * o.matmuls.length, 0);
  const embed = opRoofline(ops.find((o) => o.name === 'embed')!, h100, 'bf16').seconds; // the gather stays on the spec
  assert.ok(rel(t, matmulCalls * 1e-3 + embed) < 1e-12);
  assert.ok(calls.every((s) => Number.isInteger(s.m) && Number.isInteger(s.n) && Number.isInteger(s.batch ?? 1)));
});

test('fractionalMatmulSeconds() interpolates between integer shapes, exact for costs linear in each dimension', () => {
  const linear: MatmulCostModel = { kind: 'fitted', label: 'linear', matmulSeconds: (s) => 1e-6 + 1e-9 * s.m * s.k * s.n * (s.batch ?? 1) };
  const t = fractionalMatmulSeconds(linear, { m: 2.5, k: 64, n: 10.25, batch: 3.5, dtype: 'bf16' });
  assert.ok(rel(t, 1e-6 + 1e-9 * 2.5 * 64 * 10.25 * 3.5) < 1e-12);
  assert.equal(fractionalMatmulSeconds(linear, { m: 2, k: 3, n: 4, dtype: 'bf16' }), linear.matmulSeconds({ m: 2, k: 3, n: 4, dtype: 'bf16' }));
});

test('rooflineStepCost(devices): each device holds 1/devices of every weight, reads the whole input, and all-reduces twice per layer', () => {
  const m = loadModel('llama-3.1-70b');
  const w = { prefillTokens: 0, decodeTokens: 32, contextTokens: 32 * 1000 };
  const four = rooflineStepCost(m, h100, { dtype: 'bf16', devices: 4 })(w);
  // Closed form per op: FLOPs/4 against the bf16 peak; bytes = (weights/4 + input + output/4)·2 for weight matmuls,
  // everything/4 for the attention core (8 KV heads over 4 devices) and the embedding gather.
  let compute = 0;
  for (const op of decodeOps(m, { batch: 32, context: 1000, dtype: 'bf16' })) {
    const input = op.group === 'attention-core' || op.matmuls.length === 0 ? 0 : op.m * op.k * op.batch * op.calls * 2;
    const bytes = input + (op.bytes - input) / 4;
    compute += Math.max(op.flops / 4 / 989.5e12, bytes / 3.35e12);
  }
  // Two ring all-reduces per layer of 32·8192·2 bytes, each sending 2·3/4 of it at 450 GB/s (H100 datasheet NVLink, one direction).
  const comm = 2 * 80 * ((2 * 3) / 4) * (32 * 8192 * 2) / 450e9;
  assert.ok(rel(four, compute + comm) < 1e-12, `${four} vs ${compute + comm}`);
  assert.throws(() => rooflineStepCost(m, h100, { dtype: 'bf16', devices: 0 }), /devices/);
});

test('moeExpertBatch() and decodeMemoryBatchLimit() follow their closed forms', () => {
  const ds = loadModel('deepseek-v3');
  const e = moeExpertBatch(ds, 4096);
  // 256·(1 − (31/32)^4096) experts reached, 4096·8 token-slots spread over them.
  assert.ok(rel(e.activeExperts, 256 * (1 - (31 / 32) ** 4096)) < 1e-12);
  assert.ok(rel(e.tokensPerExpert, (4096 * 8) / e.activeExperts) < 1e-12);
  assert.deepEqual(moeExpertBatch(loadModel('llama-3.1-8b'), 10), { activeExperts: 1, tokensPerExpert: 10 });
  const llama = loadModel('llama-3.1-70b');
  // 70.55B bf16 weights (141 GB) do not fit one 80 GiB H100.
  assert.equal(decodeMemoryBatchLimit(llama, h100, { dtype: 'bf16', context: 4096 }), 0);
  // H200, fp8 weights; each sequence also holds one token's activations, (2 × 8,192 hidden + 128,256 vocab) × 1 B
  // (memoryFit's widest op, data/models/llama-3.1-70b.json), which this closed form used to leave out.
  const free = 141 * 2 ** 30 - paramCounts(llama).total; // 141 GiB per H200 (data/hardware/h200.json)
  assert.equal(decodeMemoryBatchLimit(llama, loadHardware('h200'), { dtype: 'fp8', context: 4096 }), Math.floor(free / (4096 * 163840 + 2 * 8192 + 128_256)));
});

test('thisMachineHardware() plugs into the roofline like any catalog entry', () => {
  const hw = thisMachineHardware({ overheadSeconds: 0, peakFlopsPerSecond: 1e11, bytesPerSecond: 2e10, dtype: 'fp32', label: 'test' }, { memoryCapacityBytes: 64e9 });
  assert.equal(matmulCriticalBatch(hw, 'fp32', 1e7, 1e7) > 0.99 * (1e11 / 2e10) * 2, true);
  assert.throws(() => decodeStepTime(loadModel('llama-3.1-8b'), hw, { dtype: 'bf16', batch: 1, context: 0 }), /dtype/);
});

test('criticalBatchGrid() holds decodeCriticalBatch for every model × device × dtype the device has', () => {
  const llama = loadModel('llama-3.1-70b');
  const a100 = loadHardware('a100-80gb');
  const g = criticalBatchGrid([llama], [h100, a100], ['bf16', 'fp8']);
  // The A100 datasheet has no FP8 peak, so 3 points, not 4.
  assert.deepEqual(g.map((p) => `${p.hardware} ${p.dtype}`), ['h100-sxm bf16', 'h100-sxm fp8', 'a100-80gb bf16']);
  assert.equal(g[0].criticalBatch, decodeCriticalBatch(llama, h100, { dtype: 'bf16' }));
  assert.equal(g[0].series, 'llama-3.1-70b bf16');
  assert.throws(() => criticalBatchGrid([], [h100], ['bf16']), InputError);
});

test('decodeComputeShare(): the step\'s peak-FLOP time over its peak-bandwidth time, ≥ 1 from the critical batch on, and levelling off below 1 where KV reads grow with the batch', async () => {
  const { decodeComputeShare, DECODE_CRITICAL_BATCH_MAX } = await import('../../lib/roofline/index.js');
  const llama = loadModel('llama-3.1-70b');
  const h100 = loadHardware('h100-sxm');
  const critical = decodeCriticalBatch(llama, h100, { dtype: 'bf16' });
  assert.ok(decodeComputeShare(llama, h100, { dtype: 'bf16', batch: critical }) >= 1);
  assert.ok(decodeComputeShare(llama, h100, { dtype: 'bf16', batch: critical - 1 }) < 1);
  // At context 4096 the share at 2^24 sequences and at half that agree to 0.1 %: it has levelled off below 1.
  const far = decodeComputeShare(llama, h100, { dtype: 'bf16', batch: DECODE_CRITICAL_BATCH_MAX, context: 4096 });
  const half = decodeComputeShare(llama, h100, { dtype: 'bf16', batch: DECODE_CRITICAL_BATCH_MAX / 2, context: 4096 });
  assert.ok(far < 1 && Math.abs(far - half) / far < 1e-3, `${far} ${half}`);
  assert.throws(() => decodeComputeShare(llama, h100, { dtype: 'bf16', batch: 0 }), (e: unknown) => e instanceof InputError && e.field === 'batch');
});

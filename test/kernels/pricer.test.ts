import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deepEpLowLatencyEpScale, defaultKernelDb, kernelDbOfRows, kernelFrameworksOf, kernelPricer, kernelTablesOf, loadKernelDb, lookupKernel, wideEpTableReading, writeKernelTable } from '../../lib/kernels/index.js';
import type { KernelRow } from '../../lib/kernels/index.js';
import { loadHardware } from '../../lib/hardware/spec.js';
import { InputError } from '../../lib/util/errors.js';

test('kernelPricer() on a device without tables answers the datasheet roofline, kind bound', () => {
  // MI300X (data/hardware/mi300x.json) is not in the shipped database and borrows no tables.
  const hw = loadHardware('mi300x');
  const k = kernelPricer(defaultKernelDb(), hw, 'trtllm');
  assert.equal(k.device, undefined);
  const a = k.gemm(4096, 4096, 4096, 'bf16');
  assert.equal(a.kind, 'bound');
  assert.equal(a.rows.length, 0);
  // Closed form: compute-bound, 2·m·n·k / bf16 peak.
  assert.equal(a.seconds, (2 * 4096 ** 3) / hw.peakFlops.bf16!);
  // Memory-bound decode attention: the KV cache (2 · KV heads · head dim · 2 bytes per token) over the bandwidth.
  const g = k.generationAttention({ batch: 8, context: 4096, heads: 8, kvHeads: 1, headDim: 128, dtype: 'bf16', kvDtype: 'bf16' });
  assert.equal(g.kind, 'bound');
  assert.equal(g.seconds, (8 * 4096 * 2 * 128 * 2) / hw.memoryBytesPerSecond);
  // Ring all-reduce at the datasheet link: 2(r−1)/r of the buffer.
  assert.equal(k.allReduce(1e6, 8, 'intra', 'bf16').seconds, ((2 * 7) / 8) * 1e6 / hw.intraNodeBytesPerSecond);
  // A bad size is an InputError naming the query field, never a NaN bound.
  assert.throws(() => k.gemm(Number.NaN, 8, 8, 'bf16'), (e: unknown) => e instanceof InputError && e.field === 'gemm.m');
  assert.throws(() => k.generationAttention({ batch: 1, context: -5, heads: 8, kvHeads: 1, headDim: 128, dtype: 'bf16', kvDtype: 'bf16' }), (e: unknown) => e instanceof InputError && e.field === 'generationAttention.context');
  assert.throws(() => k.gemm(1, 8, 8, 'fp4'), (e: unknown) => e instanceof InputError && e.field === 'dtype');
});

test('kernelPricer() reads the framework the caller names and refuses one the device has no table for', () => {
  const hw = loadHardware('h200');
  const db = defaultKernelDb();
  const t = kernelPricer(db, hw, 'trtllm');
  const s = kernelPricer(db, hw, 'sglang');
  assert.equal(t.device, 'h200_sxm');
  const a = t.allReduce(8192 * 2, 8, 'intra', 'bf16');
  const b = s.allReduce(8192 * 2, 8, 'intra', 'bf16');
  assert.match(a.from, /trtllm/);
  assert.match(b.from, /sglang/);
  assert.notEqual(a.kind, 'bound');
  assert.throws(() => kernelPricer(db, loadHardware('a100-80gb'), 'sglang'), (e: unknown) => e instanceof InputError && e.field === 'framework' && /trtllm 1\.0\.0/.test(e.message));
  // B200's GEMM table holds NVFP4 rows (aiconfigurator's nvfp4 sweep): an NVFP4 GEMM is read from them, not bounded.
  const blackwell = kernelPricer(db, loadHardware('b200'), 'trtllm');
  const f4 = blackwell.gemm(4096, 8192, 8192, 'nvfp4');
  assert.notEqual(f4.kind, 'bound');
  assert.match(f4.from, /b200_sxm/);
  // The datasheet bound of the same GEMM at 9 PFLOPS (NVFP4) sits below the measured time.
  assert.ok(f4.seconds >= (2 * 4096 * 8192 * 8192) / loadHardware('b200').peakFlops.nvfp4!);
  // A cache dtype no table holds falls back to the bound rather than failing (generation tables
  // file bf16 or fp8 caches, no int8 one).
  assert.equal(t.generationAttention({ batch: 1, context: 1024, heads: 8, kvHeads: 1, headDim: 128, dtype: 'int8', kvDtype: 'int8' }).kind, 'bound');
});

test('kernelPricer() reads fp16 from the bf16 rows where the datasheet gives the two one tensor-core peak, and says so', () => {
  const hw = loadHardware('h200');
  const t = kernelPricer(defaultKernelDb(), hw, 'trtllm');
  const q = { batch: 8, context: 1024, heads: 8, kvHeads: 1, headDim: 128 };
  const bf = t.generationAttention({ ...q, dtype: 'bf16', kvDtype: 'bf16' });
  const fp = t.generationAttention({ ...q, dtype: 'fp16', kvDtype: 'fp16' });
  // H200 SXM datasheet (data/hardware/h200.json): FP16 and BF16 Tensor Core both 1,979 TFLOPS with sparsity.
  assert.equal(fp.seconds, bf.seconds);
  assert.equal(fp.kind, bf.kind);
  assert.deepEqual(fp.rows, bf.rows);
  assert.match(fp.from, /fp16 read from the bf16 rows: .*same tensor-core peak \(989\.5 TFLOP\/s dense\)/);
  assert.doesNotMatch(bf.from, /fp16 read/);
  // An fp16 core over an fp8 cache reads the bf16-over-fp8 rows.
  const fp8kv = t.generationAttention({ ...q, dtype: 'fp16', kvDtype: 'fp8' });
  assert.equal(fp8kv.seconds, t.generationAttention({ ...q, dtype: 'bf16', kvDtype: 'fp8' }).seconds);
  // A device whose fp16 peak differs from its bf16 one is not read that way: the datasheet bound answers.
  const unlike = { ...hw, peakFlops: { ...hw.peakFlops, fp16: hw.peakFlops.bf16! / 2 } };
  assert.equal(kernelPricer(defaultKernelDb(), unlike, 'trtllm').generationAttention({ ...q, dtype: 'fp16', kvDtype: 'fp16' }).kind, 'bound');
});

test('kernelPricer() reads fp16 MoE and collectives from the bf16 rows too: the distribution is chosen among the bf16 rows, and a collective aliases on bytes alone', () => {
  const hw = loadHardware('h100-sxm');
  const t = kernelPricer(defaultKernelDb(), hw, 'trtllm');
  // Mixtral-8x7B's experts at TP2 (the shape `deploy --model mixtral-8x7b --tp 2` asks).
  const q = { experts: 8, topk: 2, hidden: 4096, inter: 14336, tp: 2, ep: 1, tokens: 64, distribution: 'power_law_1.01' };
  assert.deepEqual(t.moeDistributions('moe', 'fp16'), t.moeDistributions('moe', 'bf16'));
  assert.ok(t.moeDistributions('moe', 'bf16').length > 0);
  const bf = t.moe({ ...q, dtype: 'bf16' });
  const fp = t.moe({ ...q, dtype: 'fp16' });
  assert.notEqual(bf.kind, 'bound');
  assert.equal(fp.seconds, bf.seconds);
  assert.match(fp.from, /fp16 read from the bf16 rows: .*tensor-core peak/);
  // An all-reduce moves bytes: the note says so, not a tensor-core reason.
  const ar = t.allReduce(8192 * 2 * 64, 2, 'intra', 'fp16');
  assert.equal(ar.seconds, t.allReduce(8192 * 2 * 64, 2, 'intra', 'bf16').seconds);
  assert.match(ar.from, /fp16 read from the bf16 rows: a collective moves bytes, and both are 2 bytes an element/);
  // On a device whose fp16 peak differs, compute kernels are not aliased and collectives still are.
  const unlike = kernelPricer(defaultKernelDb(), { ...hw, peakFlops: { ...hw.peakFlops, fp16: hw.peakFlops.bf16! / 2 } }, 'trtllm');
  assert.deepEqual(unlike.moeDistributions('moe', 'fp16'), []);
  assert.equal(unlike.moe({ ...q, dtype: 'fp16' }).kind, 'bound');
  assert.equal(unlike.allReduce(8192 * 2 * 64, 2, 'intra', 'fp16').seconds, ar.seconds);
});

test('kernelFrameworksOf() lists the frameworks whose tables the database holds for a device, none for one it does not hold', () => {
  const db = defaultKernelDb();
  // data/kernels (SOURCE.json) ships h100_sxm and h200_sxm under sglang 0.5.14, trtllm 1.3.0rc20 and vllm 0.24.0, a100_sxm under trtllm only, no h800 or mi300x folder.
  assert.deepEqual(kernelFrameworksOf(db, loadHardware('h200')), ['sglang', 'trtllm', 'vllm']);
  assert.deepEqual(kernelFrameworksOf(db, loadHardware('h100-sxm')), ['sglang', 'trtllm', 'vllm']);
  assert.deepEqual(kernelFrameworksOf(db, loadHardware('a100-80gb')), ['trtllm']);
  // data/hardware/h800.json names h100-sxm in computeKernelsFrom: H100 SXM's frameworks.
  assert.deepEqual(kernelFrameworksOf(db, loadHardware('h800')), ['sglang', 'trtllm', 'vllm']);
  assert.deepEqual(kernelFrameworksOf(db, loadHardware('mi300x')), []);
  assert.deepEqual(kernelFrameworksOf(undefined, loadHardware('h200')), []);
  // Every framework it lists is one kernelPricer reads for that device.
  for (const f of kernelFrameworksOf(db, loadHardware('h200'))) assert.equal(kernelPricer(db, loadHardware('h200'), f).device, 'h200_sxm');
});

test("kernelPricer() on H800 reads H100 SXM's compute and memory tables row for row, and says so in every answer", () => {
  const db = defaultKernelDb();
  const h800 = kernelPricer(db, loadHardware('h800'), 'trtllm');
  const h100 = kernelPricer(db, loadHardware('h100-sxm'), 'trtllm');
  assert.equal(h800.device, 'h100_sxm');
  assert.match(h800.borrowed ?? '', /^h800 borrows h100-sxm's compute and memory kernel tables: same datasheet compute and memory figures$/);
  assert.equal(h100.borrowed, undefined);
  // A measured row of H100 SXM's GEMM table (data/kernels/h100_sxm/trtllm/*/gemm.csv.gz) is H800's answer, to the bit.
  const row = db.table('h100_sxm', 'trtllm', 'gemm')!.rows.find((r) => r.dtype === 'fp8')!;
  const { m, n, k } = row.dims as { m: number; n: number; k: number };
  const a = h800.gemm(m, n, k, 'fp8');
  assert.equal(a.kind, 'measured');
  assert.equal(a.seconds, row.timeUs / 1e6);
  assert.equal(a.seconds, h100.gemm(m, n, k, 'fp8').seconds);
  assert.deepEqual(a.rows, [row]);
  assert.equal(a.from, `${row.source.file} (${h800.borrowed})`);
  // Between rows the same interpolation: identical seconds and rows, the label naming the borrowing.
  const between = h800.gemm(m + 1, n, k, 'fp8');
  assert.equal(between.seconds, h100.gemm(m + 1, n, k, 'fp8').seconds);
  assert.match(between.from, /h100_sxm\/trtllm\/.*gemm\.csv\.gz \(h800 borrows h100-sxm's/);
  // Attention, MLA and MoE expert compute are compute and memory kernels: borrowed alike.
  const moe = { tokens: 4096, experts: 256, topk: 8, hidden: 7168, inter: 2048, dtype: 'fp8_block', tp: 1, ep: 8, distribution: 'power_law_1.01' };
  const mla = { batch: 8, tokens: 2048, heads: 16, dtype: 'bf16', kvDtype: 'bf16' };
  const gen = { batch: 8, context: 2048, heads: 8, kvHeads: 1, headDim: 128, dtype: 'bf16', kvDtype: 'bf16' };
  for (const [what, x, y] of [
    ['moe', h800.moe(moe), h100.moe(moe)],
    ['mlaGeneration', h800.mlaGeneration(mla), h100.mlaGeneration(mla)],
    ['generationAttention', h800.generationAttention(gen), h100.generationAttention(gen)],
  ] as const) {
    assert.notEqual(y.kind, 'bound', `${what}: H100 SXM holds the table`);
    assert.equal(x.seconds, y.seconds, what);
    assert.equal(x.kind, y.kind, what);
    assert.equal(x.from, `${y.from} (${h800.borrowed})`, what);
  }
});

test("kernelPricer() on H800 never reads H100 SXM's all-reduce or NCCL tables: collectives are bounds over H800's own links", () => {
  const db = defaultKernelDb();
  const hw = loadHardware('h800');
  const h800 = kernelPricer(db, hw, 'trtllm');
  const h100 = kernelPricer(db, loadHardware('h100-sxm'), 'trtllm');
  for (const bytes of [16384, 1 << 24]) {
    const theirs = h100.allReduce(bytes, 8, 'intra', 'bf16');
    assert.match(theirs.from, /h100_sxm\/trtllm\/.*allreduce/);
    const mine = h800.allReduce(bytes, 8, 'intra', 'bf16');
    assert.equal(mine.kind, 'bound');
    assert.deepEqual(mine.rows, []);
    assert.doesNotMatch(mine.from, /h100_sxm/);
    // Ring all-reduce, 2(r−1)/r of the buffer over H800's one-direction NVLink (data/hardware/h800.json: 200 GB/s).
    assert.equal(mine.seconds, ((2 * 7) / 8) * bytes / hw.intraNodeBytesPerSecond);
    assert.equal(hw.intraNodeBytesPerSecond, 200e9);
  }
  const a2a = h800.allToAll(1 << 20, 8, 'intra', 'bf16');
  assert.equal(a2a.kind, 'bound');
  assert.equal(a2a.seconds, ((7 / 8) * (1 << 20)) / 200e9);
  // Every framework H100 SXM has tables for is borrowed the same way (data/kernels ships h100_sxm/sglang/0.5.14).
  const sg = kernelPricer(db, hw, 'sglang').gemm(16, 4096, 4096, 'bf16');
  assert.match(sg.from, /h100_sxm\/sglang\/0\.5\.14\/gemm/);
  assert.match(sg.from, /h800 borrows h100-sxm's/);
});

test("kernelTablesOf(): a database holding the device's own folder prices it from its own rows, borrowing nothing", () => {
  const root = mkdtempSync(join(tmpdir(), 'batchlab-own-h800-'));
  try {
    writeKernelTable(root, { device: 'h800', framework: 'trtllm', version: '1', op: 'gemm' }, [{ dtype: 'fp8', m: 64, n: 7168, k: 2048, time_us: 21 }]);
    writeKernelTable(root, { device: 'h100_sxm', framework: 'trtllm', version: '1', op: 'gemm' }, [{ dtype: 'fp8', m: 64, n: 7168, k: 2048, time_us: 19 }]);
    const db = loadKernelDb(root);
    const hw = loadHardware('h800');
    assert.deepEqual(kernelTablesOf(hw, db), { compute: 'h800', links: 'h800' });
    const k = kernelPricer(db, hw, 'trtllm');
    assert.equal(k.device, 'h800');
    assert.equal(k.borrowed, undefined);
    // The row written above for h800, not h100_sxm's.
    assert.equal(k.gemm(64, 7168, 2048, 'fp8').seconds, 21e-6);
    // Without it, the shipped database's folders.
    assert.deepEqual({ ...kernelTablesOf(hw), borrowed: undefined }, { compute: 'h100_sxm', links: 'h800', donor: 'h100-sxm', borrowed: undefined });
    assert.deepEqual(kernelTablesOf(loadHardware('h200')), { compute: 'h200_sxm', links: 'h200_sxm' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("kernelPricer().gemmFp8Static() is the dynamic FP8 GEMM less the activation-quantize passes it skips, as aiconfigurator's fp8_static mode", () => {
  const db = defaultKernelDb();
  const k = kernelPricer(db, loadHardware('h200'), 'trtllm');
  // The measured rows themselves (aiconfigurator commit 095f58a5, h200_sxm trtllm 1.3.0rc20:
  // gemm_perf, quantize/computescale_perf and scale_matrix_perf at m = 1, k = 8192).
  const row = (op: 'gemm' | 'compute_scale' | 'scale_matrix', q: Record<string, string | number>): number => lookupKernel(db.table('h200_sxm', 'trtllm', op)!, q)!.seconds;
  const gemm = row('gemm', { dtype: 'fp8', m: 1, n: 8192, k: 8192 });
  const amax = row('compute_scale', { dtype: 'fp8', m: 1, k: 8192 });
  const convert = row('scale_matrix', { dtype: 'fp8', m: 1, k: 8192 });
  const plain = k.gemmFp8Static(1, 8192, 8192, false);
  assert.equal(plain.seconds, gemm - amax);
  assert.equal(plain.kind, 'measured');
  assert.equal(plain.rows.length, 2);
  assert.equal(k.gemmFp8Static(1, 8192, 8192, true).seconds, gemm - amax - convert);
  // Both passes are real time on this shape: the static kernel is faster than the dynamic one.
  assert.ok(plain.seconds < k.gemm(1, 8192, 8192, 'fp8').seconds);
});

test('kernelPricer().gemmFp8Static() never answers below the GEMM roofline, keeps the dynamic time without quantize tables, and is the roofline on a spec-only device', () => {
  const root = mkdtempSync(join(tmpdir(), 'batchlab-fp8static-'));
  try {
    const meta = { device: 'h200_sxm', framework: 'mine', version: '1' } as const;
    // 15 µs of GEMM less a 10 µs pass would be 5 µs, below the roofline of 8192·8192 FP8 bytes at 4.8 TB/s (data/hardware/h200.json).
    writeKernelTable(root, { ...meta, op: 'gemm' }, [{ dtype: 'fp8', m: 1, n: 8192, k: 8192, time_us: 15 }]);
    const hw = loadHardware('h200');
    const floor = (8192 + 8192 * 8192 + 8192) / hw.memoryBytesPerSecond;
    const noPasses = kernelPricer(loadKernelDb(root), hw, 'mine');
    assert.equal(noPasses.gemmFp8Static(1, 8192, 8192, false).seconds, 15e-6);
    writeKernelTable(root, { ...meta, op: 'compute_scale' }, [{ dtype: 'fp8', m: 1, k: 8192, time_us: 10 }]);
    const k = kernelPricer(loadKernelDb(root), hw, 'mine');
    assert.ok(Math.abs(k.gemmFp8Static(1, 8192, 8192, false).seconds - floor) < 1e-15);
    // A quantized input needs the conversion table too: without it, the dynamic time.
    assert.equal(k.gemmFp8Static(1, 8192, 8192, true).seconds, 15e-6);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const spec = kernelPricer(defaultKernelDb(), loadHardware('mi300x'), 'trtllm').gemmFp8Static(1, 8192, 8192, true);
  assert.equal(spec.kind, 'bound');
});

// Hand-built MoE and MLA BMM tables for h200_sxm under a framework of their own: the
// expected seconds below are these rows, their log-space interpolation, or a boundary row
// times aiconfigurator's roofline ratio, each computed here.
const own = { device: 'h200_sxm', framework: 'own', version: '1' };
let line = 1;
const moeRow = (dims: Record<string, string | number>, us: number): KernelRow => ({ ...own, op: 'moe', dims: { experts: 256, topk: 8, hidden: 7168, inter: 2048, tp: 1, ...dims }, dtype: String(dims.dtype), timeUs: us, source: { file: 'moe.csv', line: ++line } });
const bmmRow = (dims: Record<string, string | number>, us: number): KernelRow => ({ ...own, op: 'mla_bmm', dims, dtype: String(dims.dtype), timeUs: us, source: { file: 'mla_bmm.csv', line: ++line } });
const MOE_US: Record<number, number> = { 1024: 100, 4096: 250, 16384: 800 };
const ownDb = kernelDbOfRows('hand-built', [
  ...Object.entries(MOE_US).map(([t, us]) => moeRow({ dtype: 'fp8_block', distribution: 'power_law_1.01', ep: 8, tokens: Number(t) }, us)),
  // One measured token count at ep 16.
  moeRow({ dtype: 'fp8_block', distribution: 'power_law_1.01', ep: 16, tokens: 4096 }, 300),
  // 'uniform' rows at ep 4, and none of power_law_1.2 for fp8_block.
  moeRow({ dtype: 'fp8_block', distribution: 'uniform', ep: 4, tokens: 1024 }, 90),
  moeRow({ dtype: 'fp8_block', distribution: 'uniform', ep: 4, tokens: 4096 }, 200),
  bmmRow({ dtype: 'fp8', phase: 'pre', heads: 16, tokens: 1 }, 5),
  bmmRow({ dtype: 'fp8', phase: 'pre', heads: 16, tokens: 64 }, 8),
  bmmRow({ dtype: 'fp8', phase: 'pre', heads: 12, tokens: 1 }, 4.5),
  bmmRow({ dtype: 'fp8', phase: 'pre', heads: 12, tokens: 64 }, 7),
  bmmRow({ dtype: 'fp8', phase: 'pre', heads: 32, tokens: 1 }, 6),
  bmmRow({ dtype: 'fp8', phase: 'pre', heads: 32, tokens: 64 }, 10),
]);
const genRow = (batch: number, context: number, us: number): KernelRow => ({ ...own, op: 'mla_generation', dims: { kv_dtype: 'bf16', heads: 16, batch, context }, dtype: 'bf16', timeUs: us, source: { file: 'mla_generation.csv', line: ++line } });
const genDb = kernelDbOfRows('hand-built MLA', [genRow(1, 1024, 10), genRow(1, 4096, 20), genRow(8, 1024, 30), genRow(8, 4096, 90)]);
const bf16Db = kernelDbOfRows('hand-built bf16', [bmmRow({ dtype: 'bf16', phase: 'post', heads: 16, tokens: 1 }, 6), bmmRow({ dtype: 'bf16', phase: 'post', heads: 16, tokens: 64 }, 9)]);
const h200 = loadHardware('h200');
const near = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) / b < 1e-12, `${what}: ${a} vs ${b}`);

/**
 * aiconfigurator's MoE roofline (aic-core/rust/aiconfigurator-core/src/operators/moe.rs:799-817,
 * commit 095f58a5) in seconds, for DeepSeek-V3's expert shape (config.json: hidden 7168,
 * moe_intermediate_size 2048, 256 experts, top-8) in FP8 on H200 (1,979 TFLOPS dense, 4.8 TB/s).
 */
function moeSol(tokens: number, ep: number, bytesPerSecond = 4.8e12): number {
  const rows = tokens * 8;
  const flops = (rows * 7168 * 2048 * 3 * 2) / ep;
  const elements = (rows / ep) * 7168 * 2 + (rows / ep) * 2048 * 3 + 7168 * 2048 * 3 * Math.min(256 / ep, rows / ep);
  return Math.max(flops / 1979e12, elements / bytesPerSecond);
}

test('kernelPricer().moe() reads a measured row, interpolates the tokens in log space, and past the last row holds its utilization of the MoE roofline, flagged extrapolated', () => {
  const k = kernelPricer(ownDb, h200, 'own');
  const q = { experts: 256, topk: 8, hidden: 7168, inter: 2048, dtype: 'fp8_block', tp: 1, ep: 8, distribution: 'power_law_1.01' };
  const at = k.moe({ ...q, tokens: 4096 });
  assert.equal(at.kind, 'measured');
  assert.equal(at.seconds, 250e-6);
  // Log-space interpolation at 2048, halfway between 1024 and 4096 in log: √(100 · 250) µs.
  const mid = k.moe({ ...q, tokens: 2048 });
  assert.equal(mid.kind, 'interpolated');
  near(mid.seconds, Math.sqrt(100 * 250) * 1e-6, 'interpolated');
  // Past 16,384 tokens: the 16,384 row times roofline(65,536) / roofline(16,384), never the edge row itself.
  const past = k.moe({ ...q, tokens: 65536 });
  assert.equal(past.kind, 'extrapolated');
  near(past.seconds, 800e-6 * (moeSol(65536, 8) / moeSol(16384, 8)), 'held utilization');
  assert.ok(past.seconds > 800e-6);
  assert.deepEqual(past.rows.map((r) => r.dims.tokens), [16384]);
  // Below 1,024 tokens the first row's utilization is held the same way.
  near(k.moe({ ...q, tokens: 256 }).seconds, 100e-6 * (moeSol(256, 8) / moeSol(1024, 8)), 'held below');
  // One measured token count (ep 16 at 4,096): above it held, below it no floor to read (the bound).
  near(k.moe({ ...q, ep: 16, tokens: 8192 }).seconds, 300e-6 * (moeSol(8192, 16) / moeSol(4096, 16)), 'singleton above');
  const under = k.moe({ ...q, ep: 16, tokens: 1024 });
  assert.equal(under.kind, 'bound');
  near(under.seconds, moeSol(1024, 16), 'bound is the same roofline');
});

test("kernelPricer().moe() asks for the query's routing distribution and falls back to 'uniform' only where the dtype has none of it", () => {
  const k = kernelPricer(ownDb, h200, 'own');
  const q = { experts: 256, topk: 8, hidden: 7168, inter: 2048, dtype: 'fp8_block', tp: 1, ep: 4, tokens: 1024 };
  // power_law_1.2: no fp8_block rows at all, so the 'uniform' rows answer (90 µs).
  const fallback = k.moe({ ...q, distribution: 'power_law_1.2' });
  assert.equal(fallback.kind, 'measured');
  assert.equal(fallback.seconds, 90e-6);
  // power_law_1.01 has fp8_block rows, none at ep 4: no fallback, the datasheet bound.
  assert.equal(k.moe({ ...q, distribution: 'power_law_1.01' }).kind, 'bound');
  assert.throws(() => k.moe({ ...q, distribution: 'a,b' }), (e: unknown) => e instanceof InputError && e.field === 'moe.distribution');
  assert.throws(() => k.moe({ ...q, distribution: 'uniform', tokens: Number.NaN }), (e: unknown) => e instanceof InputError && e.field === 'moe.tokens');
});

test("kernelPricer().moe() reads 'balanced' rows under their own name, as aiconfigurator's workload_distribution 'balanced' does, and 'uniform' where the dtype has none", () => {
  const q = { experts: 256, topk: 8, hidden: 7168, inter: 2048, dtype: 'fp8_block', tp: 1, ep: 4, tokens: 1024 };
  // A name other than the power law reaches the table untouched (aiconfigurator sdk/models/helpers.py:165-175);
  // one the dtype lacks falls back to 'uniform' (perf_database/moe_index.rs:84-125).
  const db = kernelDbOfRows('hand-built balanced', [
    moeRow({ dtype: 'fp8_block', distribution: 'balanced', ep: 4, tokens: 1024 }, 60),
    moeRow({ dtype: 'fp8_block', distribution: 'power_law_1.01', ep: 4, tokens: 1024 }, 110),
  ]);
  const k = kernelPricer(db, h200, 'own');
  assert.equal(k.moe({ ...q, distribution: 'balanced' }).seconds, 60e-6);
  assert.equal(k.moe({ ...q, distribution: 'power_law_1.01' }).seconds, 110e-6);
  // ownDb holds no 'balanced' rows: its 'uniform' row at ep 4 answers (90 µs).
  assert.equal(kernelPricer(ownDb, h200, 'own').moe({ ...q, distribution: 'balanced' }).seconds, 90e-6);
});

test('kernelPricer().moe(): on a table that files some fp16 rows, an fp16 query chooses its distribution among the rows that answer it (bf16 where fp16 has none of it)', () => {
  const q = { experts: 256, topk: 8, hidden: 7168, inter: 2048, dtype: 'fp16', tp: 1, ep: 4, tokens: 1024 };
  // fp16 holds only 'uniform' rows; bf16 holds the power law the query asks for. The
  // distribution used to be chosen among the fp16 rows alone: 'uniform', whose bf16 row
  // (70 µs) answered a power-law query that bf16 measures (120 µs).
  const db = kernelDbOfRows('hand-built fp16 and bf16', [
    moeRow({ dtype: 'fp16', distribution: 'uniform', ep: 8, tokens: 1024 }, 40),
    moeRow({ dtype: 'bf16', distribution: 'uniform', ep: 4, tokens: 1024 }, 70),
    moeRow({ dtype: 'bf16', distribution: 'power_law_1.01', ep: 4, tokens: 1024 }, 120),
  ]);
  const k = kernelPricer(db, h200, 'own');
  const a = k.moe({ ...q, distribution: 'power_law_1.01' });
  assert.equal(a.seconds, 120e-6);
  assert.match(a.from, /fp16 read from the bf16 rows/);
  // The fp16 rows answer where they hold the shape; the distributions listed are both dtypes'.
  assert.equal(k.moe({ ...q, ep: 8, distribution: 'uniform' }).seconds, 40e-6);
  assert.deepEqual(k.moeDistributions('moe', 'fp16'), ['power_law_1.01', 'uniform']);
  assert.deepEqual(k.moeDistributions('moe', 'bf16'), ['power_law_1.01', 'uniform']);
});

test('kernelPricer().mlaBmm() reads the exact head count, else the next power of two scaled by the head ratio, and the 16-bit rows where the dtype has none', () => {
  const k = kernelPricer(ownDb, h200, 'own');
  assert.equal(k.mlaBmm({ tokens: 64, heads: 16, dtype: 'fp8', phase: 'pre' }).seconds, 8e-6);
  // 12 heads were measured: read at scale 1.
  assert.equal(k.mlaBmm({ tokens: 64, heads: 12, dtype: 'fp8', phase: 'pre' }).seconds, 7e-6);
  // 24 heads were not: the 32-head rows times 24 / 32 (operators/mla.rs:437-457).
  const scaled = k.mlaBmm({ tokens: 64, heads: 24, dtype: 'fp8', phase: 'pre' });
  assert.equal(scaled.kind, 'measured');
  near(scaled.seconds, 10e-6 * (24 / 32), 'head ratio');
  // Log-space interpolation in tokens at 8 = 64^(1/2): √(5 · 8) µs.
  near(k.mlaBmm({ tokens: 8, heads: 16, dtype: 'fp8', phase: 'pre' }).seconds, Math.sqrt(5 * 8) * 1e-6, 'interpolated');
  // Past 64 tokens: the 64-token row times aiconfigurator's BMM roofline ratio (perf_database/mla.rs:763-775):
  // 2·t·n·128·512 FLOPs at the FP8 peak against n·(t·640 + 128·512) bytes at 4.8 TB/s.
  const sol = (t: number): number => Math.max((2 * t * 16 * 128 * 512) / 1979e12, (16 * (t * 640 + 128 * 512)) / 4.8e12);
  const past = k.mlaBmm({ tokens: 1024, heads: 16, dtype: 'fp8', phase: 'pre' });
  assert.equal(past.kind, 'extrapolated');
  near(past.seconds, 8e-6 * (sol(1024) / sol(64)), 'held utilization');
  // A table without FP8 rows answers an FP8 query from its bfloat16 rows (perf_database/mla.rs:307-318).
  const fallback = kernelPricer(bf16Db, h200, 'own').mlaBmm({ tokens: 64, heads: 16, dtype: 'fp8', phase: 'post' });
  assert.equal(fallback.seconds, 9e-6);
  // No 'post' rows in the FP8 table: the bound, the BMM roofline itself.
  const none = k.mlaBmm({ tokens: 64, heads: 16, dtype: 'fp8', phase: 'post' });
  assert.equal(none.kind, 'bound');
  near(none.seconds, sol(64), 'bound');
  assert.throws(() => k.mlaBmm({ tokens: 64, heads: 16, dtype: 'fp8', phase: 'mid' as 'pre' }), (e: unknown) => e instanceof InputError && e.field === 'mlaBmm.phase');
});

test('kernelPricer().mlaGeneration() holds the boundary row\'s utilization of the generation-MLA roofline past the measured context and batch, on both axes at once from the corner row', () => {
  const k = kernelPricer(genDb, h200, 'own');
  const q = { heads: 16, dtype: 'bf16', kvDtype: 'bf16' };
  // aiconfigurator's generation-MLA roofline (perf_database/mla.rs:728-741) on H200: 2·b·n·1088·s FLOPs
  // at the bf16 peak (989.5 TFLOPS dense) against b·(n·1088·2 + (s − 1)·576·2) bytes at 4.8 TB/s.
  const sol = (b: number, s: number): number => Math.max((2 * b * 16 * 1088 * s) / 989.5e12, (b * (16 * 1088 * 2 + (s - 1) * 576 * 2)) / 4.8e12);
  assert.equal(k.mlaGeneration({ ...q, batch: 8, tokens: 4096 }).seconds, 90e-6);
  // Log-space interpolation at context 2048: √(10 · 20) µs.
  near(k.mlaGeneration({ ...q, batch: 1, tokens: 2048 }).seconds, Math.sqrt(10 * 20) * 1e-6, 'interpolated');
  const ctx = k.mlaGeneration({ ...q, batch: 8, tokens: 16384 });
  assert.equal(ctx.kind, 'extrapolated');
  near(ctx.seconds, 90e-6 * (sol(8, 16384) / sol(8, 4096)), 'context held');
  // Both axes past their range: the (8, 4096) corner times roofline(32, 16384) / roofline(8, 4096).
  near(k.mlaGeneration({ ...q, batch: 32, tokens: 16384 }).seconds, 90e-6 * (sol(32, 16384) / sol(8, 4096)), 'corner held');
  // No table: the same roofline as a bound.
  const none = kernelPricer(genDb, h200, 'own').mlaGeneration({ ...q, kvDtype: 'fp8', batch: 8, tokens: 4096 });
  assert.equal(none.kind, 'bound');
  near(none.seconds, Math.max((2 * 8 * 16 * 1088 * 4096) / 1979e12, (8 * (16 * 1088 * 2 + 4095 * 576)) / 4.8e12), 'bound');
});

// Rows of NVIDIA aiconfigurator at commit 095f58a5, aic-core/src/aiconfigurator_core/systems/data/h100_sxm/,
// `latency` column (ms) or DeepEP's microsecond columns, row index 0-based; batchlab's SGLang 0.5.14
// folder holds them because aiconfigurator reads them for 0.5.14 from these earlier versions.
const WIDE = { experts: 256, topk: 8, hidden: 7168, inter: 2048, dtype: 'fp8_block', ep: 32, distribution: 'power_law_1.01' } as const;
const GEN_1024 = 0.17088895797729492e-3; // moe/sglang/0.5.10/wideep_generation_moe_perf.parquet row 241 (1024 tokens)
const GEN_2048 = 0.18774463653564452e-3; // same file, row 259 (2048 tokens)
const CTX_524288 = 36.45703206743513e-3; // moe/sglang/0.5.10/wideep_context_moe_perf.parquet row 457, its largest token count

test('kernelPricer().wideEpMoe() reads the wide-EP table exactly on a measured row, in log space between rows, and holds the roofline utilization past the last, each answer saying the version it was measured under', () => {
  const h100 = loadHardware('h100-sxm');
  const k = kernelPricer(defaultKernelDb(), h100, 'sglang');
  const at = k.wideEpMoe({ ...WIDE, phase: 'generation', tokens: 2048 });
  assert.equal(at.kind, 'measured');
  near(at.seconds, Number((GEN_2048 * 1e6).toPrecision(6)) * 1e-6, 'measured row (6 significant digits of µs)');
  assert.equal(at.from, 'data/kernels/h100_sxm/sglang/0.5.14/wideep_moe.csv.gz (rows measured under sglang 0.5.10, read from the earlier version folders aiconfigurator reads for 0.5.14)');
  assert.equal(at.rows[0].measuredVersion, '0.5.10');
  // 1448 tokens (√(1024 · 2048) rounded), between the 1024- and 2048-token rows: log-log linear,
  // t = t1024 · (t2048 / t1024)^f with f = ln(1448 / 1024) / ln 2, at the rows' stored 6 significant digits.
  const mid = k.wideEpMoe({ ...WIDE, phase: 'generation', tokens: 1448 });
  assert.equal(mid.kind, 'interpolated');
  const [t1, t2] = [GEN_1024, GEN_2048].map((t) => Number((t * 1e6).toPrecision(6)) * 1e-6);
  near(mid.seconds, t1 * (t2 / t1) ** (Math.log(1448 / 1024) / Math.log(2)), 'log-space interpolation');
  assert.deepEqual(mid.rows.map((r) => r.dims.tokens), [1024, 2048]);
  // The context table and the generation table are different kernels (DeepEP normal and low-latency layouts).
  assert.notEqual(k.wideEpMoe({ ...WIDE, phase: 'context', tokens: 2048 }).seconds, at.seconds);
  // Past the largest context row: that row's utilization of the MoE roofline held, flagged.
  const past = k.wideEpMoe({ ...WIDE, phase: 'context', tokens: 2 * 524288 });
  assert.equal(past.kind, 'extrapolated');
  // The edge row times roofline(1,048,576) / roofline(524,288): aiconfigurator's MoE roofline (moeSol)
  // on H100 SXM's datasheet (1,979 TFLOPS dense FP8, 3.35 TB/s), EP 32.
  const edge = Number((CTX_524288 * 1e6).toPrecision(6)) * 1e-6;
  near(past.seconds, edge * (moeSol(2 * 524288, 32, 3.35e12) / moeSol(524288, 32, 3.35e12)), 'held utilization');
  assert.deepEqual(past.rows.map((r) => r.dims.tokens), [524288]);
  // 'balanced' is not a distribution of the SGLang wide-EP tables: 'uniform' prices it (moe_expert_compute.rs:323-336).
  const balanced = k.wideEpMoe({ ...WIDE, distribution: 'balanced', phase: 'generation', tokens: 2048 });
  assert.equal(balanced.rows[0].dims.distribution, 'uniform');
  // A width the tables never measured whose slots are not whole per device (EP 72, 256 slots) or
  // another model's shape: no row, the datasheet bound.
  assert.equal(k.wideEpMoe({ ...WIDE, ep: 72, phase: 'generation', tokens: 2048 }).kind, 'bound');
  assert.equal(k.wideEpMoe({ ...WIDE, hidden: 4096, phase: 'generation', tokens: 2048 }).kind, 'bound');
  assert.throws(() => k.wideEpMoe({ ...WIDE, phase: 'decode' as 'generation', tokens: 2048 }), (e: unknown) => e instanceof InputError && /wideEpMoe\.phase/.test(e.message));
  // TensorRT-LLM's folder holds no wide-EP table: the bound, and the file lookup says so.
  const trt = kernelPricer(defaultKernelDb(), h100, 'trtllm');
  assert.equal(trt.wideEpMoe({ ...WIDE, phase: 'generation', tokens: 2048 }).kind, 'bound');
  assert.equal(trt.tableFile('wideep_moe'), undefined);
  assert.equal(k.tableFile('wideep_moe'), 'data/kernels/h100_sxm/sglang/0.5.14/wideep_moe.csv.gz');
  // Another framework's wide-EP tables where a caller names them, saying whose.
  const named = kernelPricer(defaultKernelDb(), h100, 'trtllm', undefined, { wideEp: 'sglang' }).wideEpMoe({ ...WIDE, phase: 'generation', tokens: 2048 });
  assert.equal(named.seconds, at.seconds);
  assert.match(named.from, /sglang's wide-EP table; rows measured under sglang 0\.5\.10/);
});

test('kernelPricer().deepEp() reads DeepEP dispatch and combine per layout, holds time per token past the rows, and borrows no other device\'s links', () => {
  const h100 = loadHardware('h100-sxm');
  const k = kernelPricer(defaultKernelDb(), h100, 'sglang');
  const q = { ep: 32, nodes: 4, hidden: 7168, topk: 8, experts: 256, bytes: 1e6, scope: 'inter' } as const;
  // comm/sglang/0.5.6.post2/wideep_deepep_ll_perf.parquet row 59 (4 nodes, 64 tokens, 256 experts):
  // dispatch_avg_t_us 82.93, combine_avg_t_us 151.67.
  const d = k.deepEp({ ...q, mode: 'll', phase: 'dispatch', tokens: 64 });
  const c = k.deepEp({ ...q, mode: 'll', phase: 'combine', tokens: 64 });
  assert.deepEqual([d.kind, c.kind], ['measured', 'measured']);
  near(d.seconds, 82.93e-6, 'LL dispatch');
  near(c.seconds, 151.67e-6, 'LL combine');
  // comm/sglang/0.5.6.post2/wideep_deepep_normal_perf.parquet row 267 (4 nodes, 4096 tokens, dispatch_sms 20):
  // dispatch = transmit 1801 + notify 59.47 µs; aiconfigurator's default SM budget is 20 (sdk/config.py:49).
  near(k.deepEp({ ...q, mode: 'normal', phase: 'dispatch', tokens: 4096 }).seconds, 1860.47e-6, 'normal dispatch');
  // Past the largest measured count (131,072 tokens per rank) the time per token is held.
  const edge = k.deepEp({ ...q, mode: 'normal', phase: 'dispatch', tokens: 131072 });
  const past = k.deepEp({ ...q, mode: 'normal', phase: 'dispatch', tokens: 262144 });
  assert.equal(past.kind, 'extrapolated');
  near(past.seconds, 2 * edge.seconds, 'twice the tokens, twice the time');
  // 9 nodes (EP 72) under the normal kernels: no table row, the bytes over the link.
  const wide = k.deepEp({ ...q, ep: 72, nodes: 9, mode: 'normal', phase: 'dispatch', tokens: 64 });
  assert.equal(wide.kind, 'bound');
  near(wide.seconds, 1e6 / h100.interNodeBytesPerSecond, 'bound');
  // H800 borrows H100 SXM's compute tables, never its links: DeepEP is a bound over H800's own.
  const h800 = kernelPricer(defaultKernelDb(), loadHardware('h800'), 'sglang');
  assert.equal(h800.deepEp({ ...q, mode: 'll', phase: 'dispatch', tokens: 64 }).kind, 'bound');
  assert.equal(h800.wideEpMoe({ ...WIDE, phase: 'generation', tokens: 2048 }).kind, 'measured');
});

test('wideEpTableReading(q, held) reads a held EP at its own rows and tokens, another at the rows with the same experts per device at tokens × EP\'/EP, and names the gap otherwise', () => {
  const held = [2, 4, 8, 16, 32, 64, 128, 256]; // the EPs of the shipped SGLang wide-EP rows (data/kernels/h100_sxm/sglang/0.5.14/wideep_moe.csv.gz)
  // A held EP: its own rows at the layer's tokens, whatever the slots (no note: nothing mapped).
  assert.deepEqual(wideEpTableReading({ experts: 256, slots: 256, ep: 32, tokens: 4096, topk: 8 }, held), { ep: 32, tokens: 4096 });
  assert.deepEqual(wideEpTableReading({ experts: 256, slots: 288, ep: 32, tokens: 4096, topk: 8 }, held), { ep: 32, tokens: 4096 });
  // DeepSeek's decode (EP 144, 32 redundant experts: 288 slots, 2 per device, inference-system overview):
  // EP' = 256 / 2 = 128, tokens × 128/144; per device 9216 · 8 / 144 = 512 = 8192 · 8 / 128 routed tokens.
  const r = wideEpTableReading({ experts: 256, slots: 288, ep: 144, tokens: 9216, topk: 8 }, held);
  assert.ok(!('gap' in r));
  assert.equal(r.ep, 128);
  assert.equal(r.tokens, (9216 * 128) / 144);
  assert.equal((r.tokens * 8) / r.ep, (9216 * 8) / 144);
  assert.equal(r.note, 'EP 144 read at EP 128, whose rows hold the same 2 experts per device (288 slots over 144 devices), at tokens × 128/144: the same 512 routed tokens per device');
  // EP 72 with 256 slots: 3.556 per device, not whole (SGLang asserts EP divides the slots).
  const g = wideEpTableReading({ experts: 256, slots: 256, ep: 72, tokens: 9216, topk: 8 }, held);
  assert.ok('gap' in g);
  assert.match(g.gap, /^no EP 72 rows, and 256 slots over 72 devices are 3\.556 per device, not whole .*it holds EP 2, 4, 8, 16, 32, 64, 128, 256\)$/);
  // Whole per device but no held EP with that many experts per device: 288 slots over 96 devices = 3, 256 / 3 not whole.
  const g3 = wideEpTableReading({ experts: 256, slots: 288, ep: 96, tokens: 9216, topk: 8 }, held);
  assert.ok('gap' in g3);
  assert.match(g3.gap, /no EP whose rows hold 3 experts per device \(256 \/ 3 = 85\.333/);
  // 288 slots over 72 devices = 4 per device: EP 64's rows, which this held list lacks.
  const g4 = wideEpTableReading({ experts: 256, slots: 288, ep: 72, tokens: 9216, topk: 8 }, [128, 256]);
  assert.ok('gap' in g4);
  assert.match(g4.gap, /4 experts per device \(256 \/ 4 = 64; it holds EP 128, 256\)/);
  assert.throws(() => wideEpTableReading({ experts: 256, slots: 200, ep: 8, tokens: 1, topk: 8 }, held), (e: unknown) => e instanceof InputError && /wideEp\.slots/.test(e.message));
  assert.throws(() => wideEpTableReading({ experts: 256, slots: 256, ep: 8, tokens: Number.NaN, topk: 8 }, held), (e: unknown) => e instanceof InputError && /wideEp\.tokens/.test(e.message));
});

test('kernelPricer().wideEpMoe() at EP 144 with 288 slots answers the EP 128 row at tokens × 128/144, with that row\'s kind and a provenance naming both', () => {
  const k = kernelPricer(defaultKernelDb(), loadHardware('h100-sxm'), 'sglang');
  const q = { ...WIDE, phase: 'generation' } as const;
  // moe/sglang/0.5.10/wideep_generation_moe_perf.parquet, EP 128, power_law_1.01, 8192 tokens: 220.339 µs
  // (batchlab's shipped row, data/kernels/h100_sxm/sglang/0.5.14/wideep_moe.csv.gz).
  const own = k.wideEpMoe({ ...q, ep: 128, tokens: 8192 });
  assert.equal(own.kind, 'measured');
  near(own.seconds, 220.339e-6, 'EP 128 row');
  // With slots = experts at a held EP the reading is the table's own row, unchanged.
  assert.deepEqual(k.wideEpMoe({ ...q, ep: 128, slots: 256, tokens: 8192 }), own);
  const mapped = k.wideEpMoe({ ...q, ep: 144, slots: 288, tokens: 9216 });
  assert.equal(mapped.kind, 'measured');
  assert.equal(mapped.seconds, own.seconds);
  assert.deepEqual(mapped.rows, own.rows);
  assert.equal(mapped.from, `${own.from} (EP 144 read at EP 128, whose rows hold the same 2 experts per device (288 slots over 144 devices), at tokens × 128/144: the same 512 routed tokens per device)`);
  // Between rows the mapped query interpolates like any other: 6000 tokens at EP 144 is EP 128 at 5333.3.
  const between = k.wideEpMoe({ ...q, ep: 144, slots: 288, tokens: 6000 });
  assert.equal(between.kind, 'interpolated');
  near(between.seconds, k.wideEpMoe({ ...q, ep: 128, tokens: (6000 * 128) / 144 }).seconds, 'mapped interpolation');
  // The gap reaches the caller: EP 144 without redundant experts (256 / 144 per device) is the bound, and says why.
  const gap = k.wideEpMoe({ ...q, ep: 144, tokens: 9216 });
  assert.equal(gap.kind, 'bound');
  assert.match(gap.from, /\(no EP 144 rows, and 256 slots over 144 devices are 1\.778 per device, not whole/);
  const reading = k.wideEpReading({ ...q, ep: 144, slots: 288, tokens: 9216 });
  assert.deepEqual(reading && !('gap' in reading) ? [reading.ep, reading.tokens] : undefined, [128, 8192]);
  assert.equal(kernelPricer(defaultKernelDb(), loadHardware('h100-sxm'), 'trtllm').wideEpReading({ ...q, ep: 144, slots: 288, tokens: 9216 }), undefined);
});

test('kernelPricer().deepEp() low-latency at an EP past the table reads the largest multi-node EP below it times the inter-node share ratio, flagged extrapolated', () => {
  // ((n − 1)/n) / ((m − 1)/m), closed form.
  near(deepEpLowLatencyEpScale(8, 9), (8 / 9) / (7 / 8), '8 → 9 nodes');
  near(deepEpLowLatencyEpScale(8, 18), (17 / 18) / (7 / 8), '8 → 18 nodes');
  assert.equal(deepEpLowLatencyEpScale(4, 4), 1);
  assert.throws(() => deepEpLowLatencyEpScale(1, 4), (e: unknown) => e instanceof InputError && /fromNodes/.test(e.message));
  const h100 = loadHardware('h100-sxm');
  const k = kernelPricer(defaultKernelDb(), h100, 'sglang');
  const q = { hidden: 7168, topk: 8, experts: 256, bytes: 1e6, scope: 'inter', mode: 'll' } as const;
  // comm/sglang/0.5.6.post2/wideep_deepep_ll_perf.parquet, 8 nodes (EP 64), 128 tokens: dispatch 166.77 µs,
  // combine 304.73 µs (batchlab's shipped rows, data/kernels/h100_sxm/sglang/0.5.14/deepep_ll.csv.gz).
  const d = k.deepEp({ ...q, ep: 72, nodes: 9, phase: 'dispatch', tokens: 128 });
  assert.equal(d.kind, 'extrapolated');
  near(d.seconds, 166.77e-6 * ((8 / 9) / (7 / 8)), 'EP 72 dispatch');
  assert.deepEqual([...new Set(d.rows.map((r) => r.dims.ep))], [64]);
  assert.match(d.from, /\(EP 72 over 9 nodes read at EP 64 over 8 nodes × 1\.0159, the inter-node share/);
  near(k.deepEp({ ...q, ep: 144, nodes: 18, phase: 'combine', tokens: 128 }).seconds, 304.73e-6 * ((17 / 18) / (7 / 8)), 'EP 144 combine');
  // The rule checked on the table itself: EP 32's rows (4 nodes) carried to EP 64 (8 nodes) against EP 64's
  // measured ones, 128 tokens per rank: dispatch 142.97 µs → 166.80 (measured 166.77), combine 263.27 → 307.15 (304.73).
  for (const phase of ['dispatch', 'combine'] as const) {
    const at32 = k.deepEp({ ...q, ep: 32, nodes: 4, phase, tokens: 128 }).seconds;
    const at64 = k.deepEp({ ...q, ep: 64, nodes: 8, phase, tokens: 128 }).seconds;
    const carried = at32 * deepEpLowLatencyEpScale(4, 8);
    assert.ok(Math.abs(carried / at64 - 1) < 0.01, `${phase}: ${carried} against ${at64}`);
  }
  // A held EP still reads its own row; the normal kernels take no such rule.
  assert.equal(k.deepEp({ ...q, ep: 64, nodes: 8, phase: 'dispatch', tokens: 128 }).kind, 'measured');
  assert.equal(k.deepEp({ ...q, mode: 'normal', ep: 72, nodes: 9, phase: 'dispatch', tokens: 128 }).kind, 'bound');
});

test("kernelPricer() on H200 reads H200's own wide-EP rows, and says of the DeepEP rows aiconfigurator filed there from H100 SXM that they were measured on h100_sxm", () => {
  const k = kernelPricer(defaultKernelDb(), h200, 'sglang');
  // h200_sxm/moe/sglang/0.5.10/wideep_generation_moe_perf.parquet row 184 (fp8_block, power_law_1.01,
  // 2048 tokens, moe_ep 32, device NVIDIA H200): latency 0.17157567977905272 ms.
  const moe = k.wideEpMoe({ ...WIDE, phase: 'generation', tokens: 2048 });
  near(moe.seconds, Number((0.17157567977905272e3).toPrecision(6)) * 1e-6, 'H200 wide-EP row');
  assert.equal(moe.from, 'data/kernels/h200_sxm/sglang/0.5.14/wideep_moe.csv.gz (rows measured under sglang 0.5.10, read from the earlier version folders aiconfigurator reads for 0.5.14)');
  // h200_sxm/comm/sglang/0.5.12/wideep_deepep_ll_perf.parquet row 149 (one node, 64 tokens, NVIDIA H200): dispatch 22.994 µs.
  const q = { hidden: 7168, topk: 8, experts: 256, bytes: 1e6, mode: 'll', phase: 'dispatch', tokens: 64 } as const;
  const own = k.deepEp({ ...q, ep: 8, nodes: 1, scope: 'intra' });
  near(own.seconds, 22.994e-6, 'H200 single-node DeepEP');
  assert.doesNotMatch(own.from, /measured on/);
  // h200_sxm/comm/sglang/0.5.6.post2/wideep_deepep_ll_perf.parquet row 59 is h100_sxm's row 59 value for value
  // (version column 0.5.0): dispatch 82.93 µs, an H100 SXM measurement.
  const copied = k.deepEp({ ...q, ep: 32, nodes: 4, scope: 'inter' });
  near(copied.seconds, 82.93e-6, 'H100 row filed under H200');
  assert.equal(copied.from, 'data/kernels/h200_sxm/sglang/0.5.14/deepep_ll.csv.gz (rows measured under sglang 0.5.0, read from the earlier version folders aiconfigurator reads for 0.5.14; rows measured on h100_sxm, filed under h200_sxm by aiconfigurator)');
});

test('kernelPricer() reads its own framework\'s wide-EP tables at the pinned version, also where the wideEp option names that framework', () => {
  const wide = (version: string, us: number): KernelRow => ({ device: 'h200_sxm', framework: 'sglang', version, op: 'wideep_moe', dims: { ...WIDE, phase: 'generation', tokens: 2048 }, dtype: WIDE.dtype, timeUs: us, source: { file: `${version}/wideep_moe.csv`, line: 2 } });
  const db = kernelDbOfRows('two versions', [wide('1.0', 100), wide('2.0', 200)]);
  const q = { ...WIDE, phase: 'generation', tokens: 2048 } as const;
  // The newest by default, the pinned version's row when one is pinned, with or without naming wideEp.
  assert.equal(kernelPricer(db, h200, 'sglang').wideEpMoe(q).seconds, 200e-6);
  assert.equal(kernelPricer(db, h200, 'sglang', '1.0').wideEpMoe(q).seconds, 100e-6);
  assert.equal(kernelPricer(db, h200, 'sglang', '1.0', { wideEp: 'sglang' }).wideEpMoe(q).seconds, 100e-6);
  assert.equal(kernelPricer(db, h200, 'sglang', '1.0', { wideEp: 'sglang' }).wideEpFramework, 'sglang');
});

test('kernelPricer().generationAttention() holds the boundary row\'s utilization of the decode-attention roofline past the measured batch, never reading the cache faster than that row', () => {
  // Shipped rows (data/kernels/h200_sxm/trtllm/1.3.0rc20/generation_attention.csv.gz, aiconfigurator
  // 095f58a5 generation_attention_perf.parquet), bf16 query and cache, 32 heads over 8 KV heads of 128:
  // batch 256 at context 1024 took 258.395 µs, batch 128 at 1024 took 138.352 µs; no row has batch 512 at 1024.
  const h200 = loadHardware('h200');
  const k = kernelPricer(defaultKernelDb(), h200, 'trtllm');
  const q = { heads: 32, kvHeads: 8, headDim: 128, dtype: 'bf16', kvDtype: 'bf16' };
  near(k.generationAttention({ ...q, batch: 256, context: 1024 }).seconds, 258.395e-6, 'measured');
  // The decode-attention roofline at these shapes is memory-bound (b·s·2·8·128·2 bytes at 4.8 TB/s
  // against 4·b·32·128·s FLOPs at the bf16 peak), so holding the row's utilization doubles its time
  // at twice the batch, as aiconfigurator's engine holds it (perf_database/attention.rs:24-27).
  const past = k.generationAttention({ ...q, batch: 512, context: 1024 });
  assert.equal(past.kind, 'extrapolated');
  near(past.seconds, 2 * 258.395e-6, 'batch held');
  // The last two measured batches' log-log slope (log2(258.395 / 138.352) = 0.90) would have answered less.
  assert.ok(past.seconds > 258.395e-6 * 2 ** Math.log2(258.395 / 138.352) * 1.05);
  // Without a table row for the cache's dtype: the same roofline as a bound
  // (no table files an int8 cache: its 1 byte per element over the bandwidth).
  const none = k.generationAttention({ ...q, dtype: 'int8', kvDtype: 'int8', batch: 512, context: 1024 });
  assert.equal(none.kind, 'bound');
  near(none.seconds, (512 * 1024 * 2 * 8 * 128 * 1) / h200.memoryBytesPerSecond, 'bound');
});

test('kernelPricer(): decode attention is looked up by the cache\'s dtype alone; prefill attention the table lacks at fp8 reads its bf16-attention rows, and the answer says so', () => {
  // aiconfigurator keys no generation-attention table on the attention (FMHA) dtype
  // (aic-core/rust/aiconfigurator-core/src/operators/attention.rs:704-713, commit 095f58a5);
  // the shipped tables file every decode row under bf16 attention, their fp8-cache rows included.
  const h200 = loadHardware('h200');
  const q = { heads: 64, kvHeads: 8, headDim: 128, batch: 64, context: 2048 };
  for (const fw of ['trtllm', 'sglang', 'vllm']) {
    const k = kernelPricer(defaultKernelDb(), h200, fw);
    const asked = k.generationAttention({ ...q, dtype: 'fp8', kvDtype: 'fp8' });
    const filed = k.generationAttention({ ...q, dtype: 'bf16', kvDtype: 'fp8' });
    assert.notEqual(asked.kind, 'bound', fw);
    assert.equal(asked.seconds, filed.seconds, fw);
    assert.match(asked.from, /fp8 attention with the KV cache in fp8, read from the rows filed under bf16 attention/, fw);
    assert.doesNotMatch(filed.from, /read from the rows filed/, fw);
  }
  // Prefill: TensorRT-LLM's tables file fp8-attention rows over an fp8 cache and answer from them;
  // vLLM's file none (aiconfigurator: 'VLLM perf tables only include bfloat16 FMHA',
  // sdk/models/helpers.py:718-721), so its bf16-attention rows answer, named as a fallback.
  const p = { heads: 64, kvHeads: 8, headDim: 128, batch: 1, prompt: 2048 };
  const trt = kernelPricer(defaultKernelDb(), h200, 'trtllm').contextAttention({ ...p, dtype: 'fp8', kvDtype: 'fp8' });
  assert.doesNotMatch(trt.from, /falls back/);
  const vllm = kernelPricer(defaultKernelDb(), h200, 'vllm');
  const fell = vllm.contextAttention({ ...p, dtype: 'fp8', kvDtype: 'fp8' });
  assert.equal(fell.seconds, vllm.contextAttention({ ...p, dtype: 'bf16', kvDtype: 'fp8' }).seconds);
  assert.match(fell.from, /no fp8-attention rows with the KV cache in fp8: the table's bf16-attention rows, as aiconfigurator falls back; slower than an engine running fp8 attention/);
  // MLA prefill likewise: the shipped MLA context tables file bf16 attention only, over bf16 and fp8 caches.
  const sglang = kernelPricer(defaultKernelDb(), h200, 'sglang');
  const mla = { heads: 16, batch: 1, tokens: 2048, kvDtype: 'fp8' };
  const mlaFell = sglang.mlaContext({ ...mla, dtype: 'fp8' });
  assert.notEqual(mlaFell.kind, 'bound');
  assert.equal(mlaFell.seconds, sglang.mlaContext({ ...mla, dtype: 'bf16' }).seconds);
  assert.match(mlaFell.from, /mla_context\.csv\.gz \(no fp8-attention rows with the KV cache in fp8/);
});

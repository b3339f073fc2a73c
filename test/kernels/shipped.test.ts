import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { defaultKernelDb, lookupKernel } from '../../lib/kernels/index.js';

// Spot values read from NVIDIA aiconfigurator at commit 095f58a51c4ca8e61b66ec108d86f223f8d559ce,
// aic-core/src/aiconfigurator_core/systems/data/<path>, `latency` column (milliseconds),
// row index 0-based; the shipped tables keep 6 significant digits of microseconds.
const AIC = [
  { device: 'h200_sxm', framework: 'trtllm', op: 'gemm', parquet: 'h200_sxm/gemm/trtllm/1.3.0rc20/gemm_perf.parquet row 26560', q: { dtype: 'bf16', m: 1, n: 8192, k: 1024 }, ms: 0.007354666789372762 },
  { device: 'h200_sxm', framework: 'trtllm', op: 'gemm', parquet: 'h200_sxm/gemm/trtllm/1.3.0rc20/gemm_perf.parquet row 24391', q: { dtype: 'fp8', m: 64, n: 8192, k: 8192 }, ms: 0.031898667414983116 },
  { device: 'h200_sxm', framework: 'trtllm', op: 'gemm', parquet: 'h200_sxm/gemm/trtllm/1.3.0rc20/gemm_perf.parquet row 0', q: { dtype: 'bf16', m: 4353, n: 65536, k: 51200 }, ms: 41.099622090657554 },
  { device: 'b200_sxm', framework: 'trtllm', op: 'gemm', parquet: 'b200_sxm/gemm/trtllm/1.3.0rc20/gemm_perf.parquet row 32211', q: { dtype: 'nvfp4', m: 128, n: 8192, k: 8192 }, ms: 0.02275333305199941 },
  {
    device: 'h200_sxm',
    framework: 'trtllm',
    op: 'context_attention',
    parquet: 'h200_sxm/attention/trtllm/1.3.0rc20/context_attention_perf.parquet row 0 (batch 16, isl 6144, 96 heads, 1 KV head, head dim 128, bf16)',
    q: { dtype: 'bf16', kv_dtype: 'bf16', kv_heads: 1, head_dim: 128, heads: 96, prompt: 6144, batch: 16 },
    ms: 31.601961771647137,
  },
  {
    device: 'h200_sxm',
    framework: 'trtllm',
    op: 'generation_attention',
    // isl 1 + step 1 = 2 cached tokens; 64 heads = 64 KV heads (MHA, filed under its head count).
    parquet: 'h200_sxm/attention/trtllm/1.3.0rc20/generation_attention_perf.parquet row 0 (batch 32, isl 1, step 1, 64 heads, head dim 64)',
    q: { dtype: 'bf16', kv_dtype: 'bf16', kv_heads: 64, head_dim: 64, heads: 64, context: 2, batch: 32 },
    ms: 0.023872000475724537,
  },
  {
    device: 'h200_sxm',
    framework: 'trtllm',
    op: 'allreduce',
    // 128 bf16 elements = 256 bytes.
    parquet: 'h200_sxm/comm/trtllm/1.3.0rc20/custom_allreduce_perf.parquet row 0 (2 GPUs, message_size 128)',
    q: { dtype: 'bf16', scope: 'intra', ranks: 2, bytes: 256 },
    ms: 0.0026371198892593383,
  },
  {
    device: 'h200_sxm',
    framework: 'trtllm',
    op: 'moe',
    parquet: 'h200_sxm/moe/trtllm/1.3.0rc20/moe_perf.parquet row 0 (fp8, power_law_1.01, 1 token, hidden 3072, inter 1024, top-8 of 256, moe_tp 16, moe_ep 16)',
    q: { dtype: 'fp8', distribution: 'power_law_1.01', experts: 256, topk: 8, tp: 16, ep: 16, hidden: 3072, inter: 1024, tokens: 1 },
    ms: 0.026169601082801818,
  },
  {
    device: 'h200_sxm',
    framework: 'trtllm',
    op: 'mla_context',
    // Filed under its 16 heads whatever tp_size (4) collected it, as aiconfigurator's loader files it.
    parquet: 'h200_sxm/mla/trtllm/1.3.0rc20/context_mla_perf.parquet row 1408 (bfloat16, bfloat16 KV, 16 heads, batch 4, isl 4096, tp_size 4)',
    q: { dtype: 'bf16', kv_dtype: 'bf16', heads: 16, prompt: 4096, batch: 4 },
    ms: 0.6613866488138834,
  },
  { device: 'h200_sxm', framework: 'trtllm', op: 'mla_bmm', parquet: 'h200_sxm/mla_bmm/trtllm/1.3.0rc20/mla_bmm_perf.parquet row 0 (mla_gen_pre, bfloat16, 128 heads, 1 token)', q: { dtype: 'bf16', phase: 'pre', heads: 128, tokens: 1 }, ms: 0.005961599946022034 },
  // H100 under SGLang and vLLM, the frameworks of the published H100 cases that ran them.
  { device: 'h100_sxm', framework: 'sglang', op: 'gemm', parquet: 'h100_sxm/gemm/sglang/0.5.14/gemm_perf.parquet row 85556', q: { dtype: 'fp8', m: 64, n: 8192, k: 8192 }, ms: 0.030615998639000788 },
  { device: 'h100_sxm', framework: 'vllm', op: 'gemm', parquet: 'h100_sxm/gemm/vllm/0.24.0/gemm_perf.parquet row 106108', q: { dtype: 'bf16', m: 1, n: 8192, k: 1024 }, ms: 0.009564444422721863 },
  {
    device: 'h100_sxm',
    framework: 'vllm',
    op: 'generation_attention',
    // isl 1 + step 1 = 2 cached tokens.
    parquet: 'h100_sxm/attention/vllm/0.24.0/generation_attention_perf.parquet row 0 (batch 32, isl 1, step 1, 64 heads, 1 KV head, head dim 64, bf16)',
    q: { dtype: 'bf16', kv_dtype: 'bf16', kv_heads: 1, head_dim: 64, heads: 64, context: 2, batch: 32 },
    ms: 0.01126933346192042,
  },
  {
    device: 'h100_sxm',
    framework: 'sglang',
    op: 'moe',
    parquet: 'h100_sxm/moe/sglang/0.5.14/moe_perf.parquet row 41506 (fp8_block, balanced, 16384 tokens, hidden 7168, inter 2048, top-8 of 256, moe_tp 1, moe_ep 32)',
    q: { dtype: 'fp8_block', distribution: 'balanced', experts: 256, topk: 8, tp: 1, ep: 32, hidden: 7168, inter: 2048, tokens: 16384 },
    ms: 10.518552246093751,
  },
  { device: 'h200_sxm', framework: 'trtllm', op: 'compute_scale', parquet: 'h200_sxm/quantize/trtllm/1.3.0rc20/computescale_perf.parquet row 1606', q: { dtype: 'fp8', m: 1, k: 8192 }, ms: 0.007196800410747528 },
  { device: 'h200_sxm', framework: 'trtllm', op: 'scale_matrix', parquet: 'h200_sxm/quantize/trtllm/1.3.0rc20/scale_matrix_perf.parquet row 1604', q: { dtype: 'fp8', m: 1, k: 8192 }, ms: 0.001312000056107839 },
  // SGLang's wide-EP tables, filed under 0.5.14 (the versions aiconfigurator reads for it hold them).
  {
    device: 'h100_sxm',
    framework: 'sglang',
    op: 'wideep_moe',
    parquet: 'h100_sxm/moe/sglang/0.5.10/wideep_generation_moe_perf.parquet row 259 (fp8_block, power_law_1.01, 2048 tokens, top-8 of 256, hidden 7168, inter 2048, moe_ep 32)',
    q: { dtype: 'fp8_block', distribution: 'power_law_1.01', phase: 'generation', experts: 256, topk: 8, hidden: 7168, inter: 2048, ep: 32, tokens: 2048 },
    ms: 0.18774463653564452,
  },
  {
    device: 'h100_sxm',
    framework: 'sglang',
    op: 'deepep_ll',
    parquet: 'h100_sxm/comm/sglang/0.5.6.post2/wideep_deepep_ll_perf.parquet row 59 (4 nodes, 64 tokens, top-8 of 256, hidden 7168): combine_avg_t_us 151.67',
    q: { phase: 'combine', nodes: 4, ep: 32, hidden: 7168, topk: 8, experts: 256, tokens: 64 },
    ms: 0.15167,
  },
  {
    device: 'h100_sxm',
    framework: 'sglang',
    op: 'deepep_normal',
    parquet: 'h100_sxm/comm/sglang/0.5.6.post2/wideep_deepep_normal_perf.parquet row 267 (4 nodes, 4096 tokens, dispatch_sms 20): dispatch_transmit_us 1801 + dispatch_notify_us 59.47',
    q: { phase: 'dispatch', nodes: 4, ep: 32, hidden: 7168, topk: 8, experts: 256, sms: 20, tokens: 4096 },
    ms: 1.86047,
  },
] as const;

test('the shipped wide-EP tables keep every row of the nearest version that measured them, and the earlier versions fill only what it lacks', () => {
  const db = defaultKernelDb();
  const root = new URL('../../data/kernels/', import.meta.url);
  // Parquet row counts at aiconfigurator commit 095f58a5 (h100_sxm): wideep_context_moe_perf 461 and
  // wideep_generation_moe_perf 336 rows under moe/sglang/0.5.10; wideep_deepep_normal_perf 2484 and
  // wideep_deepep_ll_perf 176 rows under comm/sglang/0.5.12, each DeepEP row a dispatch and a combine row.
  const nearest = { wideep_moe: ['0.5.10', 461 + 336], deepep_normal: ['0.5.12', 2 * 2484], deepep_ll: ['0.5.12', 2 * 176] } as const;
  const own = JSON.parse(readFileSync(new URL('h100_sxm/sglang/0.5.14/SOURCE.json', root), 'utf8'));
  for (const [op, [version, rows]] of Object.entries(nearest)) {
    const t = db.table('h100_sxm', 'sglang', op as keyof typeof nearest)!;
    assert.equal(t.version, '0.5.14');
    assert.equal(t.rows.length, own.tables[op].rows, `${op}: SOURCE.json row count`);
    assert.equal(t.rows.filter((r) => r.measuredVersion === version).length, rows, `${op}: every ${version} row kept`);
    // The earlier folder (0.5.6.post2) adds rows, none at a key the nearest one measured; each row
    // says the version its parquet's `version` column names: 0.5.6.post2 for the MoE files, 0.5.0
    // in every row of the DeepEP files in comm/sglang/0.5.6.post2/.
    const older = t.rows.filter((r) => r.measuredVersion === (op === 'wideep_moe' ? '0.5.6.post2' : '0.5.0'));
    assert.ok(older.length > 0 && older.length + rows === t.rows.length, op);
    // H100 SXM's own rows, all of them.
    assert.ok(t.rows.every((r) => r.measuredOn === undefined), op);
    assert.ok(own.tables[op].paths.every((p: { path: string }) => p.path.includes(`/sglang/${version}/`) || p.path.includes('/sglang/0.5.6.post2/')), op);
  }
  // DeepEP normal kernels measured at 2, 4 and 8 nodes come only from 0.5.6.post2; 0.5.12 measured one node.
  const normal = db.table('h100_sxm', 'sglang', 'deepep_normal')!;
  assert.deepEqual([...new Set(normal.rows.filter((r) => r.measuredVersion === '0.5.12').map((r) => r.dims.nodes))], [1]);
  assert.deepEqual([...new Set(normal.rows.map((r) => r.dims.nodes))].sort(), [1, 2, 4, 8]);
});

test("H200's shipped DeepEP rows from comm/sglang/0.5.6.post2 say they are H100 SXM measurements filed under h200_sxm; its own rows and its wide-EP MoE rows say nothing", () => {
  const db = defaultKernelDb();
  const root = new URL('../../data/kernels/', import.meta.url);
  const own = JSON.parse(readFileSync(new URL('h200_sxm/sglang/0.5.14/SOURCE.json', root), 'utf8'));
  for (const op of ['deepep_normal', 'deepep_ll'] as const) {
    const h200 = db.table('h200_sxm', 'sglang', op)!;
    const h100 = db.table('h100_sxm', 'sglang', op)!;
    // aiconfigurator commit 095f58a5: h200_sxm/comm/sglang/0.5.6.post2/wideep_deepep_*_perf.parquet hold
    // h100_sxm's rows of the same path value for value (checked by the converter, FILED_COPIES);
    // comm/sglang/0.5.12 measured one node on each GPU, different times.
    const copied = h200.rows.filter((r) => r.measuredOn === 'h100_sxm');
    assert.deepEqual([...new Set(copied.map((r) => r.measuredVersion))], ['0.5.0'], op);
    assert.deepEqual([...new Set(h200.rows.filter((r) => r.measuredOn === undefined).map((r) => r.measuredVersion))], ['0.5.12'], op);
    const key = (r: { dims: Readonly<Record<string, string | number>>; timeUs: number }) => JSON.stringify([r.dims, r.timeUs]);
    const h100Rows = new Set(h100.rows.filter((r) => r.measuredVersion === '0.5.0').map(key));
    assert.ok(copied.length > 0 && copied.every((r) => h100Rows.has(key(r))), `${op}: the same rows as H100 SXM's`);
    const files = own.tables[op].paths as { path: string; measuredOn: string; measuredUnder: Record<string, number> }[];
    assert.deepEqual(files.map((f) => [f.path.split('/sglang/')[1], f.measuredOn, Object.keys(f.measuredUnder)]), [
      [`0.5.12/wideep_${op}_perf.parquet`, 'h200_sxm', ['0.5.12']],
      [`0.5.6.post2/wideep_${op}_perf.parquet`, 'h100_sxm', ['0.5.0']],
    ]);
    assert.match(own.tables[op].note, /h100_sxm's filed under h200_sxm by aiconfigurator/);
  }
  // The wide-EP MoE parquets under h200_sxm say NVIDIA H200 and their folder's version in every row.
  assert.ok(db.table('h200_sxm', 'sglang', 'wideep_moe')!.rows.every((r) => r.measuredOn === undefined));
  assert.deepEqual(Object.keys(own.tables.wideep_moe.paths[0].keptDeviceColumn), ['NVIDIA H200']);
});

test('the shipped tables hold the times of their aiconfigurator source rows', () => {
  const db = defaultKernelDb();
  for (const c of AIC) {
    const t = db.table(c.device, c.framework, c.op);
    assert.ok(t, `${c.device}/${c.framework}/${c.op} is shipped`);
    const a = lookupKernel(t, c.q)!;
    assert.equal(a.kind, 'measured', c.parquet);
    const want = c.ms * 1e-3;
    assert.ok(Math.abs(a.seconds - want) / want < 1e-5, `${c.parquet}: ${a.seconds} vs ${want}`);
    assert.ok(a.rows[0].source.line > 1);
  }
});

test('data/kernels/SOURCE.json names the aiconfigurator commit and license, and every shipped folder has its own', () => {
  const root = new URL('../../data/kernels/', import.meta.url);
  const index = JSON.parse(readFileSync(new URL('SOURCE.json', root), 'utf8'));
  assert.equal(index.commit, '095f58a51c4ca8e61b66ec108d86f223f8d559ce');
  assert.equal(index.license, 'Apache-2.0');
  const devices = new Set(index.tables.map((t: { device: string }) => t.device));
  for (const d of ['a100_sxm', 'h100_sxm', 'h200_sxm', 'b200_sxm']) assert.ok(devices.has(d), d);
  // H100 and H200 under all three frameworks (the converter's default selection), so a case's own framework prices it there.
  for (const d of ['h100_sxm', 'h200_sxm']) {
    const frameworks = index.tables.filter((t: { device: string }) => t.device === d).map((t: { framework: string }) => t.framework);
    assert.deepEqual(frameworks.sort(), ['sglang', 'trtllm', 'vllm'], d);
  }
  for (const t of index.tables) {
    const own = JSON.parse(readFileSync(new URL(`${t.dir}/SOURCE.json`, root), 'utf8'));
    assert.equal(own.commit, index.commit);
    assert.ok(Object.keys(own.tables).includes('gemm'), `${t.dir} has a GEMM table`);
  }
  assert.match(readFileSync(new URL('LICENSE', root), 'utf8'), /Apache License/);
  assert.match(readFileSync(new URL('NOTICE', root), 'utf8'), /aiconfigurator/);
});

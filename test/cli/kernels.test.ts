import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run.js';

test('batchlab deploy --framework trtllm prints the inter-token latency and the kernel-table rows that priced it', async () => {
  const r = await run(['deploy', '--framework', 'trtllm', '--model', 'llama-3.1-70b', '--hardware', 'h200', '--tp', '8', '--batch', '1']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /inter-token latency [\d.]+ ms at batch 1/);
  // Llama-3.1-70B: 4 weight GEMMs in each of 80 layers plus the LM head (data/models/llama-3.1-70b.json).
  const gemmCalls = [...r.out.matchAll(/gemm: (\d+) (measured|interpolated|extrapolated) calls \(\d+ table rows\) from data\/kernels\/h200_sxm\/trtllm\/[^/]+\/gemm\.csv\.gz/g)].reduce((s, m) => s + Number(m[1]), 0);
  assert.equal(gemmCalls, 4 * 80 + 1);
  assert.match(r.out, /attention: 80 \w+ calls .* from data\/kernels\/h200_sxm\/trtllm\/[^/]+\/generation_attention\.csv\.gz/);
  assert.match(r.out, /allreduce: 160 \w+ calls/);
  // Tables priced the step, so the figures say so (not 'calibrated figures').
  assert.match(r.out, /these figures are priced from measured kernel tables \(interpolated between their rows\) where a table holds the op/);
  assert.doesNotMatch(r.out, /these are calibrated figures/);
  // One of a kind reads as one: the LM head's single embedding lookup, an op one table row priced.
  assert.match(r.out, /embedding: 1 calibrated call from /);
  assert.match(r.out, /calls \(1 table row\) from /);
  assert.doesNotMatch(r.out, /\b1 (\w+ )?(calls|table rows)\b/);
});

test('batchlab deploy --framework says when the measured rows price a larger batch below one sequence, and not where they rise', async () => {
  const args = ['deploy', '--framework', 'sglang', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--context', '2048'];
  const one = JSON.parse((await run([...args, '--batch', '1', '--json'])).out);
  const two = await run([...args, '--batch', '2']);
  const twoJ = JSON.parse((await run([...args, '--batch', '2', '--json'])).out);
  // SGLang 0.5.14's h100_sxm GEMM rows (data/kernels) time batch 2 below batch 1: the step falls.
  assert.ok(twoJ.decode.tpotSeconds < one.decode.tpotSeconds, `${twoJ.decode.tpotSeconds} vs ${one.decode.tpotSeconds}`);
  assert.equal(twoJ.decodeStepBelowBatchOne.batchOneStepSeconds, one.decode.tpotSeconds);
  assert.match(two.out, /the measured rows price this step [\d.]+ % below one sequence's \([\d.]+ ms at batch 1\); more sequences cannot make a step cheaper/);
  // At batch 64 the step is dearer than batch 1's: nothing to say.
  const big = await run([...args, '--batch', '64']);
  assert.doesNotMatch(big.out, /below one sequence's/);
  assert.equal(JSON.parse((await run([...args, '--batch', '64', '--json'])).out).decodeStepBelowBatchOne, undefined);
});

test("batchlab deploy --framework trtllm --hardware h800 prices compute from H100 SXM's rows, says so, and its all-reduces from its own links", async () => {
  const r = await run(['deploy', '--framework', 'trtllm', '--model', 'llama-3.1-70b', '--hardware', 'h800', '--tp', '8', '--batch', '1']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /inter-token latency [\d.]+ ms at batch 1/);
  assert.match(r.out, /gemm: \d+ \w+ calls \(\d+ table rows\) from data\/kernels\/h100_sxm\/trtllm\/[^/]+\/gemm\.csv\.gz \(h800 borrows h100-sxm's compute and memory kernel tables: same datasheet compute and memory figures\)/);
  // Two all-reduces in each of 80 layers (data/models/llama-3.1-70b.json), none from H100 SXM's table.
  assert.match(r.out, /allreduce: 160 calibrated calls from NVIDIA H800 SXM5 80GB performance model \(calibrated\)/);
  // SGLang's H100 SXM tables are borrowed the same way (data/kernels ships h100_sxm/sglang/0.5.14).
  const b = await run(['deploy', '--framework', 'sglang', '--model', 'llama-3.1-70b', '--hardware', 'h800', '--tp', '8']);
  assert.equal(b.code, 0, b.err);
  assert.match(b.out, /gemm: \d+ \w+ calls \(\d+ table rows\) from data\/kernels\/h100_sxm\/sglang\/0\.5\.14\/gemm\.csv\.gz \(h800 borrows h100-sxm's/);
});

test('batchlab deploy refuses a framework the device has no table for, and --kernel-db without --framework, naming the flag', async () => {
  const a = await run(['deploy', '--framework', 'sglang', '--hardware', 'a100-80gb', '--tp', '4']);
  assert.equal(a.code, 2);
  assert.match(a.err, /^batchlab: --framework must be one the kernel database holds for a100-80gb: trtllm 1\.0\.0/);
  // Without --framework, deploy reads the default engine's (vllm's) tables from --kernel-db, as simulate does;
  // with --efficiency there is no framework to read, and --kernel-db alone is refused.
  const b = await run(['deploy', '--kernel-db', 'data/kernels', '--json']);
  assert.equal(b.code, 0, b.err);
  assert.match(JSON.parse(b.out).stepModel, /vllm 0\.24\.0 kernel tables/);
  const e = await run(['deploy', '--kernel-db', 'data/kernels', '--efficiency', 'calibrated']);
  assert.equal(e.code, 2);
  assert.match(e.err, /^batchlab: --kernel-db must be left out with --efficiency and no --framework: --efficiency keeps kernel tables out/);
  const d = await run(['search', '--spec', 'docs/search-spec.example.json', '--framework', 'nope']);
  assert.equal(d.code, 2);
  assert.match(d.err, /^batchlab: --framework must be one of the frameworks data\/kernels holds: sglang, trtllm, vllm; got "nope"/);
  const c = await run(['deploy', '--framework', 'trtllm', '--kernel-db', '/nonexistent']);
  assert.equal(c.code, 2);
  assert.match(c.err, /^batchlab: --kernel-db must be a directory/);
});

test('batchlab bench gemm writes kernel-database rows, and this machine is then priced from its own table', async () => {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { loadKernelDb, kernelPricer } = await import('../../lib/kernels/index.js');
  const { loadHardware } = await import('../../lib/hardware/spec.js');
  const { parseGemmCsv } = await import('../../lib/gemm/store.js');
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-kdb-'));
  try {
    const r = await run(['bench', 'gemm', '--backend', 'cpu', '--m', '1,2,4', '--k', '8', '--n', '8', '--min-reps', '1', '--min-time-ms', '1', '--out', dir, '--json']);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { csv: string; kernelTable: string };
    assert.match(out.kernelTable, /kernels\/[^/]+\/tfjs-cpu\/[^/]+\/gemm\.csv$/);
    // The harness's own CSV is the source: median seconds of the M = 2 point.
    const m2 = parseGemmCsv(readFileSync(out.csv, 'utf8')).find((x) => x.m === 2 && x.dtype === 'fp32')!;
    const hw = loadHardware('this-machine', { measuredDir: dir });
    const k = kernelPricer(loadKernelDb(join(dir, 'kernels')), hw, 'tfjs-cpu');
    const a = k.gemm(2, 8, 8, 'fp32');
    assert.equal(a.kind, 'measured');
    assert.ok(Math.abs(a.seconds - m2.median_s) / m2.median_s < 1e-5, `${a.seconds} vs ${m2.median_s}`);
    assert.equal(k.gemm(3, 8, 8, 'fp32').kind, 'interpolated');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batchlab deploy --fp8-scaling static prices an FP8 decode step at most the dynamic one, and names the FP8 table', async () => {
  const args = ['deploy', '--framework', 'trtllm', '--model', 'llama-3.1-70b', '--hardware', 'h200', '--tp', '8', '--batch', '1', '--precision', 'fp8'];
  const tpot = async (scaling: string): Promise<number> => {
    const r = await run([...args, '--fp8-scaling', scaling, '--json']);
    assert.equal(r.code, 0, r.err);
    return (JSON.parse(r.out) as { decode: { tpotSeconds: number } }).decode.tpotSeconds;
  };
  const dynamic = await tpot('dynamic');
  const stat = await tpot('static');
  // KernelPricer.gemmFp8Static (lib/kernels/pricer.ts): the 'fp8' table's time less the measured
  // compute_scale (and scale_matrix) passes, floored at the roofline: never above the dynamic price.
  // The h200_sxm/trtllm tables hold those passes, so the static step is strictly faster.
  assert.ok(stat < dynamic, `static ${stat} s vs dynamic ${dynamic} s`);
  const human = await run([...args, '--fp8-scaling', 'static']);
  assert.equal(human.code, 0, human.err);
  assert.match(human.out, /priced by \(FP8 GEMMs, static scaling: the GEMM table's 'fp8' rows less its compute_scale and scale_matrix passes\):/);
  const block = await run([...args, '--fp8-scaling', 'block']);
  assert.match(block.out, /priced by \(FP8 GEMMs, block scaling: the GEMM table's 'fp8_block' rows\):/);
});

test("batchlab deploy prices DeepSeek-V3's FP8 by its checkpoint's block scaling unless --fp8-scaling says otherwise, and says whose it is", async () => {
  const args = ['deploy', '--model', 'deepseek-v3', '--hardware', 'h200', '--tp', '8', '--batch', '64', '--precision', 'fp8'];
  const tpot = async (extra: string[]): Promise<number> => {
    const r = await run([...args, ...extra, '--json']);
    assert.equal(r.code, 0, r.err);
    return (JSON.parse(r.out) as { decode: { tpotSeconds: number } }).decode.tpotSeconds;
  };
  // data/models/deepseek-v3.json: quantization_config.weight_block_size [128, 128] (fp8ScalingOf).
  assert.equal(await tpot([]), await tpot(['--fp8-scaling', 'block']));
  assert.notEqual(await tpot([]), await tpot(['--fp8-scaling', 'dynamic']));
  const human = await run(args);
  assert.match(human.out, /priced by \(FP8 GEMMs, block scaling, the checkpoint's own \(its config\.json's quantization_config; --fp8-scaling overrides it\): the GEMM table's 'fp8_block' rows\):/);
});

test('batchlab deploy and search refuse --fp8-scaling with a bad value or without --framework, naming the flag', async () => {
  const a = await run(['deploy', '--framework', 'trtllm', '--fp8-scaling', 'tensor']);
  assert.equal(a.code, 2);
  assert.match(a.err, /^batchlab: --fp8-scaling must be one of "dynamic", "static", "block"; got "tensor"/);
  // Without --framework the default engine's (vllm's) tables price the step, and the flag picks among them;
  // with --efficiency, or a search spec's "framework": null, no table prices it and the flag is refused.
  const b = await run(['deploy', '--fp8-scaling', 'static', '--efficiency', 'calibrated']);
  assert.equal(b.code, 2);
  assert.match(b.err, /^batchlab: --fp8-scaling must be given with --framework/);
  assert.equal((await run(['deploy', '--fp8-scaling', 'static', '--precision', 'fp8', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1'])).code, 0);
  const modelOnly = mkdtempSync(join(tmpdir(), 'batchlab-fp8m-'));
  writeFileSync(join(modelOnly, 'spec.json'), JSON.stringify({ ...JSON.parse(readFileSync('docs/search-spec.example.json', 'utf8')), framework: null }));
  const c = await run(['search', '--spec', join(modelOnly, 'spec.json'), '--fp8-scaling', 'block']);
  rmSync(modelOnly, { recursive: true, force: true });
  assert.equal(c.code, 2);
  assert.match(c.err, /^batchlab: --fp8-scaling must be given with --framework/);
  // With no FP8 weights there is no FP8 GEMM table to pick: the flag changed nothing, and is refused.
  const d = await run(['deploy', '--framework', 'trtllm', '--fp8-scaling', 'block', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1']);
  assert.equal(d.code, 2);
  assert.equal(d.err, 'batchlab: --fp8-scaling must be left out with --precision bf16: it picks the FP8 GEMM table, and these weights are bf16; got "block"');
  assert.equal((await run(['deploy', '--framework', 'trtllm', '--fp8-scaling', 'block', '--precision', 'fp8', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1'])).code, 0);
  const bf16Spec = JSON.parse(readFileSync('docs/search-spec.example.json', 'utf8'));
  bf16Spec.precisions = bf16Spec.precisions.filter((p: unknown) => JSON.stringify(p).includes('bf16') && !JSON.stringify(p).includes('fp8'));
  assert.ok(bf16Spec.precisions.length > 0);
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-fp8s-'));
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(bf16Spec));
  const e = await run(['search', '--spec', join(dir, 'spec.json'), '--framework', 'trtllm', '--fp8-scaling', 'block']);
  assert.equal(e.code, 2);
  assert.match(e.err, /^batchlab: --fp8-scaling must be left out when no precision of the spec has FP8 weights/);
});

test('batchlab deploy --simulate --engine sizes the KV cache by the preset memory rule at the layout tp', async () => {
  const { presetMemoryFraction } = await import('../../lib/batching/replica.js');
  const { engineDevice, servingEnginePreset } = await import('../../lib/batching/engines.js');
  const { loadHardware } = await import('../../lib/hardware/spec.js');
  const { loadModel } = await import('../../lib/models/index.js');
  const r = await run(['deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '2', '--simulate', '--rate', '4', '--requests', '200', '--engine', 'trtllm', '--json']);
  assert.equal(r.code, 0, r.err);
  const sim = (JSON.parse(r.out) as { simulated: { memoryFraction: number } }).simulated;
  const hw = loadHardware('h100-sxm');
  const expected = presetMemoryFraction(servingEnginePreset('trtllm', engineDevice(hw, 2)), loadModel('llama-3.1-8b'), hw, { parallelism: { tp: 2 }, precision: 'bf16' });
  assert.equal(sim.memoryFraction, expected);
  // TensorRT-LLM's free_gpu_memory_fraction 0.9 of what the weights leave (lib/batching/engines.ts):
  // 0.9 + 0.1 · weights / capacity, strictly between 0.9 and 1 for weights that fit.
  assert.ok(sim.memoryFraction > 0.9 && sim.memoryFraction < 1, String(sim.memoryFraction));
  const plain = await run(['deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '2', '--simulate', '--rate', '4', '--requests', '200', '--json']);
  assert.equal((JSON.parse(plain.out) as { simulated: { memoryFraction?: number } }).simulated.memoryFraction, undefined);
});

test('batchlab search --framework --fp8-scaling prints a deploy command that prices its answer the same way', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-fp8-'));
  try {
    const spec = { model: 'llama-3.1-70b', hardware: ['h200'], layouts: [{ tensorParallel: 8 }], precisions: ['fp8'], batches: [1, 8, 64], load: { requestsPerSecond: 2, promptTokens: 1024, outputTokens: 128 }, slo: { tpotSeconds: 0.1 } };
    const path = join(dir, 'spec.json');
    writeFileSync(path, JSON.stringify(spec));
    const price = async (scaling: string): Promise<{ best: { usdPerMillionOutputFullBatch: number }; sameAsDeploy: string }> => {
      const r = await run(['--json', 'search', '--spec', path, '--framework', 'trtllm', '--fp8-scaling', scaling]);
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out);
    };
    const s = await price('static');
    // KernelPricer.gemmFp8Static: the static GEMMs cost at most the dynamic ones, and less on these tables.
    assert.ok(s.best.usdPerMillionOutputFullBatch < (await price('dynamic')).best.usdPerMillionOutputFullBatch);
    assert.match(s.sameAsDeploy, / --framework trtllm --fp8-scaling static$/);
    const d = JSON.parse((await run(['--json', ...s.sameAsDeploy.replace(/^batchlab /, '').split(' ')])).out) as { usdPerMillionOutputAllIn: number };
    // One pricing path (search and deploy share requestPrice over the same step model): equal to rounding.
    assert.ok(Math.abs(d.usdPerMillionOutputAllIn - s.best.usdPerMillionOutputFullBatch) <= 1e-9 * s.best.usdPerMillionOutputFullBatch, `${d.usdPerMillionOutputAllIn} vs ${s.best.usdPerMillionOutputFullBatch}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("batchlab deploy --eplb prices a wide-EP layout's routed experts from the 'uniform' rows at the placement model's load factor, says so, and is refused for a dense model naming the flag", async () => {
  const layout = ['--model', 'deepseek-v3', '--hardware', 'h100-sxm', '--tp', '1', '--dp', '32', '--ep', '32', '--precision', 'fp8', '--framework', 'sglang', '--fp8-scaling', 'block', '--batch', '64', '--context', '2048'];
  const eplb = await run(['deploy', ...layout, '--redundant', '32', '--eplb']);
  assert.equal(eplb.code, 0, eplb.err);
  // 64 sequences on each of 32 ranks: 2,048 tokens enter each MoE layer, routed over 32 GPUs with 32 copies.
  assert.match(eplb.out, /wideep_moe: 58 \w+ calls .*wideep_moe\.csv\.gz .*EPLB: 'uniform' rows at 1\.\d{4} × the layer's tokens.*uniform top-8 routing of 2048 tokens over 32 devices with 32 redundant experts/);
  const plain = await run(['deploy', ...layout]);
  assert.equal(plain.code, 0, plain.err);
  assert.doesNotMatch(plain.out, /EPLB/);
  // Redundant copies are EPLB's: without --eplb they would change nothing, so they are refused naming both flags.
  const copiesOnly = await run(['deploy', ...layout, '--redundant', '32']);
  assert.equal(copiesOnly.code, 2);
  assert.match(copiesOnly.err, /^batchlab: --redundant must be 0 without --eplb: redundant copies are EPLB's \(give --eplb to balance the experts over them\); got 32$/);
  const dense = await run(['deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--eplb']);
  assert.notEqual(dense.code, 0);
  assert.match(dense.err, /--eplb .*dense model/);
  // At --ep 1 there are no expert-parallel devices to balance over.
  const noEp = await run(['deploy', '--model', 'deepseek-v3', '--hardware', 'h100-sxm', '--tp', '8', '--precision', 'fp8', '--eplb']);
  assert.notEqual(noEp.code, 0);
  assert.match(noEp.err, /--eplb .*--ep 1.*\[2, 65536\]/);
  // The placement model samples --prefill-tokens × --dp tokens, at most 4,194,304 (ROUTING_SAMPLE_MAX_TOKENS): 65,536 per rank over 64.
  const big = await run(['deploy', '--model', 'deepseek-v3', '--hardware', 'h200', '--tp', '1', '--dp', '64', '--ep', '64', '--precision', 'fp8', '--prefill-tokens', '131072', '--prompt', '2048', '--eplb']);
  assert.notEqual(big.code, 0);
  assert.match(big.err, /--prefill-tokens must be an integer in \[1, 65536\] with --eplb/);
});

test('batchlab search prints --eplb wherever it prints --redundant, and that deploy command prices its answer the same way', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-eplb-'));
  try {
    // DeepSeek-V3 over EP32 with 32 redundant experts (the layout of DeepSeek's prefill pool, data/published).
    const spec = { model: 'deepseek-v3', hardware: ['h200'], layouts: [{ tensorParallel: 1, dataParallelAttention: 32, expertParallel: 32, redundantExperts: 32 }], precisions: ['fp8'], batches: [8, 32], load: { requestsPerSecond: 400, promptTokens: 1024, outputTokens: 128 }, slo: { tpotSeconds: 1 } };
    const path = join(dir, 'spec.json');
    writeFileSync(path, JSON.stringify(spec));
    const r = await run(['--json', 'search', '--spec', path]);
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out) as { best: { usdPerMillionOutputFullBatch: number }; sameAsDeploy: string };
    assert.match(s.sameAsDeploy, / --redundant 32 --eplb /);
    const d = await run(['--json', ...s.sameAsDeploy.replace(/^batchlab /, '').split(' ')]);
    assert.equal(d.code, 0, d.err);
    const all = (JSON.parse(d.out) as { usdPerMillionOutputAllIn: number }).usdPerMillionOutputAllIn;
    // One pricing path: the search prices the copies under EPLB as deploy --eplb does, equal to rounding.
    assert.ok(Math.abs(all - s.best.usdPerMillionOutputFullBatch) <= 1e-9 * s.best.usdPerMillionOutputFullBatch, `${all} vs ${s.best.usdPerMillionOutputFullBatch}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batchlab deploy --simulate --engine prices from that engine\'s kernel tables by default, as simulate does; --efficiency keeps them out', async () => {
  const args = ['deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--simulate', '--rate', '4', '--requests', '100', '--engine', 'vllm', '--json'];
  const byEngine = JSON.parse((await run(args)).out);
  const typed = JSON.parse((await run([...args, '--framework', 'vllm'])).out);
  assert.match(byEngine.stepModel, /vllm 0\.24\.0 kernel tables/);
  assert.equal(byEngine.figures, 'kernel tables');
  assert.deepEqual(byEngine, typed);
  const calibrated = JSON.parse((await run([...args, '--efficiency', 'calibrated'])).out);
  assert.equal(calibrated.figures, 'calibrated');
  assert.doesNotMatch(calibrated.stepModel, /kernel tables/);
  // a100-80gb holds TensorRT-LLM's tables only (data/kernels/SOURCE.json): the vLLM preset falls back to the performance model.
  const a100 = await run(['deploy', '--model', 'llama-3.1-8b', '--hardware', 'a100-80gb', '--tp', '1', '--simulate', '--rate', '4', '--requests', '100', '--engine', 'vllm', '--json']);
  assert.equal(a100.code, 0, a100.err);
  assert.notEqual(JSON.parse(a100.out).figures, 'kernel tables');
  assert.match(JSON.parse(a100.out).stepModel, /; no vllm kernel tables for a100-80gb$/);
  // With no tables to pick from, --fp8-scaling would do nothing: refused (mi300x has no folder in data/kernels).
  const fp8 = await run(['deploy', '--model', 'llama-3.1-8b', '--hardware', 'mi300x', '--tp', '1', '--simulate', '--rate', '2', '--engine', 'vllm', '--precision', 'fp8', '--fp8-scaling', 'block']);
  assert.equal(fp8.code, 2);
  assert.equal(fp8.err, 'batchlab: --fp8-scaling must be left out: it picks an FP8 GEMM table, and there are no vllm kernel tables for mi300x; got "block"');
  // A --kernel-db without the engine's framework names both flags (data/examples/measured/kernels holds torch only).
  const db = await run(['simulate', '--model', 'llama-3.1-8b', '--hardware', 'h200', '--kernel-db', 'data/examples/measured/kernels']);
  assert.equal(db.code, 2);
  assert.equal(db.err, 'batchlab: --framework must be given with --kernel-db data/examples/measured/kernels: it holds torch, not the vllm tables the engine preset reads (vllm\'s without --engine)');
});

test('batchlab search by default prices a device whose tables are another framework\'s only (b200, a100: trtllm) by the performance model, saying so, instead of calling its layouts invalid', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-nofw-'));
  try {
    const spec = { model: 'llama-3.1-70b', hardware: ['b200'], layouts: [{ tensorParallel: 4 }, { tensorParallel: 8 }], precisions: ['fp8'], batches: [64], load: { requestsPerSecond: 20, promptTokens: 2000, outputTokens: 500 }, slo: { tpotSeconds: 0.04 } };
    writeFileSync(join(dir, 'b200.json'), JSON.stringify(spec));
    const r = await run(['--json', 'search', '--spec', join(dir, 'b200.json')]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.ok(j.best, j.reason);
    assert.equal(j.leftOut.length, 0, JSON.stringify(j.leftOut));
    // data/kernels holds b200_sxm under trtllm only (SOURCE.json).
    assert.match(j.figuresNote, /no vllm kernel tables for b200/);
    // The deploy line reproduces the price: deploy falls back the same way.
    const args = (j.sameAsDeploy as string).replace(/^batchlab /, '').split(' ');
    const d = JSON.parse((await run(['--json', ...args])).out);
    assert.ok(Math.abs(d.usdPerMillionOutputAllIn - j.best.usdPerMillionOutputFullBatch) <= 1e-9 * d.usdPerMillionOutputAllIn);
    // A search over hardware priced two ways says which devices each prices.
    writeFileSync(join(dir, 'mixed.json'), JSON.stringify({ ...spec, hardware: ['h100-sxm', 'b200', 'mi300x'] }));
    const mixed = await run(['search', '--spec', join(dir, 'mixed.json')]);
    assert.match(mixed.out, /priced from vllm's kernel tables: h100-sxm; by the performance model: b200 \(typical\), mi300x \(typical\)/);
    assert.deepEqual(JSON.parse((await run(['--json', 'search', '--spec', join(dir, 'mixed.json')])).out).pricedBy, { 'h100-sxm': 'kernel tables', b200: 'typical', mi300x: 'typical' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batchlab search --fp8-scaling is printed into the deploy line only where it picked the answer\'s table, and refused where no table prices any device of the spec', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-fp8line-'));
  try {
    // bf16 and fp8 on H100: the best's precision decides whether the flag picked its table.
    const spec = { model: 'llama-3.1-8b', hardware: ['h100-sxm'], layouts: [{ tensorParallel: 1 }], precisions: ['bf16', 'fp8'], batches: [8, 16], load: { requestsPerSecond: 2, promptTokens: 1000, outputTokens: 200 } };
    writeFileSync(join(dir, 'mixed.json'), JSON.stringify(spec));
    const j = JSON.parse((await run(['--json', 'search', '--spec', join(dir, 'mixed.json'), '--fp8-scaling', 'block'])).out);
    const fp8 = spec.precisions[j.best.precision] === 'fp8';
    assert.equal(/--fp8-scaling block/.test(j.sameAsDeploy), fp8, j.sameAsDeploy);
    // A100 has no FP8 (data/hardware/a100-80gb.json), so the answer is bf16 though the spec lists fp8: the flag is left
    // out of its deploy line, which deploy would refuse, and that line runs.
    writeFileSync(join(dir, 'a100.json'), JSON.stringify({ ...spec, hardware: ['a100-80gb'] }));
    const b = JSON.parse((await run(['--json', 'search', '--spec', join(dir, 'a100.json'), '--fp8-scaling', 'block', '--framework', 'trtllm'])).out);
    assert.equal(b.best.precision, 0);
    assert.doesNotMatch(b.sameAsDeploy, /--fp8-scaling/);
    assert.equal((await run(b.sameAsDeploy.replace(/^batchlab /, '').split(' '))).code, 0);
    writeFileSync(join(dir, 'bf16best.json'), JSON.stringify({ ...spec, precisions: ['bf16', 'fp8'], layouts: [{ tensorParallel: 1 }], hardware: ['h100-sxm', 'mi300x'] }));
    const mixedHw = JSON.parse((await run(['--json', 'search', '--spec', join(dir, 'bf16best.json'), '--fp8-scaling', 'block'])).out);
    const d = await run(mixedHw.sameAsDeploy.replace(/^batchlab /, '').split(' '));
    assert.equal(d.code, 0, `${mixedHw.sameAsDeploy}: ${d.err}`);
    // mi300x alone: no vllm table prices anything, so the flag would change nothing (deploy refuses it there too).
    writeFileSync(join(dir, 'mi.json'), JSON.stringify({ ...spec, hardware: ['mi300x'] }));
    const mi = await run(['search', '--spec', join(dir, 'mi.json'), '--fp8-scaling', 'block']);
    assert.equal(mi.code, 2);
    assert.match(mi.err, /^batchlab: --fp8-scaling must be left out: it picks an FP8 GEMM table, and there are no vllm kernel tables for mi300x/);
    // A --kernel-db without the spec's framework names where the framework came from.
    const db = await run(['search', '--spec', join(dir, 'mixed.json'), '--kernel-db', 'data/examples/measured/kernels']);
    assert.equal(db.code, 2);
    assert.match(db.err, /it holds torch, not the vllm tables a search spec without "framework" reads/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

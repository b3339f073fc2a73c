import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { batchlabRoot } from '../../lib/util/package-root.js';
import { listModelIds } from '../../lib/models/spec.js';
import { listHardware } from '../../lib/hardware/spec.js';
import { progressBar } from '../../bin/commands/inputs.js';
import { run, withDir } from './run.js';

const ROOT = batchlabRoot();
const QWEN = join(ROOT, 'data/examples/models/qwen2.5-7b');


const close = (a: number, b: number, rel = 1e-12): boolean => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));

test('batchlab deploy --model ./qwen2.5-7b/config.json --hardware h100-sxm --tp 1 prices the user\'s Qwen2.5-7B config from the default engine\'s kernel tables (calibrated with --efficiency), says so, and notes what is unpriced', async () => {
  for (const ref of [join(QWEN, 'config.json'), QWEN]) {
    const r = await run(['deploy', '--model', ref, '--hardware', 'h100-sxm', '--tp', '1']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    // data/kernels ships h100_sxm/vllm/0.24.0: without --framework, vllm's tables price the step, as simulate's default engine does.
    assert.match(lines[0], /^Qwen\/Qwen2\.5-7B-Instruct on NVIDIA H100 SXM5 80GB: .*calibrated efficiency and vllm 0\.24\.0 kernel tables \(TP1,/);
    assert.match(lines[1], /these figures are priced from measured kernel tables/);
    const c = await run(['deploy', '--model', ref, '--hardware', 'h100-sxm', '--tp', '1', '--efficiency', 'calibrated']);
    assert.match(c.out.split('\n')[0], /calibrated efficiency \(TP1,/);
    assert.match(c.out.split('\n')[1], /these are calibrated figures/);
    // Weights: 7.62e9 parameters × 2 bytes (bf16) = 15.2 GB (test/models/architectures.test.ts gives the closed form).
    assert.match(r.out, /memory per device: weights 15\.2 GB/);
    assert.match(r.out, /note: q, k, v projection biases/);
    assert.doesNotMatch(r.out, /[{}]/, 'human output carries no JSON');
  }
  const j = JSON.parse((await run(['--json', 'deploy', '--model', QWEN, '--hardware', 'h100-sxm', '--tp', '1'])).out);
  assert.equal(j.figures, 'kernel tables');
  assert.equal(JSON.parse((await run(['--json', 'deploy', '--model', QWEN, '--hardware', 'h100-sxm', '--tp', '1', '--efficiency', 'calibrated'])).out).figures, 'calibrated');
  assert.ok(j.notes.length >= 1);
});

test('batchlab deploy --hardware <file> and --usd-per-hour: the user\'s hardware and price replace the catalog\'s, and a bad field names the file and field', withDir(async (dir) => {
  const mine = JSON.parse(readFileSync(join(ROOT, 'data/hardware/h100-sxm.json'), 'utf8'));
  mine.id = 'my-h100';
  mine.hourlyPriceUsd = { value: 1.25, source: 'our cloud contract' };
  const file = join(dir, 'my-h100.json');
  writeFileSync(file, JSON.stringify(mine));
  // The user's file is another device to the kernel tables (they are keyed by id): both are priced by the performance model here.
  const args = ['--model', 'llama-3.1-8b', '--tp', '1', '--batch', '32', '--context', '2048', '--efficiency', 'calibrated'];
  assert.match(JSON.parse((await run(['--json', 'deploy', '--hardware', file, ...args.slice(0, -2)])).out).stepModel, /no vllm kernel tables for my-h100/);
  const cat = JSON.parse((await run(['--json', 'deploy', '--hardware', 'h100-sxm', ...args])).out);
  const own = JSON.parse((await run(['--json', 'deploy', '--hardware', file, ...args])).out);
  const flag = JSON.parse((await run(['--json', 'deploy', '--hardware', 'h100-sxm', '--usd-per-hour', '1.25', ...args])).out);
  // Same device numbers, so the same throughput; the price per token scales with the hourly price.
  assert.equal(own.decode.tokensPerSecondPerDevice, cat.decode.tokensPerSecondPerDevice);
  assert.equal(own.usdPerDeviceHour, 1.25);
  assert.ok(close(own.usdPerMillionOutput, (cat.usdPerMillionOutput * 1.25) / cat.usdPerDeviceHour));
  assert.ok(close(flag.usdPerMillionOutput, own.usdPerMillionOutput));
  assert.match((await run(['deploy', '--hardware', 'h100-sxm', '--usd-per-hour', '1.25', ...args])).out, /at \$1\.25 per device-hour \(given with --usd-per-hour\)/);
  // A price of 0 given is said as given (it asked for a price the user had given).
  assert.match((await run(['deploy', '--hardware', 'h100-sxm', '--usd-per-hour', '0', ...args])).out, /at \$0 per device-hour \(given with --usd-per-hour\): no money figures/);
  mine.memoryBytesPerSecond = { value: -1, source: 'x' };
  writeFileSync(file, JSON.stringify(mine));
  const bad = await run(['deploy', '--hardware', file, ...args]);
  assert.equal(bad.code, 2);
  assert.ok(bad.err.startsWith(`batchlab: --hardware ${file}: memoryBytesPerSecond.value must be`), bad.err);
}));

test('search and deploy agree on $/M for the same configuration (one pricing path), and search prices the load\'s utilisation by Little\'s law', withDir(async (dir) => {
  const spec = { model: QWEN, hardware: ['h100-sxm'], layouts: [{ tensorParallel: 1 }], precisions: ['bf16'], batches: { pow2: 512 }, load: { requestsPerSecond: 10, promptTokens: 2048, outputTokens: 256 }, slo: { tpotSeconds: 0.05 } };
  const path = join(dir, 'spec.json');
  writeFileSync(path, JSON.stringify(spec));
  const s = JSON.parse((await run(['--json', 'search', '--spec', path])).out);
  const best = s.best;
  assert.ok(best);
  // Little's law: in flight = 10 req/s × (TTFT + 256 × TPOT); utilisation = in flight / slots ≤ 1.
  assert.ok(close(best.concurrency, 10 * (best.ttftSeconds + 256 * best.tpotSeconds), 1e-9));
  assert.ok(best.utilisation <= 1 && close(best.utilisation, best.concurrency / best.slots, 1e-9));
  // At 10 req/s the load cannot fill a batch of 512: that batch is not the answer, and is refused for it.
  assert.ok(best.batch < 512);
  // The deploy command search prints for its answer gives the same full-batch all-in price.
  const cmd: string = s.sameAsDeploy;
  // Words as a POSIX shell splits them (a path with spaces comes single-quoted).
  const args = cmd.replace(/^batchlab /, '').match(/'[^']*'|\S+/g)!.map((w) => w.replace(/^'(.*)'$/, '$1'));
  const d = JSON.parse((await run(['--json', ...args])).out);
  assert.ok(close(d.usdPerMillionOutputAllIn, best.usdPerMillionOutputFullBatch, 1e-9), `${d.usdPerMillionOutputAllIn} vs ${best.usdPerMillionOutputFullBatch}`);
  // The bill on the devices the load needs is never below the full-batch price.
  assert.ok(best.usdPerMillionOutput >= best.usdPerMillionOutputFullBatch);
  const text = await run(['search', '--spec', path]);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /at \d+ % utilisation: \$[\d.]+ per million output tokens/);
  assert.match(text.out, /Little's law/);
  assert.doesNotMatch(text.out, /\{"/, 'no JSON fragments');
  assert.doesNotMatch(text.out, /\b1 devices\b/);
  // Without --framework the default engine's tables price it (data/kernels ships h100_sxm/vllm), and --framework vllm is the same search.
  assert.match(text.out, /figures are priced from measured vllm 0\.24\.0 kernel tables \(interpolated between their rows\) where a table holds the op, at the hardware's sourced calibration efficiencies elsewhere; the same configuration: .* --framework vllm$/m);
  const tablesJson = JSON.parse((await run(['--json', 'search', '--spec', path, '--framework', 'vllm'])).out);
  assert.equal(tablesJson.figures, 'kernel tables');
  assert.match(tablesJson.figuresNote, /^figures are priced from measured vllm 0\.24\.0 kernel tables/);
  assert.deepEqual(tablesJson.best, best);
  assert.equal(s.figures, 'kernel tables');
  // A spec's "framework": null prices from the performance model alone (h100-sxm has a calibration), and
  // the deploy command it prints keeps deploy's default tables out with --efficiency, so the two still agree.
  writeFileSync(path, JSON.stringify({ ...spec, framework: null }));
  const m = JSON.parse((await run(['--json', 'search', '--spec', path])).out);
  assert.equal(m.figures, 'calibrated');
  assert.match(m.sameAsDeploy, / --efficiency calibrated$/);
  const margs = (m.sameAsDeploy as string).replace(/^batchlab /, '').match(/'[^']*'|\S+/g)!.map((w) => w.replace(/^'(.*)'$/, '$1'));
  const md = JSON.parse((await run(['--json', ...margs])).out);
  assert.ok(close(md.usdPerMillionOutputAllIn, m.best.usdPerMillionOutputFullBatch, 1e-9), `${md.usdPerMillionOutputAllIn} vs ${m.best.usdPerMillionOutputFullBatch}`);
  assert.match((await run(['search', '--spec', path])).out, /figures are calibrated \(the performance model at the hardware's sourced calibration efficiencies\); the same configuration/);
  writeFileSync(path, JSON.stringify({ ...spec, framework: 'nope' }));
  const bad = await run(['search', '--spec', path]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /framework must be a framework whose kernel tables data\/kernels holds \("sglang", "trtllm", "vllm"\), or null for the performance model alone; got "nope"/);
}));

test('batchlab search names what its answer\'s figures are: typical on a device with no calibration, and no tables where the framework has none for it', withDir(async (dir) => {
  // mi300x has no calibration entry and no folder in data/kernels.
  const spec = { model: 'llama-3.1-8b', hardware: ['mi300x'], layouts: [{ tensorParallel: 1 }], precisions: ['bf16'], batches: [8, 16], load: { requestsPerSecond: 40, promptTokens: 512, outputTokens: 128 }, slo: { tpotSeconds: 1 } };
  const path = join(dir, 'spec.json');
  writeFileSync(path, JSON.stringify(spec));
  const r = await run(['search', '--spec', path, '--framework', 'vllm']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /figures are typical \(the performance model at typical efficiencies; no vllm kernel tables for mi300x\)/);
  assert.doesNotMatch(r.out, /figures are calibrated/);
}));

test('batchlab search: a load too light to fill one serving unit at the smallest batch gets that one unit, priced by the hour at its utilisation', withDir(async (dir) => {
  // DeepSeek-V3 on 32 H800s (DP32 EP32) holds 32 sequences at batch 1; 0.1 req/s × (TTFT + 200 × TPOT) is well under 1.
  const spec = { model: 'deepseek-v3', hardware: ['h800'], layouts: [{ tensorParallel: 1, dataParallelAttention: 32, expertParallel: 32 }], precisions: ['fp8'], batches: [1, 2, 4], load: { requestsPerSecond: 0.1, promptTokens: 1000, outputTokens: 200 }, slo: { tpotSeconds: 1 } };
  const path = join(dir, 'spec.json');
  writeFileSync(path, JSON.stringify(spec));
  const j = JSON.parse((await run(['--json', 'search', '--spec', path])).out);
  assert.equal(j.best.batch, 1, 'the smallest batch, not a larger one the load fills even less');
  assert.equal(j.best.underfilled, true);
  assert.equal(j.best.devicesNeeded, 32, 'one serving unit');
  assert.ok(j.best.concurrency < 1 && Math.abs(j.best.utilisation - j.best.concurrency / 32) < 1e-12);
  // 32 H800s (data/hardware/h800.json: $2.00 per device-hour) by the hour over 0.1 req/s × 200 output tokens.
  assert.equal(j.best.usdPerHour, 64);
  assert.ok(Math.abs(j.best.usdPerMillionOutput - (64 / 3600 / 20) * 1e6) <= 1e-9 * j.best.usdPerMillionOutput);
  const text = await run(['search', '--spec', path]);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /fewer than one serving unit holds at the smallest batch \(1\): priced on one serving unit \(32 devices\), the least a load takes, paid by the hour, at the TPOT of one sequence per rank \(`deploy --batch 1` gives it\)/);
  assert.equal(j.best.loadBatch, 1);
}));

test('batchlab search: a load that fills the smallest batch is not called underfilled, however its slots round up', withDir(async (dir) => {
  // 50 req/s of 1,000 + 200 tokens on one H100 at batch 1: about 99 units, each full.
  const spec = { model: 'llama-3.1-8b', hardware: ['h100-sxm'], layouts: [{ tensorParallel: 1 }], precisions: ['bf16'], batches: [1], load: { requestsPerSecond: 50, promptTokens: 1000, outputTokens: 200 }, slo: {} };
  const path = join(dir, 'spec.json');
  writeFileSync(path, JSON.stringify(spec));
  const j = JSON.parse((await run(['--json', 'search', '--spec', path])).out);
  assert.equal(j.best.underfilled, false);
  assert.ok(j.best.devicesNeeded > 10, `${j.best.devicesNeeded}`);
  const text = await run(['search', '--spec', path]);
  assert.doesNotMatch(text.out, /fewer than one serving unit/);
  assert.match(text.out, /batches it cannot fill are not priced/);
}));

test('roofline says it is a bound and deploy says what priced it (kernel tables by default, calibrated with --efficiency): they differ on purpose at batch 1', async () => {
  const roof = await run(['roofline', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--batch', '1', '--context', '0']);
  assert.equal(roof.code, 0, roof.err);
  assert.match(roof.out, /\(1 device\)/);
  assert.match(roof.out, /this is a bound: the datasheet roofline/);
  const rj = JSON.parse((await run(['--json', 'roofline', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--batch', '1', '--context', '0'])).out);
  const dj = JSON.parse((await run(['--json', 'deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--batch', '1', '--context', '0'])).out);
  const cj = JSON.parse((await run(['--json', 'deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--batch', '1', '--context', '0', '--efficiency', 'calibrated'])).out);
  assert.equal(rj.figures, 'bound');
  assert.equal(dj.figures, 'kernel tables');
  assert.equal(cj.figures, 'calibrated');
  // A bound is never slower than measured kernels or the calibrated model of the same step.
  assert.ok(rj.tokensPerSecond >= dj.decode.tokensPerSecondPerDevice);
  assert.ok(rj.tokensPerSecond >= cj.decode.tokensPerSecondPerDevice);
  const spec = JSON.parse((await run(['--json', 'deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--batch', '1', '--context', '0', '--efficiency', 'spec'])).out);
  assert.equal(spec.figures, 'bound');
});

test('roofline names tensor parallelism --tp, as deploy and simulate do; --devices, its older name, gives the same step; both at once is refused', async () => {
  const base = ['--json', 'roofline', '--model', 'llama-3.1-70b', '--hardware', 'h100-sxm', '--batch', '8'];
  const tp = JSON.parse((await run([...base, '--tp', '4'])).out);
  const old = JSON.parse((await run([...base, '--devices', '4'])).out);
  assert.equal(tp.tp, 4);
  assert.deepEqual(tp, old);
  // Four devices each read a quarter of the weights: the bound step is below one device's.
  assert.ok(tp.stepSeconds < JSON.parse((await run([...base, '--tp', '1'])).out).stepSeconds / 3);
  const both = await run([...base, '--tp', '4', '--devices', '4']);
  assert.equal(both.code, 2);
  assert.equal(both.err, 'batchlab: --devices must be left out when --tp is given (--devices is the older name of --tp); got "4"');
  const zero = await run([...base, '--tp', '0']);
  assert.equal(zero.err, 'batchlab: --tp must be an integer in [1, 4096]; got 0');
  assert.match((await run(['roofline', '--help'])).out, /--tp <int>/);
});

test('batchlab roofline --model <gemma-2 config.json>: the sliding window and the unpriced soft-capping are stated beside the figures', async () => {
  const r = await run(['roofline', '--model', join(ROOT, 'test/fixtures/models/gemma-2-9b.json'), '--hardware', 'h100-sxm', '--context', '8192']);
  assert.equal(r.code, 0, r.err);
  // Gemma-2-9B: 21 of its 42 layers slide over 4096 tokens (test/models/architectures.test.ts).
  assert.match(r.out, /note: sliding window: 21 of 42 layers attend to the last 4096 tokens/);
  assert.match(r.out, /note: attention-logit and final-logit soft-capping \(tanh\) are not priced/);
  const j = JSON.parse((await run(['--json', 'roofline', '--model', join(ROOT, 'test/fixtures/models/gemma-2-9b.json'), '--hardware', 'h100-sxm'])).out);
  assert.equal(j.model, 'gemma-2-9b');
  assert.ok(j.notes.length >= 2);
});

test('batchlab list models|hardware|setups: a text table with units in the headers, --json the rows; an unknown kind names <what>', async () => {
  const m = await run(['list', 'models']);
  assert.equal(m.code, 0, m.err);
  const lines = m.out.split('\n');
  assert.match(lines[0], /^id +architecture +parameters \(B\)/);
  // One row per catalog file.
  assert.equal(lines.length, 1 + listModelIds().length);
  const h = JSON.parse((await run(['--json', 'list', 'hardware'])).out);
  assert.deepEqual(h.map((x: { id: string }) => x.id), listHardware().map((x) => x.id));
  // Memory in decimal GB: 80 GiB (data/hardware/h100-sxm.json) = 85.9 GB.
  const text = (await run(['list', 'hardware'])).out;
  assert.match(text, /h100-sxm +NVIDIA H100 SXM5 80GB +989\.5 +85\.9 +3\.35 +\$2\.99 +sourced +sglang, trtllm, vllm\n/);
  assert.match(text, /h800 .* sglang, trtllm, vllm \(h100-sxm's for compute\)\n/);
  // Which kernel tables data/kernels holds for each device (SOURCE.json): A100 TensorRT-LLM's only, H800 borrows H100 SXM's, MI300X none.
  const held = Object.fromEntries(h.map((x: { id: string; kernelTables: string[]; kernelTablesBorrowedFrom: string | null }) => [x.id, [x.kernelTables, x.kernelTablesBorrowedFrom]]));
  assert.deepEqual(held['a100-80gb'], [['trtllm'], null]);
  assert.deepEqual(held.h800, [['sglang', 'trtllm', 'vllm'], 'h100-sxm']);
  assert.deepEqual(held.mi300x, [[], null]);
  assert.match((await run(['list', 'setups'])).out, /rtx-4090-desktop/);
  const bad = await run(['list', 'gpus']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /<what> must be one of "models", "hardware", "setups"/);
});

test('batchlab merge without --out prints one summary line (shards, rows, spec hash), not the merged JSON', withDir(async (dir) => {
  const spec = join(ROOT, 'docs/search-spec.example.json');
  for (const i of [0, 1]) assert.equal((await run(['sweep', '--spec', spec, '--shard', `${i}/2`, '--out', dir])).code, 0);
  const r = await run(['merge', dir]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.split('\n').length, 1);
  const j = JSON.parse((await run(['--json', 'merge', dir])).out);
  assert.equal(r.out, `batchlab: 2 shards merged: ${j.size} rows of deployment-search, spec hash ${j.specHash} (not written: give --out FILE to write the merged result)`);
  const out = join(dir, 'merged.json');
  assert.match((await run(['merge', dir, '--out', out])).out, / -> .*merged\.json$/);
  assert.equal(JSON.parse(readFileSync(out, 'utf8')).size, j.size);
}));

test('progressBar(): silent when progress is off or the work is quick; draws on stderr once the work runs past its delay', () => {
  const written: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => (written.push(String(s)), true);
  try {
    const off = progressBar({ out: () => {}, err: () => {}, progress: false }, 'off', 0);
    off.update(1, 10);
    off.stop();
    const quick = progressBar({ out: () => {}, err: () => {}, progress: true }, 'quick', 60_000);
    quick.update(1, 10);
    quick.stop();
    assert.equal(written.join(''), '');
    const on = progressBar({ out: () => {}, err: () => {}, progress: true }, 'slow', 0);
    on.update(1, 10);
    on.update(5, 10);
    on.stop();
  } finally {
    (process.stderr as unknown as { write: typeof orig }).write = orig;
  }
  assert.match(written.join(''), /slow/);
});


test('batchlab search and sweep refuse a spec field they do not read (a typo would have priced the default silently)', withDir(async (dir) => {
  const spec = { model: 'llama-3.1-8b', hardware: ['h100-sxm'], layouts: [{ tensorParallel: 1 }], precisions: ['bf16'], batches: [8], load: { requestsPerSecond: 40, promptTokens: 512, outputTokens: 128 }, slo: { tpot: 0.05 } };
  const path = join(dir, 'spec.json');
  writeFileSync(path, JSON.stringify(spec));
  const r = await run(['search', '--spec', path]);
  assert.equal(r.code, 2);
  assert.equal(r.err, 'batchlab: slo.tpot must be left out (slo has the fields ttftSeconds, tpotSeconds); got 0.05');
  writeFileSync(path, JSON.stringify({ ...spec, slo: {}, layouts: [{ tensorParallel: 1, tp: 2 }] }));
  assert.match((await run(['search', '--spec', path])).err, /^batchlab: layouts\[0\]\.tp must be left out \(layouts\[0\] has the fields gpusPerNode, tensorParallel, /);
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(resolve(import.meta.dirname, '../../docs/serving-sweep.example.json'), 'utf8')), policy: 'window' }));
  const s = await run(['sweep', '--kind', 'serving', '--spec', path, '--out', join(dir, 'out')]);
  assert.equal(s.code, 2);
  assert.match(s.err, /^batchlab: spec\.policy must be left out \(spec has the fields model, hardware, /);
}));

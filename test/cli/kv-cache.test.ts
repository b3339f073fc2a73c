import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, withDir } from './run.js';

// One line on stderr, exit code 2, nothing on stdout: the shape of every flag refusal.
function refused(r: { code: number; out: string; err: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, r.out);
  assert.equal(r.out, '');
  assert.equal(r.err.split('\n').length, 1, r.err);
  assert.match(r.err, pattern);
}

test('batchlab deploy --kv-cache fp8: half the KV bytes of the bf16 default, named in the precision line; --kv-cache bf16 is the default byte for byte', async () => {
  const base = await run(['deploy', '--json']);
  const fp8 = await run(['deploy', '--kv-cache', 'fp8', '--json']);
  assert.equal(fp8.code, 0, fp8.err);
  const b = JSON.parse(base.out);
  const f = JSON.parse(fp8.out);
  // Llama-3.1-70B (data/models/llama-3.1-70b.json) at TP4: 64 sequences × 2048 tokens × 80 layers × 2 × (8 / 4) KV heads × 128 dims × bytes.
  assert.equal(b.decode.memory.kvBytes, 64 * 2048 * 80 * 2 * 2 * 128 * 2);
  assert.equal(f.decode.memory.kvBytes, b.decode.memory.kvBytes / 2);
  assert.equal(f.decode.memory.weightBytes, b.decode.memory.weightBytes);
  assert.match(f.stepModel, /bf16 weights, bf16 attention, fp8 KV cache\)$/);
  assert.doesNotMatch(b.stepModel, /KV cache/);
  // Half the cache to read: a faster decode step at the same batch.
  assert.ok(f.decode.tpotSeconds < b.decode.tpotSeconds);
  const text = await run(['deploy', '--kv-cache', 'fp8']);
  assert.match(text.out.split('\n')[0], /\(TP4, bf16 weights, bf16 attention, fp8 KV cache\)$/);
  // The attention dtype named explicitly is the default: the same output, byte for byte.
  assert.equal((await run(['deploy', '--kv-cache', 'bf16', '--json'])).out, base.out);
  assert.equal((await run(['deploy', '--kv-cache', 'bf16'])).out, (await run(['deploy'])).out);
});

test('batchlab deploy --kv-cache fp8 fits a batch the bf16 cache is refused at (the largest --batch about doubles)', async () => {
  const most = (err: string): number => Number(/an integer in \[1, (\d+)\]/.exec(err)?.[1]);
  const big = await run(['deploy', '--batch', '4000']);
  assert.equal(big.code, 2);
  const bf16 = most(big.err);
  const fp8 = most((await run(['deploy', '--batch', '4000', '--kv-cache', 'fp8'])).err);
  // maxSequencesThatFit: (capacity − weights) / (KV + activations per sequence); halving the KV about doubles it (301 → 602).
  assert.ok(fp8 >= 2 * bf16 - 1 && fp8 <= 2 * bf16 + 1, `${bf16} → ${fp8}`);
  refused(await run(['deploy', '--batch', String(bf16 + 1)]), /^batchlab: --batch must be an integer in \[1, /);
  assert.equal((await run(['deploy', '--batch', String(bf16 + 1), '--kv-cache', 'fp8'])).code, 0);
});

test('batchlab deploy --kv-cache: an unknown dtype names the flag and the allowed dtypes; refused with --local, --setup and --deepseek-day', async () => {
  refused(await run(['deploy', '--kv-cache', 'fp7']), /^batchlab: --kv-cache must be one of "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "nvfp4"; got "fp7"$/);
  refused(await run(['deploy', '--local', 'mac-studio-m3-ultra', '--model', 'deepseek-v3', '--kv-cache', 'fp8']), /^batchlab: --kv-cache must be left out with --local \(/);
  refused(await run(['deploy', '--deepseek-day', '--kv-cache', 'fp8']), /^batchlab: --kv-cache must be left out with --deepseek-day \(/);
  // The KV cache is not a fifth class of --precision: one spelling per setting.
  refused(await run(['deploy', '--precision', 'bf16,bf16,bf16,bf16,fp8']), /^batchlab: --precision must be one dtype, or four: weights,attention,dispatch,combine \(the KV cache has its own flag, --kv-cache\); got "bf16,bf16,bf16,bf16,fp8"$/);
  refused(await run(['search', '--spec', 'docs/search-spec.example.json', '--kv-cache', 'e5m2']), /^batchlab: --kv-cache must be one of "fp32", .*; got "e5m2"$/);
});

test(
  'batchlab search --kv-cache fp8 prices every precision with an FP8 cache and prints a deploy command that prices its answer the same way',
  withDir(async (dir) => {
    const spec = { model: 'llama-3.1-70b', hardware: ['h100-sxm'], layouts: [{ tensorParallel: 4 }], precisions: ['bf16'], batches: { pow2: 1024 }, load: { requestsPerSecond: 200, promptTokens: 2000, outputTokens: 500 } };
    const path = join(dir, 'spec.json');
    writeFileSync(path, JSON.stringify(spec));
    const r = await run(['--json', 'search', '--spec', path, '--kv-cache', 'fp8']);
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out) as { best: { batch: number; usdPerMillionOutputFullBatch: number }; sameAsDeploy: string };
    const plain = JSON.parse((await run(['--json', 'search', '--spec', path])).out) as { best: { batch: number } };
    // The fp8 cache holds twice the sequences (274 → 548 per rank at 2,250 tokens): the cheapest batch doubles.
    assert.equal(s.best.batch, 2 * plain.best.batch);
    assert.match(s.sameAsDeploy, / --precision bf16 --kv-cache fp8 /);
    const d = JSON.parse((await run(['--json', ...s.sameAsDeploy.replace(/^batchlab /, '').split(' ')])).out) as { usdPerMillionOutputAllIn: number };
    // One pricing path (search and deploy share requestPrice over the same step model): equal to rounding.
    assert.ok(Math.abs(d.usdPerMillionOutputAllIn - s.best.usdPerMillionOutputFullBatch) <= 1e-9 * s.best.usdPerMillionOutputFullBatch, `${d.usdPerMillionOutputAllIn} vs ${s.best.usdPerMillionOutputFullBatch}`);
    // A spec precision that names another KV dtype disagrees with the flag.
    writeFileSync(path, JSON.stringify({ ...spec, precisions: [{ weights: 'bf16', attention: 'bf16', dispatch: 'bf16', combine: 'bf16', kvCache: 'bf16' }] }));
    refused(await run(['search', '--spec', path, '--kv-cache', 'fp8']), /^batchlab: --kv-cache must be left out, or "bf16" \(precisions\[0\] of the spec sets kvCache "bf16"\); got "fp8"$/);
  }),
);

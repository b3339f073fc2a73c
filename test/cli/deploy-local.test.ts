import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadLocalRuntime } from '../../lib/deployment/local.js';
import { run } from './run.js';

test('batchlab deploy --local mac-studio-m3-ultra prints calibrated speeds with their sources; --bound prints the bound', async () => {
  const r = await run(['deploy', '--local', 'mac-studio-m3-ultra', '--model', 'deepseek-v3', '--batch', '1']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /runtimes: device llama\.cpp-metal/);
  // The Metal factor of data/deployment/local-runtimes.json, applied to 819 GB/s.
  // The catalog's M3 Ultra is the device the Metal benchmark ran on: the line says so.
  assert.ok(r.out.includes(`${loadLocalRuntime('llama.cpp-metal').bandwidthFactor!.value} × datasheet, calibrated on M3 Ultra, as here`), r.out);
  assert.match(r.out, /decode: .* \[calibrated\]/);
  assert.match(r.out, /prefill: .* \[calibrated on M3 Ultra, as here\]/);
  assert.match(r.out, /discussions\/4167/);
  const b = await run(['deploy', '--local', 'mac-studio-m3-ultra', '--model', 'deepseek-v3', '--batch', '1', '--bound']);
  assert.equal(b.code, 0, b.err);
  assert.match(b.out, /decode: .* \[bound \(datasheet figures: an upper limit on speed\)\]/);
  assert.ok(!/sources:/.test(b.out));
});

test('batchlab deploy --setup file.json prints calibrated speeds with sources; flags override its numbers; bad ones are refused by name', async () => {
  const r = await run(['deploy', '--setup', 'docs/local-setup.example.json', '--model', 'llama-3.1-8b', '--batch', '1']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /on my desktop: one RTX 3090/);
  // llama.cpp's CUDA table measured an RTX 3090 too: its own factor; prefill has the 4090's alone, and says so.
  assert.match(r.out, /\(0\.646 × datasheet, calibrated on RTX 3090, as here\)/);
  assert.match(r.out, /prefill: .* \[calibrated on RTX 4090, not this device\]/);
  assert.match(r.out, /decode: .* \[calibrated\]/);
  assert.match(r.out, /discussions\/15013/);
  const j = await run(['deploy', '--setup', 'docs/local-setup.example.json', '--model', 'llama-3.1-8b', '--batch', '1', '--bandwidth', '468', '--json']);
  assert.equal(j.code, 0, j.err);
  const run1 = JSON.parse((await run(['deploy', '--setup', 'docs/local-setup.example.json', '--model', 'llama-3.1-8b', '--batch', '1', '--json'])).out);
  const run2 = JSON.parse(j.out);
  // Half the device bandwidth (936 → 468 GB/s): a bandwidth-limited token takes twice as long.
  assert.equal(run2.tiers[0].limitedBy, 'bandwidth');
  assert.ok(Math.abs(run2.stepSeconds / run1.stepSeconds - 2) < 1e-3);
  for (const [args, start] of [
    [['--host-bandwidth', '-3'], 'batchlab: --host-bandwidth must be a number in [0.001, 100000]; got "-3"'],
    // Values no machine has were accepted and printed as 1e-302 tok/s and 300-digit prices.
    [['--host-bandwidth', '1e-300'], 'batchlab: --host-bandwidth must be a number in [0.001, 100000]; got "1e-300"'],
    [['--memory', '1e290'], 'batchlab: --memory must be a number in (0, 100000]; got "1e290"'],
    [['--usd-per-hour', '1e300'], 'batchlab: --usd-per-hour must be a number in [0, 1000000]; got "1e300"'],
    [['--runtime', 'vllm'], 'batchlab: --runtime must be one of '],
    [['--local', 'mac-studio-m3-ultra'], 'batchlab: --local/--setup must be one of them'],
  ] as Array<[string[], string]>) {
    const e = await run(['deploy', '--setup', 'docs/local-setup.example.json', ...args]);
    assert.equal(e.code, 2, `${args.join(' ')}: ${e.err}`);
    assert.ok(e.err.startsWith(start), `${args.join(' ')}: ${e.err}`);
  }
  const missing = await run(['deploy', '--setup', '/nonexistent/my.json']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /^batchlab: --setup must be a readable JSON file/);
});

test('batchlab deploy --local says which printed figures rest on a bandwidth given on the command line (it called them calibrated)', async () => {
  const r = await run(['deploy', '--local', 'rtx-4090-desktop', '--bandwidth', '2000', '--link-bandwidth', '10']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /device: .* at 1,434 GB\/s \(0\.717 × --bandwidth, a factor calibrated on RTX 4090, as here\)/);
  assert.match(r.out, /host: .*\(0\.539 × datasheet, calibrated on Xeon E5-2698B v3\)/);
  assert.match(r.out, /decode: .*\[calibrated; over --bandwidth as given on the command line\]/);
  assert.match(r.out, /prefill: .*\[calibrated on RTX 4090, as here; over --link-bandwidth as given on the command line\]/);
  const plain = await run(['deploy', '--local', 'rtx-4090-desktop']);
  assert.doesNotMatch(plain.out, /given on the command line/);
  // A bound over a given figure stays a bound, and says both.
  const bound = await run(['deploy', '--local', 'rtx-4090-desktop', '--bound', '--bandwidth', '2000']);
  assert.match(bound.out, /device: .* at 2,000 GB\/s \(--bandwidth, bound\)/);
  assert.match(bound.out, /decode: .*\[bound \(--bandwidth as given on the command line and datasheet figures: an upper limit on speed\)\]/);
  assert.doesNotMatch(bound.out, /over --bandwidth/);
});

test('batchlab deploy --local refuses what the datacenter path refuses, by flag: a context past the model\'s, a batch whose KV cache outgrows device and host memory (with the most that fit), and --runtime with --bound', async () => {
  // llama-3.1-8b's max_position_embeddings is 131,072 (data/models); the datacenter path refused 200,000 and --local priced it.
  const long = await run(['deploy', '--local', 'rtx-4090-desktop', '--model', 'llama-3.1-8b', '--context', '200000']);
  assert.equal(long.code, 2);
  assert.match(long.err, /^batchlab: --context must be small enough that --context \(200,000 tokens\) is at most llama-3\.1-8b's context of 131,072 tokens/);
  // Llama-3.1-70B's bf16 KV is 327,680 bytes a token (80 layers × 8 KV heads × 128 × 2 × 2): 1,000 sequences of 2,048 tokens are
  // 671.1 GB against the 4090's 24 GB and the desktop's 192 GB of host memory, 216 GB in all, which hold 321 such sequences.
  const big = await run(['deploy', '--local', 'rtx-4090-desktop', '--batch', '1000']);
  assert.equal(big.code, 2);
  assert.match(big.err, /^batchlab: --batch must be at most 321 at context 2048: its KV cache \(671\.1 GB\) must fit in device and host memory, not SSD: 216\.0 GB on /);
  const both = await run(['deploy', '--local', 'rtx-4090-desktop', '--bound', '--runtime', 'mlx']);
  assert.equal(both.code, 2);
  assert.equal(both.err, 'batchlab: --runtime must be left out with --bound (the bound uses no runtime calibration); got "mlx"');
  // A misspelt or foreign field of a setup file is refused by name (it was read as absent).
  const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-setup-'));
  try {
    const file = join(dir, 'my.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync('docs/local-setup.example.json', 'utf8')), hostBandwidth: 1 }));
    const extra = await run(['deploy', '--setup', file]);
    assert.equal(extra.code, 2);
    assert.match(extra.err, /my\.json\.hostBandwidth must be left out \(.* has the fields id, name, device, /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// `npm pack` yields a package that installs into a clean folder and imports there: the
// library by name, the CLI through npx. Install scripts stay off (tfjs-node-gpu's would
// download libtensorflow); dependencies come from the registry (or npm's cache).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 300_000, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} in ${cwd} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test('npm pack yields a package that installs and imports in a clean folder', { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-pack-'));
  try {
    run('npm', ['pack', '--pack-destination', dir], root); // prepack builds dist/
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tgz, 'npm pack wrote no tarball');
    const listing = run('tar', ['tzf', join(dir, tgz)], dir);
    for (const f of ['package/dist/lib/index.js', 'package/dist/bin/batchlab.js', 'package/bin/batchlab.js', 'package/data/models/deepseek-v3.json', 'package/data/hardware/h200.json']) {
      assert.ok(listing.includes(f), `${f} missing from the tarball`);
    }
    assert.doesNotMatch(listing, /package\/(test|notebooks|node_modules|\.venv|\.cache)\//);
    const app = join(dir, 'app');
    run('mkdir', ['-p', app], dir);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tgz)], app);
    writeFileSync(
      join(app, 'check.mjs'),
      `const b = await import('batchlab');
const m = b.loadModel('deepseek-v3');
console.log(JSON.stringify({ experts: m.moe.numExperts, pipeline: b.pipelineBubbleFraction({ stages: 4, microBatches: 4 }), published: b.publishedComparisons().length, local: b.loadLocalSetup('mac-studio-m3-ultra').id }));`,
    );
    const out = JSON.parse(run('node', ['check.mjs'], app).trim().split('\n').at(-1)!) as { experts: number; pipeline: number; published: number; local: string };
    assert.equal(out.experts, 256); // DeepSeek-V3 config.json: n_routed_experts
    assert.equal(out.pipeline, 3 / 7); // (S−1)/(m+S−1)
    // The published cases (data/published, with the prompt mix under data/traces) and the local setups ship too.
    assert.equal(out.published, 11);
    assert.equal(out.local, 'mac-studio-m3-ultra');
    const version = run('npx', ['--no-install', 'batchlab', '--version'], app).trim();
    assert.equal(version, (JSON.parse(run('node', ['-p', "JSON.stringify(require('./package.json'))"], root)) as { version: string }).version);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

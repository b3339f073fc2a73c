// `npm run docs` (TypeDoc over lib/index.ts and lib/internal.ts, typedoc.json) writes the
// API reference; docs/api is generated and git-ignored, so this builds it into a
// temporary folder and checks that both entries made it there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');

test('typedoc.json builds the API reference of "batchlab" and "batchlab/internal" without errors', { timeout: 300_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'batchlab-api-'));
  try {
    const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], { cwd: root, encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(`${r.stdout}${r.stderr}`, /Found 0 errors/);
    assert.ok(existsSync(join(out, 'index.html')));
    // One module page per entry; a public function and an internal one each have a page.
    assert.ok(existsSync(join(out, 'functions', 'index.selectBackend.html')), 'selectBackend (public) has no page');
    assert.ok(existsSync(join(out, 'functions', 'internal.checkInt.html')), 'checkInt (internal) has no page');
    assert.match(readFileSync(join(out, 'functions', 'index.selectBackend.html'), 'utf8'), /selectBackend/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

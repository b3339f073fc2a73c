#!/usr/bin/env node
// Runs every test under test/ with Node's test runner (TypeScript through tsx).
//   node scripts/test.mjs                 all tests
//   node scripts/test.mjs test/moe        tests under a folder or matching files
//   node scripts/test.mjs --unit          every folder under test/ except e2e (new folders included)
// Unit tests run first; the end-to-end suite (test/e2e: notebooks, reports in
// Chromium, JupyterLab) runs after them in the same invocation.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}
const argv = process.argv.slice(2);
const unit = argv.includes('--unit');
const targets = argv.filter((a) => a !== '--unit');
let files = walk(join(root, 'test')).map((f) => relative(root, f)).sort();
if (unit) files = files.filter((f) => !f.startsWith('test/e2e/'));
if (targets.length) files = files.filter((f) => targets.some((t) => f.startsWith(t.replace(/^\.\//, '')) || f.includes(t)));
// e2e last: it is slow, and a unit failure should be seen first.
files.sort((a, b) => Number(a.startsWith('test/e2e/')) - Number(b.startsWith('test/e2e/')) || a.localeCompare(b));
if (!files.length) {
  console.error(`no test files match ${targets.join(' ')}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' },
});
process.exit(r.status ?? 1);

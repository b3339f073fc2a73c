#!/usr/bin/env node
// Executes notebooks headlessly (no HTML), printing every failing cell:
//   node scripts/run-notebook.mjs notebooks/03-collection-window.ipynb [...]
// Executed copies land in .cache/executed/. Build the library first (npm run build).
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const files = process.argv.slice(2).map((f) => resolve(f));
if (!files.length) {
  console.error('usage: node scripts/run-notebook.mjs NOTEBOOK.ipynb [...]');
  process.exit(2);
}
const r = spawnSync(join(root, '.venv', 'bin', 'python'), [join(root, 'scripts', 'notebooks.py'), '--no-html', '--executed', join(root, '.cache', 'executed'), ...files], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' },
});
process.exit(r.status ?? 1);

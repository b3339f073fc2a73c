#!/usr/bin/env node
// Runs the benchmarks in bench/ (each prints ratios against a reference measured in
// the same run). Pass names to run a subset: node scripts/bench.mjs simulator
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const all = ['gemm-vs-reference', 'simulator', 'deployment-search', 'published-cases', 'kernel-db-published', 'measured-steps', 'engine-vs-simulator', 'engine-real-size', 'published-curves', 'http-path'];
const pick = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
let failed = 0;
for (const name of pick.length ? pick : all) {
  console.log(`\n== bench/${name}.ts ==`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', `${name}.ts`), ...flags], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' },
  });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);

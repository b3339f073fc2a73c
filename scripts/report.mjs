#!/usr/bin/env node
// The main job: execute every notebook headlessly with the tslab kernel and write
// self-contained HTML reports plus reports/index.html. Run through `npm run report`,
// which does the set-up and the build first.
//   node scripts/report.mjs [--out DIR] [--only 00,03] [--no-html]
// BATCHLAB_PROFILE=thorough measures more (the default profile is quick).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const out = resolve(root, opt('--out') ?? 'reports');
const only = opt('--only')?.split(',').map((s) => s.trim());
const python = join(root, '.venv', 'bin', 'python');
if (!existsSync(python)) {
  console.error('report: the project venv is missing; run `node scripts/setup.mjs` (npm run report does)');
  process.exit(1);
}
const nbDir = join(root, 'notebooks');
const notebooks = readdirSync(nbDir)
  .filter((f) => f.endsWith('.ipynb') && (!only || only.some((o) => f.startsWith(o))))
  .sort()
  .map((f) => join(nbDir, f));
if (!notebooks.length) {
  console.error(`report: no notebooks match ${only?.join(',')}`);
  process.exit(1);
}
mkdirSync(out, { recursive: true });
const profile = process.env.BATCHLAB_PROFILE || 'quick';
const t0 = Date.now();
const pyArgs = [join(root, 'scripts', 'notebooks.py'), '--out', out, '--executed', join(out, 'executed')];
if (argv.includes('--no-html')) pyArgs.push('--no-html');
const r = spawnSync(python, [...pyArgs, ...notebooks], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
  maxBuffer: 64 * 2 ** 20,
  env: { ...process.env, BATCHLAB_PROFILE: profile, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' },
});
const lines = (r.stdout ?? '').trim().split('\n');
let summary;
try {
  summary = JSON.parse(lines.at(-1));
} catch {
  console.error(`report: the notebook runner failed (exit ${r.status}):\n${r.stdout}`);
  process.exit(1);
}
const seconds = ((Date.now() - t0) / 1000).toFixed(1);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const rows = summary
  .map((s) => {
    const name = s.notebook.replace(/\.ipynb$/, '');
    const link = s.html ? `<a href="${esc(relative(out, s.html))}">${esc(name)}</a>` : esc(name);
    const status = s.errors.length ? `<span class="bad">${s.errors.length} error(s)</span>` : 'ok';
    // One question and one sentence of answer per answer box (what its key numbers are beside it);
    // a notebook without a box, its question and first sentence. The rest is in the report.
    const boxes = (s.answers ?? []).length
      ? s.answers
      : [{ question: s.question, headline: (s.headline ?? [])[0], bases: [] }];
    const cell = boxes
      .map((b) =>
        [
          b.question ? `<div class="q">${esc(b.question)}</div>` : '',
          b.headline ? `<div class="a">${esc(b.headline)}${b.bases.length ? ` <span class="b">(key numbers: ${esc(b.bases.join(', '))})</span>` : ''}</div>` : '',
        ].join(''),
      )
      .join('');
    return `<tr><td>${link}</td><td>${cell}</td><td>${status}</td><td>${s.plots}</td><td>${s.seconds}</td></tr>`;
  })
  .join('\n');
const index = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>batchlab reports</title>
<style>body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}.bad{color:#b00}
.q{font-weight:600}.a{margin:.2rem 0 .6rem;color:#333}.b{color:#777;font-size:.9em}</style>
</head><body>
<h1>batchlab reports</h1>
<p>Built ${esc(new Date().toISOString())} on ${esc(os.hostname())} (${esc(os.cpus()[0]?.model ?? '')}, ${os.cpus().length} cores), profile <b>${esc(profile)}</b>, in ${seconds} s.</p>
<table><thead><tr><th>report</th><th>question and answer</th><th>status</th><th>plots</th><th>seconds</th></tr></thead><tbody>
${rows}
</tbody></table>
</body></html>
`;
writeFileSync(join(out, 'index.html'), index);
writeFileSync(join(out, 'summary.json'), JSON.stringify({ profile, seconds: Number(seconds), notebooks: summary }, null, 2));
const failed = summary.filter((s) => s.errors.length);
console.log(`report: ${summary.length} notebook(s) in ${seconds} s -> ${relative(root, join(out, 'index.html'))}${failed.length ? `; errors in ${failed.map((f) => f.notebook).join(', ')}` : ''}`);
process.exit(failed.length ? 1 : 0);

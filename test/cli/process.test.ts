// The CLI as a user runs it: a child process, its exit code and its two streams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

function batchlab(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bin', 'batchlab.ts'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, BATCHLAB_DEBUG: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('batchlab refusals from the review: exit 2, one line on stderr naming the flag, no stack trace', () => {
  const cases: Array<[string[], RegExp]> = [
    [['deploy', '--cache-hit', '1.5'], /^batchlab: --cache-hit must be a number in \[0, 1\); got "1.5"$/],
    [['deploy', '--drafts', '-1'], /^batchlab: --drafts must be an integer in \[0, 16\]; got -1$/],
    [['deploy', '--tp', '1'], /^batchlab: --tp\/--pp\/--ep\/--precision must be .*short by 98\.2 GB\)$/],
    [['deploy', '--simulate'], /^batchlab: --rate must be given with --simulate/],
    [['simulate', '--trace', '/nonexistent.csv'], /^batchlab: --trace must be a readable CSV file/],
    [['load'], /^batchlab: --rate\/--clients must be exactly one of/],
  ];
  for (const [args, pattern] of cases) {
    const r = batchlab(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    const lines = r.err.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0], pattern);
    assert.doesNotMatch(r.err, /\n\s+at /);
    assert.equal(r.out, '');
  }
});

test('batchlab bench gemm --backend cpu does not print tfjs\'s "install our node backend" banner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-cpu-'));
  try {
    const r = batchlab(['bench', 'gemm', '--backend', 'cpu', '--m', '1,2,4', '--k', '8', '--n', '8', '--min-reps', '1', '--min-time-ms', '1', '--out', dir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /0 points resumed, 3 measured/);
    assert.doesNotMatch(r.err + r.out, /install our node backend/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batchlab bench gemm: SIGINT stops the sweep after the point in progress (it measured on to the end), keeps what it measured, exits 130', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-gemm-sigint-'));
  try {
    // Points of at least 1.5 s each: the signal lands while the first ones are measured.
    const args = ['--import', 'tsx', join(root, 'bin', 'batchlab.ts'), 'bench', 'gemm', '--m', '1,2,4,8,16,32,64,128', '--k', '256', '--n', '256', '--min-time-ms', '1500', '--out', dir, '--stem', 'sig'];
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, BATCHLAB_DEBUG: '' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    // Signal once the first point is on disk (the backend's start-up takes seconds of its own).
    for (let t = 0; t < 600 && !existsSync(join(dir, 'sig.csv')); t++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 130, `${out}\n${err}`);
    assert.match(err, /stopping after the current point/);
    assert.match(out, /sweep interrupted; completed points are saved/);
    const rows = readFileSync(join(dir, 'sig.csv'), 'utf8').trimEnd().split('\n').length - 1;
    assert.ok(rows >= 1 && rows < 8, `${rows} rows`);
    assert.match(out, new RegExp(`0 points resumed, ${rows} measured`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

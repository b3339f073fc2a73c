// The CLI as a user runs it: a child process, its exit code and its two streams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

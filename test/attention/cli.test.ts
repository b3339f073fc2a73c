import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBatchlabCli } from '../../bin/cli.js';

test('batchlab bench attention measures every strategy and writes CSV and JSON with provenance', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-attn-cli-'));
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
  const code = await runBatchlabCli(['bench', 'attention', '--heads', '4', '--kv-heads', '2', '--head-dim', '16', '--batches', '4', '--mean', '32', '--spreads', '0,0.9', '--rounds', '2', '--min-time-ms', '1', '--out', dir, '--tag', 't'], io);
  assert.equal(code, 0, err.join('\n'));
  const files = readdirSync(dir).sort();
  assert.equal(files.length, 2);
  assert.ok(files[0].startsWith('attention-') && files[0].endsWith('-t.csv'));
  const doc = JSON.parse(readFileSync(join(dir, files[1]), 'utf8'));
  assert.equal(doc.rows.length, 2 * 4);
  assert.ok(out.some((l) => l.startsWith('B=4 ±90%')));
  // A bad flag is an error naming it, exit code 2.
  const bad = await runBatchlabCli(['bench', 'attention', '--spreads', '2', '--out', dir], { out: () => {}, err: (s) => err.push(s) });
  assert.equal(bad, 2);
  assert.ok(err.some((l) => l.includes('--spreads[0]')));
});

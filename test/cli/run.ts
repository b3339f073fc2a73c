import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBatchlabCli } from '../../bin/cli.js';

/** Runs the CLI in-process and captures what it prints. */
export async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBatchlabCli(args, { out: (s) => out.push(s), err: (s) => err.push(s), progress: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A test body given a fresh temporary folder, removed afterwards. */
export function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'batchlab-cli-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

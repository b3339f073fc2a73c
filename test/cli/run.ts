import { runBatchlabCli } from '../../bin/cli.js';

/** Runs the CLI in-process and captures what it prints. */
export async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBatchlabCli(args, { out: (s) => out.push(s), err: (s) => err.push(s), progress: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

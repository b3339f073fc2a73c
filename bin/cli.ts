import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { InputError } from '../lib/util/errors.js';
import { batchlabRoot } from '../lib/util/package-root.js';
import { attachIo, fsErrorAsFlag, ioOf } from './commands/context.js';
import { CliExit } from './commands/io.js';
import type { CliIo } from './commands/io.js';
import * as bench from './commands/bench.js';
import * as moe from './commands/moe.js';
import * as pipeline from './commands/pipeline.js';
import * as roofline from './commands/roofline.js';
import * as simulate from './commands/simulate.js';
import * as attention from './commands/attention.js';
import * as deploy from './commands/deploy.js';
import * as search from './commands/search.js';
import * as sweep from './commands/sweep.js';
import * as merge from './commands/merge.js';
import * as serve from './commands/serve.js';
import * as load from './commands/load.js';
import * as list from './commands/list.js';
import * as setup from './commands/setup.js';

export type { CliIo } from './commands/io.js';
export { parseBatchList, parseShapeList } from './commands/bench.js';

/** Each command lives in bin/commands/<name>.ts and exports `register(program)`. */
const COMMANDS: Array<{ register: (program: Command) => void }> = [
  bench,
  // `bench attention` joins the bench command registered above.
  attention,
  simulate,
  roofline,
  moe,
  pipeline,
  setup,
  ...[deploy, search, sweep, merge, serve, load, list].map((c) => ({ register: (program: Command) => c.register(program, ioOf(program)) })),
];

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(batchlabRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The `batchlab` command line.
 *
 * @example
 * await batchlabProgram({ out: console.log, err: console.error }).parseAsync(['node', 'batchlab', 'bench', 'gemm', '--m', '1,8', '--k', '256', '--n', '256']);
 */
export function batchlabProgram(io: CliIo): Command {
  const program = new Command('batchlab')
    .description('Measure, model and simulate LLM-serving batch efficiency')
    .version(packageVersion(), '-V, --version', 'print the batchlab version')
    .option('--json', 'print results as one JSON document')
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  attachIo(program, io);
  for (const c of COMMANDS) c.register(program);
  // exitOverride on every command so that a bad flag anywhere returns instead of exiting the process.
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

/**
 * Runs the CLI on `argv` (without node and script) and returns the exit code:
 * 0 on success, 2 for a bad argument (the message names it), 1 otherwise. Errors are
 * one line; BATCHLAB_DEBUG=1 adds the stack.
 */
export async function runBatchlabCli(argv: string[], io: CliIo): Promise<number> {
  try {
    const program = batchlabProgram(io);
    // Commander answers `batchlab nosuch --help` with the top-level help and exit 0: a typo would read as success.
    const words = argv.filter((a) => !a.startsWith('-'));
    const names = program.commands.map((c) => c.name());
    if (words[0] !== undefined && !names.includes(words[0]) && words[0] !== 'help') throw new InputError('command', words[0], `one of ${names.join(', ')}`);
    // The same one level down (`batchlab bench nosuch --help`), for a command made of subcommands.
    const sub = program.commands.find((c) => c.name() === words[0])?.commands.map((c) => c.name()) ?? [];
    if (sub.length > 0 && words[1] !== undefined && !sub.includes(words[1]) && words[1] !== 'help') throw new InputError(`${words[0]} command`, words[1], `one of ${sub.join(', ')}`);
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof CliExit) return err.code;
    // A file-system error (raw errno text) is reported against the flag that named the path.
    const named = err instanceof InputError ? err : fsErrorAsFlag(err, argv);
    if (named) {
      io.err(`batchlab: ${named.message}`);
      return 2;
    }
    const e = err as NodeJS.ErrnoException;
    io.err(`batchlab: ${e?.message ?? String(err)}`);
    if (process.env.BATCHLAB_DEBUG && e?.stack) io.err(e.stack);
    return 1;
  }
}

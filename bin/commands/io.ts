// The CLI's output channel, in a module of its own: bin/cli.ts and every command file
// import it, so neither imports the other for it.

/** Where the CLI writes text; tests capture it. */
export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Show a progress bar (default: when stderr is a terminal). */
  progress?: boolean;
  signal?: AbortSignal;
}

/**
 * Ends a command with an exit code and no further message (the command printed what it
 * had to say): 130 for a run stopped by Ctrl-C or SIGTERM after saving what it completed.
 */
export class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

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

import { runBatchlabCli } from './cli.js';

// Ctrl-C aborts the command's signal: each command says what it stops (a sweep after the
// point in progress, a load its requests in flight, a server after its accepted streams)
// and keeps what it completed, so a second Ctrl-C may exit at once.
const controller = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('\nbatchlab: interrupted (Ctrl-C again to quit now)\n');
  controller.abort();
  process.once('SIGINT', () => process.exit(130));
});
const code = await runBatchlabCli(process.argv.slice(2), {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
  signal: controller.signal,
});
process.exit(code);

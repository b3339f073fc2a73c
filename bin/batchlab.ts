import { runBatchlabCli } from './cli.js';

// Ctrl-C stops the sweep after the point in progress; every completed point is
// already on disk, so a second Ctrl-C may exit at once.
const controller = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('\nbatchlab: stopping after the current point (Ctrl-C again to quit now)\n');
  controller.abort();
  process.once('SIGINT', () => process.exit(130));
});
const code = await runBatchlabCli(process.argv.slice(2), {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
  signal: controller.signal,
});
process.exit(code);

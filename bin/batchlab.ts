import { runBatchlabCli } from './cli.js';

// Ctrl-C aborts the command's signal: each command says what it stops (a sweep after the
// point in progress, a load its requests in flight, a server after its accepted streams)
// and keeps what it completed, so a second Ctrl-C may exit at once. A wrapper that forwards
// signals (npx, npm run, tsx) delivers one keypress twice, the terminal's and its own, within
// milliseconds: a SIGINT within a second of the first is that same keypress.
const controller = new AbortController();
let firstInterrupt = 0;
process.on('SIGINT', () => {
  if (firstInterrupt === 0) {
    firstInterrupt = Date.now();
    process.stderr.write('\nbatchlab: interrupted (Ctrl-C again to quit now)\n');
    controller.abort();
  } else if (Date.now() - firstInterrupt > 1000) process.exit(130);
});
const code = await runBatchlabCli(process.argv.slice(2), {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
  signal: controller.signal,
});
process.exit(code);

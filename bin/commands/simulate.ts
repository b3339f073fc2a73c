import { Command } from 'commander';
import { constantStepCost } from '../../lib/batching/cost.js';
import { simulateServing } from '../../lib/batching/simulate.js';
import { loadServingTrace } from '../../lib/batching/trace.js';
import type { ServingConfig, ServingPolicy } from '../../lib/batching/types.js';
import { InputError } from '../../lib/util/errors.js';
import { checkNumber, checkOneOf } from '../../lib/util/validate.js';
import { asFlags, decimalArg, emit, intArg } from './context.js';

interface SimulateCliOptions {
  requests: string;
  rate: string;
  prompt: string;
  output: string;
  policy: string;
  maxBatch: string;
  windowMs: string;
  tokenBudget: string;
  stepMs: string;
  seed: string;
  trace?: string;
}

/**
 * `batchlab simulate`: one run of the serving simulator with a constant step cost
 * (Poisson arrivals, fixed lengths, or a trace file).
 *
 * @example
 * register(new Command('batchlab')); // batchlab simulate --rate 20 --policy window --window-ms 50
 */
export function register(program: Command): void {
  program
    .command('simulate')
    .description('serving simulator: latency and throughput of one batching policy')
    .option('--requests <int>', 'requests to simulate; with --trace, the first N of the trace (default: all of it)', '1000')
    .option('--rate <per-second>', 'Poisson arrival rate (not with --trace)', '10')
    .option('--prompt <tokens>', 'prompt tokens per request (not with --trace)', '256')
    .option('--output <tokens>', 'output tokens per request (not with --trace)', '64')
    .option('--policy <kind>', 'window, continuous or chunked', 'continuous')
    .option('--max-batch <int>', 'largest batch', '32')
    .option('--window-ms <ms>', 'collection window (window policy)', '20')
    .option('--token-budget <int>', 'tokens per step (chunked policy)', '2048')
    .option('--step-ms <ms>', 'milliseconds per engine step', '20')
    .option('--seed <number>', 'seed of arrivals and lengths', '1')
    .option('--trace <csv>', 'replay a trace (timestamp,prompt_tokens,output_tokens) instead of Poisson arrivals')
    .action((o: SimulateCliOptions, cmd: Command) => {
      const kind = checkOneOf('--policy', o.policy, ['window', 'continuous', 'chunked'] as const);
      const maxBatch = intArg('--max-batch', o.maxBatch, 1, 1_000_000);
      // Flags of other policies are checked too (they have defaults): "--window-ms abc" never passes silently.
      const windowMs = checkNumber('--window-ms', decimalArg('--window-ms', o.windowMs), { min: 1e-3, max: 3.6e6 });
      const tokenBudget = intArg('--token-budget', o.tokenBudget, kind === 'chunked' ? maxBatch : 1, 10_000_000);
      const policy: ServingPolicy = kind === 'window' ? { kind, maxBatch, windowMs } : kind === 'chunked' ? { kind, maxBatch, tokenBudget } : { kind, maxBatch };
      const stepSeconds = checkNumber('--step-ms', decimalArg('--step-ms', o.stepMs), { min: 1e-6, max: 1e6 }) / 1e3;
      const seed = decimalArg('--seed', o.seed);
      let config: ServingConfig;
      if (o.trace !== undefined) {
        for (const flag of ['rate', 'prompt', 'output'] as const) {
          if (cmd.getOptionValueSource(flag) === 'cli') throw new InputError(`--${flag}`, o[flag], 'left out with --trace (the trace gives the arrival times and the token counts)');
        }
        const trace = asFlags(() => loadServingTrace(o.trace!), { path: '--trace' });
        const rows = trace.timestamps.length;
        // --requests has a default for Poisson arrivals; with a trace only a typed value cuts it.
        const requests = cmd.getOptionValueSource('requests') === 'cli' ? intArg('--requests', o.requests, 1, rows) : undefined;
        config = { arrivals: { kind: 'trace', trace }, requests, policy, stepCost: constantStepCost(stepSeconds) };
      } else {
        config = {
          requests: intArg('--requests', o.requests, 1, 5_000_000),
          arrivals: { kind: 'poisson', ratePerSecond: checkNumber('--rate', decimalArg('--rate', o.rate), { min: 1e-6, max: 1e9 }) },
          promptTokens: { kind: 'fixed', tokens: intArg('--prompt', o.prompt, 1, 10_000_000) },
          outputTokens: { kind: 'fixed', tokens: intArg('--output', o.output, 1, 10_000_000) },
          policy,
          stepCost: constantStepCost(stepSeconds),
        };
      }
      const r = asFlags(() => simulateServing({ ...config, keepRequests: false }, seed), { requests: '--requests' });
      const result = {
        description: r.provenance.config, requests: r.requests, steps: r.steps, makespanSeconds: r.makespanSeconds,
        throughputRequestsPerSecond: r.throughputRequestsPerSecond, throughputTokensPerSecond: r.throughputTokensPerSecond,
        meanBatch: r.meanBatch, utilisation: r.utilisation, ttft: r.ttft, e2e: r.e2e,
      };
      emit(cmd, result, () => [
        `${r.requests} requests in ${r.makespanSeconds.toFixed(2)} s: ${r.throughputTokensPerSecond.toFixed(1)} tokens/s, mean batch ${r.meanBatch.toFixed(2)}, utilisation ${(r.utilisation * 100).toFixed(1)} %`,
        `time to first token: p50 ${(r.ttft.p50 * 1e3).toFixed(1)} ms, p99 ${(r.ttft.p99 * 1e3).toFixed(1)} ms`,
        `end-to-end latency: p50 ${(r.e2e.p50 * 1e3).toFixed(1)} ms, p99 ${(r.e2e.p99 * 1e3).toFixed(1)} ms`,
      ]);
    });
}

import { countOf } from './inputs.js';
import { Command } from 'commander';
import { moeDistinctExperts } from '../../lib/moe/closed.js';
import { moeRouteCounts } from '../../lib/moe/routing.js';
import { fork } from '../../lib/util/random.js';
import { asFlags, decimalArg, emit, intArg } from './context.js';

interface MoeCliOptions {
  experts: string;
  topK: string;
  tokens: string;
  seed: string;
}

/**
 * `batchlab moe`: how many experts a batch touches and how loaded the busiest is, in
 * closed form and from one seeded routing sample (uniform top-k).
 *
 * @example
 * register(new Command('batchlab')); // batchlab moe --experts 256 --top-k 8 --tokens 64
 */
export function register(program: Command): void {
  program
    .command('moe')
    .description('experts touched and tokens per expert for a batch under uniform top-k routing')
    .option('--experts <int>', 'routed experts E', '256')
    .option('--top-k <int>', 'experts per token k', '8')
    .option('--tokens <int>', 'tokens in the batch B', '64')
    .option('--seed <number>', 'seed of the routing sample', '1')
    .action((o: MoeCliOptions, cmd: Command) => {
      const experts = intArg('--experts', o.experts, 1, 65_536);
      const topK = intArg('--top-k', o.topK, 1, experts);
      const tokens = intArg('--tokens', o.tokens, 0, 1_000_000);
      const seed = decimalArg('--seed', o.seed);
      const counts = asFlags(() => moeRouteCounts({ kind: 'uniform', experts, topK }, tokens, fork(seed, 'cli-moe')), { tokens: '--tokens' });
      let touched = 0;
      let max = 0;
      for (const c of counts) {
        if (c > 0) touched++;
        max = Math.max(max, c);
      }
      const expected = moeDistinctExperts(experts, topK, tokens);
      const perExpert = expected > 0 ? (tokens * topK) / expected : 0;
      const result = { experts, topK, tokens, seed, expectedDistinctExperts: expected, expectedTokensPerActiveExpert: perExpert, sampledDistinctExperts: touched, sampledMaxLoad: max };
      emit(cmd, result, () => [
        `B = ${countOf(tokens, 'token')}, top-${topK} of ${countOf(experts, 'expert')}: ${expected.toFixed(1)} experts touched on average, ${perExpert.toFixed(2)} tokens per active expert`,
        `one sample (seed ${seed}): ${countOf(touched, 'expert')} touched, busiest expert ${countOf(max, 'token')}`,
      ]);
    });
}

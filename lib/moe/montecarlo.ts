import { mean, sampleStandardDeviation, probit } from '../util/stats.js';
import { checkInt, checkNumber } from '../util/validate.js';
import { InputError } from '../util/errors.js';
import { fork } from '../util/random.js';
import { checkMoeRouting, moeRouteCounts, MOE_MAX_TOKENS } from './routing.js';
import type { MoeRouting } from './routing.js';
import { moeDistinctExperts, moeExpectedMaxLoad } from './closed.js';

/** A sample mean with a normal-approximation confidence interval. */
export interface MoeMeanCi {
  mean: number;
  /** Half-width of the interval: z·s/√n. 0 with a single sample. */
  halfWidth: number;
  low: number;
  high: number;
  samples: number;
}

/**
 * Mean and a two-sided confidence interval (default 95 %) from the normal
 * approximation z·s/√n, fine for the ≥ 30 trials the Monte Carlo helpers use.
 *
 * @example
 * moeMeanCi([1, 2, 3]).mean // => 2
 */
export function moeMeanCi(values: ArrayLike<number>, level = 0.95): MoeMeanCi {
  checkNumber('level', level, { min: 0, exclusiveMin: true, max: 0.999999 });
  const xs = Array.from(values);
  if (xs.length === 0) throw new InputError('values', values, 'a non-empty array of samples');
  xs.forEach((x, i) => checkNumber(`values[${i}]`, x));
  const m = mean(xs);
  const hw = xs.length > 1 ? (probit(0.5 + level / 2) * sampleStandardDeviation(xs)) / Math.sqrt(xs.length) : 0;
  return { mean: m, halfWidth: hw, low: m - hw, high: m + hw, samples: xs.length };
}

/** One batch size's routing statistics over many independent batches. */
export interface MoeRoutingStatsRow {
  tokens: number;
  /** Distinct experts reached by the batch. */
  distinctExperts: MoeMeanCi;
  /** Tokens on the busiest expert. */
  maxLoad: MoeMeanCi;
  /** tokens·topK / distinct experts: how many tokens an expert that runs at all gets. */
  tokensPerActiveExpert: MoeMeanCi;
  /** Busiest expert over the mean over all experts (tokens·topK / experts). */
  maxOverMean: MoeMeanCi;
  /** Share of experts that receive at least `minTokens` tokens. */
  fractionAtLeast: MoeMeanCi;
  minTokens: number;
}

/**
 * Monte Carlo routing statistics for each batch size: `trials` independent batches
 * per size, each from its own stream `fork(seed, "moe-<tokens>")`, so a row does not
 * depend on which other sizes were asked for.
 *
 * @example
 * moeRoutingStats({ kind: 'uniform', experts: 8, topK: 2 }, { tokens: [10, 4000], trials: 200, seed: 1 })[0].distinctExperts.mean
 * // => about 7.5
 */
export function moeRoutingStats(
  spec: MoeRouting,
  opts: { tokens: readonly number[]; trials: number; seed: number; minTokens?: number; level?: number },
): MoeRoutingStatsRow[] {
  const r = checkMoeRouting(spec);
  if (!Array.isArray(opts?.tokens) || opts.tokens.length === 0 || opts.tokens.length > 1000) {
    throw new InputError('tokens', opts?.tokens, 'a non-empty array of at most 1000 batch sizes');
  }
  const trials = checkInt('trials', opts.trials, { min: 2, max: 1_000_000 });
  checkNumber('seed', opts.seed);
  const minTokens = checkNumber('minTokens', opts.minTokens ?? 1, { min: 0 });
  const sizes = opts.tokens.map((b, i) => checkInt(`tokens[${i}]`, b, { min: 1, max: MOE_MAX_TOKENS }));
  const work = sizes.reduce((a, b) => a + b, 0) * trials * r.topK;
  if (work > 2e9) throw new InputError('trials', trials, `at most ${Math.floor(2e9 / (work / trials))} for these batch sizes (tokens·topK·trials ≤ 2e9)`);
  return sizes.map((tokens) => {
    const stream = fork(opts.seed, `moe-${tokens}`);
    const distinct: number[] = [];
    const maxLoad: number[] = [];
    const perActive: number[] = [];
    const maxOverMean: number[] = [];
    const atLeast: number[] = [];
    const meanLoad = (tokens * r.topK) / r.experts;
    for (let t = 0; t < trials; t++) {
      const c = moeRouteCounts(spec, tokens, stream);
      let d = 0;
      let mx = 0;
      let ok = 0;
      for (let i = 0; i < c.length; i++) {
        if (c[i] > 0) d++;
        if (c[i] > mx) mx = c[i];
        if (c[i] >= minTokens) ok++;
      }
      distinct.push(d);
      maxLoad.push(mx);
      perActive.push((tokens * r.topK) / d);
      maxOverMean.push(mx / meanLoad);
      atLeast.push(ok / r.experts);
    }
    const L = opts.level ?? 0.95;
    return {
      tokens,
      distinctExperts: moeMeanCi(distinct, L),
      maxLoad: moeMeanCi(maxLoad, L),
      tokensPerActiveExpert: moeMeanCi(perActive, L),
      maxOverMean: moeMeanCi(maxOverMean, L),
      fractionAtLeast: moeMeanCi(atLeast, L),
      minTokens,
    };
  });
}

/** One (model, batch) point of `moeRoutingSweep`: closed forms next to Monte Carlo. */
export interface MoeRoutingSweepRow {
  label: string;
  experts: number;
  topK: number;
  tokens: number;
  /** E·(1 − (1 − k/E)^B), exact for uniform routing. */
  distinctExpected: number;
  distinctMc: MoeMeanCi;
  /** B·k/E: the mean over all experts, the Binomial(B, k/E) mean. */
  meanTokensPerExpert: number;
  /** B·k / expected distinct experts: what an expert that runs at all gets on average. */
  tokensPerActiveExpert: number;
  /** Busiest expert, independence lower bound (moeExpectedMaxLoad). */
  maxLoadBound: number;
  maxLoadMc: MoeMeanCi;
}

/**
 * Distinct experts and tokens per expert against batch size for several MoE shapes
 * under uniform top-k routing: the closed forms plus a Monte Carlo check of each.
 *
 * @example
 * moeRoutingSweep({ models: [{ label: 'DeepSeek-V3', experts: 256, topK: 8 }], tokens: [10, 4000], trials: 100, seed: 1 })
 */
export function moeRoutingSweep(opts: {
  models: ReadonlyArray<{ label: string; experts: number; topK: number }>;
  tokens: readonly number[];
  trials: number;
  seed: number;
}): MoeRoutingSweepRow[] {
  if (!Array.isArray(opts?.models) || opts.models.length === 0 || opts.models.length > 50) {
    throw new InputError('models', opts?.models, 'a non-empty array of at most 50 { label, experts, topK }');
  }
  return opts.models.flatMap((m, i) => {
    if (typeof m?.label !== 'string') throw new InputError(`models[${i}].label`, m?.label, 'a string');
    const spec: MoeRouting = { kind: 'uniform', experts: m.experts, topK: m.topK };
    const mc = moeRoutingStats(spec, { tokens: opts.tokens, trials: opts.trials, seed: opts.seed });
    return mc.map((row) => {
      const distinctExpected = moeDistinctExperts(m.experts, m.topK, row.tokens);
      return {
        label: m.label,
        experts: m.experts,
        topK: m.topK,
        tokens: row.tokens,
        distinctExpected,
        distinctMc: row.distinctExperts,
        meanTokensPerExpert: (row.tokens * m.topK) / m.experts,
        tokensPerActiveExpert: (row.tokens * m.topK) / distinctExpected,
        maxLoadBound: moeExpectedMaxLoad(m.experts, m.topK, row.tokens),
        maxLoadMc: row.maxLoad,
      };
    });
  });
}

/** What one step of `moeRoutingSweep` reads and how unevenly its tokens land, as shares. */
export interface MoeStepShares {
  /**
   * Expected distinct experts / E: the share of the routed-expert weights the step reads,
   * since each expert that receives a token streams its weights once (closed form).
   */
  weightShareRead: number;
  /**
   * The busiest expert's tokens (Monte Carlo mean) over those of the average reached
   * expert, minus 1: 0.25 means 25 % more than the average.
   */
  busiestExcess: number;
}

/**
 * The shares a `moeRoutingSweep` row implies: how much of the routed weights a step reads
 * and how far its busiest expert sits above the average reached one.
 *
 * @example
 * const [row] = moeRoutingSweep({ models: [{ label: 'DeepSeek-V3', experts: 256, topK: 8 }], tokens: [10], trials: 100, seed: 1 });
 * moeStepShares(row).weightShareRead // => 0.2720… (1 − (1 − k/E)^B at E = 256, k = 8, B = 10)
 */
export function moeStepShares(row: Pick<MoeRoutingSweepRow, 'experts' | 'distinctExpected' | 'tokensPerActiveExpert' | 'maxLoadMc'>): MoeStepShares {
  const experts = checkInt('row.experts', row?.experts, { min: 1 });
  const distinct = checkNumber('row.distinctExpected', row.distinctExpected, { min: 0, max: experts });
  const perActive = checkNumber('row.tokensPerActiveExpert', row.tokensPerActiveExpert, { min: Number.MIN_VALUE });
  const busiest = checkNumber('row.maxLoadMc.mean', row.maxLoadMc?.mean, { min: 0 });
  return { weightShareRead: distinct / experts, busiestExcess: busiest / perActive - 1 };
}

/** How one routing's Monte Carlo statistics differ from a reference routing's at one batch size. */
export interface MoeRoutingChange {
  tokens: number;
  /** Distinct experts reached, other / base − 1: −0.01 means 1 % fewer. */
  distinctExperts: number;
  /** Tokens on the busiest expert, other / base − 1. */
  maxLoad: number;
}

/**
 * The relative change other / base − 1 of the experts a batch reaches and of the busiest
 * expert's load, row by row, between two `moeRoutingStats` results over the same batch
 * sizes (e.g. group-limited routing against uniform top-k). Rows of different batch
 * sizes, or a base mean of 0, are InputErrors.
 *
 * @example
 * const base = moeRoutingStats({ kind: 'uniform', experts: 256, topK: 8 }, { tokens: [10], trials: 200, seed: 3 });
 * const grouped = moeRoutingStats({ kind: 'group-limited', experts: 256, topK: 8, groups: 8, groupsPerToken: 4 }, { tokens: [10], trials: 200, seed: 3 });
 * moeRoutingChange(base, grouped)[0].distinctExperts // => a few hundredths below 0: grouping reaches slightly fewer experts
 */
export function moeRoutingChange(base: readonly MoeRoutingStatsRow[], other: readonly MoeRoutingStatsRow[]): MoeRoutingChange[] {
  if (!Array.isArray(base) || base.length === 0) throw new InputError('base', base, 'a non-empty array of moeRoutingStats rows');
  if (!Array.isArray(other) || other.length !== base.length) throw new InputError('other', other, `an array of ${base.length} moeRoutingStats rows, one per row of base`);
  return base.map((b, i) => {
    const o = other[i];
    if (o?.tokens !== b?.tokens) throw new InputError(`other[${i}].tokens`, o?.tokens, `the batch size of base[${i}] (${b?.tokens})`);
    const rel = (field: 'distinctExperts' | 'maxLoad'): number => {
      const from = checkNumber(`base[${i}].${field}.mean`, b[field]?.mean, { min: 0, exclusiveMin: true });
      const to = checkNumber(`other[${i}].${field}.mean`, o[field]?.mean, { min: 0 });
      return to / from - 1;
    };
    return { tokens: b.tokens, distinctExperts: rel('distinctExperts'), maxLoad: rel('maxLoad') };
  });
}

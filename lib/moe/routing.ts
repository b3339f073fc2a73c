import { InputError } from '../util/errors.js';
import { checkInt, checkNumber } from '../util/validate.js';
import type { Rng } from '../util/random.js';

/** Largest expert count a routing spec may have (expert ids fit in a Uint16Array). */
export const MOE_MAX_EXPERTS = 65_536;
/** Largest batch the count sampler accepts: O(tokens·topK) time, O(experts) memory. */
export const MOE_MAX_TOKENS = 10_000_000;
/** Largest batch whose per-token assignments may be materialised (tokens·topK ids). */
export const MOE_MAX_ASSIGNED_TOKENS = 1 << 22;
/**
 * Largest routing job in elementary steps (tokens × topK for uniform routing, tokens ×
 * experts for weighted and group-limited routing, which score every expert): about ten
 * seconds on one core. Checked before any sampling.
 */
export const MOE_MAX_ROUTING_WORK = 2e9;

/**
 * How a router spreads one token over its experts. Every kind picks `topK` distinct
 * experts per token, tokens independently of each other.
 * - `uniform`: every k-subset equally likely (an ideally load-balanced router).
 * - `weighted`: successive sampling without replacement in proportion to `popularity`
 *   (e.g. `moeZipfPopularity`), i.e. a Plackett–Luce ranking truncated at k.
 * - `group-limited`: DeepSeek-V3's node-limited routing. Affinities are modelled as
 *   log-popularity plus Gumbel noise; a group scores the sum of its two best
 *   affinities, the token keeps its best `groupsPerToken` groups and takes the top k
 *   experts inside them. With groupsPerToken = groups it equals `weighted`.
 */
export type MoeRouting =
  | { kind: 'uniform'; experts: number; topK: number }
  | { kind: 'weighted'; experts: number; topK: number; popularity: ArrayLike<number> }
  | {
      kind: 'group-limited';
      experts: number;
      topK: number;
      groups: number;
      groupsPerToken: number;
      popularity?: ArrayLike<number>;
    };

/** A routing spec after validation, with normalised popularity where it has one. */
interface CheckedRouting {
  kind: MoeRouting['kind'];
  experts: number;
  topK: number;
  groups: number;
  groupsPerToken: number;
  /** Normalised popularity (sums to 1); null for uniform. */
  weights: Float64Array | null;
}

function checkPopularity(field: string, p: unknown, experts: number, topK: number, strictlyPositive: boolean): Float64Array {
  if (p === null || typeof p !== 'object' || typeof (p as ArrayLike<number>).length !== 'number' || (p as ArrayLike<number>).length !== experts) {
    throw new InputError(field, p, `an array of ${experts} non-negative weights (one per expert)`);
  }
  const arr = p as ArrayLike<number>;
  const w = new Float64Array(experts);
  let sum = 0;
  let positive = 0;
  for (let i = 0; i < experts; i++) {
    w[i] = checkNumber(`${field}[${i}]`, arr[i], strictlyPositive ? { min: 0, exclusiveMin: true } : { min: 0 });
    sum += w[i];
    if (w[i] > 0) positive++;
  }
  if (positive < topK || !Number.isFinite(sum)) {
    throw new InputError(field, p, `weights with at least topK = ${topK} positive entries and a finite sum`);
  }
  for (let i = 0; i < experts; i++) w[i] /= sum;
  return w;
}

/**
 * Validates a routing spec (every sampler goes through here) and returns it with
 * popularity normalised to sum to 1.
 *
 * @example
 * checkMoeRouting({ kind: 'uniform', experts: 8, topK: 9 }) // throws InputError: routing.topK must be an integer in [1, 8]
 */
export function checkMoeRouting(spec: MoeRouting): CheckedRouting {
  if (spec === null || typeof spec !== 'object') throw new InputError('routing', spec, 'an object { kind, experts, topK, ... }');
  const kind = spec.kind;
  if (kind !== 'uniform' && kind !== 'weighted' && kind !== 'group-limited') {
    throw new InputError('routing.kind', kind, 'one of "uniform", "weighted", "group-limited"');
  }
  const experts = checkInt('routing.experts', spec.experts, { min: 1, max: MOE_MAX_EXPERTS });
  const topK = checkInt('routing.topK', spec.topK, { min: 1, max: experts });
  if (kind === 'uniform') return { kind, experts, topK, groups: 1, groupsPerToken: 1, weights: null };
  if (kind === 'weighted') {
    return { kind, experts, topK, groups: 1, groupsPerToken: 1, weights: checkPopularity('routing.popularity', spec.popularity, experts, topK, false) };
  }
  const groups = checkInt('routing.groups', spec.groups, { min: 1, max: experts });
  if (experts % groups !== 0) throw new InputError('routing.groups', groups, `a divisor of experts = ${experts}`);
  const groupsPerToken = checkInt('routing.groupsPerToken', spec.groupsPerToken, { min: 1, max: groups });
  if (groupsPerToken * (experts / groups) < topK) {
    throw new InputError('routing.groupsPerToken', groupsPerToken, `at least ${Math.ceil(topK / (experts / groups))} so that the kept groups hold topK = ${topK} experts`);
  }
  const weights =
    spec.popularity === undefined ? new Float64Array(experts).fill(1 / experts) : checkPopularity('routing.popularity', spec.popularity, experts, topK, true);
  return { kind, experts, topK, groups, groupsPerToken, weights };
}

/**
 * Zipf expert popularity: the expert of rank r (1-based) gets weight r^−exponent,
 * normalised to sum to 1. Exponent 0 is uniform. With an `rng` the ranks are
 * shuffled over expert ids (hot experts are not numbered first in a real model, and
 * a contiguous placement would otherwise stack them on one device).
 *
 * @example
 * moeZipfPopularity(4, 1)  // => [0.48, 0.24, 0.16, 0.12]
 */
export function moeZipfPopularity(experts: number, exponent: number, rng?: Rng): Float64Array {
  checkInt('experts', experts, { min: 1, max: MOE_MAX_EXPERTS });
  checkNumber('exponent', exponent, { min: 0, max: 10 });
  const w = new Float64Array(experts);
  let sum = 0;
  for (let r = 0; r < experts; r++) {
    w[r] = Math.pow(r + 1, -exponent);
    sum += w[r];
  }
  for (let r = 0; r < experts; r++) w[r] /= sum;
  if (rng) {
    // Fisher–Yates with the caller's stream keeps the permutation seeded.
    for (let i = experts - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      const t = w[i];
      w[i] = w[j];
      w[j] = t;
    }
  }
  return w;
}

/** Writes one token's k distinct experts into out[offset .. offset+k). */
type TokenRouter = (out: Uint16Array | Int32Array, offset: number) => void;

function uniformRouter(experts: number, topK: number, rng: Rng): TokenRouter {
  // Floyd's algorithm: an exactly uniform k-subset in O(k) draws. The "already chosen"
  // test is a stamp per expert (O(1)); a scan of the chosen list made it O(k²), which
  // hung at top-60,000 of 65,536.
  const mark = new Uint32Array(experts);
  let stamp = 0;
  return (out, off) => {
    if (++stamp === 0xffffffff) {
      mark.fill(0);
      stamp = 1;
    }
    let filled = 0;
    for (let j = experts - topK; j < experts; j++) {
      const t = Math.floor(rng() * (j + 1));
      const pick = mark[t] === stamp ? j : t;
      mark[pick] = stamp;
      out[off + filled++] = pick;
    }
  };
}

function weightedRouter(weights: Float64Array, topK: number, rng: Rng): TokenRouter {
  const n = weights.length;
  // Walker's alias table: O(1) categorical draws. Redrawing an already chosen expert
  // samples exactly from the renormalised remaining weights (successive sampling).
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  const scaled = Float64Array.from(weights, (w) => w * n);
  const small: number[] = [];
  const large: number[] = [];
  scaled.forEach((s, i) => (s < 1 ? small : large).push(i));
  while (small.length && large.length) {
    const s = small.pop()!;
    const l = large.pop()!;
    prob[s] = scaled[s];
    alias[s] = l;
    scaled[l] = scaled[l] + scaled[s] - 1;
    (scaled[l] < 1 ? small : large).push(l);
  }
  for (const i of large) prob[i] = 1;
  for (const i of small) prob[i] = 1;
  const maxRejections = 32 * topK;
  const mark = new Uint32Array(n);
  let stamp = 0;
  const keys = new Float64Array(n);
  const order: number[] = [];
  return (out, off) => {
    if (++stamp === 0xffffffff) {
      mark.fill(0);
      stamp = 1;
    }
    let filled = 0;
    let rejections = 0;
    while (filled < topK) {
      if (rejections > maxRejections) {
        // A few very hot experts (or k near the expert count) make redraws slow: finish
        // with Efraimidis–Spirakis keys log(u)/w over the experts not yet chosen. Taking
        // the largest keys in order is successive sampling from the remaining weights,
        // the same distribution, in O(experts log experts) instead of O(experts · k).
        order.length = 0;
        for (let i = 0; i < n; i++) {
          if (mark[i] === stamp || weights[i] === 0) continue;
          keys[i] = Math.log(Math.max(rng(), 1e-300)) / weights[i];
          order.push(i);
        }
        order.sort((a, b) => keys[b] - keys[a]);
        for (let q = 0; filled < topK; q++) out[off + filled++] = order[q];
        return;
      }
      const u = rng() * n;
      const col = Math.min(n - 1, Math.floor(u));
      const e = u - col < prob[col] ? col : alias[col];
      if (mark[e] === stamp) rejections++;
      else {
        mark[e] = stamp;
        out[off + filled++] = e;
      }
    }
  };
}

function groupLimitedRouter(r: CheckedRouting, rng: Rng): TokenRouter {
  const { experts, topK, groups, groupsPerToken } = r;
  const size = experts / groups;
  const logw = Float64Array.from(r.weights!, Math.log);
  const score = new Float64Array(experts);
  const groupScore = new Float64Array(groups);
  const keptGroups = new Int32Array(groupsPerToken);
  const keptScores = new Float64Array(groupsPerToken);
  const best = new Float64Array(topK);
  const candidates: number[] = [];
  return (out, off) => {
    for (let i = 0; i < experts; i++) {
      const u = Math.max(rng(), 1e-300);
      score[i] = logw[i] - Math.log(-Math.log(u));
    }
    for (let g = 0; g < groups; g++) {
      // DeepSeek-V3 ranks a group by the sum of its two highest affinities.
      let a = -Infinity;
      let b = -Infinity;
      for (let i = g * size; i < (g + 1) * size; i++) {
        const s = score[i];
        if (s > a) {
          b = a;
          a = s;
        } else if (s > b) b = s;
      }
      groupScore[g] = size > 1 ? a + b : a;
    }
    insertionTop(groupScore, 0, groups, groupsPerToken, keptGroups, keptScores);
    if (topK > 32) {
      // Insertion into the best-k list costs O(k) per expert; for a large k sort instead.
      candidates.length = 0;
      for (let gi = 0; gi < groupsPerToken; gi++) for (let i = keptGroups[gi] * size; i < (keptGroups[gi] + 1) * size; i++) candidates.push(i);
      candidates.sort((a, b) => score[b] - score[a]);
      for (let q = 0; q < topK; q++) out[off + q] = candidates[q];
      return;
    }
    let filled = 0;
    best.fill(-Infinity);
    for (let gi = 0; gi < groupsPerToken; gi++) {
      const g = keptGroups[gi];
      for (let i = g * size; i < (g + 1) * size; i++) {
        const s = score[i];
        if (filled < topK || s > best[topK - 1]) {
          let pos = Math.min(filled, topK - 1);
          while (pos > 0 && best[pos - 1] < s) {
            best[pos] = best[pos - 1];
            out[off + pos] = out[off + pos - 1];
            pos--;
          }
          best[pos] = s;
          out[off + pos] = i;
          if (filled < topK) filled++;
        }
      }
    }
  };
}

/** Indices of the `count` largest of values[from..to), best first. */
function insertionTop(values: Float64Array, from: number, to: number, count: number, idx: Int32Array, best: Float64Array): void {
  let filled = 0;
  for (let i = from; i < to; i++) {
    const s = values[i];
    if (filled < count || s > best[count - 1]) {
      let pos = Math.min(filled, count - 1);
      while (pos > 0 && best[pos - 1] < s) {
        best[pos] = best[pos - 1];
        idx[pos] = idx[pos - 1];
        pos--;
      }
      best[pos] = s;
      idx[pos] = i;
      if (filled < count) filled++;
    }
  }
}

function makeRouter(r: CheckedRouting, rng: Rng): TokenRouter {
  if (r.kind === 'uniform') return uniformRouter(r.experts, r.topK, rng);
  if (r.kind === 'weighted') return weightedRouter(r.weights!, r.topK, rng);
  return groupLimitedRouter(r, rng);
}

function checkRoutingWork(r: CheckedRouting, tokens: number): void {
  const perToken = r.kind === 'uniform' ? r.topK : r.experts;
  if (tokens * perToken > MOE_MAX_ROUTING_WORK) {
    throw new InputError('tokens', tokens, `at most ${Math.floor(MOE_MAX_ROUTING_WORK / perToken)} for ${r.kind} routing over ${r.experts} experts, top-${r.topK} (routing work ≤ ${MOE_MAX_ROUTING_WORK})`);
  }
}

function checkRng(rng: unknown): Rng {
  if (typeof rng !== 'function') throw new InputError('rng', rng, 'a seeded generator from rng(seed) or fork(seed, name)');
  return rng as Rng;
}

/**
 * The experts each of `tokens` tokens is routed to: token t's k distinct experts are
 * ids[t·k .. t·k+k). Bit-identical for a (spec, seed).
 *
 * @example
 * moeRouteTokens({ kind: 'uniform', experts: 8, topK: 2 }, 3, rng(1)) // => Uint16Array(6) of expert ids
 */
export function moeRouteTokens(spec: MoeRouting, tokens: number, rng: Rng): Uint16Array {
  const r = checkMoeRouting(spec);
  checkInt('tokens', tokens, { min: 0, max: Math.floor(MOE_MAX_ASSIGNED_TOKENS / r.topK) });
  checkRoutingWork(r, tokens);
  const route = makeRouter(r, checkRng(rng));
  const out = new Uint16Array(tokens * r.topK);
  for (let t = 0; t < tokens; t++) route(out, t * r.topK);
  return out;
}

/**
 * Tokens routed to each expert for one batch of `tokens` tokens (counts sum to
 * tokens·topK). Memory is O(experts) whatever the batch; draws the same stream as
 * `moeRouteTokens`, so the counts are its tally for the same seed.
 *
 * @example
 * moeRouteCounts({ kind: 'uniform', experts: 256, topK: 8 }, 4096, rng(7)) // => Int32Array(256), mean 128
 */
export function moeRouteCounts(spec: MoeRouting, tokens: number, rng: Rng): Int32Array {
  const r = checkMoeRouting(spec);
  checkInt('tokens', tokens, { min: 0, max: MOE_MAX_TOKENS });
  checkRoutingWork(r, tokens);
  const route = makeRouter(r, checkRng(rng));
  const counts = new Int32Array(r.experts);
  const buf = new Int32Array(r.topK);
  for (let t = 0; t < tokens; t++) {
    route(buf, 0);
    for (let q = 0; q < r.topK; q++) counts[buf[q]]++;
  }
  return counts;
}

/**
 * Probability that one token picks each expert (its inclusion probability). Exactly
 * k/E for uniform routing and p_i for top-1; estimated from `samples` routed tokens
 * otherwise. Since tokens route independently, an expert's count in a batch of B is
 * exactly Binomial(B, π_i), which is what the closed forms below build on.
 *
 * @example
 * moeInclusionProbabilities({ kind: 'uniform', experts: 256, topK: 8 }) // => Float64Array(256).fill(1/32)
 */
export function moeInclusionProbabilities(spec: MoeRouting, opts: { samples?: number; rng?: Rng } = {}): Float64Array {
  const r = checkMoeRouting(spec);
  if (r.kind === 'uniform' || r.topK === r.experts) return new Float64Array(r.experts).fill(r.topK / r.experts);
  if (r.kind === 'weighted' && r.topK === 1) return Float64Array.from(r.weights!);
  const samples = checkInt('samples', opts.samples ?? 200_000, { min: 1000, max: MOE_MAX_TOKENS });
  if (opts.rng === undefined) throw new InputError('rng', undefined, 'a seeded generator (needed to estimate inclusion for skewed top-k routing)');
  const counts = moeRouteCounts(spec, samples, opts.rng);
  return Float64Array.from(counts, (c) => c / samples);
}

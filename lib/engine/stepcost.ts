import { prefillAttentionPairs } from '../core/matmul.js';
import type { StepCostFn, StepWork } from '../core/types.js';
import { InputError } from '../util/errors.js';
import { median, quantile, summarizeSample } from '../util/stats.js';
import { checkInt, checkNumber } from '../util/validate.js';
import { countOf } from '../util/words.js';
import type { DecodeEngine, EngineSegment } from './model.js';

/**
 * The step cost of a DecodeEngine measured on this machine, in three parts that follow
 * how the engine spends a step:
 *
 * - `tokenSeconds[i]` at `tokenKnots[i]` tokens: the step's fixed overhead plus its
 *   GEMMs (every projection runs once over all T tokens of the step), interpolated
 *   linearly in T between knots and extrapolated with the last slope. Above the
 *   largest decode batch the knots come from single prompts, so the curve there also
 *   carries a prompt's own causal attention (which grows with its length);
 * - `perSequenceSeconds`: attention runs once per sequence in the step (its op
 *   dispatches, KV append and softmax), whatever its length;
 * - `perKeySeconds`: per cached key a decoding sequence attends to (StepWork's
 *   contextTokens): the q·K, softmax, p·V and the KV append grow with the context.
 */
export interface EngineStepCostFit {
  tokenKnots: number[];
  tokenSeconds: number[];
  perSequenceSeconds: number;
  perKeySeconds: number;
  /** Root-mean-square relative error of the fit over its own points. */
  rmsRelativeError: number;
  points: EngineStepCostPoint[];
  label: string;
  provenance: { backend: string; model: string; date: string; reps: number; statistic: string };
  /**
   * A fit to served steps only (fitStepCostSamples): each calibration step's duration over
   * the fit's cost for its work, the slowest steps included, sorted (at most 4096, evenly
   * spaced quantiles). Their spread is the machine's, measured: other processes on the
   * same cores stretch some steps far beyond the fit.
   */
  stepFactors?: number[];
  /**
   * A fit to served steps with the per-sequence and per-key costs given (fitStepCostSamples
   * with `fixed`): the part of perSequenceSeconds the served steps added to the given one.
   */
  servedPerSequenceSeconds?: number;
  /**
   * A fit to served steps whose largest steps were too few to fit a knot (fitStepCostSamples):
   * the tokens per step up to which served steps fitted the curve. Knots above it are
   * extrapolated: the curve rises from there as the engine's timed curve does (or with the
   * last fitted slope when no engine curve was given).
   */
  servedUpToTokens?: number;
}

/** One measured step shape: its work and the median seconds over the repetitions. */
export interface EngineStepCostPoint {
  kind: 'decode' | 'prefill';
  /** Sequences in the step. */
  sequences: number;
  /** Tokens per sequence (1 for decode). */
  tokensPerSequence: number;
  /** Cached tokens per sequence before the step. */
  context: number;
  medianSeconds: number;
  /** Spread: (p75 − p25) / median over the repetitions. */
  iqrRelative: number;
}

/** The three features of a step in the fit's terms. */
function features(w: StepWork): { tokens: number; sequences: number; keys: number } {
  const prefSeqs = w.prefillSequences ?? (w.prefillTokens > 0 ? 1 : 0);
  return { tokens: w.prefillTokens + w.decodeTokens, sequences: w.decodeTokens + prefSeqs, keys: w.contextTokens };
}

function interpolate(knots: number[], values: number[], x: number): number {
  if (x <= knots[0]) return values[0];
  for (let i = 1; i < knots.length; i++) {
    if (x <= knots[i]) return values[i - 1] + ((values[i] - values[i - 1]) * (x - knots[i - 1])) / (knots[i] - knots[i - 1]);
  }
  const n = knots.length;
  const slope = n > 1 ? Math.max(0, (values[n - 1] - values[n - 2]) / (knots[n - 1] - knots[n - 2])) : 0;
  return values[n - 1] + slope * (x - knots[n - 1]);
}

/**
 * A StepCostFn (with a label) from a fit: for the simulator, given the StepWork of the
 * engine's own schedule.
 *
 * @example
 * const cost = engineStepCost(fit);
 * cost({ prefillTokens: 0, decodeTokens: 8, contextTokens: 8 * 100 }) // => seconds of one decode step
 */
export function engineStepCost(fit: EngineStepCostFit): StepCostFn & { label: string } {
  const { tokenKnots, tokenSeconds, perSequenceSeconds: s, perKeySeconds: a } = fit;
  const fn = ((w: StepWork) => {
    const f = features(w);
    return interpolate(tokenKnots, tokenSeconds, f.tokens) + s * f.sequences + a * f.keys;
  }) as StepCostFn & { label: string };
  fn.label = fit.label;
  return fn;
}

/**
 * Solves the least-squares problem min ‖X·b − y‖ (rows weighted by 1/scale²: relative
 * error against `scale`, by default y itself) by normal equations. A ridge of 1e-10 of
 * each column's own diagonal term keeps columns that the rows cannot tell apart (two
 * knots seen only by the same steps) solvable: they share the fit instead of failing it.
 */
function leastSquares(X: number[][], y: number[], scale: number[] = y): number[] {
  const p = X[0].length;
  const A = Array.from({ length: p }, () => new Float64Array(p + 1));
  X.forEach((row, r) => {
    const w = 1 / (scale[r] * scale[r]);
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < p; j++) A[i][j] += w * row[i] * row[j];
      A[i][p] += w * row[i] * y[r];
    }
  });
  for (let i = 0; i < p; i++) A[i][i] *= 1 + 1e-10;
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
    [A[c], A[piv]] = [A[piv], A[c]];
    const d = A[c][c];
    if (Math.abs(d) < 1e-300) throw new Error('engine step-cost fit: singular design (measure more distinct shapes)');
    for (let r = 0; r < p; r++) {
      if (r === c) continue;
      const f = A[r][c] / d;
      for (let k = c; k <= p; k++) A[r][k] -= f * A[c][k];
    }
  }
  return A.map((row, i) => row[p] / row[i]);
}

/**
 * Fits EngineStepCostFit's three parts to measured points by least squares on relative
 * error. The token curve is forced non-decreasing and the per-sequence and per-key
 * costs non-negative (a StepCostFn must not fall when work grows): a negative one is
 * pinned at 0 and the rest refitted.
 *
 * @example
 * const fit = fitEngineStepCost(points, { label: 'my engine', backend: 'tensorflow', model: cfg.id, reps: 5 });
 */
export function fitEngineStepCost(points: EngineStepCostPoint[], meta: { label: string; backend: string; model: string; reps: number; date?: string }): EngineStepCostFit {
  if (!Array.isArray(points) || points.length < 4) throw new InputError('points', points, 'at least 4 measured step shapes');
  const work = points.map((p) => pointWork(p));
  const knots = [...new Set(work.map((w) => w.prefillTokens + w.decodeTokens))].sort((a, b) => a - b);
  const y = points.map((p) => p.medianSeconds);
  const parts = fitParts(work, y, knots);
  const fit: EngineStepCostFit = {
    ...parts,
    rmsRelativeError: 0,
    points,
    label: meta.label,
    provenance: { backend: meta.backend, model: meta.model, date: meta.date ?? new Date().toISOString(), reps: meta.reps, statistic: 'median of timed steps' },
  };
  fit.rmsRelativeError = rmsRelative(engineStepCost(fit), work, y);
  return fit;
}

function rmsRelative(cost: StepCostFn, work: StepWork[], y: number[]): number {
  let se = 0;
  work.forEach((w, i) => (se += ((cost(w) - y[i]) / y[i]) ** 2));
  return Math.sqrt(se / work.length);
}

/**
 * Least squares of the three parts on given knots; negative per-sequence or per-key parts
 * are pinned at 0, and knots where the curve would fall are pooled. `fixed`: the
 * per-sequence and per-key parts are given (their share is taken off each step) and the
 * token curve is fitted, with what served steps add per sequence when steps that carry a
 * prompt beside decodes and prompts alone tell it apart.
 */
function fitParts(work: StepWork[], yIn: number[], knots: number[], fixed?: FixedAttention): Pick<EngineStepCostFit, 'tokenKnots' | 'tokenSeconds' | 'perSequenceSeconds' | 'perKeySeconds' | 'servedPerSequenceSeconds'> {
  const feats = work.map(features);
  const y = fixed ? yIn.map((v, i) => v - fixed.perSequenceSeconds * feats[i].sequences - fixed.perKeySeconds * feats[i].keys) : yIn;
  // Hat functions on the knots make the token curve piecewise linear through its knot values.
  const hats = feats.map((f) => knots.map((_, i) => {
    const v = new Array(knots.length).fill(0);
    v[i] = 1;
    return interpolate(knots, v, f.tokens);
  }));
  // Beside the curve: the per-sequence and per-key costs, or, when those are given, what a served step adds per sequence
  // (its token's write, the client's read): steps that carry a prompt beside decodes separate it from the curve, which
  // would otherwise take the decodes' share at the mixed steps' token counts and price a prompt alone by it.
  const extra = (f: { sequences: number; keys: number }): number[] => (fixed ? [f.sequences] : [f.sequences, f.keys]);
  // Only steps that carry a prompt beside decodes, set against prompts alone, tell it from the curve (in decode steps
  // tokens and sequences move together).
  const identified = work.some((w) => w.prefillTokens > 0 && w.decodeTokens > 0) && work.some((w) => w.prefillTokens > 0 && w.decodeTokens === 0);
  let use = fixed ? [identified] : [true, true];
  let groups: number[][] = knots.map((_, i) => [i]);
  let curve: number[];
  let ex: number[];
  for (;;) {
    const X = feats.map((f, r) => [...groups.map((g) => g.reduce((sum, i) => sum + hats[r][i], 0)), ...extra(f).filter((_, j) => use[j])]);
    const b = leastSquares(X, y, yIn);
    let k = groups.length;
    ex = use.map((u) => (u ? b[k++] : 0));
    // A negative per-sequence or per-key part is pinned at 0 and the rest refitted.
    if (ex.some((v) => v < 0)) {
      use = use.map((u, j) => u && ex[j] >= 0);
      continue;
    }
    // A curve that falls between two groups of knots: the steepest fall's groups share one value and the rest is refitted
    // (pooling adjacent violators), so a knot that few steps fit does not lift every knot above it.
    let worst = -1;
    let fall = 0;
    for (let g = 0; g + 1 < groups.length; g++) {
      if (b[g] - b[g + 1] > fall) {
        fall = b[g] - b[g + 1];
        worst = g;
      }
    }
    if (worst < 0) {
      curve = knots.map((_, i) => b[groups.findIndex((g) => g.includes(i))]);
      break;
    }
    groups.splice(worst, 2, [...groups[worst], ...groups[worst + 1]]);
  }
  return {
    tokenKnots: knots,
    tokenSeconds: curve.map((v) => Math.max(v, 1e-6)),
    perSequenceSeconds: fixed ? fixed.perSequenceSeconds + ex[0] : ex[0],
    perKeySeconds: fixed ? fixed.perKeySeconds : ex[1],
    // Only a log with prompts both beside decodes and alone separates the addition from the curve.
    ...(fixed && identified ? { servedPerSequenceSeconds: ex[0] } : {}),
  };
}

/** Per-sequence and per-cached-token step costs taken as given by a fit (from another measurement). */
export interface FixedAttention {
  perSequenceSeconds: number;
  perKeySeconds: number;
  /**
   * The engine's timed token curve (measureEngineStepCost's tokenKnots and tokenSeconds):
   * past the last knot that enough served steps support, a served fit's curve rises as
   * this one does, timed on shapes with repetitions, instead of following a step or two.
   */
  tokenCurve?: { tokenKnots: number[]; tokenSeconds: number[] };
}

/**
 * Steps' worth of data a served-step fit needs at its top knot: the sum over steps of the
 * knot's hat function (a step at the knot counts 1, one halfway down to the knot below ½).
 * One step cannot tell a step that was cold or that another process interrupted from the
 * cost: the 16-client calibration's first step (15 prompts, 690 tokens, the only step above
 * 512 tokens) took 1352 ms in one calibration and 684 ms in the next on the same server
 * (engine-vs-simulator --save-steps, default model, 2 CPU cores), and a knot fitted by it
 * alone priced every step above 512 tokens by it. Two steps' worth is the least that
 * lets the fit see a disagreement (then the slowest-5 % drop and the least squares judge).
 */
const MIN_TOP_KNOT_STEPS = 2;

/** One step a server ran: its work and how long it took, decision to next decision. */
export interface StepSample {
  work: StepWork;
  seconds: number;
}

/**
 * Fits the same three-part step cost to steps a server actually ran (its step log under
 * a calibration load), so the cost carries what a served step costs beyond the engine:
 * token writes, the loop's yield to I/O, and the client and sockets competing for the
 * same cores. Knots sit at powers of two of tokens per step (and the largest seen)
 * wherever samples exist; the slowest 5 % of samples relative to a first fit (steps hit
 * by another process) are dropped before the final fit. `fixed` gives the per-sequence
 * and per-key costs (e.g. the engine's, from timed shapes that vary batch and context
 * apart): served steps of a closed loop grow in tokens, sequences and cached tokens
 * together, so fitted from them alone the three parts trade off against each other.
 * Given those, what a served step adds per sequence beyond them (its token's write, the
 * client's read on the same cores; ≥ 0, in `servedPerSequenceSeconds` and added to
 * perSequenceSeconds) is fitted beside the token curve when some steps carry a prompt
 * beside decodes and some a prompt alone: without it the curve takes the decodes' served
 * share at those steps' token counts and prices a prompt alone by it. The curve is kept
 * non-decreasing by pooling adjacent knots that fall into one value and refitting, so a
 * knot that a few slow steps fit does not lift every knot above it. The top knot must
 * carry at least two steps' worth of its hat function (MIN_TOP_KNOT_STEPS: one step cannot
 * tell a cold or interrupted step from the cost); one that does not is dropped, with the
 * steps above the new top, until one does. Past that knot (`servedUpToTokens`) the curve
 * is extrapolated: it rises as `fixed.tokenCurve` (the engine's timed curve) does, or with
 * the last fitted slope; the dropped steps stay in the measured spread (`stepFactors`).
 *
 * @example
 * const fit = fitStepCostSamples(steps.map((s) => ({ work: s.work, seconds: s.nextDecision - s.start })), { label: 'served', backend: 'tensorflow', model: cfg.id });
 */
export function fitStepCostSamples(samples: StepSample[], meta: { label: string; backend: string; model: string; date?: string }, fixed?: FixedAttention): EngineStepCostFit {
  if (fixed) {
    checkNumber('fixed.perSequenceSeconds', fixed.perSequenceSeconds, { min: 0, max: 10 });
    checkNumber('fixed.perKeySeconds', fixed.perKeySeconds, { min: 0, max: 10 });
    if (fixed.tokenCurve) checkTokenCurve(fixed.tokenCurve);
  }
  const ok = timedSamples(samples);
  const tokensOf = (w: StepWork): number => w.prefillTokens + w.decodeTokens;
  const ts = ok.map((s) => tokensOf(s.work));
  const maxT = Math.max(...ts);
  const candidates: number[] = [];
  for (let t = 1; t < maxT; t *= 2) candidates.push(t);
  candidates.push(maxT);
  const knots = supportedKnots(candidates, ts);
  // Steps above the top supported knot are too few to fit: the curve there is extrapolated (see extendCurve).
  const top = knots[knots.length - 1];
  const fitted = ok.filter((_, i) => ts[i] <= top);
  let work = fitted.map((s) => s.work);
  let y = fitted.map((s) => s.seconds);
  let parts = fitParts(work, y, knots, fixed);
  const first = engineStepCost({ ...parts, rmsRelativeError: 0, points: [], label: '', provenance: { backend: '', model: '', date: '', reps: 0, statistic: '' } });
  const keep = notSlowest(work.map((w, i) => y[i] / first(w)));
  work = work.filter((_, i) => keep[i]);
  y = y.filter((_, i) => keep[i]);
  // A knot whose only steps were among the slowest has nothing left to fit it: the curve runs through its neighbours.
  const finalKnots = supportedKnots(knots, work.map(tokensOf));
  const finalTop = finalKnots[finalKnots.length - 1];
  const within = work.map((w) => tokensOf(w) <= finalTop);
  work = work.filter((_, i) => within[i]);
  y = y.filter((_, i) => within[i]);
  parts = fitParts(work, y, finalKnots, fixed);
  const extended = finalTop < maxT ? extendCurve(parts.tokenKnots, parts.tokenSeconds, fixed?.tokenCurve) : undefined;
  const tail = extended
    ? `; above ${finalTop} tokens per step (${countOf(ts.filter((t) => t > finalTop).length, 'step')}, under ${MIN_TOP_KNOT_STEPS} steps' worth at a knot) the curve is extrapolated ${fixed?.tokenCurve ? 'with the engine\'s timed curve' : 'with the last fitted slope'}`
    : '';
  const fit: EngineStepCostFit = {
    ...parts,
    ...(extended ? { tokenKnots: extended.knots, tokenSeconds: extended.seconds, servedUpToTokens: finalTop } : {}),
    rmsRelativeError: 0,
    points: [],
    label: meta.label,
    provenance: { backend: meta.backend, model: meta.model, date: meta.date ?? new Date().toISOString(), reps: ok.length, statistic: `least squares over ${work.length} served steps (slowest 5 % dropped)${fixed ? `; per-sequence and per-key costs given, ${parts.servedPerSequenceSeconds === undefined ? 'no served per-sequence addition (no steps with prompts both beside decodes and alone to separate it)' : 'served per-sequence addition fitted'}` : ''}${tail}` },
  };
  fit.rmsRelativeError = rmsRelative(engineStepCost(fit), work, y);
  fit.stepFactors = stepSpread(ok, engineStepCost(fit));
  return fit;
}

/**
 * The knots a served-step fit can fit, from candidate knots and the steps' tokens per step:
 * a knot is kept only when some step lies strictly between its neighbours (else its value
 * is unidentified), and the top knot only while it carries at least MIN_TOP_KNOT_STEPS
 * steps' worth of its hat function (steps above it are not counted: they lie past the
 * fitted curve once it is dropped); at least the first knot is kept.
 */
function supportedKnots(candidates: number[], ts: number[]): number[] {
  const knots = candidates.filter((_, i) => {
    const lo = i > 0 ? candidates[i - 1] : 0;
    const hi = i + 1 < candidates.length ? candidates[i + 1] : Infinity;
    return ts.some((t) => t > lo && t < hi);
  });
  if (knots.length === 0) return [candidates[0]];
  while (knots.length > 1) {
    const n = knots.length;
    const lo = knots[n - 2];
    const hi = knots[n - 1];
    const weight = ts.reduce((sum, t) => sum + (t > lo && t <= hi ? (t - lo) / (hi - lo) : 0), 0);
    if (weight >= MIN_TOP_KNOT_STEPS) break;
    knots.pop();
  }
  return knots;
}

/**
 * A token curve carried past its top knot K: with an engine curve e, knots at e's knots
 * above K (at 2·K when it has none) valued c(K) + e(t) − e(K), so that the curve (linear
 * between knots, extrapolated with the last slope) rises past K exactly as e does; without
 * one, knot 2·K on the last fitted slope (what interpolation would extrapolate anyway), so
 * that the extrapolated part shows.
 */
function extendCurve(knots: number[], seconds: number[], engine?: { tokenKnots: number[]; tokenSeconds: number[] }): { knots: number[]; seconds: number[] } {
  const top = knots[knots.length - 1];
  const at = engine ? (t: number): number => interpolate(engine.tokenKnots, engine.tokenSeconds, t) : (t: number): number => interpolate(knots, seconds, t);
  const above = engine ? engine.tokenKnots.filter((k) => k > top) : [];
  const extra = above.length ? above : [2 * top];
  return { knots: [...knots, ...extra], seconds: [...seconds, ...extra.map((t) => seconds[seconds.length - 1] + at(t) - at(top))] };
}

/** Checks a token curve given to a fit: ascending positive knots, non-negative finite seconds, as many as knots. */
function checkTokenCurve(c: { tokenKnots: number[]; tokenSeconds: number[] }): void {
  const allowed = 'ascending positive knots with as many non-negative seconds';
  if (!c || !Array.isArray(c.tokenKnots) || !Array.isArray(c.tokenSeconds) || c.tokenKnots.length === 0 || c.tokenKnots.length !== c.tokenSeconds.length) throw new InputError('fixed.tokenCurve', c, allowed);
  c.tokenKnots.forEach((k, i) => {
    checkNumber(`fixed.tokenCurve.tokenKnots[${i}]`, k, { min: i > 0 ? c.tokenKnots[i - 1] : 0, exclusiveMin: true, max: 1 << 30 });
    checkNumber(`fixed.tokenCurve.tokenSeconds[${i}]`, c.tokenSeconds[i], { min: 0, max: 1e4 });
  });
}

/** The samples with a work and a positive finite duration; at least 8 of them. */
function timedSamples(samples: StepSample[]): StepSample[] {
  const ok = (Array.isArray(samples) ? samples : []).filter((s) => s && s.work && s.seconds > 0 && Number.isFinite(s.seconds));
  if (ok.length < 8) throw new InputError('samples', samples?.length, 'at least 8 steps with a positive duration');
  return ok;
}

/**
 * Which steps to keep for a final fit, from each step's duration over a first fit's cost:
 * all but the slowest 5 % (steps another process hit); a step no slower than the first fit
 * is not one that another process hit, whatever its rank.
 */
function notSlowest(rel: number[]): boolean[] {
  const cut = [...rel].sort((a, b) => a - b)[Math.floor(0.95 * (rel.length - 1))];
  return rel.map((r) => r <= cut || r <= 1 + 1e-6);
}

/** Each step's duration over a fit's cost for its work, the slowest included, sorted (at most 4096, evenly spaced quantiles). */
function stepSpread(samples: StepSample[], cost: StepCostFn): number[] {
  const factors = samples.map((x) => stepRatio(x, cost)).sort((a, b) => a - b);
  const keepN = Math.min(factors.length, 4096);
  return Array.from({ length: keepN }, (_, i) => factors[Math.round((i * (factors.length - 1)) / Math.max(1, keepN - 1))]);
}

/** A step's measured duration over a cost's seconds for its work (> 1: slower than the cost says). */
function stepRatio(s: StepSample, cost: StepCostFn): number {
  return s.seconds / cost(s.work);
}

/** Served steps set against a fit, in one bin of tokens per step. */
export interface StepCostBin {
  /** Tokens per step (prompt and decode tokens together) of the bin: from a power of two to just below the next. */
  fromTokens: number;
  toTokens: number;
  /** Steps in the bin. */
  steps: number;
  /** Median of measured seconds over the fit's seconds for the same work, over the bin's steps (measured). */
  median: number;
  /** 90th percentile of the same ratio (linear between ranks, summarizeSample). */
  p90: number;
}

/**
 * How a step-cost fit prices steps it was not fitted to, by tokens per step: the served
 * steps grouped in power-of-two bins of tokens per step (1, 2–3, 4–7, …), each bin with
 * the median and 90th percentile of measured over fitted seconds. A fit whose curve is
 * right gives medians near 1 in every bin (the machine's own drift moves them all alike);
 * a bin far from its neighbours is where the curve is off. Steps without a positive
 * finite duration are skipped; bins without steps are left out.
 *
 * @example
 * stepCostBins(fit, servedStepSamples(log.steps))
 * // => e.g. [{ fromTokens: 1, toTokens: 1, steps: 168, median: 1.04, p90: 1.15 }, …, { fromTokens: 64, toTokens: 127, steps: 3, median: 0.95, p90: 0.97 }]
 */
export function stepCostBins(fit: EngineStepCostFit, samples: StepSample[]): StepCostBin[] {
  if (!Array.isArray(samples)) throw new InputError('samples', samples, 'an array of served steps { work, seconds }');
  const cost = engineStepCost(fit);
  const byBin = new Map<number, number[]>();
  for (const s of samples) {
    if (!s || !s.work || !(s.seconds > 0) || !Number.isFinite(s.seconds)) continue;
    const t = s.work.prefillTokens + s.work.decodeTokens;
    if (!(t >= 1) || !Number.isFinite(t)) continue;
    // The bin: the largest power of two not above t.
    let from = 1;
    while (2 * from <= t) from *= 2;
    const bin = byBin.get(from) ?? [];
    bin.push(stepRatio(s, cost));
    byBin.set(from, bin);
  }
  return [...byBin.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([from, ratios]) => {
      const sm = summarizeSample(ratios);
      return { fromTokens: from, toTokens: 2 * from - 1, steps: sm.count, median: sm.median, p90: sm.p90 };
    });
}

/**
 * The StepWork of a measured point, as the simulator would describe that step.
 *
 * @example
 * pointWork({ kind: 'decode', sequences: 4, tokensPerSequence: 1, context: 100, medianSeconds: 0.01, iqrRelative: 0 })
 * // => { prefillTokens: 0, decodeTokens: 4, contextTokens: 404, prefillSequences: 0, prefillAttentionPairs: 0 }
 */
export function pointWork(p: EngineStepCostPoint): StepWork {
  if (p.kind === 'decode') return { prefillTokens: 0, decodeTokens: p.sequences, contextTokens: p.sequences * (p.context + 1), prefillSequences: 0, prefillAttentionPairs: 0 };
  return {
    prefillTokens: p.sequences * p.tokensPerSequence,
    decodeTokens: 0,
    contextTokens: 0,
    prefillSequences: p.sequences,
    prefillAttentionPairs: p.sequences * prefillAttentionPairs(p.tokensPerSequence, p.context),
  };
}

/** What to measure: batch sizes of decode steps, their contexts, prompt lengths, and bursts of prompts. */
export interface StepCostGrid {
  decodeBatches: number[];
  decodeContexts: number[];
  prefillTokens: number[];
  /**
   * Steps of several prompts at once (`sequences` prompts of `tokensPerSequence` tokens), as
   * a burst of arrivals is admitted: they time the curve's top, where single prompts end.
   */
  prefillBursts?: Array<{ sequences: number; tokensPerSequence: number }>;
  /** Timed repetitions per shape (default 5). */
  reps?: number;
}

/**
 * A grid that covers a server's operating range: decode batches 1..maxBatch (powers of
 * two), contexts from a short one up to maxContext, prompts up to maxPrompt, and with
 * `burst` one step of maxBatch prompts of maxPrompt tokens (the largest step a burst of
 * arrivals makes the server run; none at maxBatch 1). Single prompts alone leave the
 * curve above maxPrompt tokens extrapolated, and steps of many prompts cost more than
 * that: on this 2-core machine 15 prompts of 46 tokens took 1.15–1.20 × what a fit to
 * single prompts up to 64 tokens extrapolates, 16 of 64 tokens 1.12–1.15 × (default
 * model, timed right after the fit). The burst is opt-in because it is the grid's
 * costliest shape: at real size (Llama-3.2-1B, 16 × 128 tokens) it took `serve
 * --calibrate` from about 61 s to 144 s of timing on this machine.
 *
 * @example
 * defaultStepCostGrid({ maxBatch: 16, maxContext: 256, maxPrompt: 128 }).decodeBatches // => [1, 2, 4, 8, 16]
 * defaultStepCostGrid({ maxBatch: 16, maxContext: 256, maxPrompt: 128, burst: true }).prefillBursts // => [{ sequences: 16, tokensPerSequence: 128 }]
 */
export function defaultStepCostGrid(o: { maxBatch: number; maxContext: number; maxPrompt: number; reps?: number; burst?: boolean }): StepCostGrid {
  const maxBatch = checkInt('maxBatch', o.maxBatch, { min: 1, max: 4096 });
  const maxContext = checkInt('maxContext', o.maxContext, { min: 2, max: 1 << 20 });
  const maxPrompt = checkInt('maxPrompt', o.maxPrompt, { min: 1, max: 1 << 20 });
  const pow = (max: number, from = 1): number[] => {
    const out: number[] = [];
    for (let v = from; v < max; v *= 2) out.push(v);
    out.push(max);
    return [...new Set(out)];
  };
  // The longest context leaves room for the decode steps timed back to back after it.
  const longest = Math.max(1, maxContext - DECODE_RUN - 1);
  const ctxs = [...new Set([Math.min(16, longest), Math.max(1, Math.floor(maxContext / 4)), Math.max(1, Math.floor(maxContext / 2)), longest])].sort((a, b) => a - b);
  const prompt = Math.min(maxPrompt, maxContext);
  return { decodeBatches: pow(maxBatch), decodeContexts: ctxs, prefillTokens: pow(maxPrompt, Math.min(8, maxPrompt)), prefillBursts: o.burst === true && maxBatch > 1 ? [{ sequences: maxBatch, tokensPerSequence: prompt }] : [], reps: o.reps };
}

/** Decode steps timed back to back after each set-up, as a server runs them. */
const DECODE_RUN = 3;

/**
 * Times the engine's own steps on this machine and fits an EngineStepCostFit. Shapes:
 * decode steps at every batch size at the shortest context and at every context at
 * the middle batch size, single prompts at every prompt length (which include the
 * decode batch sizes, so the per-sequence and per-token parts separate), and the grid's
 * bursts of prompts in one step (the curve's top). The shapes are
 * timed in rounds, each round one step of every shape in turn, so a change in the
 * machine's load shifts all shapes alike; a decode shape is timed over 3 steps back to
 * back after its set-up (as a server decodes; the set-up fills its sequences' caches to
 * the context with `fillCache` rather than prefilling prompts, which at real size cost
 * minutes), and each shape's time is its median.
 * Uses sequence ids from 1e9 up and frees them.
 *
 * @example
 * const fit = measureEngineStepCost(engine, defaultStepCostGrid({ maxBatch: 16, maxContext: 256, maxPrompt: 128 }));
 * fit.perSequenceSeconds // => e.g. 4e-4 on 2 CPU cores
 */
export function measureEngineStepCost(engine: DecodeEngine, grid: StepCostGrid, opts: { label?: string; now?: () => number } = {}): EngineStepCostFit {
  const reps = checkInt('grid.reps', grid.reps ?? 5, { min: 1, max: 1000 });
  const clock = opts.now ?? (() => performance.now() / 1000);
  const maxCtx = engine.config.maxContext;
  const base = 1e9;
  const tokens = (n: number, salt: number): number[] => Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) % Math.min(256, engine.config.vocabSize));
  interface Shape {
    point: Omit<EngineStepCostPoint, 'medianSeconds' | 'iqrRelative'>;
    setup: () => void;
    run: () => void;
    /** Steps timed back to back per round (a server decodes in runs of steps). */
    repeat: number;
    times: number[];
  }
  const shapes: Shape[] = [];
  const seqs = (n: number): number[] => Array.from({ length: n }, (_, i) => base + i);
  const decode = (batch: number, context: number): void => {
    if (context + DECODE_RUN > maxCtx || shapes.some((s) => s.point.kind === 'decode' && s.point.sequences === batch && s.point.context === context)) return;
    const ids = seqs(batch);
    shapes.push({
      point: { kind: 'decode', sequences: batch, tokensPerSequence: 1, context },
      // The cache is filled, not prefilled: the timed decode steps do the same work, and the set-up costs no prompt.
      setup: () => ids.forEach((s) => engine.fillCache(s, context)),
      run: () => engine.step(ids.map((s) => ({ seq: s, tokens: [1] }))),
      repeat: DECODE_RUN,
      times: [],
    });
  };
  const prefill = (n: number, count = 1): void => {
    if (n > maxCtx) return;
    const ids = seqs(count);
    shapes.push({ point: { kind: 'prefill', sequences: count, tokensPerSequence: n, context: 0 }, setup: () => {}, run: () => engine.step(ids.map((s, i) => ({ seq: s, tokens: tokens(n, i) }))), repeat: 1, times: [] });
  };
  const shortest = Math.min(...grid.decodeContexts);
  for (const b of grid.decodeBatches) decode(b, shortest);
  const mid = grid.decodeBatches[Math.floor(grid.decodeBatches.length / 2)];
  for (const c of grid.decodeContexts) decode(mid, c);
  for (const p of [...new Set([...grid.prefillTokens, ...grid.decodeBatches.filter((b) => b >= 2)])].sort((a, b) => a - b)) prefill(p);
  (grid.prefillBursts ?? []).forEach((b, i) => {
    const count = checkInt(`grid.prefillBursts[${i}].sequences`, b?.sequences, { min: 1, max: 4096 });
    const n = checkInt(`grid.prefillBursts[${i}].tokensPerSequence`, b?.tokensPerSequence, { min: 1, max: maxCtx });
    if (!shapes.some((s) => s.point.kind === 'prefill' && s.point.sequences === count && s.point.tokensPerSequence === n)) prefill(n, count);
  });
  const release = (): void => {
    for (const s of engine.sequences()) if (s >= base) engine.release(s);
  };
  // Round 0 warms every shape up (first calls build kernels and allocate) and is not kept: one step of each
  // shape is enough for that (the steps of a decode run differ only in context, as every round's do).
  for (let r = 0; r <= reps; r++) {
    for (const s of shapes) {
      s.setup();
      for (let k = 0; k < (r === 0 ? 1 : s.repeat); k++) {
        const t0 = clock();
        s.run();
        const dt = clock() - t0;
        if (r > 0) s.times.push(dt);
      }
      release();
    }
  }
  const points = shapes.map((s) => {
    const med = median(s.times);
    return { ...s.point, medianSeconds: med, iqrRelative: (quantile(s.times, 0.75) - quantile(s.times, 0.25)) / med };
  });
  const label = opts.label ?? `${engine.config.id} measured on ${engine.backend}, ${new Date().toISOString().slice(0, 10)}`;
  return fitEngineStepCost(points, { label, backend: engine.backend, model: engine.config.id, reps });
}

/**
 * How fast the machine runs the engine now against when its step cost was measured:
 * the median of `rounds` probes, each a prompt of `prompt` tokens then `steps` decode
 * steps of `batch` sequences back to back, timed and divided by what the fit predicts
 * for the same steps. On a machine shared with other work the speed drifts between the
 * measurement and a run; a probe just before the run measures the drift. Uses sequence
 * ids from 2e9 up and frees them.
 *
 * @example
 * const ratio = probeEngineSpeed(engine, fit); // 1.3: steps take 30 % longer than measured
 * const now = scaleStepCostFit(fit, ratio);
 */
export function probeEngineSpeed(engine: DecodeEngine, fit: EngineStepCostFit, o: { batch?: number; prompt?: number; steps?: number; rounds?: number; now?: () => number } = {}): number {
  const batch = checkInt('batch', o.batch ?? 4, { min: 1, max: 4096 });
  const prompt = checkInt('prompt', o.prompt ?? 32, { min: 1, max: engine.config.maxContext - 8 });
  const steps = checkInt('steps', o.steps ?? 4, { min: 1, max: 1000 });
  const rounds = checkInt('rounds', o.rounds ?? 3, { min: 1, max: 100 });
  if (prompt + steps > engine.config.maxContext) throw new InputError('steps', steps, `at most ${engine.config.maxContext - prompt} (the context)`);
  const clock = o.now ?? (() => performance.now() / 1000);
  const cost = engineStepCost(fit);
  const ids = Array.from({ length: batch }, (_, i) => 2e9 + i);
  const toks = Array.from({ length: prompt }, (_, i) => (i * 13) % Math.min(256, engine.config.vocabSize));
  let predicted = cost({ prefillTokens: prompt, decodeTokens: 0, contextTokens: 0, prefillSequences: 1, prefillAttentionPairs: prefillAttentionPairs(prompt) });
  for (let k = 0; k < steps; k++) predicted += cost({ prefillTokens: 0, decodeTokens: batch, contextTokens: batch * (prompt + 1 + k), prefillSequences: 0, prefillAttentionPairs: 0 });
  const ratios: number[] = [];
  for (let r = 0; r <= rounds; r++) {
    for (const s of ids.slice(1)) engine.step([{ seq: s, tokens: toks }]);
    const t0 = clock();
    engine.step([{ seq: ids[0], tokens: toks }]);
    for (let k = 0; k < steps; k++) engine.step(ids.map((s) => ({ seq: s, tokens: [1] })));
    const dt = clock() - t0;
    for (const s of ids) engine.release(s);
    // Round 0 warms up and is not kept.
    if (r > 0) ratios.push(dt / predicted);
  }
  return median(ratios);
}

/**
 * A fit with every time multiplied by `ratio` (from probeEngineSpeed), its label saying so.
 *
 * @example
 * scaleStepCostFit(fit, 1.25).perSequenceSeconds === 1.25 * fit.perSequenceSeconds // => true
 */
export function scaleStepCostFit(fit: EngineStepCostFit, ratio: number): EngineStepCostFit {
  const r = checkNumber('ratio', ratio, { min: 0, exclusiveMin: true, max: 1000 });
  return {
    ...fit,
    tokenSeconds: fit.tokenSeconds.map((s) => s * r),
    perSequenceSeconds: fit.perSequenceSeconds * r,
    perKeySeconds: fit.perKeySeconds * r,
    ...(fit.servedPerSequenceSeconds === undefined ? {} : { servedPerSequenceSeconds: fit.servedPerSequenceSeconds * r }),
    label: `${fit.label} × ${r.toFixed(3)} (speed probed before the run)`,
  };
}

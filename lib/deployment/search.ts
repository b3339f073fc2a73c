import type { HardwareSpec } from '../hardware/spec.js';
import { checkModelContext, type ModelSpec } from '../models/spec.js';
import { InputError } from '../util/errors.js';
import { checkArray, checkFraction, checkInt, checkPositive } from '../util/validate.js';
import type { StepModelFactory } from './types.js';
import { checkPrecision, resolveLayout } from './layout.js';
import type { SpeculativeDecoding } from './pool.js';
import { decodePerformance, prefillPerformance, speculativeTokensPerStep } from './pool.js';
import { defaultStepModel } from './perf.js';
import { requestPrice, usdPerMillionAtLoad } from './cost.js';
import type { DeploymentPrecision, DeviceStepModel, PoolLayout } from './types.js';

/** The load a deployment must carry. */
export interface SearchLoad {
  requestsPerSecond: number;
  /** Mean prompt tokens per request, cache hits included. */
  promptTokens: number;
  outputTokens: number;
  /** Fraction of prompt tokens found in the prefix cache (default 0). */
  cacheHitFraction?: number;
}

/** Latency targets; an absent one is not checked. */
export interface Slo {
  /** Time to first token, seconds (the prefill of one prompt, without queueing). */
  ttftSeconds?: number;
  /** Seconds per output token. */
  tpotSeconds?: number;
}

/** Every choice a search ranges over: hardware × layout × precision × decode batch. */
export interface SearchSpace {
  model: ModelSpec;
  hardware: HardwareSpec[];
  layouts: PoolLayout[];
  precisions: DeploymentPrecision[];
  /** Sequences per attention rank, ascending. */
  batches: number[];
  load: SearchLoad;
  speculative?: SpeculativeDecoding;
  /** The per-device model (default: `defaultStepModel`, the default engine's kernel tables where the database holds the device, as `batchlab search` prices). */
  stepModel?: StepModelFactory;
}

/** One evaluated configuration. */
export interface SearchPoint {
  index: number;
  hardware: string;
  layout: number;
  precision: number;
  batch: number;
  feasible: boolean;
  /** Why it is infeasible: 'memory', 'layout' (invalid for this model or hardware). */
  reason: string | null;
  devicesPerUnit: number;
  tokensPerSecondPerUser: number;
  tokensPerSecondPerDevice: number;
  tpotSeconds: number;
  ttftSeconds: number;
  /** Device-seconds one request takes: its prefill share plus its decode share. */
  deviceSecondsPerRequest: number;
  /** What one request costs on the devices the load needs, idle time included (the bill over the load). */
  usdPerRequest: number;
  /** USD per million output tokens on the devices the load needs, idle time included. */
  usdPerMillionOutput: number;
  /** USD per million output tokens were every slot busy (`requestPrice`, the price `deploy` prints). */
  usdPerMillionOutputFullBatch: number;
  /** Devices the load needs, in whole units. */
  devicesNeeded: number;
  /** USD an hour for the devices the load needs: devicesNeeded × the hardware's price per device-hour (Infinity where infeasible). */
  usdPerHour: number;
  /** Sequences the load keeps in flight by Little's law: requests per second × (TTFT + output tokens × TPOT). */
  concurrency: number;
  /** Sequences the needed devices hold at this batch. */
  slots: number;
  /** concurrency / slots: the share of the batch the load fills. */
  utilisation: number;
  /**
   * The smallest batch of the space, priced although the load keeps fewer sequences in
   * flight than one serving unit holds at it: its TPOT and tokens/s per user are then
   * those of the decode batch the load itself keeps per rank (`loadBatch`). False
   * elsewhere (a batch the load cannot fill is not priced).
   */
  underfilled: boolean;
  /**
   * The decode sequences per attention rank that `tpotSeconds` is priced at: `batch`, or
   * for an underfilled point the most the load keeps per rank: the fewest that hold the
   * sequences it keeps in flight (Little's law over the ranks of the needed devices, rounded
   * up), its TPOT the slowest of batches 1…loadBatch. 0 where the layout is invalid.
   */
  loadBatch: number;
  /**
   * What priced the point: its decode pool's step model (`DeviceStepModel.label`: the
   * performance model and its efficiency, and the kernel tables where they priced it, or
   * why none did); null where the layout is invalid and nothing was priced.
   */
  pricedBy: string | null;
}

const MAX_POINTS = 1_000_000;

/**
 * The number of points of a space, checked: hardware × layouts × precisions × batches.
 *
 * @example
 * searchSpaceSize({ ...space, batches: [8, 16, 32] }) // => 3 × hardware × layouts × precisions
 */
export function searchSpaceSize(space: SearchSpace): number {
  if (typeof space !== 'object' || space === null) throw new InputError('space', space, 'a SearchSpace');
  const hw = checkArray<HardwareSpec>('hardware', space.hardware, 1000).length;
  const lay = checkArray<PoolLayout>('layouts', space.layouts, 10_000).length;
  const pr = checkArray<DeploymentPrecision>('precisions', space.precisions, 100).length;
  const b = checkArray<number>('batches', space.batches, 100_000);
  b.forEach((x, i) => {
    checkInt(`batches[${i}]`, x, { min: 1, max: 1 << 20 });
    if (i > 0 && x <= b[i - 1]) throw new InputError(`batches[${i}]`, x, `greater than batches[${i - 1}] = ${b[i - 1]} (ascending)`);
  });
  const n = hw * lay * pr * b.length;
  if (n > MAX_POINTS) throw new InputError('space', n, `at most ${MAX_POINTS} points`);
  // A search ranks by cost: a device priced at nothing would win every search.
  space.hardware.forEach((h, i) => {
    if (!(h.hourlyPriceUsd > 0)) throw new InputError(`hardware[${i}].hourlyPriceUsd`, h.hourlyPriceUsd, `a price above 0 for ${h.id}: a search ranks by cost (give the hardware file an hourlyPriceUsd, or --usd-per-hour)`);
  });
  // The load prices every point: a bad one is refused with the space, not at the first point priced.
  const load = checkLoad(space.load);
  // A request longer than the model's context is no deployment's to serve (it read as "does not fit in memory").
  checkModelContext(space.model, load.promptTokens + load.outputTokens, 'load.promptTokens', load.promptTokens, `load.promptTokens + load.outputTokens ${load.outputTokens}`);
  return n;
}

function checkLoad(l: SearchLoad): Required<SearchLoad> {
  if (typeof l !== 'object' || l === null) throw new InputError('load', l, 'an object { requestsPerSecond, promptTokens, outputTokens }');
  return {
    requestsPerSecond: checkPositive('load.requestsPerSecond', l.requestsPerSecond, 1e9),
    promptTokens: checkInt('load.promptTokens', l.promptTokens, { min: 1, max: 1 << 22 }),
    outputTokens: checkInt('load.outputTokens', l.outputTokens, { min: 1, max: 1 << 22 }),
    // As deploy's --cache-hit: a fraction of 1 would leave no prompt token to compute.
    cacheHitFraction: checkHitFraction(l.cacheHitFraction ?? 0),
  };
}

/**
 * The (hardware, layout, precision, batch) indices of a point: batch varies fastest.
 *
 * @example
 * searchPointCoordinates(space, 0) // => { b: 0, p: 0, l: 0, h: 0 }
 */
export function searchPointCoordinates(space: SearchSpace, index: number): { h: number; l: number; p: number; b: number } {
  const n = searchSpaceSize(space);
  checkInt('index', index, { min: 0, max: n - 1 });
  const B = space.batches.length;
  const P = space.precisions.length;
  const Lc = space.layouts.length;
  return { b: index % B, p: Math.floor(index / B) % P, l: Math.floor(index / (B * P)) % Lc, h: Math.floor(index / (B * P * Lc)) };
}

type Group = { step: DeviceStepModel | null; reason: string | null; ttft: number; prefillRate: number; unit: number };

function groupModel(space: SearchSpace, h: number, l: number, p: number, load: Required<SearchLoad>): Group {
  const hw = space.hardware[h];
  const layout = space.layouts[l];
  const make = space.stepModel ?? defaultStepModel;
  let step: DeviceStepModel;
  let unit: number;
  try {
    // Redundant copies are EPLB's: a layout that has them is priced balancing its experts over them.
    step = make(space.model, hw, layout, checkPrecision(space.precisions[p]), 'decode', layout.redundantExperts > 0 ? { expertRouting: 'eplb' } : {});
    unit = resolveLayout(space.model, layout).unitDevices;
  } catch (e) {
    if (e instanceof InputError) return { step: null, reason: `layout: ${e.message}`, ttft: Infinity, prefillRate: 0, unit: 1 };
    throw e;
  }
  const cached = Math.floor(load.promptTokens * load.cacheHitFraction);
  const computed = Math.max(1, load.promptTokens - cached);
  const pre = prefillPerformance(step, layout, { tokensPerRank: computed, promptTokens: computed, cachedTokens: cached });
  return { step, reason: null, ttft: pre.ttftSeconds, prefillRate: pre.computedTokensPerSecondPerDevice, unit };
}

function evaluate(space: SearchSpace, index: number, g: Group, load: Required<SearchLoad>, co: { h: number; l: number; p: number; b: number }): SearchPoint {
  const hw = space.hardware[co.h];
  const batch = space.batches[co.b];
  const base = { index, hardware: hw.id, layout: co.l, precision: co.p, batch, devicesPerUnit: g.unit, pricedBy: g.step?.label ?? null };
  const none = { underfilled: false, tokensPerSecondPerUser: 0, tokensPerSecondPerDevice: 0, tpotSeconds: Infinity, ttftSeconds: Infinity, deviceSecondsPerRequest: Infinity, usdPerRequest: Infinity, usdPerMillionOutput: Infinity, usdPerMillionOutputFullBatch: Infinity, devicesNeeded: Infinity, usdPerHour: Infinity, concurrency: 0, slots: 0, utilisation: 0, loadBatch: 0 };
  if (!g.step) return { ...base, feasible: false, reason: g.reason, ...none };
  const d = decodePerformance(g.step, space.layouts[co.l], { sequencesPerRank: batch, context: searchDecodeContext(load), speculative: space.speculative });
  if (!d.memory.fits) return { ...base, feasible: false, reason: `memory: short by ${(d.memory.shortfallBytes / 1e9).toFixed(1)} GB per device`, ...none, tpotSeconds: d.tpotSeconds, tokensPerSecondPerUser: d.tokensPerSecondPerUser, tokensPerSecondPerDevice: d.tokensPerSecondPerDevice, loadBatch: batch };
  const cached = Math.floor(load.promptTokens * load.cacheHitFraction);
  const computed = Math.max(1, load.promptTokens - cached);
  const price = hw.hourlyPriceUsd;
  const full = requestPrice({
    promptTokens: load.promptTokens,
    computedPromptTokens: computed,
    outputTokens: load.outputTokens,
    prefillTokensPerSecondPerDevice: g.prefillRate,
    decodeTokensPerSecondPerDevice: d.tokensPerSecondPerDevice,
    usdPerDeviceHour: price,
  });
  const dsr = full.deviceSecondsPerRequest;
  // Little's law: the sequences in flight are the arrival rate times each one's time in
  // the system (its prefill step, then one TPOT per output token). A unit at this batch
  // holds unit × (tokens/s per device ÷ tokens/s per user) sequences.
  const concurrency = load.requestsPerSecond * (g.ttft + load.outputTokens * d.tpotSeconds);
  const slotsPerUnit = (g.unit * d.tokensPerSecondPerDevice) / d.tokensPerSecondPerUser;
  const perf = { tokensPerSecondPerUser: d.tokensPerSecondPerUser, tokensPerSecondPerDevice: d.tokensPerSecondPerDevice, tpotSeconds: d.tpotSeconds, ttftSeconds: g.ttft };
  if (concurrency < slotsPerUnit && co.b > 0) {
    // Priced at this batch, the point would claim a TPOT and a $/token the load never sees.
    // The smallest batch is priced all the same: a load too light to fill it still needs the
    // serving units its prefill and decode time take (at least one), paid by the hour, and
    // its TPOT at the full batch bounds the load's from above.
    const reason = `load: ${fmtRate(load.requestsPerSecond)} req/s keeps ${concurrency.toFixed(1)} sequences in flight (Little's law), fewer than the ${Math.round(slotsPerUnit)} one serving unit holds at batch ${batch}`;
    return { ...base, feasible: false, reason, ...none, ...perf, concurrency, slots: slotsPerUnit, utilisation: concurrency / slotsPerUnit, loadBatch: batch };
  }
  const devicesNeeded = Math.max(1, Math.ceil((load.requestsPerSecond * dsr) / g.unit - 1e-12)) * g.unit;
  const slots = (devicesNeeded / g.unit) * slotsPerUnit;
  const usdPerHour = devicesNeeded * price;
  const underfilled = concurrency < slotsPerUnit;
  // An underfilled smallest batch: the load decodes at the batch it keeps per rank, not the full one.
  const seen = underfilled ? loadDecode(g.step, space, co.l, load, g.ttft, batch, slots / batch) : { perf, concurrency, loadBatch: batch };
  return {
    ...base,
    feasible: true,
    reason: null,
    ...seen.perf,
    deviceSecondsPerRequest: dsr,
    usdPerRequest: usdPerHour / 3600 / load.requestsPerSecond,
    usdPerMillionOutput: usdPerMillionAtLoad({ devices: devicesNeeded, usdPerDeviceHour: price, requestsPerSecond: load.requestsPerSecond, outputTokens: load.outputTokens }),
    usdPerMillionOutputFullBatch: full.usdPerMillionOutput,
    devicesNeeded,
    usdPerHour,
    concurrency: seen.concurrency,
    slots,
    utilisation: seen.concurrency / slots,
    underfilled,
    loadBatch: seen.loadBatch,
  };
}

/**
 * The decode a light load sees on its devices. Its batch per rank varies up to some b, so
 * it is priced at the slowest step of batches 1…b (measured rows need not rise with the
 * batch: a batch's own TPOT could undercut a smaller one the load passes through), and b
 * is the fewest sequences per rank that hold what the load then keeps in flight (Little's
 * law over the ranks of the needed devices, rounded up, at most the full batch).
 */
function loadDecode(step: DeviceStepModel, space: SearchSpace, l: number, load: Required<SearchLoad>, ttft: number, batch: number, ranks: number): { perf: Pick<SearchPoint, 'tokensPerSecondPerUser' | 'tokensPerSecondPerDevice' | 'tpotSeconds' | 'ttftSeconds'>; concurrency: number; loadBatch: number } {
  const context = searchDecodeContext(load);
  let slowest: { d: ReturnType<typeof decodePerformance>; batch: number } | undefined;
  for (let b = 1; ; b++) {
    const d = decodePerformance(step, space.layouts[l], { sequencesPerRank: b, context, speculative: space.speculative });
    if (!slowest || d.tpotSeconds > slowest.d.tpotSeconds) slowest = { d, batch: b };
    const c = load.requestsPerSecond * (ttft + load.outputTokens * slowest.d.tpotSeconds);
    if (Math.ceil(c / ranks - 1e-9) <= b || b >= batch) {
      // b sequences per rank at the slowest TPOT: the per-device rate scales with the batch from the slowest one's.
      const perDevice = (slowest.d.tokensPerSecondPerDevice * b) / slowest.batch;
      return { perf: { tokensPerSecondPerUser: slowest.d.tokensPerSecondPerUser, tokensPerSecondPerDevice: perDevice, tpotSeconds: slowest.d.tpotSeconds, ttftSeconds: ttft }, concurrency: c, loadBatch: b };
    }
  }
}

const fmtRate = (r: number): string => String(Number(r.toPrecision(3)));

/**
 * The decode context a search prices: each sequence's prompt plus half its output (the
 * mean over its decode), in whole tokens so that `batchlab deploy --context` can repeat it.
 *
 * @example
 * searchDecodeContext({ requestsPerSecond: 1, promptTokens: 2000, outputTokens: 500 }) // => 2250
 */
export function searchDecodeContext(load: SearchLoad): number {
  return load.promptTokens + Math.floor(load.outputTokens / 2);
}

/**
 * Evaluates point `index` of a search space: a pure function of (space, index), so a
 * batch scheduler can fan points out (see lib/sweep). Colocated serving: each device
 * time-shares prefill (one prompt per step, which is also the TTFT) and decode (the
 * point's batch at the mean context, prompt plus half the output). Devices for the load
 * come in whole serving units; cost is their hourly price over the tokens the load
 * produces, idle slots included. A batch the load cannot fill (Little's law: fewer
 * sequences in flight than one unit holds at that batch) is infeasible, not priced,
 * except the smallest: a load too light to fill even that still needs the units its
 * device-seconds take (at least one), priced at its utilisation and marked `underfilled`,
 * its TPOT that of the batch the load keeps per rank (`loadBatch`).
 *
 * @example
 * evaluateSearchPoint(space, 0).usdPerMillionOutput
 */
export function evaluateSearchPoint(space: SearchSpace, index: number): SearchPoint {
  const co = searchPointCoordinates(space, index);
  const load = checkLoad(space.load);
  speculativeTokensPerStep(space.speculative);
  return evaluate(space, index, groupModel(space, co.h, co.l, co.p, load), load, co);
}

/**
 * Whether a point meets an SLO as the search judges it: feasible, its TTFT and TPOT within
 * the limits the SLO gives (a checked SLO: `checkSlo`).
 *
 * @example
 * meetsSlo(point, { tpotSeconds: 0.05 }) // => point.feasible && point.tpotSeconds <= 0.05
 */
export function meetsSlo(pt: SearchPoint, slo: Slo): boolean {
  return pt.feasible && (slo.ttftSeconds === undefined || pt.ttftSeconds <= slo.ttftSeconds) && (slo.tpotSeconds === undefined || pt.tpotSeconds <= slo.tpotSeconds);
}

// Costs within a relative 1e-12 are a tie (a compute-bound plateau of batches), broken by the lower index.
const TIE = 1e-12;
function sameCost(a: number, b: number): boolean {
  return Math.abs(a - b) <= TIE * Math.max(a, b);
}
function better(a: SearchPoint, b: SearchPoint | null): boolean {
  if (b === null) return true;
  // At one price, the fewer devices (less to hold, to fail, to buy), then the first listed.
  if (sameCost(a.usdPerRequest, b.usdPerRequest)) return a.devicesNeeded !== b.devicesNeeded ? a.devicesNeeded < b.devicesNeeded : a.index < b.index;
  return a.usdPerRequest < b.usdPerRequest;
}

function checkHitFraction(x: unknown): number {
  const v = checkFraction('load.cacheHitFraction', x);
  if (v >= 1) throw new InputError('load.cacheHitFraction', v, 'a number in [0, 1) (as deploy --cache-hit): a fraction of 1 leaves no prompt token to compute');
  return v;
}

/**
 * An SLO checked: each limit absent or a positive finite number of seconds; an InputError
 * names the field otherwise.
 *
 * @example
 * checkSlo({ tpotSeconds: 0.05 }) // => { ttftSeconds: undefined, tpotSeconds: 0.05 }
 */
export function checkSlo(slo: Slo): Slo {
  if (typeof slo !== 'object' || slo === null) throw new InputError('slo', slo, 'an object { ttftSeconds?, tpotSeconds? }');
  return {
    ttftSeconds: slo.ttftSeconds === undefined ? undefined : checkPositive('slo.ttftSeconds', slo.ttftSeconds),
    tpotSeconds: slo.tpotSeconds === undefined ? undefined : checkPositive('slo.tpotSeconds', slo.tpotSeconds),
  };
}

/**
 * Every point of a space evaluated (the brute force), in index order.
 *
 * @example
 * evaluateSearchSpace(space).filter((p) => p.feasible).length
 */
export function evaluateSearchSpace(space: SearchSpace): SearchPoint[] {
  const n = searchSpaceSize(space);
  const load = checkLoad(space.load);
  speculativeTokensPerStep(space.speculative);
  const out: SearchPoint[] = [];
  const B = space.batches.length;
  for (let g0 = 0; g0 < n; g0 += B) {
    const co = searchPointCoordinates(space, g0);
    const g = groupModel(space, co.h, co.l, co.p, load);
    for (let b = 0; b < B; b++) out.push(evaluate(space, g0 + b, g, load, { ...co, b }));
  }
  return out;
}

/**
 * The points meeting the SLO as the search judges them, cheapest first (the search's own
 * order: cost, then fewer devices, then the first listed), at most `limit`: the candidates
 * a simulated check walks until one holds under load (`simulatedCheapestDeployment`).
 *
 * @example
 * searchCandidates(space, { tpotSeconds: 0.05 }, 10)[0]?.index === searchCheapestDeployment(space, { tpotSeconds: 0.05 }).best?.index // => true
 */
export function searchCandidates(space: SearchSpace, slo: Slo, limit: number): SearchPoint[] {
  const s = checkSlo(slo);
  const n = checkInt('limit', limit, { min: 1, max: MAX_POINTS });
  const meeting = evaluateSearchSpace(space).filter((pt) => meetsSlo(pt, s));
  meeting.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
  return meeting.slice(0, n);
}

/**
 * The cheapest point meeting the SLO by brute force over every point; null when none does.
 *
 * @example
 * cheapestByBruteForce(space, { tpotSeconds: 0.05 })?.usdPerMillionOutput
 */
export function cheapestByBruteForce(space: SearchSpace, slo: Slo): SearchPoint | null {
  const s = checkSlo(slo);
  let best: SearchPoint | null = null;
  for (const pt of evaluateSearchSpace(space)) if (meetsSlo(pt, s) && better(pt, best)) best = pt;
  return best;
}

/**
 * The cheapest deployment meeting the SLO. Configurations whose TTFT already fails are
 * skipped whole (it does not depend on the batch); every batch of the others is judged,
 * since neither TPOT, the load's fill nor cost is monotone in the batch.
 * `cheapestByBruteForce` checks it on small grids. `onProgress` hears after
 * each (hardware, layout, precision) configuration, for a progress bar.
 *
 * @example
 * searchCheapestDeployment(space, { ttftSeconds: 2, tpotSeconds: 0.05 })
 */
export function searchCheapestDeployment(space: SearchSpace, slo: Slo, opts: { onProgress?: (configurationsDone: number, configurations: number) => void } = {}): { best: SearchPoint | null; evaluated: number } {
  const s = checkSlo(slo);
  const n = searchSpaceSize(space);
  const load = checkLoad(space.load);
  speculativeTokensPerStep(space.speculative);
  const B = space.batches.length;
  let best: SearchPoint | null = null;
  let evaluated = 0;
  for (let g0 = 0; g0 < n; g0 += B) {
    opts.onProgress?.(g0 / B, n / B);
    const co = searchPointCoordinates(space, g0);
    const g = groupModel(space, co.h, co.l, co.p, load);
    if (!g.step || (s.ttftSeconds !== undefined && g.ttft > s.ttftSeconds)) continue;
    // Every batch is judged: neither the SLO nor the load's fill is monotone in the batch
    // (measured rows need not rise with it, and a batch past a GEMM tile edge has a longer
    // TPOT and so keeps more sequences in flight than the one before it), so bisection
    // returned dearer answers than brute force.
    for (let b = 0; b < B; b++) {
      evaluated++;
      const pt = evaluate(space, g0 + b, g, load, { ...co, b });
      if (meetsSlo(pt, s) && better(pt, best)) best = pt;
    }
  }
  opts.onProgress?.(n / B, n / B);
  return { best, evaluated };
}

/**
 * The Pareto frontier of feasible points: no other point gives every user more
 * tokens/s and every device more tokens/s. Sorted by tokens/s per user.
 *
 * @example
 * deploymentFrontier(evaluateSearchSpace(space)).map((p) => [p.tokensPerSecondPerUser, p.tokensPerSecondPerDevice])
 */
export function deploymentFrontier(points: readonly SearchPoint[]): SearchPoint[] {
  const f = points.filter((p) => p.feasible).sort((a, b) => b.tokensPerSecondPerUser - a.tokensPerSecondPerUser || b.tokensPerSecondPerDevice - a.tokensPerSecondPerDevice || a.index - b.index);
  const out: SearchPoint[] = [];
  let bestDev = -Infinity;
  for (const p of f) {
    if (p.tokensPerSecondPerDevice > bestDev) {
      out.push(p);
      bestDev = p.tokensPerSecondPerDevice;
    }
  }
  return out.reverse();
}

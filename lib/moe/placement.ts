import { checkInt, checkNumber } from '../util/validate.js';
import { InputError } from '../util/errors.js';
import { fork } from '../util/random.js';
import { checkMoeRouting, moeRouteCounts, moeZipfPopularity, MOE_MAX_EXPERTS, MOE_MAX_TOKENS } from './routing.js';
import type { MoeRouting } from './routing.js';
import { moeMeanCi } from './montecarlo.js';
import type { MoeMeanCi } from './montecarlo.js';

const MAX_DEVICES = 65_536;

/**
 * Where the experts of one MoE layer live under expert parallelism. A device holds
 * some physical expert slots; an expert with several copies has its tokens split
 * evenly among them (as DeepSeek's EPLB does).
 */
export interface MoeExpertPlacement {
  experts: number;
  devices: number;
  /** Logical expert ids held by each device (no id twice on one device). */
  deviceExperts: number[][];
  /** Copies of each expert across all devices (≥ 1). */
  replicas: Int32Array;
}

/**
 * The plain placement: experts in contiguous blocks, expert e on device ⌊e·G/E⌋, no copies.
 *
 * @example
 * moeStaticPlacement(8, 4).deviceExperts // => [[0, 1], [2, 3], [4, 5], [6, 7]]
 */
export function moeStaticPlacement(experts: number, devices: number): MoeExpertPlacement {
  checkInt('experts', experts, { min: 1, max: MOE_MAX_EXPERTS });
  checkInt('devices', devices, { min: 1, max: Math.min(MAX_DEVICES, experts) });
  const deviceExperts: number[][] = Array.from({ length: devices }, () => []);
  for (let e = 0; e < experts; e++) deviceExperts[Math.floor((e * devices) / experts)].push(e);
  return { experts, devices, deviceExperts, replicas: new Int32Array(experts).fill(1) };
}

function checkLoadVector(field: string, load: ArrayLike<number>, experts?: number): Float64Array {
  if (load === null || typeof load !== 'object' || typeof load.length !== 'number' || load.length < 1 || load.length > MOE_MAX_EXPERTS) {
    throw new InputError(field, load, `an array of 1..${MOE_MAX_EXPERTS} per-expert loads`);
  }
  if (experts !== undefined && load.length !== experts) throw new InputError(field, load, `an array of ${experts} per-expert loads`);
  const out = new Float64Array(load.length);
  for (let i = 0; i < out.length; i++) out[i] = checkNumber(`${field}[${i}]`, load[i], { min: 0 });
  return out;
}

function checkPlacement(p: MoeExpertPlacement): void {
  if (p === null || typeof p !== 'object' || !Array.isArray(p.deviceExperts) || !(p.replicas instanceof Int32Array)) {
    throw new InputError('placement', p, 'a placement from moeStaticPlacement or moeBalanceExperts');
  }
}

/**
 * Tokens each device processes for one step, given each expert's tokens: an expert
 * with c copies adds tokens/c to each device holding one.
 *
 * @example
 * moeDeviceLoads(moeStaticPlacement(4, 2), [4, 2, 1, 1]) // => [6, 2]
 */
export function moeDeviceLoads(placement: MoeExpertPlacement, expertTokens: ArrayLike<number>): Float64Array {
  checkPlacement(placement);
  const t = checkLoadVector('expertTokens', expertTokens, placement.experts);
  const loads = new Float64Array(placement.devices);
  placement.deviceExperts.forEach((ids, d) => {
    for (const e of ids) loads[d] += t[e] / placement.replicas[e];
  });
  return loads;
}

/**
 * Max over mean of per-device (or per-expert) loads: the factor by which the
 * busiest device stretches a synchronous step. 1 is perfect balance; 1 when there is
 * no load at all.
 *
 * @example
 * moeLoadImbalance([6, 2]) // => 1.5
 */
export function moeLoadImbalance(loads: ArrayLike<number>): number {
  const l = checkLoadVector('loads', loads);
  let mx = 0;
  let sum = 0;
  for (const v of l) {
    sum += v;
    if (v > mx) mx = v;
  }
  return sum === 0 ? 1 : mx / (sum / l.length);
}

/**
 * A redundant-expert balancer in the spirit of DeepSeek's EPLB, for one layer:
 * (1) `redundant` times, give one more copy to the expert with the highest load per
 * copy (at most one copy per device); (2) sort the copies heaviest first (load/copies)
 * and put each on the least-loaded device that has a free slot and no copy of that
 * expert. Each device gets ⌈(E + R)/G⌉ slots. When every device with a free slot
 * already holds the expert, one copy on a full device that lacks it is swapped over
 * (such a swap always exists), so the result never holds two copies on one device.
 * `load` is a per-expert vector (e.g. tokens over recent steps) or a steps × experts
 * matrix, whose column sums are used.
 *
 * @example
 * moeBalanceExperts([100, 10, 10, 10], { devices: 2, redundant: 2 }).replicas // => [2, 2, 1, 1] (at most one copy per device)
 */
export function moeBalanceExperts(
  load: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>,
  opts: { devices: number; redundant?: number },
): MoeExpertPlacement {
  const perExpert = columnSums(load);
  const E = perExpert.length;
  const G = checkInt('devices', opts?.devices, { min: 1, max: MAX_DEVICES });
  const R = checkInt('redundant', opts.redundant ?? 0, { min: 0, max: E * (G - 1) });
  if (E + R < G) throw new InputError('devices', G, `at most experts + redundant = ${E + R} so that every device holds an expert`);
  const replicas = new Int32Array(E).fill(1);
  for (let r = 0; r < R; r++) {
    let best = -1;
    let bestLoad = -1;
    for (let e = 0; e < E; e++) {
      if (replicas[e] >= G) continue;
      const l = perExpert[e] / replicas[e];
      if (l > bestLoad) {
        bestLoad = l;
        best = e;
      }
    }
    replicas[best]++;
  }
  const items: Array<{ e: number; w: number }> = [];
  for (let e = 0; e < E; e++) for (let c = 0; c < replicas[e]; c++) items.push({ e, w: perExpert[e] / replicas[e] });
  items.sort((a, b) => b.w - a.w || a.e - b.e);
  const cap = Math.ceil((E + R) / G);
  const deviceExperts: number[][] = Array.from({ length: G }, () => []);
  const holds: Array<Set<number>> = Array.from({ length: G }, () => new Set());
  const devLoad = new Float64Array(G);
  const place = (d: number, e: number, w: number) => {
    deviceExperts[d].push(e);
    holds[d].add(e);
    devLoad[d] += w;
  };
  const weightOf = (e: number) => perExpert[e] / replicas[e];
  for (const { e, w } of items) {
    let target = -1;
    for (let d = 0; d < G; d++) {
      if (deviceExperts[d].length >= cap || holds[d].has(e)) continue;
      if (target < 0 || devLoad[d] < devLoad[target]) target = d;
    }
    if (target >= 0) {
      place(target, e, w);
      continue;
    }
    // A safeguard: heaviest-first placement of equal-weight copies has not been seen
    // to reach this, but if every device with room holds e, a device lacking e is full
    // and holds some y the roomy device lacks (else the roomy one would hold cap + 1
    // experts): move y over and put e in its slot.
    const roomy = deviceExperts.findIndex((ids) => ids.length < cap);
    let swapped = false;
    for (let d = 0; d < G && !swapped; d++) {
      if (holds[d].has(e)) continue;
      const idx = deviceExperts[d].findIndex((y) => !holds[roomy].has(y));
      if (idx < 0) continue;
      const y = deviceExperts[d][idx];
      deviceExperts[d].splice(idx, 1);
      holds[d].delete(y);
      devLoad[d] -= weightOf(y);
      place(roomy, y, weightOf(y));
      place(d, e, w);
      swapped = true;
    }
    if (!swapped) throw new InputError('redundant', R, 'a count the devices can hold without two copies of one expert on a device');
  }
  return { experts: E, devices: G, deviceExperts, replicas };
}

function columnSums(load: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>): Float64Array {
  if (Array.isArray(load) && load.length > 0 && typeof load[0] === 'object') {
    const rows = load as ReadonlyArray<ArrayLike<number>>;
    const first = checkLoadVector('load[0]', rows[0]);
    const sums = new Float64Array(first.length);
    rows.forEach((row, i) => {
      const v = checkLoadVector(`load[${i}]`, row, first.length);
      for (let e = 0; e < v.length; e++) sums[e] += v[e];
    });
    return sums;
  }
  return checkLoadVector('load', load as ArrayLike<number>);
}

/** The tokens one device processes in a step, expert by expert. */
export interface MoeDeviceTokens {
  device: number;
  /** Logical expert ids of the device's slots. */
  experts: number[];
  /** Integer tokens each slot processes (an expert's tokens split over its copies). */
  tokens: number[];
}

/**
 * One device's share of a step: for each expert slot it holds, the tokens that copy
 * processes. An expert with c tokens and r copies gives ⌊c/r⌋ to each copy and one
 * more to the first c mod r copies in device order, so copies sum to c exactly.
 * `device: 'busiest'` picks the device with the most tokens (lowest index on ties).
 *
 * @example
 * moeDeviceExpertTokens(moeStaticPlacement(4, 2), [3, 0, 5, 1], 'busiest') // => { device: 1, experts: [2, 3], tokens: [5, 1] }
 */
export function moeDeviceExpertTokens(placement: MoeExpertPlacement, expertTokens: ArrayLike<number>, device: number | 'busiest'): MoeDeviceTokens {
  checkPlacement(placement);
  const c = checkLoadVector('expertTokens', expertTokens, placement.experts);
  c.forEach((v, i) => checkInt(`expertTokens[${i}]`, v, { min: 0 }));
  const seen = new Int32Array(placement.experts);
  const perDevice = placement.deviceExperts.map((ids) =>
    ids.map((e) => {
      const r = placement.replicas[e];
      const share = Math.floor(c[e] / r) + (seen[e] < c[e] % r ? 1 : 0);
      seen[e]++;
      return share;
    }),
  );
  let d: number;
  if (device === 'busiest') {
    const totals = perDevice.map((t) => t.reduce((a, b) => a + b, 0));
    d = totals.indexOf(Math.max(...totals));
  } else {
    d = checkInt('device', device, { min: 0, max: placement.devices - 1 });
  }
  return { device: d, experts: [...placement.deviceExperts[d]], tokens: perDevice[d] };
}

/** Per-step imbalance of static and balanced placements over fresh batches. */
export interface MoeExpertParallelRun {
  /** max/mean device load per measured step, contiguous placement without copies. */
  staticImbalance: Float64Array;
  /** Same steps, EPLB-style placement fitted on the warm-up steps. */
  balancedImbalance: Float64Array;
  staticSummary: MoeMeanCi;
  balancedSummary: MoeMeanCi;
  balanced: MoeExpertPlacement;
}

/**
 * Expert parallelism over time: route `warmupSteps` batches to learn each expert's
 * load, fit `moeBalanceExperts` on them, then route `steps` fresh batches and record
 * each step's device imbalance (max/mean) under the static and the balanced placement.
 *
 * @example
 * moeExpertParallelSteps({ kind: 'uniform', experts: 256, topK: 8 }, { tokens: 4096, devices: 32, redundant: 32, steps: 50, seed: 1 })
 *   .balancedSummary.mean // => about 1.06
 */
export function moeExpertParallelSteps(
  spec: MoeRouting,
  opts: { tokens: number; devices: number; redundant?: number; steps: number; warmupSteps?: number; seed: number },
): MoeExpertParallelRun {
  const r = checkMoeRouting(spec);
  const tokens = checkInt('tokens', opts?.tokens, { min: 1, max: MOE_MAX_TOKENS });
  const steps = checkInt('steps', opts.steps, { min: 2, max: 100_000 });
  const warmup = checkInt('warmupSteps', opts.warmupSteps ?? 20, { min: 1, max: 100_000 });
  checkNumber('seed', opts.seed);
  if ((steps + warmup) * tokens * r.topK > 2e9) throw new InputError('steps', steps, 'a count with (steps + warmupSteps)·tokens·topK ≤ 2e9');
  const fixed = moeStaticPlacement(r.experts, opts.devices);
  const learn = fork(opts.seed, 'moe-ep-warmup');
  const history: Int32Array[] = [];
  for (let s = 0; s < warmup; s++) history.push(moeRouteCounts(spec, tokens, learn));
  const balanced = moeBalanceExperts(history, { devices: opts.devices, redundant: opts.redundant ?? 0 });
  const measure = fork(opts.seed, 'moe-ep-steps');
  const staticImbalance = new Float64Array(steps);
  const balancedImbalance = new Float64Array(steps);
  for (let s = 0; s < steps; s++) {
    const c = moeRouteCounts(spec, tokens, measure);
    staticImbalance[s] = moeLoadImbalance(moeDeviceLoads(fixed, c));
    balancedImbalance[s] = moeLoadImbalance(moeDeviceLoads(balanced, c));
  }
  return { staticImbalance, balancedImbalance, staticSummary: moeMeanCi(staticImbalance), balancedSummary: moeMeanCi(balancedImbalance), balanced };
}

/** One (skew, redundancy) point of `moeImbalanceSweep`. */
export interface MoeImbalanceRow {
  zipfExponent: number;
  redundant: number;
  policy: 'static' | 'balanced';
  imbalance: MoeMeanCi;
}

/**
 * Device imbalance against routing skew and redundant copies: for each Zipf exponent
 * (popularity shuffled over expert ids with a seeded stream) and each redundant count,
 * the static placement and the EPLB-style one. Uses weighted top-k routing, or
 * group-limited routing when `groups` is given.
 *
 * @example
 * moeImbalanceSweep({ experts: 256, topK: 8, tokens: 4096, devices: 32, zipfExponents: [0, 1], redundant: [0, 32], steps: 30, seed: 1 })
 */
export function moeImbalanceSweep(opts: {
  experts: number;
  topK: number;
  tokens: number;
  devices: number;
  zipfExponents: readonly number[];
  redundant: readonly number[];
  steps: number;
  warmupSteps?: number;
  seed: number;
  groups?: number;
  groupsPerToken?: number;
}): MoeImbalanceRow[] {
  if (!Array.isArray(opts?.zipfExponents) || opts.zipfExponents.length === 0 || opts.zipfExponents.length > 100) {
    throw new InputError('zipfExponents', opts?.zipfExponents, 'a non-empty array of at most 100 exponents');
  }
  if (!Array.isArray(opts.redundant) || opts.redundant.length === 0 || opts.redundant.length > 100) {
    throw new InputError('redundant', opts.redundant, 'a non-empty array of at most 100 redundant-copy counts');
  }
  const rows: MoeImbalanceRow[] = [];
  for (const s of opts.zipfExponents) {
    // One shuffle for every exponent: the same experts stay hot as skew grows.
    const popularity = moeZipfPopularity(opts.experts, s, fork(opts.seed, "moe-zipf"));
    const spec: MoeRouting =
      opts.groups === undefined
        ? { kind: 'weighted', experts: opts.experts, topK: opts.topK, popularity }
        : { kind: 'group-limited', experts: opts.experts, topK: opts.topK, groups: opts.groups, groupsPerToken: opts.groupsPerToken ?? opts.groups, popularity };
    let staticDone = false;
    for (const R of opts.redundant) {
      const run = moeExpertParallelSteps(spec, { tokens: opts.tokens, devices: opts.devices, redundant: R, steps: opts.steps, warmupSteps: opts.warmupSteps, seed: opts.seed });
      // The static placement ignores R: report it once per exponent.
      if (!staticDone) rows.push({ zipfExponent: s, redundant: 0, policy: 'static', imbalance: run.staticSummary });
      staticDone = true;
      rows.push({ zipfExponent: s, redundant: R, policy: 'balanced', imbalance: run.balancedSummary });
    }
  }
  return rows;
}

/**
 * The busiest device's load over the mean device load (mean over the steps) of one point
 * of `moeImbalanceSweep`, and its excess ratio − 1 (0.05: the busiest device carries 5 %
 * more than the mean). A point the sweep did not run is an InputError naming it.
 *
 * @example
 * const rows = moeImbalanceSweep({ experts: 256, topK: 8, tokens: 4096, devices: 32, zipfExponents: [0, 1], redundant: [0, 32], steps: 30, seed: 1 });
 * moeDeviceImbalance(rows, { policy: 'static', redundant: 0, zipfExponent: 1 }).ratio // => the busiest / mean device load at s = 1, static placement
 */
export function moeDeviceImbalance(rows: readonly MoeImbalanceRow[], point: { policy: MoeImbalanceRow['policy']; redundant: number; zipfExponent: number }): { ratio: number; excess: number } {
  if (!Array.isArray(rows) || rows.length === 0) throw new InputError('rows', rows, 'a non-empty array of moeImbalanceSweep rows');
  const row = rows.find((r) => r?.policy === point?.policy && r.redundant === point.redundant && r.zipfExponent === point.zipfExponent);
  if (!row) {
    const have = rows.map((r) => `${r?.policy} R=${r?.redundant} s=${r?.zipfExponent}`).join(', ');
    throw new InputError('point', point, `a point the sweep ran (${have})`);
  }
  const ratio = checkNumber('imbalance.mean', row.imbalance?.mean, { min: 0 });
  return { ratio, excess: ratio - 1 };
}

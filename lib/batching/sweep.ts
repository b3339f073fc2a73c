import * as aq from 'arquero';
import { InputError } from '../util/errors.js';
import { checkArray, checkInt, checkNumber, checkOneOf, checkPositive } from '../util/validate.js';
import { simulateServing } from './simulate.js';
import type { ServingConfig, ServingEngineConfig, ServingPolicy, ServingPolicyKind, ServingResult } from './types.js';
import type { ServingEngineName, ServingEnginePreset } from './engines.js';
import { resolveEnginePreset } from './config.js';
import type { Table } from '../util/table.js';


/**
 * A grid of simulation runs: every policy × batch limit × (window | token budget) ×
 * arrival rate, over one base config (arrivals, lengths, step cost, KV capacity).
 * Axes that do not apply to a policy (windows for continuous batching, budgets for
 * windows) are not multiplied in.
 */
export interface ServingSweepGrid {
  base: Omit<ServingConfig, 'policy'>;
  policies: ServingPolicyKind[];
  maxBatches: number[];
  /** Collection windows for `static` and `window` points, milliseconds. */
  windowsMs?: number[];
  /** Per-step token budgets for `chunked` points. */
  tokenBudgets?: number[];
  /** Arrival rates replacing the base rate (Poisson or gamma arrivals only). */
  ratesPerSecond?: number[];
  /**
   * Engine presets swept beside the policies (one point per engine and rate): a name
   * (servingEnginePreset without a device) or a preset built for the replica's device.
   * Each point runs the preset's policy and, unless the base sets them, its KV admission and CUDA-graph sizes.
   */
  engines?: Array<ServingEngineName | ServingEnginePreset>;
  /**
   * The KV-cache tokens of each engine's points, in the order of `engines` (null: the
   * base's): what each preset's memory rule leaves on the replica (`servingReplicaSweep`
   * sets them from `replicaKvCapacity`).
   */
  engineKvCapacityTokens?: Array<number | null>;
}

/** One sweep result: the point's knobs, its metrics (seconds, per second) and its provenance. */
export interface ServingSweepRow {
  index: number;
  /** The engine preset the point runs (null: a policy of the grid's `policies`). */
  engine: ServingEngineName | null;
  policy: ServingPolicyKind;
  windowMs: number | null;
  maxBatch: number;
  tokenBudget: number | null;
  ratePerSecond: number | null;
  requests: number;
  throughputRps: number;
  throughputTokS: number;
  waitP50: number;
  waitP99: number;
  ttftP50: number;
  ttftP99: number;
  tpotP50: number | null;
  tpotP99: number | null;
  /** Per-token inter-token latency quantiles (null when every output is one token). */
  itlP50: number | null;
  itlP99: number | null;
  e2eP50: number;
  e2eP90: number;
  e2eP99: number;
  utilisation: number;
  /** Engine busy seconds per 1,000 output tokens, and its inverse in tokens per busy second. */
  busySecondsPer1kTokens: number;
  tokensPerBusySecond: number;
  mfu: number | null;
  bandwidthUtilisation: number | null;
  goodputRps: number | null;
  preemptions: number;
  meanBatch: number;
  meanAdmitted: number;
  cost: string;
  seed: number;
  config: string;
}

/** Largest serving sweep grid. */
export const MAX_SWEEP_POINTS = 100_000;

/**
 * Every point of a grid, in a fixed order; the index into this list addresses a point
 * (see runServingSweepPoint). Points carry `keepRequests: false`.
 *
 * @example
 * servingSweepPoints({ base, policies: ['window', 'continuous'], maxBatches: [8, 64], windowsMs: [5, 50] }).length // => 6
 */
export function servingSweepPoints(grid: ServingSweepGrid): ServingConfig[] {
  return sweepPoints(grid).map((p) => p.config);
}

function sweepPoints(grid: ServingSweepGrid): Array<{ config: ServingConfig; engine: ServingEngineName | null }> {
  if (!grid || typeof grid !== 'object' || !grid.base) throw new InputError('grid', grid, 'a ServingSweepGrid { base, policies, maxBatches, ... }');
  const policies = checkArray<ServingPolicyKind>('policies', grid.policies, 16).map((p, i) =>
    checkOneOf(`policies[${i}]`, p, ['static', 'window', 'continuous', 'chunked'] as const),
  );
  const windowed = policies.includes('static') || policies.includes('window');
  const batches = checkArray<number>('maxBatches', grid.maxBatches, 4096).map((b, i) => checkInt(`maxBatches[${i}]`, b, { min: 1 }));
  const windows = windowed ? checkArray<number>('windowsMs', grid.windowsMs, 4096).map((w, i) => checkNumber(`windowsMs[${i}]`, w, { min: 0, max: 3.6e6 })) : [];
  const budgets = policies.includes('chunked') ? checkArray<number>('tokenBudgets', grid.tokenBudgets, 4096).map((b, i) => checkInt(`tokenBudgets[${i}]`, b, { min: 1 })) : [];
  let rates: Array<number | null> = [null];
  if (grid.ratesPerSecond !== undefined) {
    const k = grid.base.arrivals?.kind;
    if (k === 'trace' || k === 'burst') throw new InputError('ratesPerSecond', grid.ratesPerSecond, `absent for ${k} arrivals (they fix their own arrival times)`);
    if (k === 'closed') throw new InputError('ratesPerSecond', grid.ratesPerSecond, 'absent for closed arrivals (their clients and think time set the load)');
    rates = checkArray<number>('ratesPerSecond', grid.ratesPerSecond, 4096).map((r, i) => checkPositive(`ratesPerSecond[${i}]`, r));
  }
  // Count before building: a grid of 4096⁴ points must be refused, not allocated.
  let count = 0;
  for (const kind of policies) {
    for (const b of batches) count += kind === 'window' ? windows.length : kind === 'chunked' ? budgets.filter((t) => t >= b).length : 1;
  }
  if (grid.base.engine !== undefined) throw new InputError('base.engine', grid.base.engine, 'left out of the base (list engine presets in grid.engines)');
  const engines = grid.engines === undefined ? [] : checkArray<ServingEngineName | ServingEnginePreset>('engines', grid.engines, 16).map((e, i) => {
    const preset = resolveEnginePreset({ ...grid.base, engine: e } as ServingEngineConfig);
    if (!preset) throw new InputError(`engines[${i}]`, e, 'an engine name or preset');
    return preset;
  });
  const engineKv = grid.engineKvCapacityTokens === undefined ? [] : checkArray<number | null>('engineKvCapacityTokens', grid.engineKvCapacityTokens, 16).map((k, i) => (k === null ? null : checkInt(`engineKvCapacityTokens[${i}]`, k, { min: 1 })));
  if (grid.engineKvCapacityTokens !== undefined && engineKv.length !== engines.length) throw new InputError('engineKvCapacityTokens', engineKv.length, `one per engine: ${engines.length}`);
  count += engines.length;
  count *= rates.length;
  if (count > MAX_SWEEP_POINTS) throw new InputError('grid', count, `at most ${MAX_SWEEP_POINTS} points (rates × policies × batches × windows or budgets)`);
  const points: Array<{ config: ServingConfig; engine: ServingEngineName | null }> = [];
  for (const rate of rates) {
    const arrivals = rate === null ? grid.base.arrivals : { ...grid.base.arrivals, ratePerSecond: rate } as ServingConfig['arrivals'];
    for (const kind of policies) {
      for (const maxBatch of batches) {
        const policiesHere: ServingPolicy[] =
          kind === 'window' || kind === 'static'
            ? windows.filter((w) => kind === 'window' || w > 0).map((windowMs) => ({ kind, windowMs, maxBatch }))
            : kind === 'chunked'
              ? budgets.filter((b) => b >= maxBatch).map((tokenBudget) => ({ kind, maxBatch, tokenBudget }))
              : [{ kind, maxBatch }];
        for (const policy of policiesHere) points.push({ config: { ...grid.base, arrivals, policy, keepRequests: false }, engine: null });
      }
    }
    for (const [i, e] of engines.entries()) {
      points.push({ config: { ...grid.base, arrivals, policy: e.policy, kvCapacityTokens: engineKv[i] ?? grid.base.kvCapacityTokens, kvAdmission: grid.base.kvAdmission ?? e.kvAdmission, kvBlockTokens: grid.base.kvBlockTokens ?? e.kvBlockTokens, decodeGraphSizes: grid.base.decodeGraphSizes ?? e.decodeGraphSizes, keepRequests: false }, engine: e.engine });
    }
  }
  return points;
}

function row(index: number, config: ServingConfig, engine: ServingEngineName | null, r: ServingResult, seed: number): ServingSweepRow {
  const p = config.policy;
  const a = config.arrivals;
  return {
    index,
    engine,
    policy: p.kind,
    windowMs: p.kind === 'window' || p.kind === 'static' ? p.windowMs : null,
    maxBatch: p.maxBatch,
    tokenBudget: p.kind === 'chunked' ? p.tokenBudget : null,
    ratePerSecond: a.kind === 'poisson' || a.kind === 'gamma' ? a.ratePerSecond : null,
    requests: r.requests,
    throughputRps: r.throughputRequestsPerSecond,
    throughputTokS: r.throughputTokensPerSecond,
    waitP50: r.wait.p50,
    waitP99: r.wait.p99,
    ttftP50: r.ttft.p50,
    ttftP99: r.ttft.p99,
    tpotP50: r.tpot ? r.tpot.p50 : null,
    tpotP99: r.tpot ? r.tpot.p99 : null,
    itlP50: r.itl ? r.itl.p50 : null,
    itlP99: r.itl ? r.itl.p99 : null,
    e2eP50: r.e2e.p50,
    e2eP90: r.e2e.p90,
    e2eP99: r.e2e.p99,
    utilisation: r.utilisation,
    busySecondsPer1kTokens: r.busySecondsPer1kTokens,
    tokensPerBusySecond: 1000 / r.busySecondsPer1kTokens,
    mfu: r.mfu,
    bandwidthUtilisation: r.bandwidthUtilisation,
    goodputRps: r.goodputRps,
    preemptions: r.preemptions,
    meanBatch: r.meanBatch,
    meanAdmitted: r.meanAdmitted,
    cost: r.provenance.cost,
    seed,
    config: r.provenance.config,
  };
}

/**
 * Runs point `index` of a grid: a pure function of (grid, index, seed), so a batch
 * scheduler can fan points out and the rows can be gathered in any order.
 *
 * @example
 * const n = servingSweepPoints(grid).length;
 * const rows = Array.from({ length: n }, (_, i) => runServingSweepPoint(grid, i, 7));
 */
export function runServingSweepPoint(grid: ServingSweepGrid, index: number, seed: number): ServingSweepRow {
  const points = sweepPoints(grid);
  checkInt('index', index, { min: 0, max: points.length - 1 });
  const p = points[index];
  return row(index, p.config, p.engine, simulateServing(p.config, seed), seed);
}

/**
 * Runs every point of a grid with the same seed (common random numbers: every policy
 * sees the same arrivals) and returns one row per point as an arquero table.
 *
 * @example
 * const table = servingSweep({ base, policies: ['window', 'continuous'], maxBatches: [8, 64], windowsMs: [5, 50] }, 1);
 * table.orderby('throughputTokS').objects();
 */
export function servingSweep(grid: ServingSweepGrid, seed: number): Table {
  const points = sweepPoints(grid);
  return aq.from(points.map((p, i) => row(i, p.config, p.engine, simulateServing(p.config, seed), seed)));
}

/**
 * The latency–throughput frontier: the rows no other row beats on both throughput
 * (higher is better) and latency (lower is better), sorted by throughput, optionally
 * per group (e.g. per policy).
 *
 * @example
 * servingFrontier(table, { latency: 'e2eP99', groupBy: 'policy' }).objects();
 */
export function servingFrontier(
  table: Table,
  opts: { latency?: string; throughput?: string; groupBy?: string } = {},
): Table {
  const latency = opts.latency ?? 'e2eP99';
  const throughput = opts.throughput ?? 'throughputTokS';
  const names = table.columnNames();
  for (const [field, col] of [['latency', latency], ['throughput', throughput], ['groupBy', opts.groupBy]] as const) {
    if (col !== undefined && !names.includes(col)) throw new InputError(field, col, `a column of the table (${names.join(', ')})`);
  }
  const rows = table.objects() as Array<Record<string, unknown>>;
  const groups = new Map<unknown, Array<Record<string, unknown>>>();
  for (const r of rows) {
    const g = opts.groupBy ? r[opts.groupBy] : null;
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(r);
  }
  const keep: Array<Record<string, unknown>> = [];
  for (const members of groups.values()) {
    // Sweep by throughput descending, keeping each row that beats the best latency seen so far.
    const sorted = [...members].sort((a, b) => (b[throughput] as number) - (a[throughput] as number) || (a[latency] as number) - (b[latency] as number));
    let best = Infinity;
    const front: Array<Record<string, unknown>> = [];
    for (const r of sorted) {
      const l = r[latency] as number;
      if (l < best) {
        front.push(r);
        best = l;
      }
    }
    keep.push(...front.reverse());
  }
  return aq.from(keep);
}

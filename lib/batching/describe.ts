import { InputError, described } from '../util/errors.js';
import { checkNumber } from '../util/validate.js';
import type { ServingPolicyKind } from './types.js';
import type { ServingBacklog } from './benchmark.js';
import type { ServingSweepRow } from './sweep.js';
import type { Table } from '../util/table.js';

type Row = Record<string, unknown>;

function objects(table: Table, field: string): Row[] {
  if (table === null || typeof table !== 'object' || typeof (table as { objects?: unknown }).objects !== 'function') {
    throw new InputError(field, table, 'an arquero table (servingReplicaSweep or servingLoadUnderLimitTable)');
  }
  return table.objects() as Row[];
}

/** Replica labels in the order they first appear: the order the replicas were swept in. */
function replicasOf(rows: Row[], field: string): string[] {
  const labels = [...new Set(rows.map((r) => r.replica))];
  if (labels.length === 0 || labels.some((l) => typeof l !== 'string')) throw new InputError(field, `${rows.length} rows`, 'rows with a string `replica` column');
  return labels as string[];
}

/**
 * A load as a share of capacity, as the describers and charts write it: one decimal below 10 %.
 *
 * @example
 * servingLoadPercent(0.023) // => '2.3 %'
 */
export function servingLoadPercent(x: number): string {
  const p = 100 * x;
  return `${p < 10 && p > 0 ? p.toFixed(1) : p.toFixed(0)} %`;
}
const pct = servingLoadPercent;

function num(row: Row, column: string): number {
  const v = row[column];
  if (typeof v !== 'number' || Number.isNaN(v)) {
    throw new InputError(column, v, 'a number in every row described', `row of ${String(row.replica)} at W = ${String(row.windowMs)} ms`);
  }
  return v;
}

/** A row of a `servingReplicaSweep` table: a sweep row with the replica's columns. */
export interface ServingReplicaSweepRow extends ServingSweepRow {
  replica: string;
  /** "<replica> · <policy>". */
  series: string;
  /** The load as given: a fraction of the replica's continuous-batching capacity. */
  load: number;
  loadLabel: string;
  capacityRps: number;
  /** Busy engine time per million output tokens at the replica's price; null without a price. */
  usdPerMTok: number | null;
}

/** Which row of a `servingReplicaSweep` table: a replica, a load, a window (null for policies without one) and a policy (default "window"). */
export interface ServingSweepRowKey {
  replica: string;
  load: number;
  windowMs: number | null;
  policy?: ServingPolicyKind;
}

function findRow(rows: Row[], key: ServingSweepRowKey): Row {
  const policy = key.policy ?? 'window';
  const row = rows.find((o) => o.replica === key.replica && o.load === key.load && o.windowMs === key.windowMs && o.policy === policy);
  if (row === undefined) {
    throw new InputError('key', described(`${key.replica}, load ${key.load}, W = ${key.windowMs} ms, ${policy}`), 'a replica, load, window and policy the sweep ran');
  }
  return row;
}

/**
 * The row of a `servingReplicaSweep` table for one replica, load, window and policy
 * (the first, if the grid has several batch limits); an InputError when the sweep
 * has no such point.
 *
 * @example
 * const row = servingSweepRow(sweep, { replica: replica.label, load: 0.5, windowMs: 200 });
 * row.itlP99 // => seconds (null when every answer is one token)
 */
export function servingSweepRow(sweep: Table, key: ServingSweepRowKey): ServingReplicaSweepRow {
  if (key === null || typeof key !== 'object' || typeof key.replica !== 'string') throw new InputError('key', key, 'an object { replica, load, windowMs, policy? }');
  return findRow(objects(sweep, 'sweep'), key) as unknown as ServingReplicaSweepRow;
}

/**
 * One paragraph per replica of a `servingReplicaSweep` table on what lengthening the
 * tick-level window from `from` to `to` ms does at `load`: mean batch, engine seconds
 * and busy-time price per output token, MFU, and p99 inter-token and first-token
 * latency. Markdown, replicas in the order swept; every number is read from the rows.
 *
 * @example
 * showMarkdown(describeWindowEffect(sweep, { load: 0.5, from: 0, to: 200 }));
 * // "**llama-3.1-70b bf16 on 4× h100-sxm (spec roofline)** at 50 % load: from W = 0 to W = 200 ms a step carries 32 → 126 sequences on average; …"
 */
export function describeWindowEffect(sweep: Table, opts: { load: number; from: number; to: number }): string {
  const rows = objects(sweep, 'sweep');
  if (opts === null || typeof opts !== 'object') throw new InputError('opts', opts, 'an object { load, from, to }');
  const load = checkNumber('load', opts.load, { min: 0, exclusiveMin: true, max: 100 });
  const from = checkNumber('from', opts.from, { min: 0 });
  const to = checkNumber('to', opts.to, { min: 0 });
  return replicasOf(rows, 'sweep')
    .map((replica) => {
      const a = findRow(rows, { replica, load, windowMs: from });
      const b = findRow(rows, { replica, load, windowMs: to });
      return (
        `**${replica}** at ${load * 100} % load: from W = ${from} to W = ${to} ms a step carries ${num(a, 'meanBatch').toFixed(0)} → ${num(b, 'meanBatch').toFixed(0)} sequences on average; ` +
        `engine time per 1,000 tokens falls from ${num(a, 'busySecondsPer1kTokens').toFixed(3)} s to ${num(b, 'busySecondsPer1kTokens').toFixed(3)} s ` +
        `($${num(a, 'usdPerMTok').toFixed(2)} → $${num(b, 'usdPerMTok').toFixed(2)} per million tokens of busy time), MFU rises from ${(100 * num(a, 'mfu')).toFixed(0)} % to ${(100 * num(b, 'mfu')).toFixed(0)} %, ` +
        `while p99 inter-token latency grows from ${(1e3 * num(a, 'itlP99')).toFixed(0)} ms to ${(1e3 * num(b, 'itlP99')).toFixed(0)} ms and p99 time to first token from ${(1e3 * num(a, 'ttftP99')).toFixed(0)} ms to ${(1e3 * num(b, 'ttftP99')).toFixed(0)} ms.`
      );
    })
    .join('\n\n');
}

/**
 * One paragraph per replica of a `servingReplicaSweep` table comparing request-level
 * (static) batching with the tick-level window behind the same `windowMs` at `load`:
 * engine seconds per 1,000 tokens and p99 end-to-end latency of each. Markdown,
 * replicas in the order swept; every number is read from the rows.
 *
 * @example
 * showMarkdown(describeStaticVsWindow(sweep, { load: 0.5, windowMs: 200 }));
 * // "**llama-3.1-70b bf16 on 4× h100-sxm (spec roofline)**: behind the same 200 ms window, request-level batching needs 0.602 engine-seconds per 1,000 tokens against 0.286 …"
 */
export function describeStaticVsWindow(sweep: Table, opts: { load: number; windowMs: number }): string {
  const rows = objects(sweep, 'sweep');
  if (opts === null || typeof opts !== 'object') throw new InputError('opts', opts, 'an object { load, windowMs }');
  const load = checkNumber('load', opts.load, { min: 0, exclusiveMin: true, max: 100 });
  const windowMs = checkNumber('windowMs', opts.windowMs, { min: 0 });
  return replicasOf(rows, 'sweep')
    .map((replica) => {
      const s = findRow(rows, { replica, load, windowMs, policy: 'static' });
      const w = findRow(rows, { replica, load, windowMs });
      return (
        `**${replica}**: behind the same ${windowMs} ms window, request-level batching needs ${num(s, 'busySecondsPer1kTokens').toFixed(3)} engine-seconds per 1,000 tokens against ${num(w, 'busySecondsPer1kTokens').toFixed(3)} for the tick-level window: ` +
        `a static batch shrinks as its answers finish and nobody joins it until the longest is done, so its steps carry fewer tokens. ` +
        `Its p99 end-to-end latency is ${num(s, 'e2eP99').toFixed(0)} s against ${num(w, 'e2eP99').toFixed(0)} s for the tick-level window, whose long answers pay W for every token.`
      );
    })
    .join('\n\n');
}

// Column names of the serving sweep as a reader says them.
const METRIC_LABEL: Readonly<Record<string, string>> = {
  ttftP50: 'p50 time to first token',
  ttftP99: 'p99 time to first token',
  itlP50: 'p50 inter-token latency',
  itlP99: 'p99 inter-token latency',
  tpotP99: 'p99 time per output token',
  e2eP50: 'p50 end-to-end latency',
  e2eP99: 'p99 end-to-end latency',
  backlog: 'its capacity (the queue grows through the run)',
};

/**
 * A serving-sweep metric's column name as a reader says it; a name it does not know, as is.
 *
 * @example
 * servingMetricLabel('itlP99') // => 'p99 inter-token latency'
 */
export function servingMetricLabel(name: string): string {
  // The benchmark table's columns (servingConcurrencySweep): e.g. p99TtftMs, meanItlMs.
  const bench = /^(mean|median|p99)(Ttft|Tpot|Itl|E2el)Ms$/.exec(name);
  if (bench) return `${bench[1] === 'median' ? 'p50' : bench[1]} ${BENCH_METRIC[bench[2]]}`;
  return METRIC_LABEL[name] ?? name;
}

const BENCH_METRIC: Readonly<Record<string, string>> = { Ttft: 'time to first token', Tpot: 'time per output token', Itl: 'inter-token latency', E2el: 'end-to-end latency' };

/**
 * One line per replica of a `servingLoadUnderLimitTable`: the load (as a share of the
 * replica's capacity, and in requests/s) each policy carries within the limits, in the
 * table's order; a window policy is named by its window. A policy that broke a limit
 * at every load tried is reported as carrying less than the lightest of them, with the
 * limits it broke (a zero there is the search's floor, not a measurement). Markdown;
 * every number is read from the rows.
 *
 * @example
 * showMarkdown(describeLoadUnderLimit(servingLoadUnderLimitTable([r70b], workload, policies, { itlP99: 0.25 }, 1)));
 * // "**llama-3.1-70b bf16 on 4× h100-sxm (spec roofline)**: W = 0 ms carries 87 % (21.0 req/s), …, W = 200 ms carries less than 2.3 % (even that load breaks p99 inter-token latency)."
 */
export function describeLoadUnderLimit(limited: Table): string {
  const rows = objects(limited, 'limited');
  return replicasOf(rows, 'limited')
    .map((replica) => {
      const parts = rows
        .filter((o) => o.replica === replica)
        .map((o) => {
          const name = o.windowMs === null ? String(o.policy) : `W = ${String(o.windowMs)} ms`;
          const load = num(o, 'load');
          // A zero is the bisection's floor, not a measurement: say which limit the lightest load tried broke.
          if (load === 0 && typeof o.brokenAtLoad === 'number') {
            const limits = typeof o.brokenLimits === 'string' && o.brokenLimits !== '' ? o.brokenLimits.split(', ').map(servingMetricLabel).join(', ') : 'a limit';
            return `${name} carries less than ${pct(o.brokenAtLoad)} (even that load breaks ${limits})`;
          }
          return `${name} carries ${pct(load)} (${num(o, 'ratePerSecond').toFixed(1)} req/s)`;
        });
      return `**${replica}**: ${parts.join(', ')}.`;
    })
    .join('\n\n');
}

/**
 * "changes <what> from <a> to <b>" or, when the two agree at the shown precision,
 * "leaves <what> at <a>": a sentence part for a before/after pair, so that prose never
 * reads "from 96.1 s to 96.1 s".
 *
 * @example
 * describeChange('p99 inter-token latency', 11.151, 11.149, { digits: 2, unit: ' s' }) // => 'leaves p99 inter-token latency at 11.15 s'
 */
export function describeChange(what: string, from: number, to: number, opts: { digits?: number; unit?: string } = {}): string {
  if (typeof what !== 'string' || what === '') throw new InputError('what', what, 'a non-empty string');
  const a = checkNumber('from', from);
  const b = checkNumber('to', to);
  const digits = opts.digits ?? 1;
  if (!Number.isInteger(digits) || digits < 0 || digits > 10) throw new InputError('opts.digits', digits, 'an integer in [0, 10]');
  const unit = opts.unit ?? '';
  const fa = a.toFixed(digits);
  const fb = b.toFixed(digits);
  return fa === fb ? `leaves ${what} at ${fa}${unit}` : `changes ${what} from ${fa}${unit} to ${fb}${unit}`;
}

/**
 * An open-loop run whose queue grew, in words: what arrived, what finished, and what that
 * means for its figures, ending with `advice` (what would keep up). Every command that
 * simulates an open loop prints it under its figures.
 *
 * @example
 * const b = servingBacklog(simulateServing({ ...config, arrivals: { kind: 'poisson', ratePerSecond: 200 } }, 1));
 * if (b?.growing) console.log(describeBacklog(b, 'lower --rate, or add replicas'));
 */
export function describeBacklog(b: ServingBacklog, advice: string): string {
  const rate = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));
  const s = (x: number): string => (x >= 10 ? x.toFixed(1) : x.toPrecision(3));
  return `not a steady state: from ${b.fromSeconds.toFixed(2)} s to the last arrival at ${b.toSeconds.toFixed(2)} s, ${b.arrived.toLocaleString('en-US')} requests arrived and ${b.finished.toLocaleString('en-US')} finished (${rate(b.servedPerSecond)} of ${rate(b.offeredPerSecond)} req/s), and the median end-to-end latency rose from ${s(b.e2eSecondQuarter)} s (second quarter of arrivals) to ${s(b.e2eLastQuarter)} s (last quarter): the queue grew, so waits, TTFT and end-to-end latency grow with the number of requests; ${advice}`;
}

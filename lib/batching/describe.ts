import * as aq from 'arquero';
import { InputError } from '../util/errors.js';
import { checkNumber } from '../util/validate.js';
import type { ServingPolicyKind } from './types.js';
import type { ServingSweepRow } from './sweep.js';

type Table = ReturnType<typeof aq.from>;
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
    throw new InputError('key', `${key.replica}, load ${key.load}, W = ${key.windowMs} ms, ${policy}`, 'a replica, load, window and policy the sweep ran');
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

/**
 * One line per replica of a `servingLoadUnderLimitTable`: the load (as a share of the
 * replica's capacity, and in requests/s) each policy carries within the limits, in the
 * table's order; a window policy is named by its window. Markdown; every number is
 * read from the rows.
 *
 * @example
 * showMarkdown(describeLoadUnderLimit(servingLoadUnderLimitTable([r70b], workload, policies, { itlP99: 0.25 }, 1)));
 * // "**llama-3.1-70b bf16 on 4× h100-sxm (spec roofline)**: W = 0 ms carries 87 % (21.0 req/s), …, W = 200 ms carries 0 % (0.0 req/s)."
 */
export function describeLoadUnderLimit(limited: Table): string {
  const rows = objects(limited, 'limited');
  return replicasOf(rows, 'limited')
    .map((replica) => {
      const parts = rows
        .filter((o) => o.replica === replica)
        .map((o) => `${o.windowMs === null ? String(o.policy) : `W = ${String(o.windowMs)} ms`} carries ${(100 * num(o, 'load')).toFixed(0)} % (${num(o, 'ratePerSecond').toFixed(1)} req/s)`);
      return `**${replica}**: ${parts.join(', ')}.`;
    })
    .join('\n\n');
}

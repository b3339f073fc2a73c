import { InputError } from '../util/errors.js';
import type { KernelAnswer, KernelAnswerKind, KernelOp, KernelRow } from './schema.js';
import { KERNEL_SCHEMA } from './schema.js';

/** One level of the lookup tree: the measured values of one axis, sorted, and what lies under each. */
interface AxisNode {
  values: number[];
  children: (AxisNode | KernelRow)[];
}

/** One op's measured rows for one (device, framework, version), indexed for lookup. */
export interface KernelTable {
  device: string;
  framework: string;
  version: string;
  op: KernelOp;
  /** The file the rows were read from. */
  file: string;
  rows: readonly KernelRow[];
  /** Key tuple (KERNEL_SCHEMA keys joined by '|') → tree over the axes. */
  readonly index: ReadonlyMap<string, AxisNode>;
  /**
   * Kept rows whose shape the file measures again with another time, with every time
   * measured there (the kept one first); an answer built on one says so.
   */
  readonly remeasured?: ReadonlyMap<KernelRow, readonly number[]>;
}

// Log-log slope bounds past the last measured point: a kernel does not get faster on a
// larger shape (slope ≥ 0), and none of these kernels grows faster than quadratically
// in one dimension (causal attention in the prompt length: slope ≤ 2).
const MIN_SLOPE = 0;
const MAX_SLOPE = 2;

const KIND_RANK: Record<Exclude<KernelAnswerKind, 'bound'>, number> = { measured: 0, interpolated: 1, extrapolated: 2 };
const KIND_OF = ['measured', 'interpolated', 'extrapolated'] as const;

const fmtUs = (us: number): string => String(Number(us.toPrecision(4)));

/**
 * The key under which a row (or a query) is filed: its categorical columns in schema order.
 *
 * @example
 * kernelKey('gemm', { dtype: 'fp8' }) // => 'fp8'
 */
export function kernelKey(op: KernelOp, dims: Readonly<Record<string, string | number>>): string {
  return KERNEL_SCHEMA[op].keys.map((k) => String(dims[k])).join('|');
}

/**
 * Indexes validated rows of one op for lookup. A shape measured twice keeps its first
 * row, as NVIDIA aiconfigurator's loaders do ("duplicate rows are re-measurements of the
 * same shape", aic-core/rust/aiconfigurator-core/src/perf_database/mla.rs:1066-1072,
 * commit 095f58a5); where the times differ, `remeasured` keeps them all.
 *
 * @example
 * const t = kernelTableFromRows({ device: 'h200_sxm', framework: 'trtllm', version: '1', op: 'gemm', file: 'gemm.csv' }, rows);
 * t.rows.length
 */
export function kernelTableFromRows(meta: { device: string; framework: string; version: string; op: KernelOp; file: string }, rows: readonly KernelRow[]): KernelTable {
  const axes = KERNEL_SCHEMA[meta.op].axes;
  type Building = Map<number, Building | KernelRow>;
  const roots = new Map<string, Building>();
  const kept: KernelRow[] = [];
  const remeasured = new Map<KernelRow, number[]>();
  for (const row of rows) {
    const key = kernelKey(meta.op, row.dims);
    let node = roots.get(key);
    if (!node) roots.set(key, (node = new Map()));
    for (let i = 0; i < axes.length; i++) {
      const v = row.dims[axes[i]] as number;
      if (i === axes.length - 1) {
        const first = node.get(v) as KernelRow | undefined;
        if (!first) {
          node.set(v, row);
          kept.push(row);
        } else if (row.timeUs !== first.timeUs || remeasured.has(first)) {
          const times = remeasured.get(first) ?? [first.timeUs];
          times.push(row.timeUs);
          remeasured.set(first, times);
        }
      } else {
        let next = node.get(v) as Building | undefined;
        if (!next) node.set(v, (next = new Map()));
        node = next;
      }
    }
  }
  const freeze = (m: Building, depth: number): AxisNode => {
    const values = [...m.keys()].sort((a, b) => a - b);
    return { values, children: values.map((v) => (depth === axes.length - 1 ? (m.get(v) as KernelRow) : freeze(m.get(v) as Building, depth + 1))) };
  };
  const index = new Map<string, AxisNode>();
  for (const [k, m] of roots) index.set(k, freeze(m, 0));
  return { ...meta, rows: kept, index, ...(remeasured.size ? { remeasured } : {}) };
}

interface Partial {
  logT: number;
  rows: KernelRow[];
  rank: number;
}

/**
 * How a lookup continues past the measured range of some axes: as NVIDIA aiconfigurator's
 * perf_interp engine does (aic-core/rust/aiconfigurator-core/src/perf_database/perf_interp.rs:19-25
 * and 511-556, grid_hold_1d with k_tail = 1, commit 095f58a5), it holds the boundary row's
 * utilization against the kernel's roofline: seconds = roofline(query) · t(boundary) / roofline(boundary).
 */
export interface KernelHold {
  /** Axes held this way (the others extrapolate by their log-log slope). */
  axes: readonly string[];
  /** The kernel's roofline seconds at a point (every axis of the op, by name). */
  roofline: (point: Readonly<Record<string, number>>) => number;
}

interface Walk {
  axes: readonly string[];
  hold?: KernelHold;
}

function walk(node: AxisNode | KernelRow, point: readonly number[], depth: number, w: Walk): Partial | undefined {
  if (!('values' in node)) return { logT: Math.log(node.timeUs / 1e6), rows: [node], rank: 0 };
  const x = point[depth];
  const v = node.values;
  // Binary search: the first measured value ≥ x.
  let lo = 0;
  let hi = v.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo < v.length && v[lo] === x) return walk(node.children[lo], point, depth + 1, w);
  const inside = lo > 0 && lo < v.length;
  if (!inside && w.hold?.axes.includes(w.axes[depth])) {
    // One measured value and a query below it: one large row cannot define a launch floor
    // (aiconfigurator's singleton underflow, perf_database/moe.rs:200-207), no answer.
    if (lo === 0 && v.length === 1) return undefined;
    const at = lo === 0 ? 0 : v.length - 1;
    // The edge is read at the boundary value, so holds on several axes telescope to
    // roofline(query) / roofline(the corner they start from).
    const there = point.map((p, j) => (j === depth ? v[at] : p));
    const edge = walk(node.children[at], there, depth + 1, w);
    if (!edge) return undefined;
    const named = (p: readonly number[]): Record<string, number> => Object.fromEntries(w.axes.map((a, j) => [a, p[j]]));
    const ratio = w.hold.roofline(named(point)) / w.hold.roofline(named(there));
    if (!(ratio > 0) || !Number.isFinite(ratio)) return undefined;
    return { logT: edge.logT + Math.log(ratio), rows: edge.rows, rank: KIND_RANK.extrapolated };
  }
  // One measured value on this axis: no slope to follow. Holding it would be a clamp,
  // so the table does not answer (the caller falls back to its model or the bound).
  if (v.length === 1) return undefined;
  const i = inside ? lo - 1 : lo === 0 ? 0 : v.length - 2;
  const a = walk(node.children[i], point, depth + 1, w);
  const b = walk(node.children[i + 1], point, depth + 1, w);
  if (!a || !b) return undefined;
  const lx = Math.log(x);
  const la = Math.log(v[i]);
  const lb = Math.log(v[i + 1]);
  let logT: number;
  if (inside) {
    const f = (lx - la) / (lb - la);
    logT = a.logT + f * (b.logT - a.logT);
  } else {
    const slope = Math.min(MAX_SLOPE, Math.max(MIN_SLOPE, (b.logT - a.logT) / (lb - la)));
    logT = lo === 0 ? a.logT + slope * (lx - la) : b.logT + slope * (lx - lb);
  }
  return { logT, rows: [...a.rows, ...b.rows], rank: Math.max(a.rank, b.rank, inside ? KIND_RANK.interpolated : KIND_RANK.extrapolated) };
}

/**
 * Seconds of one kernel call read from a table: exact on a measured shape, log-log
 * linear between the two measured values that bracket the query on each axis
 * (monotone between them), and past the measured range the last two points' log-log
 * slope, clamped to [0, 2] and flagged 'extrapolated' (never silently clamped).
 * With `hold`, the axes it names continue past their measured range at the boundary
 * row's utilization of the kernel's roofline instead (`KernelHold`), also flagged
 * 'extrapolated'.
 * Undefined when the table has no row with the query's keys (dtype, head dim, ...),
 * or when the query leaves an axis on which only one value was measured (no slope).
 *
 * @example
 * lookupKernel(table, { dtype: 'bf16', m: 64, n: 8192, k: 8192 })?.kind // => 'interpolated' between measured m = 48 and 80
 */
export function lookupKernel(table: KernelTable, query: Readonly<Record<string, string | number>>, hold?: KernelHold): KernelAnswer | undefined {
  const s = KERNEL_SCHEMA[table.op];
  const point = s.axes.map((a) => {
    const x = query[a];
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) throw new InputError(`${table.op}.${a}`, x, 'a finite number > 0');
    return x;
  });
  const root = table.index.get(kernelKey(table.op, query));
  if (!root) return undefined;
  const p = walk(root, point, 0, { axes: s.axes, hold });
  if (!p) return undefined;
  const used = [...new Set(p.rows)];
  // A row the file measured again with other times: the first is kept, and the answer says so.
  const again = table.remeasured ? used.filter((r) => table.remeasured!.has(r)) : [];
  // Each row's own re-measurements: one row, its times; several, the widest ratio among them.
  const times = again.map((r) => table.remeasured!.get(r)!);
  const note =
    again.length === 0
      ? ''
      : used.length === 1
        ? ` (the row read measured ${times[0].length} times at its shape, ${fmtUs(Math.min(...times[0]))}–${fmtUs(Math.max(...times[0]))} µs: the first kept, as aiconfigurator keeps it)`
        : ` (${again.length} of the ${used.length} rows read measured more than once at their shape, at most ${fmtUs(Math.max(...times.map((t) => Math.max(...t) / Math.min(...t))))}× apart: the first of each kept, as aiconfigurator keeps it)`;
  // A measured shape answers its own row's time, not exp(log(t)) one rounding away.
  return { seconds: p.rank === 0 ? p.rows[0].timeUs / 1e6 : Math.exp(p.logT), kind: KIND_OF[p.rank], rows: used, from: table.file + note };
}

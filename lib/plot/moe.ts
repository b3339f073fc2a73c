import type { Figure } from './types.js';
import { PALETTE, baseLayout, withLogTicks } from './types.js';
import { checkArray, checkNumber } from '../util/validate.js';
import { InputError } from '../util/errors.js';
import type { MoeRoutingSweepRow } from '../moe/montecarlo.js';
import type { MoeImbalanceRow } from '../moe/placement.js';
import type { MoeEfficiencyRow } from '../moe/efficiency.js';

function labels<T extends { label: string }>(rows: readonly T[]): string[] {
  return [...new Set(rows.map((r) => r.label))];
}

/**
 * Share of a layer's experts a batch reaches, against batch size: lines are the
 * closed form E·(1 − (1 − k/E)^B) / E, markers the Monte Carlo mean with its 95 % interval.
 *
 * @example
 * show(moeDistinctExpertsChart(moeRoutingSweep({ models, tokens: [1, 10, 100, 1000, 4000], trials: 100, seed: 1 })));
 */
export function moeDistinctExpertsChart(rows: readonly MoeRoutingSweepRow[], opts: { title?: string; markBatches?: readonly number[] } = {}): Figure {
  checkArray<MoeRoutingSweepRow>('rows', rows);
  const data: Array<Record<string, unknown>> = [];
  labels(rows).forEach((label, i) => {
    const rs = rows.filter((r) => r.label === label).sort((a, b) => a.tokens - b.tokens);
    const color = PALETTE[i % PALETTE.length];
    const E = rs[0].experts;
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `${label} (E=${E}, k=${rs[0].topK}) closed form`,
      x: rs.map((r) => r.tokens),
      y: rs.map((r) => r.distinctExpected / E),
      line: { color },
    });
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: `${label} Monte Carlo`,
      x: rs.map((r) => r.tokens),
      y: rs.map((r) => r.distinctMc.mean / E),
      error_y: { type: 'data', array: rs.map((r) => r.distinctMc.halfWidth / E), visible: true, color },
      marker: { color, size: 7 },
      showlegend: false,
    });
  });
  const layout = baseLayout(opts.title ?? 'Experts reached by one batch', { title: 'tokens in the batch B', log: true }, { title: 'share of experts with ≥ 1 token' });
  layout.yaxis = { ...(layout.yaxis as Record<string, unknown>), range: [0, 1.05] };
  layout.shapes = markLines(opts.markBatches);
  return withLogTicks({ data, layout });
}

function markLines(batches?: readonly number[]): Array<Record<string, unknown>> {
  return (batches ?? []).map((b, i) => {
    checkNumber(`markBatches[${i}]`, b, { min: 0, exclusiveMin: true });
    return { type: 'line', yref: 'paper', y0: 0, y1: 1, x0: b, x1: b, line: { color: '#7f7f7f', dash: 'dot' } };
  });
}

/**
 * Tokens per expert against batch size: the mean over experts that run at all
 * (solid) and the busiest expert (dashed: independence bound; markers: Monte Carlo).
 * Log–log, so the gap between them is the ratio a synchronous step pays.
 *
 * @example
 * show(moeTokensPerExpertChart(moeRoutingSweep({ models, tokens: [10, 100, 4000], trials: 100, seed: 1 })));
 */
export function moeTokensPerExpertChart(rows: readonly MoeRoutingSweepRow[], opts: { title?: string; markBatches?: readonly number[] } = {}): Figure {
  checkArray<MoeRoutingSweepRow>('rows', rows);
  const data: Array<Record<string, unknown>> = [];
  labels(rows).forEach((label, i) => {
    const rs = rows.filter((r) => r.label === label).sort((a, b) => a.tokens - b.tokens);
    const color = PALETTE[i % PALETTE.length];
    const x = rs.map((r) => r.tokens);
    data.push({ type: 'scatter', mode: 'lines', name: `${label} per active expert`, x, y: rs.map((r) => r.tokensPerActiveExpert), line: { color } });
    data.push({ type: 'scatter', mode: 'lines', name: `${label} busiest expert`, x, y: rs.map((r) => r.maxLoadBound), line: { color, dash: 'dash' } });
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: `${label} busiest (Monte Carlo)`,
      x,
      y: rs.map((r) => r.maxLoadMc.mean),
      error_y: { type: 'data', array: rs.map((r) => r.maxLoadMc.halfWidth), visible: true, color },
      marker: { color, size: 6, symbol: 'diamond' },
      showlegend: false,
    });
  });
  const layout = baseLayout(opts.title ?? 'Tokens per expert', { title: 'tokens in the batch B', log: true }, { title: 'tokens per expert', log: true });
  layout.shapes = markLines(opts.markBatches);
  return withLogTicks({ data, layout });
}

/**
 * Device imbalance (max/mean load per step) against routing skew: one line for the
 * static placement and one per redundant-copy count of the balanced placement, with
 * 95 % intervals over steps.
 *
 * @example
 * show(moeImbalanceChart(moeImbalanceSweep({ experts: 256, topK: 8, tokens: 4096, devices: 32, zipfExponents: [0, 0.5, 1], redundant: [0, 32], steps: 30, seed: 1 })));
 */
export function moeImbalanceChart(rows: readonly MoeImbalanceRow[], opts: { title?: string } = {}): Figure {
  checkArray<MoeImbalanceRow>('rows', rows);
  const keyOf = (r: MoeImbalanceRow) => (r.policy === 'static' ? 'static placement' : r.redundant === 0 ? 'balanced, no copies' : `balanced, ${r.redundant} redundant copies`);
  const keys = [...new Set(rows.map(keyOf))];
  const data = keys.map((key, i) => {
    const rs = rows.filter((r) => keyOf(r) === key).sort((a, b) => a.zipfExponent - b.zipfExponent);
    const color = PALETTE[i % PALETTE.length];
    return {
      type: 'scatter',
      mode: 'lines+markers',
      name: key,
      x: rs.map((r) => r.zipfExponent),
      y: rs.map((r) => r.imbalance.mean),
      error_y: { type: 'data', array: rs.map((r) => r.imbalance.halfWidth), visible: true, color },
      line: { color, dash: key === 'static placement' ? 'dash' : 'solid' },
    };
  });
  const layout = baseLayout(opts.title ?? 'Expert-parallel imbalance against routing skew', { title: 'Zipf exponent of expert popularity (0 = uniform)' }, { title: 'busiest device / mean device load' });
  return withLogTicks({ data, layout });
}

// Dense curves closer than this everywhere (in share of compute-bound throughput) are drawn once.
const DENSE_SAME = 0.02;

/**
 * Routed-expert efficiency against global batch for several models (solid), each
 * next to a dense FFN of equal active parameters (dashed), and optionally the share
 * of experts at the efficiency target (dotted).
 *
 * @example
 * show(moeEfficiencyChart([{ label: 'DeepSeek-V3', rows: moeEfficiencyCurve(shape, cost, { dtype: 'fp8', tokens, efficiency: 0.8 }) }]));
 */
export function moeEfficiencyChart(
  series: ReadonlyArray<{ label: string; rows: readonly MoeEfficiencyRow[] }>,
  opts: { title?: string; showShare?: boolean; markBatches?: readonly number[] } = {},
): Figure {
  checkArray('series', series);
  const data: Array<Record<string, unknown>> = [];
  // Dense curves of models with equal per-token shapes coincide, exactly or within a line's
  // width; drawn one over another, all but the top one vanish with their legend entries. One
  // curve per group of curves within DENSE_SAME of each other at every batch, named after every
  // model it stands for, says so instead.
  const dense: Array<{ labels: string[]; color: string; x: number[]; y: number[]; exact: boolean }> = [];
  series.forEach((s, i) => {
    if (typeof s?.label !== 'string') throw new InputError(`series[${i}].label`, s?.label, 'a string');
    const rs = [...checkArray<MoeEfficiencyRow>(`series[${i}].rows`, s.rows)].sort((a, b) => a.tokens - b.tokens);
    const color = PALETTE[i % PALETTE.length];
    const x = rs.map((r) => r.tokens);
    data.push({ type: 'scatter', mode: 'lines', name: `${s.label} routed experts`, x, y: rs.map((r) => r.moeEfficiency), line: { color } });
    const y = rs.map((r) => r.denseEfficiency);
    const gap = (d: { x: number[]; y: number[] }): number =>
      d.x.length === x.length && d.x.every((v, j) => v === x[j]) ? Math.max(...d.y.map((v, j) => Math.abs(v - y[j]))) : Infinity;
    const same = dense.find((d) => gap(d) <= DENSE_SAME);
    if (same) {
      same.labels.push(s.label);
      same.exact &&= gap(same) <= 1e-9;
    } else dense.push({ labels: [s.label], color, x, y, exact: true });
    if (opts.showShare) {
      data.push({ type: 'scatter', mode: 'lines', name: `${s.label} share of experts at target`, x, y: rs.map((r) => r.expertShareAtTarget), line: { color, dash: 'dot' } });
    }
  });
  for (const d of dense) {
    const name =
      d.labels.length === 1
        ? `${d.labels[0]} dense, equal active`
        : d.exact
          ? `${d.labels.join(' = ')} dense, equal active (identical curves)`
          : `${d.labels.join(' ≈ ')} dense, equal active (within ${DENSE_SAME * 100} points of one another: ${d.labels[0]}'s drawn)`;
    data.push({ type: 'scatter', mode: 'lines', name, x: d.x, y: d.y, line: { color: d.labels.length > 1 ? '#444' : d.color, dash: 'dash' } });
  }
  const layout = baseLayout(opts.title ?? 'FFN efficiency against global batch', { title: 'tokens in the step (global batch)', log: true }, { title: 'share of compute-bound throughput' });
  layout.yaxis = { ...(layout.yaxis as Record<string, unknown>), range: [0, 1.05] };
  layout.shapes = markLines(opts.markBatches);
  return withLogTicks({ data, layout });
}

/** One measured step of grouped expert matmuls (the fields of lib/gemm's GroupedExpertsSummary plus a label). */
export interface MoeGroupedBenchRun {
  label: string;
  /** One padded batched call over all active experts. */
  batchedSeconds: number;
  /** One matmul per active expert. */
  separateSeconds: number;
  /** One dense matmul of the same useful FLOPs. */
  denseSeconds: number;
}

/**
 * Measured expert matmuls against a dense matmul of equal FLOPs: for each run, bars of
 * time over the dense time (dense = 1), labelled with milliseconds, so runs of very
 * different sizes share one axis.
 *
 * @example
 * const r = await benchGroupedExperts({ tokensPerExpert: [3, 0, 5, 1], k: 256, n: 128 });
 * show(moeGroupedBenchChart([{ label: '4 experts', ...r.summary }]));
 */
export function moeGroupedBenchChart(runs: readonly MoeGroupedBenchRun[], opts: { title?: string } = {}): Figure {
  checkArray('runs', runs);
  runs.forEach((r, i) => {
    if (typeof r?.label !== 'string') throw new InputError(`runs[${i}].label`, r?.label, 'a string');
    checkNumber(`runs[${i}].batchedSeconds`, r.batchedSeconds, { min: 0 });
    checkNumber(`runs[${i}].separateSeconds`, r.separateSeconds, { min: 0 });
    checkNumber(`runs[${i}].denseSeconds`, r.denseSeconds, { min: 0, exclusiveMin: true });
  });
  const series: Array<[string, keyof MoeGroupedBenchRun]> = [
    ['one padded batched call', 'batchedSeconds'],
    ['one matmul per expert', 'separateSeconds'],
    ['one dense matmul, equal FLOPs', 'denseSeconds'],
  ];
  const data = series.map(([name, key], i) => ({
    type: 'bar',
    name,
    x: runs.map((r) => r.label),
    y: runs.map((r) => (r[key] as number) / r.denseSeconds),
    text: runs.map((r) => `${((r[key] as number) * 1e3).toPrecision(3)} ms`),
    textposition: 'outside',
    marker: { color: PALETTE[i % PALETTE.length] },
  }));
  const layout = baseLayout(opts.title ?? 'Expert matmuls against one dense matmul of equal FLOPs', { title: '' }, { title: 'time / dense time' });
  layout.barmode = 'group';
  return withLogTicks({ data, layout });
}

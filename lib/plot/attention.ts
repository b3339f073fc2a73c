import type { Figure } from './types.js';
import { PALETTE, baseLayout, withLogTicks } from './types.js';
import { checkArray } from '../util/validate.js';
import type { AttentionRow, RaggedStrategyRow } from '../attention/index.js';
import { MEASURED_STRATEGIES, RAGGED_STRATEGIES } from '../attention/index.js';
import type { DecodeTrafficRow, DisaggregationRow, KvBatchLimitRow } from '../models/index.js';

const caseLabel = (r: Pick<AttentionRow, 'spread' | 'batch'>): string => `${r.spread}, B=${r.batch}`;

/**
 * Measured decode attention by strategy: one bar per strategy and length case, its
 * time relative to padding's in the same rounds (`vs_padded`; without it, the ratio
 * of medians); hover shows the milliseconds with their 10th–90th percentiles.
 *
 * @example
 * show(attentionStrategiesChart(await measureDecodeAttention({ heads: 8, kvHeads: 2, headDim: 128, cases })));
 */
export function attentionStrategiesChart(rows: readonly AttentionRow[], opts: { title?: string } = {}): Figure {
  checkArray<AttentionRow>('rows', rows);
  const cases = [...new Set(rows.map(caseLabel))];
  const padded = new Map(rows.filter((r) => r.strategy === 'padded').map((r) => [caseLabel(r), r.median_s]));
  const data = MEASURED_STRATEGIES.filter((s) => rows.some((r) => r.strategy === s)).map((s) => {
    const rs = cases.map((c) => rows.find((r) => r.strategy === s && caseLabel(r) === c));
    const base = (c: string): number => padded.get(c) ?? NaN;
    return {
      type: 'bar',
      name: s,
      x: cases,
      y: rs.map((r, i) => (r ? (Number.isFinite(r.vs_padded) ? r.vs_padded : r.median_s / base(cases[i])) : null)),
      text: rs.map((r) => (r ? `median ${(r.median_s * 1e3).toFixed(2)} ms (p10–p90 ${(r.p10_s * 1e3).toFixed(2)}–${(r.p90_s * 1e3).toFixed(2)}), ${r.kernels} kernels` : '')),
      textposition: 'none',
      hovertemplate: '%{x}<br>%{text}<extra>' + s + '</extra>',
      marker: { color: PALETTE[RAGGED_STRATEGIES.indexOf(s) % PALETTE.length] },
    };
  });
  const layout = baseLayout(opts.title ?? 'Batched decode attention on this machine, relative to padding', { title: 'length spread, batch' }, { title: 'time / padding time (median over rounds)' });
  layout.barmode = 'group';
  return withLogTicks({ data, layout });
}

/**
 * Predicted decode attention per strategy for one batch on a GPU: seconds per step
 * (bars) with each strategy's wasted share of the work in the hover text.
 *
 * @example
 * show(raggedPredictionChart(raggedStrategyTable(shape, { lengths, dtype: 'bf16', cost, launchSeconds: 4e-6 })));
 */
export function raggedPredictionChart(rows: readonly RaggedStrategyRow[], opts: { title?: string } = {}): Figure {
  checkArray<RaggedStrategyRow>('rows', rows);
  const data = [
    {
      type: 'bar',
      x: rows.map((r) => r.strategy),
      y: rows.map((r) => r.seconds * 1e3),
      text: rows.map((r) => `${r.vsRagged.toFixed(2)}× ragged`),
      textposition: 'outside',
      customdata: rows.map((r) => [r.kernelsPerLayer, (100 * r.wasteFraction).toFixed(1)]),
      hovertemplate: '%{x}: %{y:.3f} ms<br>%{customdata[0]} kernels per layer, %{customdata[1]} % wasted<extra></extra>',
      marker: { color: rows.map((r) => PALETTE[RAGGED_STRATEGIES.indexOf(r.strategy) % PALETTE.length]) },
    },
  ];
  return withLogTicks({ data, layout: baseLayout(opts.title ?? 'Predicted decode attention per step by strategy', { title: 'strategy' }, { title: 'ms per decode step (attention only)' }) });
}

/**
 * The batch at which KV reads overtake weight reads in decode, against context
 * length: one line per model (log–log). Above a line attention dominates decode.
 *
 * @example
 * show(decodeTrafficChart([...decodeTraffic(llama, opts), ...decodeTraffic(ds, opts)]));
 */
export function decodeTrafficChart(rows: readonly DecodeTrafficRow[], opts: { title?: string } = {}): Figure {
  checkArray<DecodeTrafficRow>('rows', rows);
  const models = [...new Set(rows.map((r) => r.model))];
  const data = models.map((m, i) => {
    const rs = rows.filter((r) => r.model === m && Number.isFinite(r.crossoverBatch)).sort((a, b) => a.context - b.context);
    return { type: 'scatter', mode: 'lines+markers', name: m, x: rs.map((r) => r.context), y: rs.map((r) => r.crossoverBatch), line: { color: PALETTE[i % PALETTE.length] } };
  });
  return withLogTicks({ data, layout: baseLayout(opts.title ?? 'Decode batch at which KV reads equal weight reads', { title: 'context tokens per sequence', log: true }, { title: 'batch (sequences)', log: true }) });
}

/**
 * Largest concurrent batch from memory against context, one line per deployment (log–log).
 *
 * @example
 * show(kvBatchLimitChart(kvBatchLimits(deployments, { contexts })));
 */
export function kvBatchLimitChart(rows: readonly KvBatchLimitRow[], opts: { title?: string } = {}): Figure {
  checkArray<KvBatchLimitRow>('rows', rows);
  const key = (r: KvBatchLimitRow): string => `${r.model} on ${r.devices}× ${r.hardware} (${r.dtype})`;
  const keys = [...new Set(rows.map(key))];
  const data = keys.map((k, i) => {
    const rs = rows.filter((r) => key(r) === k && r.sequences > 0).sort((a, b) => a.context - b.context);
    return { type: 'scatter', mode: 'lines+markers', name: k, x: rs.map((r) => r.context), y: rs.map((r) => r.sequences), line: { color: PALETTE[i % PALETTE.length] } };
  });
  return withLogTicks({ data, layout: baseLayout(opts.title ?? 'Concurrent sequences that fit in memory', { title: 'context tokens per sequence', log: true }, { title: 'max concurrent sequences', log: true }) });
}

/**
 * Decode tokens/s per device of each layout in a disaggregation what-if (bars), with
 * the memory-limited batch in the hover text.
 *
 * @example
 * show(disaggregationChart(disaggregationTable(model, opts)));
 */
export function disaggregationChart(rows: readonly DisaggregationRow[], opts: { title?: string } = {}): Figure {
  checkArray<DisaggregationRow>('rows', rows);
  const data = [
    {
      type: 'bar',
      x: rows.map((r) => r.layout),
      y: rows.map((r) => r.tokensPerSecondPerDevice),
      customdata: rows.map((r) => [r.bound, r.maxBatch, (r.stepSeconds * 1e3).toFixed(1)]),
      hovertemplate: '%{x}: %{y:.0f} tokens/s per device<br>step %{customdata[2]} ms, bound by %{customdata[0]}<br>memory holds %{customdata[1]} sequences<extra></extra>',
      marker: { color: rows.map((_, i) => PALETTE[i % PALETTE.length]) },
    },
  ];
  return withLogTicks({ data, layout: baseLayout(opts.title ?? 'Attention–FFN disaggregation: decode throughput per device', { title: 'layout' }, { title: 'output tokens/s per device' }) });
}

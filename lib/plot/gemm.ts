import type { GemmModelCurve } from '../cost/curves.js';
import type { GroupedExpertsSummary, OneVsManyPoint } from '../gemm/cases.js';
import type { GemmRow } from '../gemm/row.js';
import { gemmFlops } from '../gemm/shapes.js';
import { InputError } from '../util/errors.js';
import type { Figure } from './types.js';
import { baseLayout, PALETTE, withLogTicks } from './types.js';

function rowsOf(rows: readonly GemmRow[] | { objects(): object[] }): GemmRow[] {
  const r = Array.isArray(rows) ? rows : (rows as { objects(): object[] }).objects();
  if (!Array.isArray(r) || r.length === 0) throw new InputError('rows', r, 'a non-empty GEMM table or array of GEMM rows');
  return r as GemmRow[];
}

function seriesKey(r: GemmRow): string {
  const who = r.backend.startsWith('torch') ? `${r.device} ${r.dtype}` : `${r.backend} ${r.dtype}`;
  return `${who}, K=${r.k} N=${r.n}${r.variant === 'plain' ? '' : ` (${r.variant})`}`;
}

function groupSweep(rows: GemmRow[]): Map<string, GemmRow[]> {
  const groups = new Map<string, GemmRow[]>();
  for (const r of rows.filter((x) => x.case === 'sweep')) groups.set(seriesKey(r), [...(groups.get(seriesKey(r)) ?? []), r]);
  for (const g of groups.values()) g.sort((a, b) => a.m - b.m);
  if (groups.size === 0) throw new InputError('rows', rows.length, "rows including case 'sweep'");
  return groups;
}

/**
 * Latency against batch size M (log–log), one line per backend/device, dtype and
 * (K, N), with the p10–p90 spread as error bars. A flat start is the essay's claim:
 * more tokens in the batch cost almost nothing until the matmul turns compute-bound.
 *
 * @example
 * show(gemmLatencyChart(await sweepGemm({ shapes: [{ k: 1024, n: 1024 }] })));
 */
export function gemmLatencyChart(rows: readonly GemmRow[] | { objects(): object[] }, opts: { title?: string } = {}): Figure {
  const groups = groupSweep(rowsOf(rows));
  const data = [...groups.entries()].map(([name, g], i) => ({
    type: 'scatter',
    mode: 'lines+markers',
    name,
    x: g.map((r) => r.m),
    y: g.map((r) => r.median_s * 1e3),
    error_y: { type: 'data', symmetric: false, array: g.map((r) => (r.p90_s - r.median_s) * 1e3), arrayminus: g.map((r) => (r.median_s - r.p10_s) * 1e3), thickness: 1 },
    line: { color: PALETTE[i % PALETTE.length] },
    hovertemplate: 'M=%{x}: %{y:.3f} ms<extra>%{fullData.name}</extra>',
  }));
  return withLogTicks({ data, layout: baseLayout(opts.title ?? 'Matmul latency against batch size', { title: 'batch size M (tokens)', log: true }, { title: 'median time per matmul (ms)', log: true }) });
}

/**
 * Throughput (GFLOP/s) against batch size M (log–log): measured points, and model
 * `curves` computed elsewhere drawn as FLOPs / predicted seconds at their own M: a
 * roofline fitted to this machine (`fittedRooflineCurves`, dashed, in the colour of the measured series of its shape), datasheet ceilings
 * (`specRooflineCurves`, dotted) and any other model (a measured-table or calibrated
 * cost model's seconds per M, dash-dotted).
 *
 * @example
 * show(gemmThroughputChart(table, { curves: [...fittedRooflineCurves(fit, gemmRows(table)), ...specRooflineCurves(hardwareRooflines([{ hw: 'h100-sxm', dtype: 'bf16' }]), gemmRows(table))] }));
 */
export function gemmThroughputChart(rows: readonly GemmRow[] | { objects(): object[] }, opts: { curves?: readonly GemmModelCurve[]; title?: string } = {}): Figure {
  const all = rowsOf(rows);
  const groups = groupSweep(all);
  const data: Array<Record<string, unknown>> = [];
  // A fitted curve takes the colour of the one measured series of its shape, so the two read as a pair.
  const colourOfShape = new Map<string, string | null>();
  let i = 0;
  for (const [name, g] of groups) {
    const colour = PALETTE[i++ % PALETTE.length];
    const shape = `${g[0].k}x${g[0].n}`;
    colourOfShape.set(shape, colourOfShape.has(shape) ? null : colour);
    data.push({
      type: 'scatter',
      mode: 'markers+lines',
      name,
      x: g.map((r) => r.m),
      y: g.map((r) => r.gflops),
      line: { color: colour, width: 1 },
      hovertemplate: 'M=%{x}: %{y:.1f} GFLOP/s<extra>%{fullData.name}</extra>',
    });
  }
  // Each style numbers its own curves, so a spec ceiling keeps its colour whatever else is drawn.
  const seen = { fitted: 0, spec: 0, model: 0 };
  for (const c of opts.curves ?? []) {
    const style = c.style ?? 'model';
    const j = seen[style]++;
    const line =
      style === 'fitted'
        ? { color: colourOfShape.get(`${c.k}x${c.n}`) ?? '#444', dash: 'dash', width: 1.5 }
        : style === 'spec'
          ? { color: PALETTE[(groups.size + 2 + j) % PALETTE.length], dash: 'dot', width: 2 }
          : { color: PALETTE[(groups.size + 5 + j) % PALETTE.length], dash: 'dashdot', width: 2 };
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `${c.label}, K=${c.k} N=${c.n}`,
      x: c.points.map((p) => p.m),
      y: c.points.map((p) => gemmFlops(p.m, c.k, c.n) / p.seconds / 1e9),
      line,
    });
  }
  return withLogTicks({ data, layout: baseLayout(opts.title ?? 'Matmul throughput against batch size', { title: 'batch size M (tokens)', log: true }, { title: 'GFLOP/s', log: true }) });
}

/**
 * Speed-up of one B-token matmul over B one-token matmuls, against B, with the ideal
 * (speed-up = B, a batch that costs exactly one token) for reference.
 *
 * @example
 * show(gemmOneVsManyChart((await benchOneVsMany({ batches: [1, 2, 4, 8, 16], k: 1024, n: 1024 })).points));
 */
export function gemmOneVsManyChart(points: readonly OneVsManyPoint[], opts: { title?: string; label?: string } = {}): Figure {
  if (!Array.isArray(points) || points.length === 0) throw new InputError('points', points, 'a non-empty array of one-vs-many points');
  const b = points.map((p) => p.batch);
  return withLogTicks({
    data: [
      { type: 'scatter', mode: 'lines+markers', name: opts.label ?? 'measured speed-up', x: b, y: points.map((p) => p.speedup), line: { color: PALETTE[0] } },
      { type: 'scatter', mode: 'lines', name: 'ideal: B tokens for the price of one', x: b, y: b, line: { color: '#888', dash: 'dot' } },
    ],
    layout: baseLayout(opts.title ?? 'One matmul of B tokens vs B matmuls of one token', { title: 'tokens B', log: true }, { title: 'speed-up (time of B calls / time of one)', log: true }),
  });
}

/**
 * Grouped-expert timings: for each scenario (e.g. a routing draw), the padded batched
 * call, E separate calls and one dense matmul of equal FLOPs, in milliseconds.
 *
 * @example
 * show(gemmGroupedExpertsChart([{ label: '8 tokens, top-8 of 64', summary }]));
 */
export function gemmGroupedExpertsChart(scenarios: ReadonlyArray<{ label: string; summary: GroupedExpertsSummary }>, opts: { title?: string } = {}): Figure {
  if (!Array.isArray(scenarios) || scenarios.length === 0) throw new InputError('scenarios', scenarios, 'a non-empty array of {label, summary}');
  const x = scenarios.map((s) => s.label);
  const TIMING = { batchedSeconds: 'batched', separateSeconds: 'separate', denseSeconds: 'dense' } as const;
  const bar = (name: string, key: 'batchedSeconds' | 'separateSeconds' | 'denseSeconds', color: string, text?: (s: GroupedExpertsSummary) => string) => {
    // The repetitions' p10–p90 around each median, where every scenario carries them.
    const stats = scenarios.map((s) => s.summary.timings?.[TIMING[key]]);
    const spread = stats.every((t) => t !== undefined && t.n > 1)
      ? { error_y: { type: 'data', symmetric: false, array: scenarios.map((s, i) => (stats[i]!.p90 - s.summary[key]) * 1e3), arrayminus: scenarios.map((s, i) => (s.summary[key] - stats[i]!.p10) * 1e3), thickness: 1, color: '#333' } }
      : {};
    return {
      type: 'bar',
      name,
      x,
      y: scenarios.map((s) => s.summary[key] * 1e3),
      text: text ? scenarios.map((s) => text(s.summary)) : undefined,
      // Mid-bar, clear of the p10–p90 bar drawn from the bar's end.
      ...(text ? { textposition: 'inside', insidetextanchor: 'middle' } : {}),
      marker: { color },
      ...spread,
    };
  };
  return withLogTicks({
    data: [
      bar('one padded batched matmul', 'batchedSeconds', PALETTE[0], (s) => `${Math.round(s.paddingEfficiency * 100)} % rows useful`),
      bar('E separate matmuls', 'separateSeconds', PALETTE[1], (s) => `E=${s.activeExperts}`),
      bar('one dense matmul, same FLOPs', 'denseSeconds', PALETTE[2]),
    ],
    layout: { ...baseLayout(opts.title ?? 'Grouped expert matmuls vs one dense matmul', { title: 'scenario' }, { title: 'median time (ms); bars: p10–p90 of the repetitions' }), barmode: 'group' },
  });
}

import { InputError } from '../util/errors.js';
import { checkArray, checkNumber } from '../util/validate.js';
import { baseLayout, PALETTE, secondsLogAxis, type Figure, withLogTicks } from './types.js';
import type { PipelineRun } from '../pipeline/schedule.js';
import type { PipelineBubbleRow, PipelineWindowRow } from '../pipeline/bubbles.js';

/** Bars one Gantt chart may draw before the browser struggles. */
const MAX_GANTT_SLOTS = 20_000;

/**
 * A Gantt chart of a pipeline run: one row per device, one bar per micro-batch on a
 * stage, coloured by micro-batch (or request) index on a colour bar; the white space is
 * the bubble.
 *
 * @example
 * show(pipelineGanttChart(pipelineSchedule({ layers: 61, stages: 8, layerSeconds: 1e-4 }, { kind: 'fill-drain', microBatches: 2 })));
 */
export function pipelineGanttChart(run: PipelineRun, opts: { title?: string; untilSeconds?: number } = {}): Figure {
  if (!run || !Array.isArray(run.timeline)) throw new InputError('run', run, 'a PipelineRun from pipelineSchedule');
  const until = checkNumber('untilSeconds', opts.untilSeconds ?? run.makespanSeconds, { min: 0, exclusiveMin: true });
  const slots = run.timeline.filter((s) => s.start < until);
  if (slots.length > MAX_GANTT_SLOTS) {
    throw new InputError('untilSeconds', until, `a window holding at most ${MAX_GANTT_SLOTS} slots`, `it holds ${slots.length}`);
  }
  const S = run.layout.stages;
  const label = (d: number) => `device ${d}`;
  const who = run.kind === 'streaming' ? 'request' : 'micro-batch';
  const whoPlural = run.kind === 'streaming' ? 'requests' : 'micro-batches';
  const when = run.kind === 'streaming' ? 'token' : 'tick';
  // One trace, coloured by micro-batch (or request) index on a colour bar: the bar is the
  // legend. Ten cycling palette colours without a legend said nothing about which bar is which.
  const showText = slots.length <= 400;
  const maxFlow = Math.max(1, run.flows - 1);
  const data = [
    {
      type: 'bar',
      orientation: 'h',
      name: whoPlural,
      showlegend: false,
      y: slots.map((s) => label(s.device)),
      base: slots.map((s) => s.start * 1e3),
      x: slots.map((s) => (s.end - s.start) * 1e3),
      marker: {
        color: slots.map((s) => s.flow),
        cmin: 0,
        cmax: maxFlow,
        colorscale: 'Viridis',
        showscale: true,
        colorbar: { title: { text: `${who} (0–${run.flows - 1})` }, thickness: 14 },
        line: { color: 'white', width: 0.5 },
      },
      text: showText ? slots.map((s) => String(s.flow)) : undefined,
      textposition: showText ? 'inside' : undefined,
      insidetextanchor: 'middle',
      hovertext: slots.map(
        (s) =>
          `${who} ${s.flow}, ${when} ${s.pass}, chunk ${Math.floor(s.virtualStage / S)}<br>` +
          `${(s.start * 1e3).toFixed(3)}–${(s.end * 1e3).toFixed(3)} ms`,
      ),
      hoverinfo: 'text',
    },
  ];
  const title =
    opts.title ?? `${run.kind} schedule: ${S} devices, ${run.flows} ${whoPlural}, bubble ${(100 * run.bubbleFraction).toFixed(1)} %`;
  const layout = baseLayout(title, { title: 'time (ms)' }, { title: 'pipeline device' });
  layout.barmode = 'overlay';
  layout.bargap = 0.15;
  layout.yaxis = {
    ...(layout.yaxis as Record<string, unknown>),
    type: 'category',
    categoryorder: 'array',
    categoryarray: Array.from({ length: S }, (_, d) => label(d)),
    autorange: 'reversed',
  };
  return withLogTicks({ data, layout });
}

/**
 * Bubble fraction against micro-batches per tick, one colour per stage count:
 * markers are the simulation, dashed lines the closed form, and an optional dotted
 * line marks a target.
 *
 * @example
 * show(pipelineBubbleChart(pipelineBubbleSweep({ layers: 61, stages: [4, 8, 16], microBatches: [1, 2, 4, 8], layerSeconds: 1e-4 }), { target: 0.1 }));
 */
export function pipelineBubbleChart(rows: readonly PipelineBubbleRow[], opts: { title?: string; target?: number } = {}): Figure {
  checkArray<PipelineBubbleRow>('rows', rows);
  const stageCounts = [...new Set(rows.map((r) => r.stages))].sort((a, b) => a - b);
  const data: Array<Record<string, unknown>> = [];
  stageCounts.forEach((S, i) => {
    const rs = rows.filter((r) => r.stages === S).sort((a, b) => a.microBatches - b.microBatches);
    const color = PALETTE[i % PALETTE.length];
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: `S = ${S} simulated`,
      x: rs.map((r) => r.microBatches),
      y: rs.map((r) => r.bubbleFraction),
      marker: { color, size: 8 },
    });
    const closed = rs.map((r) => r.closedFormBubble ?? r.evenStagesBubble);
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `S = ${S} closed form`,
      x: rs.map((r) => r.microBatches),
      y: closed,
      line: { color, dash: 'dash' },
    });
  });
  const layout = baseLayout(opts.title ?? 'Pipeline bubble per fill–drain tick', { title: 'micro-batches per tick m', log: true }, { title: 'bubble fraction (idle share of device-time)' });
  if (opts.target !== undefined) {
    const t = checkNumber('target', opts.target, { min: 0, max: 1 });
    layout.shapes = [{ type: 'line', xref: 'paper', x0: 0, x1: 1, y0: t, y1: t, line: { color: '#7f7f7f', dash: 'dot' } }];
  }
  layout.yaxis = { ...(layout.yaxis as Record<string, unknown>), range: [0, 1] };
  return withLogTicks({ data, layout });
}

/**
 * The collection window needed to hold the bubble under a target, against arrival
 * rate in seconds, one line per stage count (log–log: the window falls as 1/rate).
 *
 * @example
 * show(pipelineWindowChart(pipelineWindowSweep({ stages: [4, 8, 16], arrivalRates: [10, 100, 1000], targetBubble: 0.1, microBatchSize: 8 })));
 */
export function pipelineWindowChart(rows: readonly PipelineWindowRow[], opts: { title?: string } = {}): Figure {
  checkArray<PipelineWindowRow>('rows', rows);
  const stageCounts = [...new Set(rows.map((r) => r.stages))].sort((a, b) => a - b);
  const data = stageCounts.map((S, i) => {
    const rs = rows.filter((r) => r.stages === S).sort((a, b) => a.arrivalRate - b.arrivalRate);
    return {
      type: 'scatter',
      mode: 'lines+markers',
      name: `S = ${S}: m ≥ ${rs[0].microBatches} micro-batches`,
      x: rs.map((r) => r.arrivalRate),
      y: rs.map((r) => r.windowSeconds),
      line: { color: PALETTE[i % PALETTE.length] },
      hovertext: rs.map((r) => `${r.requests} requests in ${r.windowSeconds.toPrecision(3)} s`),
    };
  });
  const target = rows[0].targetBubble;
  const title = opts.title ?? `Collection window for a bubble ≤ ${(100 * target).toFixed(0)} %`;
  const layout = baseLayout(title, { title: 'arrival rate (requests/s)', log: true }, { title: 'collection window', log: true });
  layout.yaxis = secondsLogAxis(rows.map((r) => r.windowSeconds), 'collection window');
  return withLogTicks({ data, layout });
}

import { InputError } from '../util/errors.js';
import { checkArray, checkInt, checkNumber, checkPositive } from '../util/validate.js';
import { pipelineLayout, type PipelineLayerCost } from './layout.js';
import { pipelineSchedule } from './schedule.js';

/**
 * The bubble of a tick of uniform stages, in virtual-stage slots: the m micro-batches
 * go through the v chunks in groups of S (Megatron-LM's order). A last group of
 * r = m mod S < S micro-batches cannot cover the S slots a micro-batch takes to come
 * back to the first device, so it waits S − r slots at each of its v − 1 chunk changes.
 */
function evenStagesBubble(S: number, m: number, v: number): number {
  const r = m % S;
  const stall = v > 1 && r > 0 ? (v - 1) * (S - r) : 0;
  return (S - 1 + stall) / (v * m + S - 1 + stall);
}

/**
 * Idle share of device-time in one fill–drain tick of uniform stages with no
 * transfer latency: (S−1)/(v·m + S−1). With v = 1 this is GPipe's bubble (Huang et
 * al. 2019); with v chunks per device, Megatron-LM's interleaved schedule shrinks the
 * bubble time to (S−1)/(v·m) of the ideal time (Narayanan et al. 2021, §2.2.2), which
 * holds when m is a multiple of S (as Megatron-LM requires). Otherwise the last,
 * partial group of r = m mod S micro-batches stalls S − r slots at each of its v − 1
 * chunk changes: (S−1+(v−1)(S−r)) / (v·m + S−1 + (v−1)(S−r)), as the event simulator
 * (pipelineSchedule) finds.
 *
 * @example
 * pipelineBubbleFraction({ stages: 8, microBatches: 8 }) // => 7 / 15
 * pipelineBubbleFraction({ stages: 4, microBatches: 1, chunks: 2 }) // => 0.75
 */
export function pipelineBubbleFraction(opts: { stages: number; microBatches: number; chunks?: number }): number {
  const S = checkInt('stages', opts?.stages, { min: 1, max: 4096 });
  const m = checkInt('microBatches', opts.microBatches, { min: 1 });
  const v = checkInt('chunks', opts.chunks ?? 1, { min: 1, max: 64 });
  return evenStagesBubble(S, m, v);
}

/** One fill–drain tick in closed form. */
export interface PipelineTickClosedForm {
  /** Σ t_s + (S−1)·transfer + (m−1)·max t_s. */
  tickSeconds: number;
  /** 1 − m·Σ t_s / (S · tickSeconds). */
  bubbleFraction: number;
}

/**
 * One fill–drain tick of m identical micro-batches over stages of any speed. The
 * last micro-batch leaves after every stage has run once and the slowest stage has
 * run m−1 more times: the makespan of a flow shop of identical jobs, whose critical
 * path spends its extra steps on the bottleneck stage. Uniform stages and no transfer
 * give GPipe's (S−1)/(m+S−1).
 *
 * @example
 * pipelineTickClosedForm([2, 1, 1], 4).tickSeconds // => 2 + 1 + 1 + 3 × 2 = 10
 */
export function pipelineTickClosedForm(stageSeconds: readonly number[], microBatches: number, transferSeconds = 0): PipelineTickClosedForm {
  // Bounds far past any pipeline (a stage of 30 years, 10^9 micro-batches) keep the tick finite: 1e308 overflowed to NaN.
  const t = checkArray<number>('stageSeconds', stageSeconds, 4096).map((x, i) => checkPositive(`stageSeconds[${i}]`, x, 1e9));
  const m = checkInt('microBatches', microBatches, { min: 1, max: 1e9 });
  const d = checkNumber('transferSeconds', transferSeconds, { min: 0, max: 1e9 });
  const S = t.length;
  const sum = t.reduce((a, b) => a + b, 0);
  const tickSeconds = sum + (S - 1) * d + (m - 1) * Math.max(...t);
  return { tickSeconds, bubbleFraction: Math.max(0, 1 - (m * sum) / (S * tickSeconds)) };
}

/** How long to collect requests so that a tick keeps the bubble under a target. */
export interface PipelineCollectionWindow {
  /** Fewest micro-batches per tick whose bubble is ≤ the target. */
  microBatches: number;
  /** Requests one tick holds: microBatches × microBatchSize. */
  requests: number;
  /** Time to collect them at the arrival rate, seconds. */
  windowSeconds: number;
  /** The bubble fraction of a tick of that size. */
  bubbleFraction: number;
}

/**
 * The collection window that keeps a fill–drain pipeline's bubble at or below a
 * target b. For S even stages a tick's bubble is pipelineBubbleFraction's, at least
 * (S−1)/(v·m+S−1), so it needs m ≥ (S−1)(1−b)/(b·v) micro-batches, rounded up to the
 * first count whose interleaved tick (v > 1) meets the target. Given `stageSeconds` (and a transfer latency),
 * the tick follows the flow-shop form instead, Σt + (S−1)·d + (m−1)·max t, which
 * needs m ≥ (1−b)·S·(Σt + (S−1)·d − max t) / (Σt − (1−b)·S·max t); uneven stages
 * idle at least 1 − Σt/(S·max t) however large the tick, so a target below that
 * floor is refused. At `arrivalRate` requests per second, gathering m micro-batches
 * of `microBatchSize` requests takes m·microBatchSize/arrivalRate seconds.
 *
 * @example
 * pipelineCollectionWindow({ stages: 8, targetBubble: 0.1, arrivalRate: 100, microBatchSize: 4 })
 * // => { microBatches: 63, requests: 252, windowSeconds: 2.52, bubbleFraction: 0.1 }
 */
export function pipelineCollectionWindow(opts: {
  stages: number;
  targetBubble: number;
  arrivalRate: number;
  microBatchSize: number;
  chunks?: number;
  stageSeconds?: readonly number[];
  transferSeconds?: number;
}): PipelineCollectionWindow {
  const S = checkInt('stages', opts?.stages, { min: 1, max: 4096 });
  const b = checkNumber('targetBubble', opts.targetBubble, { min: 0, max: 1, exclusiveMin: true });
  const rate = checkPositive('arrivalRate', opts.arrivalRate);
  const size = checkInt('microBatchSize', opts.microBatchSize, { min: 1, max: 1_000_000 });
  const v = checkInt('chunks', opts.chunks ?? 1, { min: 1, max: 64 });
  let bubbleAt: (m: number) => number;
  let exact: number;
  if (opts.stageSeconds === undefined) {
    if (opts.transferSeconds !== undefined) throw new InputError('transferSeconds', opts.transferSeconds, 'given together with stageSeconds');
    bubbleAt = (m) => evenStagesBubble(S, m, v);
    // The interleaved stall only adds idle time, so the multiple-of-S form bounds m from below.
    exact = ((S - 1) * (1 - b)) / (b * v);
  } else {
    if (v !== 1) throw new InputError('chunks', v, '1 when stageSeconds is given', 'uneven interleaved stages have no closed form here');
    const t = checkArray<number>('stageSeconds', opts.stageSeconds, 4096).map((x, i) => checkPositive(`stageSeconds[${i}]`, x));
    if (t.length !== S) throw new InputError('stageSeconds', t, `an array of stages = ${S} positive numbers`);
    const d = checkNumber('transferSeconds', opts.transferSeconds ?? 0, { min: 0 });
    const sum = t.reduce((a, x) => a + x, 0);
    const max = Math.max(...t);
    const floor = 1 - sum / (S * max);
    const slack = sum - (1 - b) * S * max;
    if (slack <= 0) {
      throw new InputError('targetBubble', b, `above ${floor.toPrecision(4)}, the idle share these uneven stages keep however large the tick`);
    }
    bubbleAt = (m) => pipelineTickClosedForm(t, m, d).bubbleFraction;
    exact = ((1 - b) * S * (sum + (S - 1) * d - max)) / slack;
  }
  if (!(exact <= 1e12)) throw new InputError('targetBubble', b, 'large enough that the tick fits in 1e12 micro-batches');
  // The bound is often an integer that floating point lands a hair above
  // (7·0.9/0.1 = 63.000…01), so step down while the smaller tick still meets the target.
  let m = Math.max(1, Math.ceil(exact));
  while (m > 1 && bubbleAt(m - 1) <= b * (1 + 1e-12)) m -= 1;
  // Interleaved ticks of a partial group stall; the next multiple of S meets the bound.
  while (bubbleAt(m) > b * (1 + 1e-12)) m += 1;
  const requests = m * size;
  return { microBatches: m, requests, windowSeconds: requests / rate, bubbleFraction: bubbleAt(m) };
}

/** One point of a bubble sweep. */
export interface PipelineBubbleRow {
  stages: number;
  microBatches: number;
  chunks: number;
  /** Simulated idle share of device-time in one tick. */
  bubbleFraction: number;
  /** The flow-shop closed form for these (possibly uneven) stages, v = 1 only; null for v > 1. */
  closedFormBubble: number | null;
  /** (S−1)/(v·m+S−1): the bubble of perfectly even stages. */
  evenStagesBubble: number;
  /** Simulated tick duration, seconds. */
  tickSeconds: number;
  /** Micro-batches per second over the tick. */
  microBatchesPerSecond: number;
}

/**
 * Simulates one fill–drain (or interleaved, with chunks > 1) tick for every pair of
 * stage count and micro-batches per tick, next to the closed forms.
 *
 * @example
 * pipelineBubbleSweep({ layers: 61, stages: [4, 8], microBatches: [1, 8, 64], layerSeconds: 1e-4 }).length // => 6
 */
export function pipelineBubbleSweep(opts: {
  layers: number;
  stages: readonly number[];
  microBatches: readonly number[];
  layerSeconds: PipelineLayerCost;
  transferSeconds?: number;
  chunks?: number;
}): PipelineBubbleRow[] {
  const stages = checkArray<number>('stages', opts?.stages, 256);
  const mbs = checkArray<number>('microBatches', opts.microBatches, 1024);
  const v = checkInt('chunks', opts.chunks ?? 1, { min: 1, max: 64 });
  const rows: PipelineBubbleRow[] = [];
  for (const S of stages) {
    for (const m of mbs) {
      const run = pipelineSchedule(
        { layers: opts.layers, stages: S, layerSeconds: opts.layerSeconds, transferSeconds: opts.transferSeconds },
        v === 1 ? { kind: 'fill-drain', microBatches: m } : { kind: 'interleaved', microBatches: m, chunks: v },
      );
      rows.push({
        stages: S,
        microBatches: m,
        chunks: v,
        bubbleFraction: run.bubbleFraction,
        closedFormBubble: v === 1 ? pipelineTickClosedForm(run.layout.stageSeconds, m, run.layout.transferSeconds).bubbleFraction : null,
        evenStagesBubble: pipelineBubbleFraction({ stages: S, microBatches: m, chunks: v }),
        tickSeconds: run.makespanSeconds,
        microBatchesPerSecond: run.microBatchesPerSecond,
      });
    }
  }
  return rows;
}

/** One point of a collection-window sweep. */
export interface PipelineWindowRow extends PipelineCollectionWindow {
  stages: number;
  arrivalRate: number;
  targetBubble: number;
}

/**
 * The collection window for every pair of stage count and arrival rate, at one
 * bubble target (see pipelineCollectionWindow). Given `layers` and `layerSeconds`,
 * each stage count's uneven split is priced and its flow-shop tick used.
 *
 * @example
 * pipelineWindowSweep({ stages: [4, 8], arrivalRates: [10, 100], targetBubble: 0.1, microBatchSize: 1 })[0].microBatches // => 27
 */
export function pipelineWindowSweep(opts: {
  stages: readonly number[];
  arrivalRates: readonly number[];
  targetBubble: number;
  microBatchSize: number;
  chunks?: number;
  layers?: number;
  layerSeconds?: PipelineLayerCost;
  transferSeconds?: number;
}): PipelineWindowRow[] {
  const stages = checkArray<number>('stages', opts?.stages, 256);
  const rates = checkArray<number>('arrivalRates', opts.arrivalRates, 4096);
  if ((opts.layers === undefined) !== (opts.layerSeconds === undefined)) {
    throw new InputError(opts.layers === undefined ? 'layers' : 'layerSeconds', undefined, 'given together with ' + (opts.layers === undefined ? 'layerSeconds' : 'layers'));
  }
  if (opts.transferSeconds !== undefined && opts.layers === undefined) {
    throw new InputError('transferSeconds', opts.transferSeconds, 'given together with layers and layerSeconds');
  }
  return stages.flatMap((S) => {
    const priced =
      opts.layers === undefined
        ? {}
        : {
            stageSeconds: pipelineLayout({ layers: opts.layers, stages: S, layerSeconds: opts.layerSeconds!, transferSeconds: opts.transferSeconds }).stageSeconds,
            transferSeconds: opts.transferSeconds ?? 0,
          };
    return rates.map((arrivalRate) => ({
      stages: S,
      arrivalRate,
      targetBubble: opts.targetBubble,
      ...pipelineCollectionWindow({ stages: S, targetBubble: opts.targetBubble, arrivalRate, microBatchSize: opts.microBatchSize, chunks: opts.chunks, ...priced }),
    }));
  });
}

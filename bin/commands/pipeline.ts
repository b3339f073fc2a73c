import { Command } from 'commander';
import { pipelineBubbleFraction } from '../../lib/pipeline/bubbles.js';
import { pipelineSchedule } from '../../lib/pipeline/schedule.js';
import { asFlags, decimalInRange, emit, intArg } from './context.js';
import { countOf, fmtFigure } from './inputs.js';

interface PipelineCliOptions {
  layers: string;
  stages: string;
  microBatches: string;
  chunks: string;
  layerMs: string;
  ticks: string;
}

/**
 * `batchlab pipeline`: the bubble of a pipeline-parallel schedule, in closed form and
 * from the event-simulated schedule.
 *
 * @example
 * register(new Command('batchlab')); // batchlab pipeline --stages 8 --micro-batches 16
 */
export function register(program: Command): void {
  program
    .command('pipeline')
    .description('bubble fraction and throughput of a fill-drain or interleaved pipeline schedule')
    .option('--layers <int>', 'transformer layers', '61')
    .option('--stages <int>', 'pipeline devices S', '8')
    .option('--micro-batches <int>', 'micro-batches per tick m', '8')
    .option('--chunks <int>', 'model chunks per device v (1: fill-drain, >1: interleaved)', '1')
    .option('--layer-ms <ms>', 'milliseconds per layer per micro-batch', '1')
    .option('--ticks <int>', 'ticks simulated', '1')
    .action((o: PipelineCliOptions, cmd: Command) => {
      const layers = intArg('--layers', o.layers, 1, 100_000);
      const stages = intArg('--stages', o.stages, 1, 4096);
      const microBatches = intArg('--micro-batches', o.microBatches, 1, 4096);
      const chunks = intArg('--chunks', o.chunks, 1, 64);
      const ticks = intArg('--ticks', o.ticks, 1, 64);
      const layerSeconds = decimalInRange('--layer-ms', o.layerMs, { min: 1e-6, max: 1e6 }) / 1e3;
      const closed = pipelineBubbleFraction({ stages, microBatches, chunks });
      const run = asFlags(
        () => pipelineSchedule({ layers, stages, layerSeconds }, chunks > 1 ? { kind: 'interleaved', microBatches, chunks, ticks } : { kind: 'fill-drain', microBatches, ticks }),
        { layers: '--layers', 'schedule.microBatches × schedule.ticks × stages × schedule.chunks': '--micro-batches × --ticks × --stages × --chunks' },
        { 'stages × chunks': '--stages × --chunks' },
      );
      const result = {
        layers, stages, microBatches, chunks, ticks, layerSeconds,
        closedFormBubble: closed, simulatedBubble: run.bubbleFraction, makespanSeconds: run.makespanSeconds, microBatchesPerSecond: run.microBatchesPerSecond,
      };
      emit(cmd, result, () => [
        `S = ${countOf(stages, 'stage')}, m = ${countOf(microBatches, 'micro-batch', 'micro-batches')}, v = ${chunks}: bubble ${(closed * 100).toFixed(1)} % (closed form (S−1)/(v·m+S−1)), ${(run.bubbleFraction * 100).toFixed(1)} % simulated`,
        `makespan ${fmtFigure(run.makespanSeconds * 1e3, 4)} ms for ${countOf(ticks, 'tick')}, ${fmtFigure(run.microBatchesPerSecond, 4)} micro-batches/s`,
        // The closed form assumes equal stages; the simulated schedule holds whole layers per stage.
        ...(layers % (stages * chunks) === 0
          ? []
          : [`the ${layers} layers do not split evenly over ${stages * chunks} ${chunks > 1 ? 'model chunks' : 'stages'} (${Math.floor(layers / (stages * chunks))} or ${Math.ceil(layers / (stages * chunks))} each): the slowest stage sets the pace, so the simulated bubble differs from the closed form, which assumes equal stages (a multiple of ${stages * chunks} layers agrees with it)`]),
      ]);
    });
}

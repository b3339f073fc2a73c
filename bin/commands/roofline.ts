import { Command, Option } from 'commander';
import { DTYPES } from '../../lib/core/types.js';
import type { Dtype } from '../../lib/core/types.js';
import type { ModelSpec } from '../../lib/models/spec.js';
import type { HardwareSpec } from '../../lib/hardware/spec.js';
import { HARDWARE_FLAG_HELP, MODEL_FLAG_HELP, checkModelContext, countOf, fmtFigure, hardwareFlag, modelFlag, modelNoteLines } from './inputs.js';
import { efficiencyModeOf, maxBatchThatFits, memoryFit } from '../../lib/roofline/deployment.js';
import { DECODE_CRITICAL_BATCH_MAX, decodeComputeShare, decodeCriticalBatch, decodeStepTime } from '../../lib/roofline/model.js';
import { checkOneOf } from '../../lib/util/validate.js';
import { InputError } from '../../lib/util/errors.js';
import { asFlags, emit, intArg } from './context.js';
import { tablesPrice } from './kernels.js';
import { DEFAULT_SERVING_ENGINE } from '../../lib/batching/engines.js';

interface RooflineCliOptions {
  model: string;
  hardware: string;
  dtype: string;
  batch: string;
  context: string;
  tp?: string;
  devices?: string;
}

/**
 * `batchlab roofline`: the decode step time of a catalog model on catalog hardware at a
 * batch size, and the batch where the step turns compute-bound.
 *
 * @example
 * register(new Command('batchlab')); // batchlab roofline --model llama-3.1-8b --hardware h200 --batch 64
 */
export function register(program: Command): void {
  program
    .command('roofline')
    .description('decode step time and critical batch at the datasheet roofline (a bound): a catalog model or your config.json, on catalog or your own hardware')
    .addHelpText(
      'after',
      '\nA configuration whose weights, KV cache and activations exceed a device\'s memory is still priced (the roofline is a\n' +
        'what-if), but the first line says "does not fit: short by X GB per device", and --json carries memory.fits and\n' +
        'memory.shortfallBytes. With a long context the step may stay memory-bound at every batch: criticalBatch is then null.\n' +
        'Where it is finite, --json carries maxBatchThatFits (the most sequences memory holds at the context), and the last\n' +
        'line says when the critical batch lies beyond it (where memory holds none, the first line says so).',
    )
    .option('--model <id|config.json|dir>', MODEL_FLAG_HELP, 'llama-3.1-70b')
    .option('--hardware <id|file.json>', HARDWARE_FLAG_HELP, 'h100-sxm')
    .option('--dtype <dtype>', `weight and activation type: ${DTYPES.join(', ')}`, 'bf16')
    .option('--batch <int>', 'sequences decoded per step', '64')
    .option('--context <int>', 'tokens of KV cache per sequence', '2048')
    .option('--tp <int>', 'tensor-parallel devices (as deploy and simulate name them)', '4')
    // The flag's first name, kept so that older command lines still run; --tp is the one vocabulary.
    .addOption(new Option('--devices <int>', 'tensor-parallel devices (older name of --tp)').hideHelp())
    .action((o: RooflineCliOptions, cmd: Command) => {
      const dtype = checkOneOf('--dtype', o.dtype, DTYPES) as Dtype;
      const batch = intArg('--batch', o.batch, 1, 1 << 20);
      const context = intArg('--context', o.context, 0, 1 << 24);
      const typedTp = cmd.getOptionValueSource('tp') === 'cli';
      if (typedTp && o.devices !== undefined) throw new InputError('--devices', o.devices, 'left out when --tp is given (--devices is the older name of --tp)');
      const flag = o.devices !== undefined ? '--devices' : '--tp';
      const devices = intArg(flag, o.devices ?? o.tp ?? '1', 1, 4096);
      const model = modelFlag(o.model);
      const hw = hardwareFlag(o.hardware);
      // As deploy and simulate: a context past the model's own is no step the model runs.
      checkModelContext(model, context, '--context', context, '--context');
      // The layout checks name the library's fields (parallelism.tp, devices): this command's flag is --tp.
      const seconds = asFlags(() => decodeStepTime(model, hw, { dtype, batch, context, devices }), { devices: flag, 'parallelism.tp': flag, dtype: '--dtype' });
      const critical = decodeCriticalBatch(model, hw, { dtype, context });
      // The roofline prices any configuration; whether it fits is stated first, not refused,
      // so that a what-if beyond one device's memory still reads as one.
      const fit = asFlags(() => memoryFit(model, hw, { precision: dtype, parallelism: { tp: devices }, efficiency: 'spec', launch: 'none' }, { batch, context }), { devices: flag, 'parallelism.tp': flag });
      const gb = (b: number): string => `${(b / 1e9).toFixed(1)} GB`;
      const memory = { fits: fit.fits, weightBytes: fit.weightBytes, kvCacheBytes: fit.kvCacheBytes, activationBytes: fit.activationBytes, totalBytes: fit.totalBytes, capacityBytes: fit.capacityBytes, shortfallBytes: Math.max(0, -fit.headroomBytes) };
      const finite = Number.isFinite(critical);
      const reason = finite ? undefined : noCriticalBatchReason(model, hw, dtype, context);
      // A critical batch memory cannot hold is no batch to aim for: the most that fits comes first.
      const mostThatFits = finite ? asFlags(() => maxBatchThatFits(model, hw, { precision: dtype, parallelism: { tp: devices }, efficiency: 'spec', launch: 'none' }, Math.max(1, context)), { devices: flag, 'parallelism.tp': flag }) : undefined;
      // None at all (the weights alone do not fit) is the first line's to say.
      const beyondMemory = mostThatFits !== undefined && mostThatFits > 0 && critical > mostThatFits;
      const result = {
        model: model.id, hardware: hw.id, figures: 'bound', dtype, batch, context, tp: devices, devices, stepSeconds: seconds, tokensPerSecond: batch / seconds,
        criticalBatch: finite ? critical : null,
        ...(mostThatFits === undefined ? {} : { maxBatchThatFits: mostThatFits }),
        ...(reason === undefined ? {} : { criticalBatchReason: `memory-bound at every batch searched: ${reason}` }),
        memory,
        notes: model.notes ?? [],
      };
      emit(cmd, result, () => [
        ...(fit.fits ? [] : [`does not fit: short by ${gb(memory.shortfallBytes)} per device (${gb(fit.totalBytes)} needed of ${gb(fit.capacityBytes)}: ${gb(fit.weightBytes)} weights + ${gb(fit.kvCacheBytes)} KV cache + ${gb(fit.activationBytes)} activations); the times below assume it did`]),
        `${model.id} on ${hw.name} (${countOf(devices, 'device')}), ${dtype}, batch ${batch}, context ${context}: ${fmtFigure(seconds * 1e3, 4)} ms per decode step, ${fmtFigure(batch / seconds, 4)} output tokens/s in all${devices > 1 ? ` (${fmtFigure(batch / seconds / devices, 4)} per device)` : ''}, ${fmtFigure(1 / seconds, 4)} per user`,
        `this is a bound: the datasheet roofline (every byte at peak bandwidth, every FLOP at peak); \`batchlab deploy\` gives ${deployFigures(hw)}, all slower`,
        reason === undefined
          ? `the step turns compute-bound at batch ${critical}${beyondMemory ? `, beyond memory: at context ${Math.max(1, context)} ${countOf(devices, 'device')} ${devices === 1 ? 'holds' : 'hold'} at most ${mostThatFits} sequences, so memory caps the batch first` : ''}`
          : `the step stays memory-bound at every batch searched: ${reason}`,
        ...modelNoteLines(model, ''),
      ]);
    });
}

// What deploy prints for the device without flags: the default engine's kernel tables where
// they hold it, else the performance model; other frameworks' tables with --framework.
function deployFigures(hw: HardwareSpec): string {
  const model = `${efficiencyModeOf(hw)} figures with kernel efficiencies and launch costs (${efficiencyModeOf(hw) === 'calibrated' ? `${hw.name}'s sourced calibration` : `${hw.name} has no calibration`})`;
  if (tablesPrice({ framework: DEFAULT_SERVING_ENGINE }, hw)) return `figures priced from ${DEFAULT_SERVING_ENGINE}'s measured kernel tables, ${model} with \`--efficiency ${efficiencyModeOf(hw)}\`, and \`--framework\` other frameworks' tables`;
  return `${model}, and \`--framework\` measured kernel tables where they hold the device`;
}

/**
 * Why a decode step has no critical batch, from its compute share at the largest batch
 * searched: with cached tokens, each sequence's KV reads grow with the batch as its FLOPs
 * do, so the share levels off below 1; without, the weights are read once a step and the
 * hardware's ridge lies past any batch searched.
 */
function noCriticalBatchReason(model: ModelSpec, hw: HardwareSpec, dtype: Dtype, context: number): string {
  const most = DECODE_CRITICAL_BATCH_MAX;
  const share = decodeComputeShare(model, hw, { dtype, batch: most, context });
  const at = `at ${most.toLocaleString('en-US')} sequences (the largest batch searched) its FLOPs take ${fmtFigure(share * 100)} % of the time its bytes take`;
  return context > 0 ? `${at}: at context ${context} each sequence's KV reads grow with the batch as its FLOPs do, so more sequences no longer raise that share` : `${at}: with no cached tokens the hardware's ridge lies past any batch a step holds`;
}

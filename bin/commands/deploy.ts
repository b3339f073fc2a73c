import { asFlags, decimalArg, decimalInRange, intArg, seedArg, wantsJson } from './context.js';
import type { Command } from 'commander';
import type { CliIo } from './io.js';
import { DTYPES, DTYPE_BYTES } from '../../lib/core/types.js';
import type { Dtype } from '../../lib/core/types.js';
import { requestPrice } from '../../lib/deployment/cost.js';
import { formatUsd } from '../../lib/util/money.js';
import { HARDWARE_FLAG_HELP, MODEL_FLAG_HELP, PRICE_FLAG_HELP, checkModelContext, fmtFigure, hardwareFlag, modelFlag, modelNoteLines, priceSource } from './inputs.js';
import { loadPromptMix, promptMixStats, scalePromptMix } from '../../lib/attention/prompts.js';
import { deepseekDayReproduction } from '../../lib/deployment/deepseek.js';
import { checkPrecision } from '../../lib/deployment/layout.js';
import { loadLocalSetup, loadLocalSetupFile, localDecode, withSetupOverrides } from '../../lib/deployment/local.js';
import type { LocalSetupOverrides } from '../../lib/deployment/local.js';
import { decodePerformance, maxSequencesThatFit, prefillPerformance } from '../../lib/deployment/pool.js';
import type { DecodePerformance, PrefillPerformance } from '../../lib/deployment/pool.js';
import { layoutPresetMemoryFraction, simulateDeployment } from '../../lib/deployment/serve.js';
import { describeBacklog } from '../../lib/batching/describe.js';
import type { ServingBacklog } from '../../lib/batching/benchmark.js';
import { perfDeviceStepModel } from '../../lib/deployment/perf.js';
import { prefillFromMix } from '../../lib/deployment/deployment.js';
import { EFFICIENCY_MODES, efficiencyModeOf, fp8ScalingOf } from '../../lib/roofline/deployment.js';
import type { EfficiencyMode } from '../../lib/roofline/deployment.js';
import type { DeviceStepModel, PoolLayout } from '../../lib/deployment/types.js';
import { InputError, described } from '../../lib/util/errors.js';
import { checkOneOf } from '../../lib/util/validate.js';
import { DEFAULT_SERVING_ENGINE, SERVING_ENGINES, describeEnginePreset, engineDevice, servingEnginePreset, type ServingEnginePreset } from '../../lib/batching/engines.js';
import { FP8_SCALING_FLAG_HELP, FRAMEWORK_FLAG_HELP, calibrationAsPrecision, engineKernelOptions, figuresKind, fp8TableText, kernelUsageLines, tablesPrice, efficiencyText } from './kernels.js';
import { defaultKernelDb, kernelFrameworksOf } from '../../lib/kernels/index.js';
import { eplbNote } from '../../lib/roofline/kernel-step.js';
import { ROUTING_SAMPLE_MAX_TOKENS } from '../../lib/roofline/routing.js';
import { COMPUTE_FLAG_HELP, KV_CACHE_FLAG_HELP, kvCacheArg, withCompute, withKvCache } from './precision.js';

interface DeployOptions {
  /** The command's own flags the user typed (long names), so a flag the chosen mode does not read is refused, not ignored. */
  typed?: string[];
  deepseekDay?: boolean;
  local?: string;
  setup?: string;
  memory?: string;
  bandwidth?: string;
  hostMemory?: string;
  hostBandwidth?: string;
  linkBandwidth?: string;
  sockets?: string;
  runtime?: string;
  bound?: boolean;
  bits: string;
  model: string;
  hardware: string;
  tp: string;
  dp: string;
  pp: string;
  ep: string;
  redundant: string;
  gpusPerNode: string;
  overlap?: boolean;
  eplb?: boolean;
  precision: string;
  batch: string;
  context: string;
  prompt: string;
  cacheHit: string;
  promptMix?: string;
  prefillTokens: string;
  drafts: string;
  acceptance: string;
  simulate?: boolean;
  engine?: string;
  rate?: string;
  output: string;
  requests: string;
  seed: string;
  efficiency?: string;
  usdPerHour?: string;
  framework?: string;
  kernelDb?: string;
  fp8Scaling?: string;
  kvCache?: string;
  compute?: string;
  json?: boolean;
}

function precisionArg(raw: string): ReturnType<typeof checkPrecision> {
  const parts = raw.split(',').map((s) => s.trim());
  const d = parts.map((p, i) => checkOneOf(`--precision[${i}]`, p, DTYPES)) as Dtype[];
  if (d.length === 1) return checkPrecision({ weights: d[0], attention: d[0], dispatch: d[0], combine: d[0] });
  if (d.length !== 4) throw new InputError('--precision', raw, 'one dtype, or four: weights,attention,dispatch,combine (the KV cache has its own flag, --kv-cache)');
  return checkPrecision({ weights: d[0], attention: d[1], dispatch: d[2], combine: d[3] });
}

const fmt = fmtFigure;
const gb = (bytes: number): string => `${fmt(bytes / 1e9)} GB`;

/** A published-vs-predicted value in its unit: dollars with a $, the margin in percent as DeepSeek published it. */
function inUnit(v: number, unit: string): string {
  if (unit === 'USD') return formatUsd(v);
  if (unit === '%') return `${v.toFixed(0)} %`;
  return fmt(v);
}

// Library fields fed one-to-one by a flag, so a refusal names what the user typed.
const LAYOUT_FLAGS: Record<string, string> = {
  'layout.gpusPerNode': '--gpus-per-node',
  'layout.tensorParallel': '--tp',
  'layout.dataParallelAttention': '--dp',
  'layout.pipelineParallel': '--pp',
  'layout.expertParallel': '--ep',
  'layout.redundantExperts': '--redundant',
  // The roofline's own names for the same layout (resolve checks heads against parallelism.tp).
  'parallelism.tp': '--tp',
  'parallelism.dp': '--dp',
  'parallelism.pp': '--pp',
  'parallelism.ep': '--ep',
};
const LAYOUT_WORDS: Record<string, string> = { tensorParallel: '--tp', dataParallelAttention: '--dp', pipelineParallel: '--pp', expertParallel: '--ep' };

const MAX_BATCH = 1 << 16;
const MAX_TOKENS = 1 << 24;

function deepseekDay(o: DeployOptions, io: CliIo): void {
  const r = deepseekDayReproduction();
  if (o.json) {
    io.out(JSON.stringify({ stepModel: r.stepModel, arithmetic: r.arithmetic, rows: r.rows }, null, 2));
    return;
  }
  io.out(`DeepSeek-V3/R1 published day vs ${r.stepModel}`);
  io.out(`arithmetic: ${inUnit(r.arithmetic.dailyCostUsd, 'USD')} per day, revenue ${inUnit(r.arithmetic.revenueUsd, 'USD')}, margin ${inUnit(100 * r.arithmetic.margin, '%')}`);
  for (const row of r.rows) {
    const bound = row.bound === undefined ? '-' : inUnit(row.bound, row.unit);
    io.out(`  ${row.figure}: published ${inUnit(row.published, row.unit)}, predicted ${inUnit(row.predicted, row.unit)} (${row.ratio.toFixed(2)}×${row.within25 ? '' : ', outside ±25 %'}), datasheet bound ${bound}`);
  }
}

// --local/--setup flags that replace a setup's numbers: flag, field, unit, and the range a
// machine can have (a sanity range, not a constant of any device: 1 MB/s to 100 TB/s,
// up to 100 TB of memory), so that 1e-300 or 1e290 is refused rather than printed.
const SETUP_FLAGS: Array<[keyof DeployOptions, keyof LocalSetupOverrides, number, { min: number; exclusiveMin?: boolean; max: number }]> = [
  ['memory', 'memoryBytes', 1e9, { min: 0, exclusiveMin: true, max: 1e5 }],
  ['bandwidth', 'memoryBytesPerSecond', 1e9, { min: 1e-3, max: 1e5 }],
  ['hostMemory', 'hostMemoryBytes', 1e9, { min: 0, max: 1e5 }],
  ['hostBandwidth', 'hostBytesPerSecond', 1e9, { min: 1e-3, max: 1e5 }],
  ['linkBandwidth', 'hostLinkBytesPerSecond', 1e9, { min: 1e-3, max: 1e5 }],
  // The same flag that replaces a device's price replaces a setup's amortised cost.
  ['usdPerHour', 'hourlyCostUsd', 1, { min: 0, max: 1e6 }],
];
const flagName = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function localCommand(o: DeployOptions, io: CliIo): void {
  const model = modelFlag(o.model);
  if (o.local !== undefined && o.setup !== undefined) throw new InputError('--local/--setup', described(`${o.local}, ${o.setup}`), 'one of them: a catalog setup id or a setup file');
  let setup = o.setup !== undefined ? asFlags(() => loadLocalSetupFile(o.setup!), { 'setup file': '--setup' }) : asFlags(() => loadLocalSetup(o.local!), { 'local setup id': '--local' });
  const over: LocalSetupOverrides = {};
  for (const [flag, field, unit, range] of SETUP_FLAGS) {
    const raw = o[flag];
    if (typeof raw === 'string') over[field] = decimalInRange(flagName(flag), raw, range) * unit;
  }
  if (o.sockets !== undefined) over.sockets = intArg('--sockets', o.sockets, 1, 8);
  setup = withSetupOverrides(setup, over, 'given on the command line');
  const bitsPerWeight = decimalInRange('--bits', o.bits, { min: 0, exclusiveMin: true, max: 32 });
  const context = intArg('--context', o.context, 0, MAX_TOKENS);
  checkModelContext(model, context, '--context', context, '--context');
  const batch = intArg('--batch', o.batch, 1, MAX_BATCH);
  // A bound takes the datasheet's figures: a runtime's calibration would be read by no figure.
  if (o.bound && o.runtime !== undefined) throw new InputError('--runtime', o.runtime, 'left out with --bound (the bound uses no runtime calibration)');
  const run = asFlags(
    () => localDecode(model, setup, { bitsPerWeight, context, batch, calibration: o.bound ? 'bound' : 'calibrated', runtime: o.runtime }),
    { bitsPerWeight: '--bits', context: '--context', batch: '--batch', runtime: '--runtime' },
  );
  if (o.json) {
    io.out(JSON.stringify(run, null, 2));
    return;
  }
  io.out(`${model.id} on ${setup.name}, ${bitsPerWeight} bits per weight, batch ${run.batch}, context ${context}`);
  io.out(`  runtimes: device ${run.runtimes.device ?? 'none (bound)'}${run.runtimes.host ? `, host CPU ${run.runtimes.host}` : ''}; ${run.numa}`);
  // A figure given on the command line is named as such wherever a number rests on it: a
  // factor calibrated against one device's datasheet, applied to the user's figure, is not
  // that device's calibrated figure any more.
  const flagsOf = (given: readonly string[] | undefined): string[] => (given ?? []).map((f) => flagName(SETUP_FLAGS.find(([, field]) => field === f)![0]));
  // A bound over a given figure is still a bound: the figure joins the datasheet's, not a calibration.
  const label = (c: string, given: readonly string[] | undefined, on = ''): string =>
    c === 'bound'
      ? `bound (${given?.length ? `${flagsOf(given).join(' and ')} as given on the command line and ` : ''}datasheet figures: an upper limit on speed)`
      : `${c}${on}${given?.length ? `; over ${flagsOf(given).join(' and ')} as given on the command line` : ''}`;
  for (const t of run.tiers) {
    const base = t.given?.length ? flagsOf(t.given).join(' and ') : 'datasheet';
    const factor = t.bandwidthFactor === 1 && t.factorSource.startsWith('bound') ? `${base}, bound` : `${t.bandwidthFactor} × ${base}, ${t.given?.length ? 'a factor ' : ''}calibrated${t.factorMeasuredOn ? ` on ${measuredOnText(t.factorMeasuredOn, t.factorOnThisDevice)}` : ''}`;
    io.out(`  ${t.tier}: ${fmt(t.weightBytes / 1e9)} GB weights, ${fmt(t.bytesPerStep / 1e9)} GB read per step at ${fmt(t.bytesPerSecond / 1e9)} GB/s (${factor}) = ${fmt(t.seconds * 1e3)} ms, ${t.limitedBy}-limited`);
  }
  const decodeGiven = [...new Set(run.tiers.flatMap((t) => t.given ?? []))];
  io.out(`  decode: ${fmt(run.tokensPerSecondPerUser)} tok/s per user, ${fmt(run.tokensPerSecond)} tok/s in all [${label(run.calibration, decodeGiven)}]; ${formatUsd(run.usdPerMillionOutput)} per million output tokens`);
  const on = run.prefillFactorMeasuredOn;
  io.out(`  prefill: ${fmt(run.prefillTokensPerSecond)} prompt tok/s [${label(run.prefillCalibration, run.prefillGiven, on ? ` on ${measuredOnText(on.device, on.onThisDevice)}` : '')}]`);
  if (run.sources.length) {
    io.out('  sources:');
    for (const src of run.sources) io.out(`    - ${src}`);
  }
  for (const line of modelNoteLines(model)) io.out(line);
}

/** Where a runtime factor was measured, and whether that is this tier's device model (undefined: not known, a host CPU). */
function measuredOnText(device: string, onThisDevice: boolean | undefined): string {
  return onThisDevice === undefined ? device : onThisDevice ? `${device}, as here` : `${device}, not this device`;
}

/**
 * The refusal of a decode batch that does not fit: one line naming the flags and the
 * largest batch that would fit (or the layout flags when the weights alone do not).
 */
function memoryRefusal(step: DeviceStepModel, decode: DecodePerformance, batch: number, pp: number, context: number): { error: InputError; reason: string } {
  const m = decode.memory;
  const parts = `weights ${gb(m.weightBytes)} + KV ${gb(m.kvBytes)} + activations ${gb(m.activationBytes)} = ${gb(m.needBytes)} of ${gb(m.capacityBytes)} per device: short by ${gb(m.shortfallBytes)}`;
  const most = Math.floor(maxSequencesThatFit(step, context) / pp);
  if (most >= 1) {
    const reason = `does not fit in memory at --batch ${batch}, --context ${context}: ${parts}`;
    return { reason, error: new InputError('--batch', batch, `an integer in [1, ${most}] for this layout and --context ${context} (KV caches and activations beside the weights)`, parts) };
  }
  const reason = `${m.weightBytes > m.capacityBytes ? 'the weights alone do not fit in memory' : `not even one sequence per rank fits beside the weights${pp > 1 ? ` (${pp} in flight with --pp ${pp})` : ''}`}: ${parts}`;
  return { reason, error: new InputError('--tp/--pp/--ep/--precision', described(`${gb(m.weightBytes)} of weights per device`), `a layout whose weights and one sequence fit in ${gb(m.capacityBytes)} per device (raise --tp, --pp or --ep, or lower --precision or --kv-cache)`, parts) };
}

// The flags each mode reads beyond its own switch: a typed flag the mode does not read is refused.
const LOCAL_FLAGS = ['--model', '--memory', '--bandwidth', '--host-memory', '--host-bandwidth', '--link-bandwidth', '--usd-per-hour', '--sockets', '--bits', '--context', '--batch', '--bound', '--runtime'];
const SIMULATE_FLAGS = ['--engine', '--rate', '--requests', '--seed'];

/**
 * Refuses a typed flag the chosen mode would ignore: any with --deepseek-day (the day fixes
 * its model, layout, load and prices), the pool's with --local or --setup, the local
 * setups' without them, and the simulator's without --simulate.
 */
function refuseUnread(o: DeployOptions, fixed: string | undefined): void {
  const typed = o.typed ?? [];
  const value = (flag: string): unknown => o[flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof DeployOptions];
  const refuse = (flag: string | undefined, allowed: string): void => {
    if (flag !== undefined) throw new InputError(flag, value(flag), allowed);
  };
  if (fixed === '--deepseek-day') return refuse(typed.find((f) => f !== '--deepseek-day'), "left out with --deepseek-day (DeepSeek's published day fixes its model, layout, load and prices)");
  if (fixed !== undefined) return refuse(typed.find((f) => f !== '--local' && f !== '--setup' && !LOCAL_FLAGS.includes(f)), `left out with ${fixed} (a local setup reads only ${LOCAL_FLAGS.join(', ')})`);
  refuse(typed.find((f) => LOCAL_FLAGS.includes(f) && !['--model', '--usd-per-hour', '--context', '--batch'].includes(f)), 'given with --local or --setup (it describes a local setup)');
  if (!o.simulate) refuse(typed.find((f) => SIMULATE_FLAGS.includes(f)), 'given with --simulate (it sets up the serving simulation)');
  if (typed.includes('--acceptance') && (!typed.includes('--drafts') || Number(o.drafts) === 0)) refuse('--acceptance', 'given with --drafts of 1 or more (it is the acceptance rate of each draft token)');
}

function deployCommand(o: DeployOptions, io: CliIo): void {
  // --bits has a default and applies to --local only; it is checked whichever path runs.
  decimalInRange('--bits', o.bits, { min: 0, exclusiveMin: true, max: 32 });
  const kvCache = kvCacheArg(o.kvCache);
  // DeepSeek's day has its published precision; a local setup prices its KV cache in bf16.
  const fixed = o.deepseekDay ? '--deepseek-day' : o.local !== undefined ? '--local' : o.setup !== undefined ? '--setup' : undefined;
  refuseUnread(o, fixed);
  if (o.deepseekDay) return deepseekDay(o, io);
  if (o.local !== undefined || o.setup !== undefined) return localCommand(o, io);
  const model = modelFlag(o.model);
  const hw = hardwareFlag(o.hardware, o.usdPerHour);
  const layout: PoolLayout = {
    gpusPerNode: intArg('--gpus-per-node', o.gpusPerNode, 1, 1024),
    tensorParallel: intArg('--tp', o.tp, 1, 1024),
    dataParallelAttention: intArg('--dp', o.dp, 1, 65536),
    pipelineParallel: intArg('--pp', o.pp, 1, model.numLayers),
    expertParallel: intArg('--ep', o.ep, 1, 65536),
    redundantExperts: intArg('--redundant', o.redundant, 0, 1 << 20),
    microBatchOverlap: o.overlap === true,
  };
  const efficiency = o.efficiency === undefined ? undefined : (checkOneOf('--efficiency', o.efficiency, EFFICIENCY_MODES) as EfficiencyMode);
  const precision = withCompute(withKvCache(precisionArg(o.precision), kvCache), o.compute);
  const batch = intArg('--batch', o.batch, 1, MAX_BATCH);
  const context = intArg('--context', o.context, 0, MAX_TOKENS);
  const prefillTokens = intArg('--prefill-tokens', o.prefillTokens, 1, MAX_TOKENS);
  // A hit fraction of 1 would leave no token to compute; the library prices at least one.
  const hit = decimalInRange('--cache-hit', o.cacheHit, { min: 0, max: 1, exclusiveMax: true });
  const prompt = intArg('--prompt', o.prompt, 1, MAX_TOKENS);
  checkModelContext(model, context, '--context', context, '--context');
  checkModelContext(model, prompt + intArg('--output', o.output, 1, 1 << 22), '--prompt', prompt, `--prompt + --output ${o.output}`);
  const cached = Math.floor(prompt * hit);
  const uncached = prompt - cached;
  if (uncached > prefillTokens) {
    // The flag the user typed is the one to change: a --prefill-tokens below the default
    // prompt's uncached tokens is refused by name, not blamed on a --prompt never given.
    const typed = o.typed ?? [];
    if (typed.includes('--prefill-tokens') && !typed.includes('--prompt')) {
      throw new InputError('--prefill-tokens', prefillTokens, `an integer in [${uncached}, ${MAX_TOKENS}]: one prefill step holds a whole prompt's uncached tokens, ${uncached} of --prompt ${prompt} (its default) after --cache-hit ${hit}; or lower --prompt`);
    }
    // The longest prompt whose uncached part fits in one prefill step.
    let most = Math.min(MAX_TOKENS, Math.floor(prefillTokens / (1 - hit)));
    while (most > 1 && most - Math.floor(most * hit) > prefillTokens) most--;
    throw new InputError('--prompt', prompt, `an integer in [1, ${most}]: its uncached tokens after --cache-hit ${hit} must fit in one prefill step of --prefill-tokens ${prefillTokens}`, `${uncached} uncached`);
  }
  const drafts = intArg('--drafts', o.drafts, 0, 16);
  const speculative = drafts > 0 ? { draftTokens: drafts, acceptance: decimalInRange('--acceptance', o.acceptance, { min: 0, max: 1 }) } : undefined;
  let sim: { rate: number; output: number; requests: number; seed: number; engine?: ServingEnginePreset } | undefined;
  if (o.simulate) {
    if (o.rate === undefined) throw new InputError('--rate', undefined, 'given with --simulate: requests per second per rank, a number in (0, 1000000]');
    sim = {
      rate: decimalInRange('--rate', o.rate, { min: 0, exclusiveMin: true, max: 1e6 }),
      output: intArg('--output', o.output, 1, 1 << 22),
      requests: intArg('--requests', o.requests, 1, 1_000_000),
      seed: seedArg(o.seed),
      ...(o.engine === undefined ? {} : { engine: servingEnginePreset(checkOneOf('--engine', o.engine, SERVING_ENGINES), engineDevice(hw, layout.tensorParallel)) }),
    };
  }
  // As in simulate: steps are priced from the engine's own kernel tables (the default engine's
  // without --engine, so that deploy and simulate agree) unless --framework or --efficiency
  // says otherwise, and where the database holds none of its tables for the device, by the
  // performance model (the label names what priced them).
  const { kernels, missing } = engineKernelOptions(o, hw, sim?.engine?.engine ?? DEFAULT_SERVING_ENGINE);
  // The scaling picks an FP8 GEMM table: with no FP8 weights there is none to pick, and the flag would change nothing.
  if (kernels.fp8Scaling !== undefined && precision.weights !== 'fp8') throw new InputError('--fp8-scaling', kernels.fp8Scaling, `left out with --precision ${o.precision ?? 'bf16'}: it picks the FP8 GEMM table, and these weights are ${precision.weights}`);
  if (!o.eplb && layout.redundantExperts > 0) throw new InputError('--redundant', layout.redundantExperts, '0 without --eplb: redundant copies are EPLB\'s (give --eplb to balance the experts over them)');
  if (o.eplb && !model.moe) throw new InputError('--eplb', true, `left out for ${model.id}: a dense model has no routed experts to balance`);
  if (o.eplb && layout.expertParallel === 1) throw new InputError('--eplb', true, 'left out at --ep 1: EPLB balances routed experts over expert-parallel devices (give --ep in [2, 65536])');
  if (o.eplb) {
    // The placement model draws the routing of each priced step's tokens over every attention rank.
    const dp = layout.dataParallelAttention;
    const most = Math.floor(ROUTING_SAMPLE_MAX_TOKENS / dp);
    if (prefillTokens > most) throw new InputError('--prefill-tokens', prefillTokens, `an integer in [1, ${most}] with --eplb: the placement model samples the routing of --prefill-tokens × --dp ${dp} tokens, at most ${ROUTING_SAMPLE_MAX_TOKENS}`);
    const perSequence = 1 + (speculative?.draftTokens ?? 0);
    if (batch * perSequence > most) throw new InputError('--batch', batch, `an integer in [1, ${Math.floor(most / perSequence)}] with --eplb: the placement model samples the routing of --batch × ${perSequence} tokens × --dp ${dp}, at most ${ROUTING_SAMPLE_MAX_TOKENS}`);
  }
  const routing = o.eplb ? { expertRouting: 'eplb' as const } : {};
  let step: ReturnType<typeof perfDeviceStepModel>;
  try {
    step = asFlags(() => perfDeviceStepModel(model, hw, layout, precision, { efficiency, ...kernels, ...routing }), { ...LAYOUT_FLAGS, framework: '--framework', fp8Scaling: '--fp8-scaling', dtype: '--precision', efficiency: '--efficiency' }, LAYOUT_WORDS);
  } catch (e) {
    // A narrow weight dtype the device has no math for can still be stored and widened in the kernel: say how.
    if (e instanceof InputError && e.field === '--precision' && e.value === precision.weights && o.compute === undefined && DTYPE_BYTES[precision.weights] < 2) {
      const how = DTYPE_BYTES[precision.attention] < 2 ? `give --precision ${precision.weights},bf16,bf16,bf16 --compute bf16` : 'add --compute bf16';
      throw new InputError('--precision', precision.weights, e.allowed, `${e.detail ?? ''}; to store ${precision.weights} weights and compute in bf16, as weight-only quantization runs, ${how}`.replace(/^; /, ''));
    }
    throw calibrationAsPrecision(e, o.precision ?? 'bf16', hw);
  }
  // The engine preset's own tables were asked for and the database has none for the device: the label says so.
  const stepLabel = missing ? `${step.label}; ${missing}` : step.label;
  const decode = decodePerformance(step, layout, { sequencesPerRank: batch, context, speculative });
  if (!decode.memory.fits) {
    const refusal = memoryRefusal(step, decode, batch, layout.pipelineParallel, context);
    if (o.json) io.out(JSON.stringify({ stepModel: stepLabel, fits: false, reason: refusal.reason, memory: decode.memory }, null, 2));
    throw refusal.error;
  }
  let prefill: PrefillPerformance;
  // The prompt spread prefill was priced over, where --prompt-mix set one: said beside the prefill figures.
  const mixText = o.promptMix === undefined ? '' : `; prompts spread as the ${o.promptMix} mix (data/traces), scaled to a mean of ${prompt.toLocaleString('en-US')} tokens`;
  if (o.promptMix === undefined) prefill = prefillPerformance(step, layout, { tokensPerRank: prefillTokens, promptTokens: uncached, cachedTokens: cached });
  else {
    const name = o.promptMix;
    const mix = asFlags(() => promptMixStats(scalePromptMix(loadPromptMix(name), { meanPromptTokens: prompt, cacheHitFraction: hit })), { promptMix: '--prompt-mix', cacheHitFraction: '--cache-hit' });
    prefill = prefillFromMix(step, { layout, tokensPerRank: prefillTokens }, mix);
  }
  if (!prefill.memory.fits) {
    // The prompts one prefill step holds keep their KV caches until they decode: they must fit as a decode batch must.
    const prompts = Math.max(1, Math.round(prefillTokens / prefill.promptTokens));
    const most = maxSequencesThatFit(step, Math.ceil(prefill.promptTokens + prefill.cachedTokens));
    throw new InputError('--prefill-tokens', prefillTokens, most < 1 ? 'smaller: not one prompt\'s KV cache fits beside the weights' : `at most about ${Math.floor(most * prefill.promptTokens).toLocaleString('en-US')}: its ${prompts.toLocaleString('en-US')} prompts of ${Math.round(prefill.promptTokens + prefill.cachedTokens).toLocaleString('en-US')} tokens need ${gb(prefill.memory.needBytes)} per device, of ${gb(prefill.memory.capacityBytes)}, and ${most.toLocaleString('en-US')} fit`);
  }
  const price = hw.hourlyPriceUsd;
  const output = intArg('--output', o.output, 1, 1 << 22);
  // The pricing search uses too: a request's prefill (its uncached prompt at the prefill
  // rate) and decode (--output tokens at the decode rate) in device-seconds, times the price.
  const cost = requestPrice({
    promptTokens: prompt,
    computedPromptTokens: uncached,
    outputTokens: output,
    prefillTokensPerSecondPerDevice: prefill.computedTokensPerSecondPerDevice,
    decodeTokensPerSecondPerDevice: decode.tokensPerSecondPerDevice,
    usdPerDeviceHour: price,
  });
  const mode = efficiencyModeOf(hw, efficiency);
  // One decode step at the flags' batch and context, for the rows that priced it.
  // The step the TPOT is priced from: with --drafts it verifies 1 + drafts tokens per sequence.
  const decodeStep = kernels.framework === undefined ? undefined : decode.step;
  // Measured rows need not rise with the batch (SGLang's h100 GEMM rows: batch 2 below batch 1):
  // a larger batch priced below one sequence is stated, so that it does not read as a saving.
  const loneStep = decodeStep && batch > 1 ? step.step({ prefillTokens: 0, decodeSequences: 1, decodeContext: context, decodeTokensPerSequence: 1 + (speculative?.draftTokens ?? 0) }) : undefined;
  const belowLone = loneStep && decodeStep && loneStep.seconds > decodeStep.seconds ? { batchOneStepSeconds: loneStep.seconds } : undefined;
  // Without --framework on a device the shipped tables hold, say so: the tables and this model
  // can differ several times over at small batches. Only the database's index is read (pricing
  // from every framework's tables here took four times as long and four times the memory).
  // The frameworks whose tables in the database this run reads (--kernel-db's, else the shipped one) hold the device.
  const tablesHeld = !tablesPrice(kernels, hw) && mode !== 'spec' ? kernelFrameworksOf(kernels.kernelDb ?? defaultKernelDb(), hw) : [];
  // --overlap splits each step into two micro-batches: every weight is read twice and every collective pays its
  // latency twice, which hides communication only where there is more of it than that adds (expert all-to-alls).
  const overlapCost = layout.microBatchOverlap
    ? decode.tpotSeconds / decodePerformance(perfDeviceStepModel(model, hw, { ...layout, microBatchOverlap: false }, precision, { efficiency, ...kernels, ...routing }), layout, { sequencesPerRank: batch, context, speculative }).tpotSeconds
    : undefined;
  const dbName = kernels.kernelDb ? '--kernel-db' : 'data/kernels';
  const out: Record<string, unknown> = {
    stepModel: stepLabel,
    figures: figuresKind(tablesPrice(kernels, hw), mode),
    fits: true,
    decode,
    prefill,
    usdPerDeviceHour: price,
    usdPerMillionOutput: price > 0 ? cost.usdPerMillionOutputDecode : null,
    usdPerMillionInput: price > 0 ? cost.usdPerMillionInputPrefill : null,
    usdPerMillionOutputAllIn: price > 0 ? cost.usdPerMillionOutput : null,
    notes: model.notes ?? [],
    ...(decodeStep ? { decodeStepKernels: decodeStep.kernels ?? [], ...(decodeStep.fromTables ? { decodeStepFromTables: decodeStep.fromTables } : {}) } : {}),
    ...(belowLone ? { decodeStepBelowBatchOne: belowLone } : {}),
    ...(tablesHeld.length ? { kernelTablesHeld: tablesHeld } : {}),
    ...(overlapCost === undefined ? {} : { tpotOverWithoutOverlap: overlapCost }),
    ...(o.promptMix === undefined ? {} : { promptMix: { name: o.promptMix, meanPromptTokens: prompt, cacheHitFraction: hit } }),
  };
  if (sim) {
    // Under an engine preset the rank's KV cache is what the preset's memory rule leaves
    // beside the weights (layoutPresetMemoryFraction), not batchlab's default share of memory.
    const memoryFraction = sim.engine ? layoutPresetMemoryFraction(sim.engine, model, hw, layout, precision) : undefined;
    const simStep = memoryFraction === undefined ? step : perfDeviceStepModel(model, hw, layout, precision, { efficiency, ...kernels, ...routing, memoryFraction });
    const how = sim;
    const s = asFlags(
      () =>
        simulateDeployment(
          simStep,
          { ratePerSecond: how.rate, promptTokens: { kind: 'fixed', tokens: uncached }, outputTokens: { kind: 'fixed', tokens: how.output }, maxBatch: batch, requests: how.requests, engine: how.engine, pipelineStages: layout.pipelineParallel },
          how.seed,
        ),
      { requests: '--requests', ratePerSecond: '--rate' },
    );
    const { result: _r, ...rest } = s;
    out.simulated = { ...rest, latencyUnit: 'seconds', scheduler: sim.engine ? describeEnginePreset(sim.engine) : `continuous batching, batch ≤ ${batch}`, ...(memoryFraction === undefined ? {} : { memoryFraction }) };
  }
  if (o.json) {
    io.out(JSON.stringify(out, null, 2));
    return;
  }
  io.out(`${model.id} on ${hw.name}: ${stepLabel}`);
  io.out(
    tablesPrice(kernels, hw)
      ? `  these figures are priced from measured kernel tables (interpolated between their rows) where a table holds the op, and ${efficiencyText(mode)} elsewhere (the rows below say which)${mode === 'spec' ? '' : '; `batchlab roofline` gives the datasheet bound, which is faster'}`
      : mode === 'spec'
        ? '  these are bounds: the datasheet roofline, every kernel at peak (no efficiency loss, launch or link latency)'
        : `  these are ${mode} figures: kernels at the hardware's ${mode === 'calibrated' ? 'sourced calibration' : 'typical'} efficiencies with launch and link costs; \`batchlab roofline\` gives the datasheet bound, which is faster`,
  );
  io.out(`  memory per device: weights ${gb(decode.memory.weightBytes)} + KV ${gb(decode.memory.kvBytes)} of ${gb(decode.memory.capacityBytes)} (fits)`);
  io.out(`  decode: ${fmt(decode.tokensPerSecondPerDevice)} output tok/s per device, ${fmt(decode.tokensPerSecondPerUser)} tok/s per user (TPOT ${fmt(decode.tpotSeconds * 1e3)} ms)`);
  if (overlapCost !== undefined && overlapCost > 1.005) {
    io.out(`  --overlap makes this TPOT ${fmt((overlapCost - 1) * 100)} % longer than without it: two micro-batches read every weight twice and pay every collective's latency twice, more than the communication they hide here`);
  }
  if (tablesHeld.length) {
    io.out(`  measured kernel tables in ${dbName} hold ${hw.id} (${tablesHeld.join(', ')}): --framework <name> prices this step from them, an op they lack from this model; at small batches the two can differ several times over`);
  }
  if (decodeStep) {
    const fp8 = precision.weights === 'fp8' && tablesPrice(kernels, hw) ? ` (FP8 GEMMs, ${fp8TableText(fp8ScalingOf(model, kernels.fp8Scaling))})` : '';
    const share = decodeStep.fromTables && decodeStep.fromTables.opSeconds > 0 ? `; ${fmt((100 * decodeStep.fromTables.tableSeconds) / decodeStep.fromTables.opSeconds)} % of its kernel and collective time, before overlap, from table rows` : '';
    const verify = speculative ? `, verifying ${1 + speculative.draftTokens} tokens per sequence of which ${fmt(decode.tokensPerStep)} are kept on average` : '';
    io.out(`  inter-token latency ${fmt(decode.tpotSeconds * 1e3)} ms at batch ${batch}; one decode step (${fmt(decodeStep.seconds * 1e3)} ms${verify}${share}) priced by${fp8}:`);
    for (const line of kernelUsageLines(decodeStep.kernels ?? [])) io.out(`    ${line}`);
    if (belowLone) {
      const below = (1 - decodeStep.seconds / belowLone.batchOneStepSeconds) * 100;
      io.out(`    the measured rows price this step ${fmt(below)} % below one sequence's (${fmt(belowLone.batchOneStepSeconds * 1e3)} ms at batch 1); more sequences cannot make a step cheaper, so read this as the tables' row-to-row variation, not a saving from batching`);
    }
  }
  io.out(`  prefill: ${fmt(prefill.inputTokensPerSecondPerDevice)} input tok/s per device (cache hits counted${mixText}), step ${fmt(prefill.ttftSeconds * 1e3)} ms`);
  // The load factor each figure was priced at: a bound on EPLB's balance (uniform routing; real routing is skewed).
  for (const [phase, load] of [['decode', decode.step.expertLoad], ['prefill', prefill.step.expertLoad]] as const) {
    if (load) io.out(`  ${phase} ${eplbNote(model, layout.expertParallel, load, 'model')}: the most balanced EPLB gets (uniform routing; real routing is skewed)`);
  }
  if (price > 0) {
    io.out(`  at ${formatUsd(price)} per device-hour (${priceSource(hw)}), every slot busy: ${formatUsd(cost.usdPerMillionOutputDecode)} per million output tokens (decode) and ${formatUsd(cost.usdPerMillionInputPrefill)} per million input tokens (prefill)`);
    io.out(`  all-in, a ${prompt}-token prompt and ${output} output tokens: ${formatUsd(cost.usdPerMillionOutput)} per million output tokens (what \`batchlab search\` prices at full batch)`);
  } else if (hw.sources.hourlyPriceUsd?.source === 'given by the user') io.out(`  at $0 per device-hour (${priceSource(hw)}): no money figures`);
  else io.out(`  no hourly price (${priceSource(hw)}): give one with --usd-per-hour`);
  for (const line of modelNoteLines(model)) io.out(line);
  if (out.simulated) {
    const s = out.simulated as { ttftP50: number; ttftP99: number; tpotP50: number | null; tpotP99: number | null; scheduler: string; memoryFraction?: number; backlog: ServingBacklog | null };
    const kv = s.memoryFraction === undefined ? '' : `; weights and KV cache in ${+(s.memoryFraction * 100).toFixed(2)} % of each device's memory, the preset's rule`;
    const tpot = s.tpotP50 === null || s.tpotP99 === null ? 'no TPOT (one output token per request: nothing after the first)' : `TPOT p50 ${fmt(s.tpotP50 * 1e3)} ms, p99 ${fmt(s.tpotP99 * 1e3)} ms`;
    io.out(`  simulated (${s.scheduler}${kv}): TTFT p50 ${fmt(s.ttftP50 * 1e3)} ms, p99 ${fmt(s.ttftP99 * 1e3)} ms; ${tpot}`);
    if (s.backlog?.growing) io.out(`  ${describeBacklog(s.backlog, 'the rank serves less than --rate offers it (requests per second per rank): lower --rate, or spread the load over more ranks')}`);
  }
}

/**
 * `batchlab deploy`: one deployment's throughput, latency, memory and cost; a local
 * setup (`--local`); or DeepSeek's published day beside the prediction (`--deepseek-day`).
 */
export function register(program: Command, io: CliIo): void {
  program
    .command('deploy')
    .description('price one deployment: tokens/s per device and per user, memory fit, $ per million tokens')
    .addHelpText(
      'after',
      '\nThe defaults describe Llama-3.1-70B in bf16 on 4 H100 SXM (--tp 4) decoding 64 sequences of 2048 tokens per rank:\n' +
        '35 GB of weights and 11 GB of KV cache per 80 GiB (85.9 GB) device. A batch or layout that does not fit in memory is refused\n' +
        '(exit code 2) with the shortfall and the largest --batch that fits; with --json the refusal is also printed as\n' +
        '{ "fits": false, "reason": ... }.',
    )
    .option('--deepseek-day', "DeepSeek's published day (Feb 2025) beside the model's prediction")
    .option('--local <setup>', 'a local setup (data/deployment/local-setups.json), e.g. rtx-4090-desktop')
    .option('--setup <file.json>', 'your own local setup (schema: docs/local-setup.md)')
    .option('--memory <GB>', 'with --local/--setup: device memory per device, GB')
    .option('--bandwidth <GB/s>', 'with --local/--setup: device memory bandwidth, GB/s')
    .option('--host-memory <GB>', 'with --local/--setup: host memory for offloaded weights, GB')
    .option('--host-bandwidth <GB/s>', 'with --local/--setup: host memory bandwidth of one socket, GB/s')
    .option('--link-bandwidth <GB/s>', 'with --local/--setup: host-to-device link, GB/s')
    .option('--sockets <n>', 'with --local/--setup: CPU sockets of the host')
    .option('--runtime <id>', 'with --local/--setup: a runtime of data/deployment/local-runtimes.json (e.g. mlx, ktransformers)')
    .option('--bound', 'with --local/--setup: datasheet figures, no runtime calibration (an upper bound)')
    .option('--bits <n>', 'bits per weight for --local', '4.8')
    .option('--model <id|config.json|dir>', MODEL_FLAG_HELP, 'llama-3.1-70b')
    .option('--hardware <id|file.json>', HARDWARE_FLAG_HELP, 'h100-sxm')
    .option('--usd-per-hour <usd>', PRICE_FLAG_HELP)
    .option('--tp <n>', 'tensor parallelism', '4')
    .option('--dp <n>', 'data-parallel attention ranks', '1')
    .option('--pp <n>', 'pipeline stages', '1')
    .option('--ep <n>', 'expert parallelism (1, or tp × dp)', '1')
    .option('--redundant <n>', 'redundant experts, the copies --eplb balances over (needs --eplb)', '0')
    .option('--eplb', "the deployment balances its experts with EPLB over the --redundant copies: the busiest expert GPU at the load factor batchlab's placement model gives uniform routing, in the model and on the kernel tables' 'uniform' rows")
    .option('--gpus-per-node <n>', 'devices per node', '8')
    .option('--overlap', 'two micro-batches overlap communication with computation')
    .option('--precision <list>', 'one dtype, or weights,attention,dispatch,combine', 'bf16')
    .option('--kv-cache <dtype>', KV_CACHE_FLAG_HELP)
    .option('--compute <dtype>', COMPUTE_FLAG_HELP)
    .option('--batch <n>', 'decoding sequences per rank (with --local or --setup: default 1, one user)', '64')
    .option('--context <n>', 'tokens in each sequence cache (at most the model\'s max_position_embeddings, as is --prompt + --output)', '2048')
    .option('--prompt <n>', 'prompt tokens per request', '2048')
    .option('--cache-hit <f>', 'prefix-cache hit fraction, in [0, 1)', '0')
    .option('--prompt-mix <name>', 'shape prompts and hits like a data/traces prompt mix (e.g. mooncake-conversation-prompts), scaled to --prompt and --cache-hit')
    .option('--prefill-tokens <n>', 'prompt tokens computed per rank per prefill step', '8192')
    .option('--drafts <n>', 'speculative draft tokens per step, in [0, 16]', '0')
    .option('--acceptance <f>', 'acceptance rate of each draft token', '0.8')
    .option('--simulate', 'run the serving simulator for TTFT and TPOT percentiles')
    .option('--engine <name>', `with --simulate: schedule as this engine preset (${SERVING_ENGINES.join(', ')}) instead of continuous batching up to --batch, its KV cache sized by the preset's memory rule, and (unless --framework or --efficiency is given) price every figure from that engine's kernel tables where data/kernels holds the device (without --engine: ${DEFAULT_SERVING_ENGINE}'s tables, as simulate prices by default)`)
    .option('--rate <rps>', 'requests per second per rank (required with --simulate)')
    .option('--output <n>', 'output tokens per request (the all-in price and --simulate)', '256')
    .option('--requests <n>', 'requests to simulate with --simulate', '2000')
    .option('--seed <n>', 'simulation seed', '1')
    .option('--efficiency <mode>', `price from the performance model at these efficiencies: every op without --framework (no kernel tables), the ops no table holds with it: calibrated (default where no ${DEFAULT_SERVING_ENGINE} tables hold the device and the hardware has a calibration), typical, or spec (the datasheet bound)`)
    .option('--framework <name>', `price GEMMs, attention and all-reduces from this serving framework's measured kernel tables (default: ${DEFAULT_SERVING_ENGINE}'s, or --engine's, where the database holds the device): ${FRAMEWORK_FLAG_HELP}`)
    .option('--kernel-db <dir>', 'kernel tables in batchlab\'s schema, <dir>/<device>/<framework>/<version>/<op>.csv[.gz] (default: the shipped data/kernels)')
    .option('--fp8-scaling <kind>', FP8_SCALING_FLAG_HELP)
    .exitOverride()
    // A local setup serves one user unless --batch says otherwise; the pool default (64 per rank) is a server's.
    .action((o: DeployOptions, cmd: Command) => {
      const typed = cmd.options.filter((opt) => opt.long !== undefined && cmd.getOptionValueSource(opt.attributeName()) === 'cli').map((opt) => opt.long!);
      deployCommand({ ...o, typed, json: wantsJson(cmd), ...((o.local !== undefined || o.setup !== undefined) && cmd.getOptionValueSource('batch') !== 'cli' ? { batch: '1' } : {}) }, io);
    });
}

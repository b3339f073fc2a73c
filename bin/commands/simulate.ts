import { HARDWARE_FLAG_HELP, MODEL_FLAG_HELP, checkModelContext, countOf, hardwareFlag, modelFlag, refuseRepeated } from './inputs.js';
import type { ModelSpec } from '../../lib/models/spec.js';
import { Command } from 'commander';
import { constantStepCost } from '../../lib/batching/cost.js';
import { simulateServing } from '../../lib/batching/simulate.js';
import { servingBacklog } from '../../lib/batching/benchmark.js';
import { describeBacklog } from '../../lib/batching/describe.js';
import { servingPolicyModule } from '../../lib/batching/policy.js';
import { loadServingTrace } from '../../lib/batching/trace.js';
import type { ServingConfig, ServingEngineConfig, ServingPolicy, ServingStepCost } from '../../lib/batching/types.js';
import { DEFAULT_SERVING_ENGINE, SERVING_ENGINES, describeEnginePreset, engineDevice, servingEnginePreset, type ServingEngineName, type ServingEnginePreset } from '../../lib/batching/engines.js';
import { catalogServingReplica, presetMemoryFraction } from '../../lib/batching/replica.js';
import { EFFICIENCY_MODES, efficiencyModeOf, type EfficiencyMode } from '../../lib/roofline/deployment.js';
import { CONCURRENCY_COLUMNS, servingConcurrencySweep } from '../../lib/batching/study.js';
import type { HardwareSpec } from '../../lib/hardware/spec.js';
import { defaultKernelDb, kernelTablesOf, newestKernelVersion, type KernelDb } from '../../lib/kernels/index.js';
import { DTYPES, type Dtype } from '../../lib/core/types.js';
import { InputError } from '../../lib/util/errors.js';
import { checkOneOf } from '../../lib/util/validate.js';
import { asFlags, decimalArg, decimalInRange, emit, intArg, seedArg } from './context.js';
import { FRAMEWORK_FLAG_HELP, calibrationAsPrecision, efficiencyText, engineKernelOptions, figuresKind, tablesPrice } from './kernels.js';

interface SimulateCliOptions {
  requests: string;
  rate: string;
  prompt: string;
  output: string;
  policy: string;
  maxBatch: string;
  windowMs: string;
  tokenBudget: string;
  stepMs: string;
  seed: string;
  trace?: string;
  engine?: string;
  model?: string;
  hardware?: string;
  tp: string;
  precision: string;
  efficiency?: string;
  framework?: string;
  kernelDb?: string;
  concurrency?: string;
  requestsPerClient: string;
}

const POLICY_FLAGS = ['maxBatch', 'windowMs', 'tokenBudget'] as const;
const FLAG_NAMES: Record<(typeof POLICY_FLAGS)[number], string> = { maxBatch: '--max-batch', windowMs: '--window-ms', tokenBudget: '--token-budget' };

/**
 * The step cost (and KV capacity) of the run: a catalog replica with --model and --hardware, else --step-ms.
 * Under an engine preset the replica's KV cache is what the preset's memory rule leaves (presetMemoryFraction).
 */
function replicaOf(o: SimulateCliOptions, cmd: Command, engine?: ServingEngineName): { label: string; stepCost: ServingStepCost; kvCapacityTokens?: number; preset?: ServingEnginePreset; figures: StepModelKind; model?: ModelSpec } {
  if ((o.model === undefined) !== (o.hardware === undefined)) {
    throw new InputError(o.model === undefined ? '--model' : '--hardware', undefined, 'given together with ' + (o.model === undefined ? '--hardware' : '--model') + ' (a catalog replica needs both)');
  }
  if (o.model === undefined || o.hardware === undefined) {
    if (cmd.getOptionValueSource('tp') === 'cli') throw new InputError('--tp', o.tp, 'left out without --model and --hardware');
    if (cmd.getOptionValueSource('precision') === 'cli') throw new InputError('--precision', o.precision, 'left out without --model and --hardware');
    if (o.efficiency !== undefined) throw new InputError('--efficiency', o.efficiency, 'left out without --model and --hardware');
    if (o.framework !== undefined) throw new InputError('--framework', o.framework, 'left out without --model and --hardware');
    if (o.kernelDb !== undefined) throw new InputError('--kernel-db', o.kernelDb, 'left out without --model and --hardware');
    const stepSeconds = decimalInRange('--step-ms', o.stepMs, { min: 1e-6, max: 1e6 }) / 1e3;
    const stepCost = constantStepCost(stepSeconds);
    return { label: stepCost.label!, stepCost, figures: 'constant', ...(engine === undefined ? {} : { preset: servingEnginePreset(engine) }) };
  }
  if (cmd.getOptionValueSource('stepMs') === 'cli') throw new InputError('--step-ms', o.stepMs, 'left out with --model and --hardware (the catalog replica prices each step)');
  // A catalog id or the user's own files, as deploy, roofline, search and sweeps take them.
  const model = modelFlag(o.model!);
  const hw = hardwareFlag(o.hardware!);
  const devices = intArg('--tp', o.tp, 1, 4096);
  // One dtype for weights and activations, as a catalog replica takes it (an FP8 checkpoint's own scaling picks its tables: fp8ScalingOf).
  const precision = checkOneOf('--precision', o.precision, DTYPES) as Dtype;
  // Steps are priced by stepTime's model, as deploy prices them: --efficiency picks its
  // efficiencies (spec: the datasheet bound), --framework its kernel tables. With neither,
  // an engine preset reads its own engine's tables (a vLLM run is priced by vLLM's kernels,
  // as the published curves are), a --policy run the default engine's.
  const efficiency = o.efficiency === undefined ? undefined : checkOneOf('--efficiency', o.efficiency, EFFICIENCY_MODES);
  const preset = engine === undefined ? undefined : servingEnginePreset(engine, engineDevice(hw, devices));
  // The library names its own fields; a layout or memory refusal is about --tp here.
  const tpFlags = <T>(fn: () => T): T => {
    try {
      return asFlags(fn, { devices: '--tp', 'parallelism.tp': '--tp', efficiency: '--efficiency', framework: '--framework', dtype: '--precision', precision: '--precision' });
    } catch (e) {
      if (e instanceof InputError && e.field === 'memory') throw new InputError('--tp', devices, `an integer large enough for ${model.id}'s weights and a KV cache on ${hw.id}`, e.detail ?? e.message);
      throw calibrationAsPrecision(e, precision, hw);
    }
  };
  const memoryFraction = preset ? tpFlags(() => presetMemoryFraction(preset, model, hw, { precision, parallelism: { tp: devices }, ...(efficiency === undefined ? {} : { efficiency }) })) : undefined;
  const share = memoryFraction === undefined ? {} : { memoryFraction };
  // The engine's own tables by default (a --policy run the default engine's, as deploy prices
  // its steps, so that a policy and the preset differ only in scheduling); where the database
  // holds none of them for the device (a spec-only device, or tables of other frameworks only),
  // the performance model, and the label says so.
  const { kernels, missing } = engineKernelOptions(o, hw, engine ?? DEFAULT_SERVING_ENGINE);
  const opts = { precision, parallelism: { tp: devices }, ...(efficiency === undefined ? {} : { efficiency }), ...kernels, ...share };
  const r = tpFlags(() => catalogServingReplica(model, hw, opts));
  if (missing) r.stepCost.label = r.label = r.label.replace(/\)$/, `, ${missing})`);
  const apart = presetTablesApart(preset, kernels, hw);
  if (apart) r.stepCost.label = r.label = r.label.replace(/\)$/, `; ${apart})`);
  const mode = efficiencyModeOf(hw, efficiency);
  return { ...r, figures: { tables: tablesPrice(kernels, hw), mode }, model, ...(preset ? { preset } : {}) };
}

/**
 * Where an engine preset's scheduler and the kernel tables that price its steps come from
 * different releases of that engine, in words; undefined where they agree or are not both used.
 */
function presetTablesApart(preset: ServingEnginePreset | undefined, kernels: { framework?: string | null; kernelDb?: KernelDb }, hw: HardwareSpec): string | undefined {
  if (!preset || typeof kernels.framework !== 'string' || kernels.framework !== preset.engine) return undefined;
  const db = kernels.kernelDb ?? defaultKernelDb();
  const tables = newestKernelVersion(db, kernelTablesOf(hw, db).compute, kernels.framework);
  const release = /\d+\.\d+(?:\.\d+)?\S*/.exec(preset.version)?.[0];
  if (tables === undefined || release === undefined || tables === release) return undefined;
  return `the scheduler preset is ${preset.engine} ${release}'s, the kernel tables ${tables}'s: kernels of one release under another's scheduler`;
}

/** What priced a run's steps, and so what its figures are: given steps, or the performance model at its efficiencies, kernel tables or not. */
type StepModelKind = 'constant' | { tables: boolean; mode: EfficiencyMode };

/** The short name of what a run's figures are, as deploy's and search's --json `figures` give it. */
function figuresName(kind: StepModelKind): string {
  return kind === 'constant' ? 'constant step' : figuresKind(kind.tables, kind.mode);
}

/**
 * What a run's figures are, by the step model that priced them: every figure is simulated,
 * over steps that are given, measured kernels, datasheet bounds or sourced efficiencies.
 *
 * @example
 * figuresText({ tables: false, mode: 'spec' }) // => "every figure is simulated over datasheet-bound steps: latencies are lower bounds, throughputs upper bounds"
 */
export function figuresText(kind: StepModelKind): string {
  if (kind === 'constant') return 'every figure is simulated over steps of the constant --step-ms (given, not measured)';
  if (kind.tables) return `every figure is simulated over steps priced from measured kernel tables (interpolated between their rows), an op no table holds ${efficiencyText(kind.mode)}`;
  if (kind.mode === 'spec') return 'every figure is simulated over datasheet-bound steps: latencies are lower bounds, throughputs upper bounds';
  return `every figure is simulated over steps priced by the performance model ${efficiencyText(kind.mode)} (not measured kernels)`;
}

/** --prompt and --output, a request of which fits the catalog model's declared context (no model: any length). */
function lengths(o: SimulateCliOptions, replica: { model?: ModelSpec }): { prompt: number; output: number } {
  const prompt = intArg('--prompt', o.prompt, 1, 10_000_000);
  const output = intArg('--output', o.output, 1, 10_000_000);
  if (replica.model) checkModelContext(replica.model, prompt + output, '--prompt', prompt, `--prompt + --output ${output}`);
  return { prompt, output };
}

/** A workload's fixed prompt and output lengths. */
const fixedLengths = (l: { prompt: number; output: number }) => ({ promptTokens: { kind: 'fixed' as const, tokens: l.prompt }, outputTokens: { kind: 'fixed' as const, tokens: l.output } });

const ms = (x: number | null) => (x === null ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(2));

/**
 * `batchlab simulate`: one run of the serving simulator (Poisson arrivals, fixed lengths,
 * or a trace file) under an engine preset (vLLM's by default) or a policy, priced by a
 * constant step cost or a catalog replica's performance model (under an engine preset,
 * that engine's kernel tables by default); with `--concurrency`, a closed-loop benchmark
 * table as `vllm bench serve` reports it. Each output says what its figures are.
 *
 * @example
 * register(new Command('batchlab')); // batchlab simulate --engine vllm --model llama-3.1-8b --hardware h100-sxm --tp 1 --concurrency 1,16,64,256
 */
export function register(program: Command): void {
  program
    .command('simulate')
    .description('serving simulator: latency and throughput under an engine preset or a batching policy')
    .option('--requests <int>', 'requests to simulate (with --trace: the first N of the trace; all of it when not given)', '1000')
    .option('--rate <per-second>', 'Poisson arrival rate (not with --trace)', '10')
    .option('--prompt <tokens>', 'prompt tokens per request (not with --trace; with --model, prompt + output within the model\'s max_position_embeddings)', '256')
    .option('--output <tokens>', 'output tokens per request (not with --trace)', '64')
    .option('--engine <name>', `engine preset: ${SERVING_ENGINES.join(' or ')} (default: vllm unless --policy is given)`)
    .option('--policy <kind>', 'window, continuous or chunked, instead of an engine preset')
    .option('--max-batch <int>', 'largest batch (with --policy)', '32')
    .option('--window-ms <ms>', 'collection window (--policy window)', '20')
    .option('--token-budget <int>', 'tokens per step (--policy chunked)', '2048')
    .option('--model <id|config.json|dir>', `${MODEL_FLAG_HELP}: price steps with the performance model of deploy on --hardware (with --hardware)`)
    .option('--hardware <id|file.json>', `${HARDWARE_FLAG_HELP} (with --model)`)
    .option('--tp <int>', 'devices of the replica, tensor parallel (with --model)', '1')
    .option('--precision <dtype>', `weights and activations of the replica (with --model): ${DTYPES.join(', ')}; an FP8 checkpoint's own scaling picks its kernel tables`, 'bf16')
    .option('--efficiency <mode>', `price from the performance model at these efficiencies: every op without --framework (no kernel tables), the ops no table holds with it: ${EFFICIENCY_MODES.join(', ')} (spec: the datasheet bound; with --model; default where no tables price the device: calibrated where the hardware has a calibration, else typical)`)
    .option('--framework <name>', `price steps from this serving framework's measured kernel tables, as deploy does: ${FRAMEWORK_FLAG_HELP} (with --model; default: the engine preset's own, or ${DEFAULT_SERVING_ENGINE}'s with --policy, where data/kernels holds the device, unless --efficiency is given)`)
    .option('--kernel-db <dir>', 'kernel tables in batchlab\'s schema (default: the shipped data/kernels; with --framework, or under an engine preset, whose own framework it must hold)')
    .option('--concurrency <list>', 'closed-loop clients, comma-separated (e.g. 1,16,64,256): a benchmark table as vllm bench serve reports it')
    .option('--requests-per-client <int>', 'requests each client sends at every --concurrency (the first is warm-up)', '20')
    .option('--step-ms <ms>', 'milliseconds per engine step', '20')
    .option('--seed <number>', 'seed of arrivals and lengths', '1')
    .option('--trace <csv>', 'replay a trace (timestamp,prompt_tokens,output_tokens) instead of Poisson arrivals')
    .action((o: SimulateCliOptions, cmd: Command) => {
      const byPolicy = o.policy !== undefined;
      let policy: ServingPolicy | undefined;
      let preset: ServingEnginePreset | undefined;
      if (byPolicy && o.engine !== undefined) throw new InputError('--engine', o.engine, 'left out with --policy (a preset brings its own policy)');
      const replica = replicaOf(o, cmd, byPolicy ? undefined : checkOneOf('--engine', o.engine ?? DEFAULT_SERVING_ENGINE, SERVING_ENGINES));
      if (byPolicy) {
        const kind = checkOneOf('--policy', o.policy, ['window', 'continuous', 'chunked'] as const);
        // A typed flag of another policy would be ignored: refused instead.
        // What each policy reads is its module's `reads` (static reads a window too, but this command runs window and continuous, chunked).
        const reads = servingPolicyModule(kind).reads ?? [];
        if (!reads.includes('windowMs') && cmd.getOptionValueSource('windowMs') === 'cli') throw new InputError('--window-ms', o.windowMs, `left out with --policy ${kind} (the collection window is the window policy's)`);
        if (!reads.includes('tokenBudget') && cmd.getOptionValueSource('tokenBudget') === 'cli') throw new InputError('--token-budget', o.tokenBudget, `left out with --policy ${kind} (the token budget is the chunked policy's)`);
        const maxBatch = intArg('--max-batch', o.maxBatch, 1, 1_000_000);
        // Flags of other policies are checked too (they have defaults): "--window-ms abc" never passes silently.
        decimalInRange('--window-ms', o.windowMs, { min: 1e-3, max: 3.6e6 });
        intArg('--token-budget', o.tokenBudget, kind === 'chunked' ? maxBatch : 1, 10_000_000);
        policy =
          kind === 'window'
            ? { kind, maxBatch, windowMs: decimalInRange('--window-ms', o.windowMs, { min: 1e-3, max: 3.6e6 }) }
            : kind === 'chunked'
              ? { kind, maxBatch, tokenBudget: intArg('--token-budget', o.tokenBudget, maxBatch, 10_000_000) }
              : { kind, maxBatch };
      } else {
        for (const f of POLICY_FLAGS) if (cmd.getOptionValueSource(f) === 'cli') throw new InputError(FLAG_NAMES[f], o[f], 'given with --policy (an engine preset sets the batch and the token budget)');
        preset = replica.preset!;
      }
      const seed = seedArg(o.seed);
      if (o.concurrency !== undefined) return concurrencyTable(o, cmd, replica, policy ?? preset!, seed);
      if (cmd.getOptionValueSource('requestsPerClient') === 'cli') throw new InputError('--requests-per-client', o.requestsPerClient, 'given with --concurrency (each closed-loop client sends that many)');
      const how = { stepCost: replica.stepCost, costLabel: replica.label, kvCapacityTokens: replica.kvCapacityTokens, ...(policy ? { policy } : { engine: preset! }) };
      let config: ServingConfig | ServingEngineConfig;
      if (o.trace !== undefined) {
        for (const flag of ['rate', 'prompt', 'output'] as const) {
          if (cmd.getOptionValueSource(flag) === 'cli') throw new InputError(`--${flag}`, o[flag], 'left out with --trace (the trace gives the arrival times and the token counts)');
        }
        const trace = asFlags(() => loadServingTrace(o.trace!), { path: '--trace' });
        const rows = trace.timestamps.length;
        // --requests has a default for Poisson arrivals; with a trace only a typed value cuts it.
        const requests = cmd.getOptionValueSource('requests') === 'cli' ? intArg('--requests', o.requests, 1, rows) : undefined;
        // The trace's requests meet the model's context as --prompt + --output do: the longest one replayed is checked.
        if (replica.model) {
          let longest = 0;
          for (let i = 0; i < (requests ?? rows); i++) if (trace.promptTokens[i] + trace.outputTokens[i] > trace.promptTokens[longest] + trace.outputTokens[longest]) longest = i;
          const tokens = trace.promptTokens[longest] + trace.outputTokens[longest];
          checkModelContext(replica.model, tokens, '--trace', o.trace, `its request ${longest + 1}, ${trace.promptTokens[longest]} prompt + ${trace.outputTokens[longest]} output tokens`);
        }
        config = { arrivals: { kind: 'trace', trace }, requests, ...how } as ServingConfig | ServingEngineConfig;
      } else {
        config = {
          requests: intArg('--requests', o.requests, 1, 5_000_000),
          arrivals: { kind: 'poisson', ratePerSecond: decimalInRange('--rate', o.rate, { min: 1e-6, max: 1e9 }) },
          ...fixedLengths(lengths(o, replica)),
          ...how,
        } as ServingConfig | ServingEngineConfig;
      }
      // The request log tells a queue that kept up from one that grew (the engine holds its
      // arrays either way: keeping them costs no memory).
      const r = asFlags(() => simulateServing({ ...config, keepRequests: true }, seed), { requests: '--requests' });
      const backlog = servingBacklog(r);
      const fromTrace = config.arrivals.kind === 'trace';
      const result = {
        description: r.provenance.config, stepModel: r.provenance.cost, figures: figuresName(replica.figures), figuresNote: figuresText(replica.figures), requests: r.requests, steps: r.steps, makespanSeconds: r.makespanSeconds,
        throughputRequestsPerSecond: r.throughputRequestsPerSecond, throughputTokensPerSecond: r.throughputTokensPerSecond,
        meanBatch: r.meanBatch, utilisation: r.utilisation, latencyUnit: 'seconds', ttft: r.ttft, tpot: r.tpot, e2e: r.e2e, backlog,
      };
      emit(cmd, result, () => [
        `${r.provenance.config}`,
        `step model: ${r.provenance.cost}; ${figuresText(replica.figures)}`,
        `${countOf(r.requests, 'request', undefined, false)} in ${r.makespanSeconds.toFixed(2)} s: ${r.throughputTokensPerSecond.toFixed(1)} tokens/s, mean batch ${r.meanBatch.toFixed(2)}, engine busy ${(r.utilisation * 100).toFixed(1)} % of the time`,
        `time to first token: p50 ${(r.ttft.p50 * 1e3).toFixed(1)} ms, p99 ${(r.ttft.p99 * 1e3).toFixed(1)} ms`,
        ...(r.tpot ? [`time per output token (after the first): p50 ${(r.tpot.p50 * 1e3).toFixed(1)} ms, p99 ${(r.tpot.p99 * 1e3).toFixed(1)} ms`] : []),
        `end-to-end latency: p50 ${(r.e2e.p50 * 1e3).toFixed(1)} ms, p99 ${(r.e2e.p99 * 1e3).toFixed(1)} ms`,
        ...(backlog?.growing ? [describeBacklog(backlog, fromTrace ? 'the trace offers more than this replica serves (add replicas)' : 'lower --rate, or add replicas')] : []),
      ]);
    });
}

/**
 * What a sweep's N* is: R(1) + Z is one client's cycle only when one client was run, else
 * N / X at the smallest N, an upper bound (r1Upper); the highest throughput at the largest
 * N swept means the curve may still be rising, X_max a lower bound (xLower). N* is exact
 * with neither, an upper or a lower bound with one, and bounds nothing with both.
 */
function saturationBounds(curve: { maxThroughputClients: number }, clients: number[]): { r1Upper: boolean; xLower: boolean; kind: 'exact' | 'upper bound' | 'lower bound' | null } {
  const r1Upper = Math.min(...clients) !== 1;
  const xLower = curve.maxThroughputClients === Math.max(...clients);
  return { r1Upper, xLower, kind: r1Upper && xLower ? null : xLower ? 'lower bound' : r1Upper ? 'upper bound' : 'exact' };
}

/**
 * Kleinrock's saturation number in words, with what bounds it: X_max is the highest
 * steady-state throughput of the table; R(1) + Z is measured at one client, else N / X at
 * the smallest count (an upper bound, and N* with it); a highest throughput at the largest
 * count swept means the curve may still be rising (X_max and N* lower bounds); with both,
 * N* bounds nothing.
 *
 * @example
 * saturationLine({ saturationClients: 51.9, maxThroughputRps: 180.11, maxThroughputClients: 256 }, [1, 16, 64, 256])
 */
export function saturationLine(curve: { saturationClients: number; maxThroughputRps: number; maxThroughputClients: number }, clients: number[]): string {
  const smallest = Math.min(...clients);
  const { r1Upper, xLower } = saturationBounds(curve, clients);
  const r1 = r1Upper ? `R(1) + Z ≤ N / X at N = ${smallest} (no run at one client)` : "R(1) + Z, one client's cycle";
  const x = `X_max ${curve.maxThroughputRps.toFixed(2)} req/s, the table's highest, at N = ${curve.maxThroughputClients}${xLower ? ', the largest swept: the curve may still be rising' : ''}`;
  // A lower bound times an upper bound bounds nothing: no figure is printed for it.
  if (xLower && r1Upper) {
    return `saturation: not located by this sweep: ${x}, a lower bound on X_max, × ${r1}, an upper bound, gives no bound on N*, where the two asymptotes X = N / (R(1) + Z) and X = X_max meet (add 1 and larger values to --concurrency)`;
  }
  const bound = xLower
      ? '; X_max and N* are lower bounds (add larger --concurrency values)'
      : r1Upper
        ? '; N* is an upper bound (add 1 to --concurrency)'
        : '';
  return `saturation: N* = ${curve.saturationClients.toFixed(1)} clients (${x}; × ${r1}), where the two asymptotes X = N / (R(1) + Z) and X = X_max meet${bound}`;
}

// N* in --json: null where the sweep bounds nothing, with what the number is beside it.
function saturationJson(curve: { saturationClients: number; maxThroughputClients: number }, clients: number[]): { saturationClients: number | null; saturationClientsKind: string | null } {
  const { kind } = saturationBounds(curve, clients);
  return { saturationClients: kind === null ? null : curve.saturationClients, saturationClientsKind: kind };
}

/** `--concurrency`: one closed-loop run per client count, printed as vllm bench serve reports it. */
function concurrencyTable(o: SimulateCliOptions, cmd: Command, replica: ReturnType<typeof replicaOf>, how: ServingPolicy | ServingEnginePreset, seed: number): void {
  const clients = o.concurrency!.split(',').map((c, i) => intArg(`--concurrency[${i}]`, c.trim(), 1, 100_000));
  refuseRepeated('--concurrency', clients, (c) => c, 'a client count the list does not already hold (each is one run)');
  const perClient = intArg('--requests-per-client', o.requestsPerClient, 2, 100_000);
  if (o.trace !== undefined) throw new InputError('--trace', o.trace, 'left out with --concurrency (closed-loop clients send the requests)');
  for (const flag of ['requests', 'rate'] as const) {
    if (cmd.getOptionValueSource(flag) === 'cli') throw new InputError(`--${flag}`, o[flag], 'left out with --concurrency (each client sends --requests-per-client requests, each as soon as its last one finishes)');
  }
  const workload = fixedLengths(lengths(o, replica));
  const curve = asFlags(() => servingConcurrencySweep(replica, workload, how, clients, seed, { requestsPerClient: perClient }), { clients: '--concurrency', requestsPerClient: '--requests-per-client', requests: '--concurrency × --requests-per-client' });
  const rows = curve.table.objects() as Array<Record<string, number | null | string>>;
  const scheduler = 'engine' in how ? describeEnginePreset(how) : `policy ${JSON.stringify(how)}`;
  const value = { scheduler, stepModel: replica.label, figures: figuresName(replica.figures), figuresNote: figuresText(replica.figures), ...saturationJson(curve, clients), maxThroughputRps: curve.maxThroughputRps, maxThroughputClients: curve.maxThroughputClients, saturation: saturationLine(curve, clients), columns: CONCURRENCY_COLUMNS, rows };
  const n = (k: string, r: Record<string, number | null | string>) => r[k] as number | null;
  emit(cmd, value, () => [
    `scheduler: ${scheduler}`,
    `step model: ${replica.label}; ${figuresText(replica.figures)}`,
    `workload: prompt ${countOf(workload.promptTokens.tokens, 'token')}, output ${countOf(workload.outputTokens.tokens, 'token')}; closed loop, zero think time, ${perClient} requests per client, the first of each client excluded as warm-up from every figure; figures as vllm bench serve defines them (TPOT = (E2EL − TTFT) / (output − 1) and ITL exclude the first token), over the steady-state window from the first measured send to the last measured finish (window s)`,
    '',
    'concurrency  completed  req/s     output tok/s  total tok/s  TTFT ms mean/median/p99   TPOT ms mean/median/p99   ITL ms mean/median/p99    E2EL ms mean/median/p99   window s       drain s',
    ...rows.map((r) =>
      [
        String(r.clients).padStart(11),
        String(r.completed).padStart(9),
        (n('requestThroughput', r) as number).toFixed(2).padStart(8),
        (n('outputThroughput', r) as number).toFixed(1).padStart(12),
        (n('totalTokenThroughput', r) as number).toFixed(1).padStart(11),
        `${ms(n('meanTtftMs', r))}/${ms(n('medianTtftMs', r))}/${ms(n('p99TtftMs', r))}`.padStart(24),
        `${ms(n('meanTpotMs', r))}/${ms(n('medianTpotMs', r))}/${ms(n('p99TpotMs', r))}`.padStart(24),
        `${ms(n('meanItlMs', r))}/${ms(n('medianItlMs', r))}/${ms(n('p99ItlMs', r))}`.padStart(24),
        `${ms(n('meanE2elMs', r))}/${ms(n('medianE2elMs', r))}/${ms(n('p99E2elMs', r))}`.padStart(24),
        `${(n('windowStartSeconds', r) as number).toFixed(2)}–${(n('windowEndSeconds', r) as number).toFixed(2)}`.padStart(13),
        (n('drainSeconds', r) as number).toFixed(2).padStart(8),
      ].join('  '),
    ),
    '',
    saturationLine(curve, clients),
  ]);
}

import { countOf } from '../util/words.js';
import { InputError } from '../util/errors.js';
import { checkArray, checkInt, checkKnownKeys, checkNumber, checkOneOf, checkPositive } from '../util/validate.js';
import { checkSeed, exponential, fork, gammaByMeanCv, normal, type Rng } from '../util/random.js';
import type { ServingArrivalSpec, ServingLengthSpec, ServingConfig, ServingEngineConfig, ServingPolicy, ServingSlo } from './types.js';
import { checkServingPolicy, servingPolicyModule } from './policy.js';
import { DEFAULT_SERVING_ENGINE, SERVING_ENGINES, servingEnginePreset, type ServingEnginePreset } from './engines.js';
import './policies/index.js';

/** Bounds that keep a run's memory predictable (about 90 bytes per request: 450 MB at the cap). */
export const MAX_SERVING_REQUESTS = 5_000_000;
export { MAX_SERVING_BATCH } from './policies/common.js';
import { MAX_SERVING_BATCH } from './policies/common.js';
const MAX_CLIENTS = 1_000_000;
/** Largest prompt or output of one request, in tokens (also the trace bound). */
export const MAX_REQUEST_TOKENS = 10_000_000;
const MAX_TOKENS = MAX_REQUEST_TOKENS;

/**
 * Largest total work of one run, in request tokens (requests × mean prompt + output, or
 * a trace's exact sum): a run at batch 1 takes up to one step per token, and the
 * simulator does about 8 million steps a second on one core, so this bounds a run to
 * a few minutes. Checked before anything is built.
 */
export const MAX_SERVING_WORK_TOKENS = 1e9;
export { MIN_WINDOW_MS } from './policies/common.js';

/** A validated config with the arrival and length sources resolved. */
export interface ResolvedServing {
  n: number;
  policy: ServingPolicy;
  /** 'open': arrivals come from nextArrival; 'closed': `clients` users, each waiting nextThink() after a finish. */
  loop: 'open' | 'closed';
  clients: number;
  nextThink: () => number;
  kvCapacity: number;
  kvBlocks: boolean;
  kvBlockTokens: number;
  prefixHit: number;
  slo: ServingSlo | null;
  /** padTo[D]: the decode batch a decode-only step of D sequences is priced at (null: no padding). */
  decodePadding: Int32Array | null;
  /** Largest prompt + output a request can have: bounds the KV check. */
  maxRequestTokens: number;
  nextArrival: () => number;
  nextPrompt: () => number;
  nextOutput: () => number;
  costLabel: string;
  description: string;
  /** Requests sent first that a benchmark leaves out (their ITL kept apart); 0: none. */
  warmupRequests: number;
}

function checkLength(field: string, spec: ServingLengthSpec | undefined): { max: number; mean: number; describe: string } {
  if (!spec || typeof spec !== 'object') throw new InputError(field, spec, "a length spec { kind: 'fixed' | 'uniform' | 'lognormal', ... }");
  const kind = checkOneOf(`${field}.kind`, spec.kind, ['fixed', 'uniform', 'lognormal'] as const);
  if (kind === 'fixed') {
    const s = spec as Extract<ServingLengthSpec, { kind: 'fixed' }>;
    const t = checkInt(`${field}.tokens`, s.tokens, { min: 1, max: MAX_TOKENS });
    return { max: t, mean: t, describe: `${t}` };
  }
  if (kind === 'uniform') {
    const s = spec as Extract<ServingLengthSpec, { kind: 'uniform' }>;
    const lo = checkInt(`${field}.min`, s.min, { min: 1, max: MAX_TOKENS });
    const hi = checkInt(`${field}.max`, s.max, { min: lo, max: MAX_TOKENS });
    return { max: hi, mean: (lo + hi) / 2, describe: `U[${lo},${hi}]` };
  }
  const s = spec as Extract<ServingLengthSpec, { kind: 'lognormal' }>;
  const med = checkNumber(`${field}.median`, s.median, { min: 1, max: MAX_TOKENS });
  const sigma = checkNumber(`${field}.sigma`, s.sigma, { min: 0, max: 5 });
  const hi = checkInt(`${field}.max`, s.max, { min: 1, max: MAX_TOKENS });
  // The lognormal's mean, median·exp(σ²/2), bounds the capped draws' mean from above
  // (capping only lowers it); + 1 covers rounding and the floor at one token.
  return { max: hi, mean: Math.min(hi, med * Math.exp((sigma * sigma) / 2) + 1), describe: `LogN(median ${med}, σ ${sigma}, ≤${hi})` };
}

function lengthSource(spec: ServingLengthSpec, r: Rng): () => number {
  switch (spec.kind) {
    case 'fixed': {
      const t = spec.tokens;
      return () => t;
    }
    case 'uniform': {
      const lo = spec.min;
      const span = spec.max - spec.min + 1;
      return () => lo + Math.floor(r() * span);
    }
    case 'lognormal': {
      const z = normal(r, 0, 1);
      const { median, sigma, max } = spec;
      return () => Math.min(max, Math.max(1, Math.round(median * Math.exp(sigma * z()))));
    }
  }
}

/**
 * The engine preset a config asks for: `engine` (a name or a preset object), or vLLM's
 * when neither `engine` nor `policy` is given; null when `policy` is given alone.
 *
 * @example
 * resolveEnginePreset({ ...config, policy: undefined })!.engine // => 'vllm'
 */
export function resolveEnginePreset(config: ServingConfig | ServingEngineConfig): ServingEnginePreset | null {
  const e = config.engine;
  if (e !== undefined && config.policy !== undefined) {
    throw new InputError('engine', typeof e === 'string' ? e : e?.engine, 'left out when policy is given (a preset brings its own policy)');
  }
  // A named preset takes the defaults of the device the step cost runs on, where it says.
  const device = config.stepCost?.device;
  if (e === undefined) return config.policy === undefined ? servingEnginePreset(DEFAULT_SERVING_ENGINE, device) : null;
  if (typeof e === 'string') return servingEnginePreset(e, device);
  if (!e || typeof e !== 'object') throw new InputError('engine', e, `one of ${SERVING_ENGINES.join(', ')}, or a preset from servingEnginePreset`);
  checkOneOf('engine.engine', e.engine, SERVING_ENGINES);
  checkOneOf('engine.kvAdmission', e.kvAdmission, ['reserve', 'blocks'] as const);
  if (typeof e.version !== 'string') throw new InputError('engine.version', e.version, 'a string');
  return e;
}

/**
 * The padded decode batch of every batch up to the largest graph size, as vLLM's
 * bs_to_padded_graph_size: padTo[D] = the smallest size ≥ D. Sizes must be ascending
 * positive integers.
 *
 * @example
 * decodePaddingOf([1, 2, 4, 8])![5] // => 8
 */
export function decodePaddingOf(sizes: number[] | undefined): Int32Array | null {
  if (sizes === undefined) return null;
  const s = checkArray<number>('decodeGraphSizes', sizes, 4096).map((v, i) => checkInt(`decodeGraphSizes[${i}]`, v, { min: 1, max: MAX_SERVING_BATCH }));
  for (let i = 1; i < s.length; i++) if (!(s[i] > s[i - 1])) throw new InputError(`decodeGraphSizes[${i}]`, s[i], `greater than decodeGraphSizes[${i - 1}] = ${s[i - 1]} (sizes ascending)`);
  const pad = new Int32Array(s[s.length - 1] + 1);
  let k = 0;
  for (let d = 1; d < pad.length; d++) {
    while (s[k] < d) k++;
    pad[d] = s[k];
  }
  return pad;
}

const SERVING_CONFIG_KEYS = ['arrivals', 'requests', 'promptTokens', 'outputTokens', 'policy', 'engine', 'stepCost', 'costLabel', 'kvCapacityTokens', 'kvAdmission', 'kvBlockTokens', 'prefixCacheHitRatio', 'decodeGraphSizes', 'slo', 'keepRequests', 'warmupRequests'] as const satisfies readonly (keyof ServingConfig)[];

/**
 * Validates a config and builds its seeded sources. Pure: same (config, seed), same sources.
 *
 * @example
 * const r = resolveServing({ arrivals: { kind: 'burst' }, requests: 4, policy: { kind: 'continuous', maxBatch: 4 },
 *   stepCost: constantStepCost(0.01) }, 1);
 * r.n // => 4
 */
export function resolveServing(config: ServingConfig | ServingEngineConfig, seed: number): ResolvedServing {
  if (!config || typeof config !== 'object') throw new InputError('config', config, 'a ServingConfig object');
  // A misplaced field ({ ratePerSecond: 5 } beside arrivals) is refused by name rather than ignored.
  checkKnownKeys('config', config, SERVING_CONFIG_KEYS);
  checkSeed(seed);
  const preset = resolveEnginePreset(config);
  const policy = checkServingPolicy(preset ? preset.policy : config.policy) as ServingPolicy;
  if (typeof config.stepCost !== 'function') throw new InputError('stepCost', config.stepCost, 'a StepCostFn (work) => seconds');
  const costLabel = config.costLabel ?? config.stepCost.label ?? 'unlabelled step cost';
  if (typeof costLabel !== 'string') throw new InputError('costLabel', costLabel, 'a string');
  const arr = config.arrivals as ServingArrivalSpec;
  if (!arr || typeof arr !== 'object') throw new InputError('arrivals', arr, "an arrival spec { kind: 'poisson' | 'gamma' | 'burst' | 'trace', ... }");
  const akind = checkOneOf('arrivals.kind', arr.kind, ['poisson', 'gamma', 'burst', 'trace', 'closed'] as const);
  let loop: 'open' | 'closed' = 'open';
  let clients = 0;
  let nextThink: () => number = () => 0;

  let n: number;
  let nextArrival: () => number;
  let nextPrompt: () => number;
  let nextOutput: () => number;
  let maxRequestTokens: number;
  let maxPromptTokens = 0;
  let description: string;
  if (akind === 'trace') {
    const tr = (arr as Extract<ServingArrivalSpec, { kind: 'trace' }>).trace;
    if (!tr || !(tr.timestamps instanceof Float64Array) || tr.timestamps.length === 0) {
      throw new InputError('arrivals.trace', tr, 'a non-empty trace from parseServingTrace');
    }
    const len = tr.timestamps.length;
    if (tr.promptTokens?.length !== len || tr.outputTokens?.length !== len) {
      throw new InputError('arrivals.trace', tr, 'a trace whose three columns have equal length');
    }
    n = config.requests === undefined ? len : checkInt('requests', config.requests, { min: 1, max: len });
    // Replay starts the clock at the first request so that windows align the same way for any trace offset.
    const t0 = tr.timestamps[0];
    let i = 0;
    let j = 0;
    let k = 0;
    nextArrival = () => tr.timestamps[i++] - t0;
    nextPrompt = () => tr.promptTokens[j++];
    nextOutput = () => tr.outputTokens[k++];
    maxRequestTokens = 0;
    let work = 0;
    for (let r = 0; r < n; r++) {
      const t = tr.promptTokens[r] + tr.outputTokens[r];
      if (!(t >= 2)) throw new InputError(`arrivals.trace row ${r + 1}`, t, 'prompt and output tokens ≥ 1 each (a trace from parseServingTrace)');
      maxRequestTokens = Math.max(maxRequestTokens, t);
      maxPromptTokens = Math.max(maxPromptTokens, tr.promptTokens[r]);
      work += t;
    }
    if (work > MAX_SERVING_WORK_TOKENS) throw new InputError('requests', n, `a trace of at most ${MAX_SERVING_WORK_TOKENS} tokens in all`, `${work} tokens`);
    description = `trace ${tr.source} (${n} requests)`;
  } else {
    n = checkInt('requests', config.requests, { min: 1, max: MAX_SERVING_REQUESTS });
    let gap: () => number;
    if (akind === 'burst') {
      gap = () => 0;
      description = 'burst arrivals (all at t = 0)';
    } else if (akind === 'closed') {
      const c = arr as Extract<ServingArrivalSpec, { kind: 'closed' }>;
      loop = 'closed';
      clients = checkInt('arrivals.clients', c.clients, { min: 1, max: MAX_CLIENTS });
      const think = checkNumber('arrivals.thinkSeconds', c.thinkSeconds ?? 0, { min: 0, max: 1e6 });
      const how = checkOneOf('arrivals.think', c.think ?? 'fixed', ['fixed', 'exponential'] as const);
      nextThink = how === 'exponential' && think > 0 ? exponential(fork(seed, 'think'), 1 / think) : () => think;
      gap = () => 0;
      description = `closed loop, ${countOf(clients, 'client', undefined, false)}, think ${how === 'exponential' && think > 0 ? 'Exp ' : ''}${think} s`;
    } else if (akind === 'gamma') {
      const rate = checkPositive('arrivals.ratePerSecond', (arr as { ratePerSecond: number }).ratePerSecond, 1e9);
      const ar = fork(seed, 'arrivals');
      const cv = checkPositive('arrivals.cv', (arr as Extract<ServingArrivalSpec, { kind: 'gamma' }>).cv, 100);
      gap = gammaByMeanCv(ar, 1 / rate, cv);
      description = `gamma arrivals ${rate}/s cv ${cv}`;
    } else {
      const rate = checkPositive('arrivals.ratePerSecond', (arr as { ratePerSecond: number }).ratePerSecond, 1e9);
      const ar = fork(seed, 'arrivals');
      gap = exponential(ar, rate);
      description = `poisson arrivals ${rate}/s`;
    }
    // The first request arrives at t = 0; the clock only matters relative to it.
    let t = 0;
    let first = true;
    nextArrival = () => {
      if (first) {
        first = false;
        return 0;
      }
      t += gap();
      return t;
    };
    const ps = checkLength('promptTokens', config.promptTokens);
    const os = checkLength('outputTokens', config.outputTokens);
    nextPrompt = lengthSource(config.promptTokens!, fork(seed, 'prompt'));
    nextOutput = lengthSource(config.outputTokens!, fork(seed, 'output'));
    maxRequestTokens = ps.max + os.max;
    maxPromptTokens = ps.max;
    // Expected, not worst-case, work: a capped long tail (lognormal up to 60× its median)
    // would otherwise refuse runs that finish in seconds.
    const meanRequestTokens = ps.mean + os.mean;
    if (n * meanRequestTokens > MAX_SERVING_WORK_TOKENS) {
      throw new InputError('requests', n, `at most ${Math.floor(MAX_SERVING_WORK_TOKENS / meanRequestTokens)} for requests of ${Math.round(meanRequestTokens)} tokens on average (expected total work ≤ ${MAX_SERVING_WORK_TOKENS} tokens)`);
    }
    description += `, prompt ${ps.describe}, output ${os.describe}, ${countOf(n, 'request', undefined, false)}`;
  }
  const kvBlocks = checkOneOf('kvAdmission', config.kvAdmission ?? preset?.kvAdmission ?? 'reserve', ['reserve', 'blocks'] as const) === 'blocks';
  if (policy.kind === 'chunked' && policy.wholePrompts) {
    // A prompt longer than a step could never be admitted, nor a recompute after a preemption: refuse rather than hang.
    if (maxPromptTokens > policy.tokenBudget) throw new InputError('policy.tokenBudget', policy.tokenBudget, `at least the longest prompt (${maxPromptTokens} tokens) when prompts are prefilled whole`);
    if (kvBlocks) throw new InputError('kvAdmission', 'blocks', "'reserve' when prompts are prefilled whole (a recompute after a preemption could outgrow the step)");
  }
  const kvBlockTokens = checkInt('kvBlockTokens', config.kvBlockTokens ?? preset?.kvBlockTokens ?? 16, { min: 1, max: 1 << 20 });
  let kvCapacity = Infinity;
  if (config.kvCapacityTokens !== undefined) {
    // A lone request must always fit, so the engine can never stall with a full cache.
    const least = kvBlocks ? Math.ceil(maxRequestTokens / kvBlockTokens) * kvBlockTokens : maxRequestTokens;
    kvCapacity = checkInt('kvCapacityTokens', config.kvCapacityTokens, { min: least, max: Number.MAX_SAFE_INTEGER });
  }
  const prefixHit = checkNumber('prefixCacheHitRatio', config.prefixCacheHitRatio ?? 0, { min: 0, max: 1 });
  const decodePadding = decodePaddingOf(config.decodeGraphSizes ?? preset?.decodeGraphSizes);
  let slo: ServingSlo | null = null;
  if (config.slo !== undefined) {
    if (!config.slo || typeof config.slo !== 'object') throw new InputError('slo', config.slo, 'an object { ttftSeconds, tpotSeconds }');
    slo = { ttftSeconds: checkPositive('slo.ttftSeconds', config.slo.ttftSeconds), tpotSeconds: checkPositive('slo.tpotSeconds', config.slo.tpotSeconds) };
  }
  description += `; ${preset ? `${preset.engine} preset (${preset.version}): ` : ''}${servingPolicyModule(policy.kind).describe(policy)}${Number.isFinite(kvCapacity) ? `, KV ${kvCapacity} tok${kvBlocks ? ` in ${kvBlockTokens}-token blocks` : ''}` : ''}`;
  if (prefixHit > 0) description += `, prefix hit ${prefixHit}`;
  if (decodePadding) description += `, decode-only steps padded to CUDA-graph sizes ≤ ${decodePadding.length - 1}`;
  const warmupRequests = checkInt('warmupRequests', config.warmupRequests ?? 0, { min: 0, max: n - 1 });
  return { n, policy, loop, clients, nextThink, kvCapacity, kvBlocks, kvBlockTokens, prefixHit, slo, decodePadding, maxRequestTokens, nextArrival, nextPrompt, nextOutput, costLabel, description, warmupRequests };
}

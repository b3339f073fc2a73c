import { InputError } from '../util/errors.js';

/**
 * What a scheduling policy sees when the engine is free and asks what to run next.
 *
 * Times are seconds on whatever clock drives the engine: simulated time in
 * `simulateServing`, wall-clock seconds in a real server. Token and KV counts are
 * integers. The view is read-only for the policy, and a policy keeps no state of its
 * own between calls: everything it may depend on is here, so the same policy module
 * schedules a simulation and a live server alike.
 *
 * Queue order is admission order: requests preempted to free KV come first (oldest
 * preemption first), then new requests in arrival order.
 */
export interface SchedulerView {
  /** The current time. */
  readonly now: number;
  /** When the previous engine step started; -Infinity before the first step. */
  readonly lastStepStart: number;
  /** When the previous engine step ended; -Infinity before the first step. */
  readonly lastStepEnd: number;
  /** Requests waiting for admission. */
  readonly queued: number;
  /** Prompt tokens the i-th queued request still has to prefill if admitted now (0 ≤ i < queued). */
  queuedPrefill(i: number): number;
  /** KV units (the unit of `kvFree`) the i-th queued request needs to be admitted. */
  queuedKvNeed(i: number): number;
  /** When the i-th queued request arrived. */
  queuedArrival(i: number): number;
  /** Admitted, unfinished sequences: `decoding + prefilling`. */
  readonly running: number;
  /** Sequences that emit their next token in any step that decodes. */
  readonly decoding: number;
  /** Admitted sequences with prompt tokens still to prefill. */
  readonly prefilling: number;
  /** Σ prompt tokens still to prefill over the `prefilling` sequences. */
  readonly prefillPending: number;
  /** KV units free for admissions after this step's decode growth; Infinity when unlimited. */
  readonly kvFree: number;
}

/**
 * What the engine runs next. A `step` admits the first `admit` queued requests, hands
 * up to `prefillTokens` prompt tokens first-come first-served to the sequences with
 * prompt left (those admitted earlier first, then the new ones; each takes as much as
 * it has left), and, when `decode` is true, emits one token for every decoding
 * sequence. A step with no token in it is not run and counts as `wait` until the next
 * event. A `wait` runs nothing until `until` (Infinity: until the next arrival or
 * step end); the engine asks again then, or earlier if something arrives.
 */
export type PolicyDecision =
  | { kind: 'step'; admit: number; prefillTokens: number; decode: boolean }
  | { kind: 'wait'; until: number };

/** A decision function: pure in its view. */
export type PolicyDecider = (view: SchedulerView) => PolicyDecision;

/** Every policy config names its module by `kind` and carries the batch limit. */
export interface PolicyConfigBase {
  kind: string;
  /** Most sequences (prefilling + decoding) in one step. */
  maxBatch: number;
}

/**
 * A scheduling policy: one module, registered by name. To drive one,
 *
 * 1. validate the config once: `const p = module.check(config)`;
 * 2. build its decider: `const decide = module.decider(p)`;
 * 3. whenever the engine is free (after a step ends, when a request arrives to an
 *    idle engine, or at a time a previous `wait` asked for), fill a SchedulerView and
 *    call `decide(view)`; run the `step` it returns, or set a timer for `until`.
 *
 * `simulateServing` does this on simulated time; a wall-clock server does the same
 * with `now` read from its clock.
 *
 * @example
 * const continuous = servingPolicyModule('continuous');
 * const decide = continuous.decider(continuous.check({ kind: 'continuous', maxBatch: 8 }));
 * decide(view) // => { kind: 'step', admit: 2, prefillTokens: Infinity, decode: true }
 */
export interface ServingPolicyModule<P extends PolicyConfigBase = PolicyConfigBase> {
  readonly kind: string;
  /** One line on what the policy does, for documentation and tables. */
  readonly summary: string;
  /**
   * The config fields it reads beyond kind, maxBatch and priority (window's `windowMs`,
   * chunked's `tokenBudget`): the one list the CLI and sweep specs consult to refuse a
   * setting no chosen policy reads. Absent: none.
   */
  readonly reads?: readonly string[];
  /** Validates a config (errors name `policy.<field>`) and returns a normalised copy. */
  check(config: unknown): P;
  /** A short description of a validated config, for provenance. */
  describe(config: P): string;
  /** The decision function of a validated config. */
  decider(config: P): PolicyDecider;
}

const REGISTRY = new Map<string, ServingPolicyModule>();

/**
 * Registers a policy module under its `kind`. Registering a kind twice is an error, as
 * a kernel registered twice for one backend is in tfjs.
 *
 * @example
 * registerServingPolicy({ kind: 'my-policy', summary: '...', check, describe, decider });
 */
export function registerServingPolicy<P extends PolicyConfigBase>(module: ServingPolicyModule<P>): void {
  if (!module || typeof module.kind !== 'string' || module.kind === '') throw new InputError('module.kind', module?.kind, 'a non-empty policy name');
  for (const f of ['check', 'describe', 'decider'] as const) {
    if (typeof module[f] !== 'function') throw new InputError(`module.${f}`, module[f], 'a function');
  }
  if (REGISTRY.has(module.kind)) throw new InputError('module.kind', module.kind, 'a policy name not registered yet', `registered: ${[...REGISTRY.keys()].join(', ')}`);
  REGISTRY.set(module.kind, module as unknown as ServingPolicyModule);
}

/**
 * The module registered under `kind`.
 *
 * @example
 * servingPolicyModule('window').summary
 */
export function servingPolicyModule(kind: string): ServingPolicyModule {
  const m = REGISTRY.get(kind);
  if (!m) throw new InputError('policy.kind', kind, `one of ${servingPolicyKinds().map((k) => JSON.stringify(k)).join(', ')}`);
  return m;
}

/**
 * The registered policies that read a config field (see ServingPolicyModule.reads).
 *
 * @example
 * policiesReading('windowMs') // => ['static', 'window']
 */
export function policiesReading(field: string): string[] {
  return [...REGISTRY.values()].filter((m) => (m.reads ?? []).includes(field)).map((m) => m.kind);
}

/**
 * Names of the registered policies, in registration order.
 *
 * @example
 * servingPolicyKinds() // => ['static', 'window', 'continuous', 'chunked']
 */
export function servingPolicyKinds(): string[] {
  return [...REGISTRY.keys()];
}

/**
 * Validates a policy config through its module.
 *
 * @example
 * checkServingPolicy({ kind: 'continuous', maxBatch: 0 }) // throws InputError naming policy.maxBatch
 */
export function checkServingPolicy(config: unknown): PolicyConfigBase {
  if (!config || typeof config !== 'object') throw new InputError('policy', config, `a policy { kind: ${servingPolicyKinds().map((k) => JSON.stringify(k)).join(' | ')}, maxBatch, ... }`);
  return servingPolicyModule((config as { kind: string }).kind).check(config);
}

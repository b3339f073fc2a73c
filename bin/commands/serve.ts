import { Option } from 'commander';
import type { Command } from 'commander';
import { BACKEND_NAMES } from '../../lib/backend/registry.js';
import type { BackendName } from '../../lib/backend/registry.js';
import { policiesReading, servingPolicyKinds, servingPolicyModule } from '../../lib/batching/policy.js';
import '../../lib/batching/policies/index.js';
import { DEFAULT_ENGINE_SCALE, startEngineServer } from '../../lib/server/serve.js';
import { InputError } from '../../lib/util/errors.js';
import { asFlags, asFlagsAsync, decimalInRange, intArg } from './context.js';

interface ServeOptions {
  model: string;
  weights: 'seeded' | 'dir';
  width: string;
  depth: string;
  vocab: string;
  seed: string;
  maxContext: string;
  policy: string;
  maxBatch: string;
  windowMs: string;
  tokenBudget?: string;
  port: string;
  backend: string;
  calibrate: boolean;
  calibrateMaxPrompt: string;
  calibrateReps: string;
  calibrateBurst: boolean;
  maxSettleMs: string;
}

// Strict decimals (Number('0x10') is 16), with the range in the refusal.
function num(flag: string, raw: string, bounds: { min?: number; max?: number; exclusiveMin?: boolean; int?: boolean }): number {
  if (bounds.int) return intArg(flag, raw, bounds.min ?? -Number.MAX_SAFE_INTEGER, bounds.max ?? Number.MAX_SAFE_INTEGER);
  return decimalInRange(flag, raw, bounds);
}

// The policy flags and the config fields they set: one typed for a policy that does not read its field (the policy module's `reads`) is refused, not ignored.
const POLICY_FIELD_FLAGS: Record<string, string> = { '--window-ms': 'windowMs', '--token-budget': 'tokenBudget' };
const CALIBRATE_FLAGS = ['--calibrate-max-prompt', '--calibrate-reps', '--calibrate-burst'];

/**
 * The policy config of the serve flags, checked by the policy module itself (its refusals
 * name the flags). `typed`: the flags the user typed; one the policy does not read is refused.
 */
export function policyFromFlags(o: { policy: string; maxBatch: string; windowMs: string; tokenBudget?: string; typed?: string[] }): Record<string, unknown> {
  const maxBatch = num('--max-batch', o.maxBatch, { min: 1, max: 4096, int: true });
  const p: Record<string, unknown> = { kind: o.policy, maxBatch };
  // Every flag given is checked, also where the policy does not read it: a typo never passes silently.
  const windowMs = num('--window-ms', o.windowMs, { min: 0, max: 3.6e6 });
  const tokenBudget = o.tokenBudget === undefined ? undefined : num('--token-budget', o.tokenBudget, { min: 1, max: 10_000_000, int: true });
  const known = servingPolicyKinds().includes(o.policy);
  const fields = known ? (servingPolicyModule(o.policy).reads ?? []) : [];
  const reads = Object.keys(POLICY_FIELD_FLAGS).filter((flag) => fields.includes(POLICY_FIELD_FLAGS[flag]));
  for (const flag of Object.keys(POLICY_FIELD_FLAGS)) {
    const given = flag === '--token-budget' ? o.tokenBudget !== undefined : (o.typed ?? []).includes(flag);
    if (given && !reads.includes(flag) && known) {
      throw new InputError(flag, flag === '--token-budget' ? o.tokenBudget : o.windowMs, `given only with --policy ${policiesReading(POLICY_FIELD_FLAGS[flag]).join(' or ')} (the ${o.policy} policy does not read it)`);
    }
  }
  if (reads.includes('--window-ms')) p.windowMs = windowMs;
  if (reads.includes('--token-budget')) {
    if (tokenBudget === undefined) throw new InputError('--token-budget', undefined, 'tokens per step (chunked policy)');
    p.tokenBudget = tokenBudget;
  }
  // The module's own range (static's window starts at 0.001 ms, chunked's budget at --max-batch), checked before any engine is built.
  asFlags(() => servingPolicyModule(o.policy).check(p), { 'policy.windowMs': '--window-ms', 'policy.tokenBudget': '--token-budget', 'policy.maxBatch': '--max-batch', 'policy.kind': '--policy' }, { maxBatch: '--max-batch' });
  return p;
}

/**
 * The calibration of the serve flags, or undefined without --calibrate (where its own
 * flags, typed, are refused). The longest calibrated prompt must fit the served context.
 */
function calibrationFromFlags(o: ServeOptions, typed: string[], maxBatch: number, maxContext: number): { maxBatch: number; maxContext: number; maxPrompt: number; reps: number; burst: boolean } | undefined {
  if (!o.calibrate) {
    const flag = typed.find((f) => CALIBRATE_FLAGS.includes(f));
    if (flag !== undefined) {
      const value = { '--calibrate-max-prompt': o.calibrateMaxPrompt, '--calibrate-reps': o.calibrateReps, '--calibrate-burst': o.calibrateBurst }[flag];
      throw new InputError(flag, value, 'given only with --calibrate (it shapes the step-cost calibration, which runs only then)');
    }
    return undefined;
  }
  let maxPrompt: number;
  try {
    maxPrompt = intArg('--calibrate-max-prompt', o.calibrateMaxPrompt, 1, maxContext);
  } catch (e) {
    // The bound is another flag's value: say which, since it was once clamped to it silently.
    if (!(e instanceof InputError)) throw e;
    throw new InputError(e.field, e.value, `${e.allowed} (at most --max-context, the longest sequence the server runs)`);
  }
  return { maxBatch, maxContext, maxPrompt, reps: num('--calibrate-reps', o.calibrateReps, { min: 1, max: 100, int: true }), burst: o.calibrateBurst === true };
}

/**
 * `batchlab serve`: a Llama-architecture decode engine behind an OpenAI-compatible
 * streaming endpoint on 127.0.0.1, scheduled by one of the simulator's policies. On
 * SIGINT or SIGTERM it closes its port (new connections are refused; a request on a
 * connection already open is answered 503) and stops once every accepted one,
 * queued or streaming, has run to its end. Every flag is checked, and the port bound,
 * before the engine is built.
 */
export function register(program: Command, io: { out: (s: string) => void; err: (s: string) => void; signal?: AbortSignal } = { out: console.log, err: console.error }): void {
  program
    .command('serve')
    .description('serve a transformer decode engine at /v1/completions (OpenAI-compatible, SSE streaming) on 127.0.0.1')
    .option('--model <id|dir>', 'catalog model id (data/models) or a folder with config.json', 'llama-3.2-1b')
    .addOption(new Option('--weights <kind>', 'seeded weights, or the folder\'s *.safetensors').choices(['seeded', 'dir']).default('seeded'))
    .option('--width <f>', 'width scale (hidden, FFN, heads) for seeded weights', String(DEFAULT_ENGINE_SCALE.width))
    .option('--depth <f>', 'layer-count scale for seeded weights', String(DEFAULT_ENGINE_SCALE.depth))
    .option('--vocab <f>', 'vocabulary scale for seeded weights', String(DEFAULT_ENGINE_SCALE.vocab))
    .option('--seed <n>', 'weight seed', '1')
    .option('--max-context <n>', 'longest prompt + output per request', '1024')
    .addOption(new Option('--policy <kind>', 'scheduling policy').choices(servingPolicyKinds()).default('continuous'))
    .option('--max-batch <n>', 'most sequences per step', '16')
    .option('--window-ms <ms>', 'window (window: 0 or [0.001, 3600000]; static: [0.001, 3600000]); refused with another policy', '20')
    .option('--token-budget <n>', 'tokens per step (chunked policy, at least --max-batch); refused with another policy')
    .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', '8000')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', ...BACKEND_NAMES]).default('auto'))
    .option('--calibrate', 'measure the step cost first and publish it at /batchlab/step-cost', false)
    .option('--calibrate-max-prompt <n>', '--calibrate: longest prompt the calibration times (at most --max-context)', '128')
    .option('--calibrate-reps <n>', '--calibrate: rounds of the calibration', '5')
    .option('--calibrate-burst', '--calibrate: also time one step of max-batch prompts of --calibrate-max-prompt tokens (the top of the step-cost curve; the costliest shape)', false)
    .option('--max-settle-ms <ms>', 'longest wait before a step for requests still being read (0: one event-loop turn per step)', '20')
    .exitOverride()
    .action(async (o: ServeOptions, cmd: Command) => {
      const typed = cmd.options.filter((opt) => opt.long !== undefined && cmd.getOptionValueSource(opt.attributeName()) === 'cli').map((opt) => opt.long!);
      const policy = policyFromFlags({ ...o, typed });
      const maxContext = num('--max-context', o.maxContext, { min: 2, max: 32768, int: true });
      const calibrate = calibrationFromFlags(o, typed, policy.maxBatch as number, maxContext);
      const scale = { width: num('--width', o.width, { min: 0, exclusiveMin: true, max: 1 }), depth: num('--depth', o.depth, { min: 0, exclusiveMin: true, max: 1 }), vocab: num('--vocab', o.vocab, { min: 0, exclusiveMin: true, max: 1 }) };
      const seed = num('--seed', o.seed, { int: true });
      const port = num('--port', o.port, { min: 0, max: 65535, int: true });
      const maxSettleSeconds = num('--max-settle-ms', o.maxSettleMs, { min: 0, max: 1000 }) / 1000;
      // startEngineServer binds the port before it builds the engine, so a port in use is refused before minutes of calibration.
      const s = await asFlagsAsync(() => startEngineServer({
        model: o.model,
        weights: o.weights,
        scale,
        seed,
        maxContext,
        policy,
        port,
        backend: o.backend as BackendName | 'auto',
        calibrate,
        maxSettleSeconds,
        log: io.out,
      }), { model: '--model', dir: '--model', 'scale.width': '--width', 'scale.depth': '--depth', 'scale.vocab': '--vocab', maxContext: '--max-context', port: '--port' });
      io.out(`batchlab: policy ${servingPolicyModule(s.loop.policy.kind).describe(s.loop.policy)}; listening on ${s.server.url}`);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (why: string): void => {
          if (stopping) return;
          stopping = true;
          // The CLI's own Ctrl-C line is written for sweeps ("after the current point"); this says what a server's stop does.
          io.out(`batchlab: ${why}: closing the port (new connections are refused, a request on an open one is answered 503); the ${s.loop.inSystem()} accepted requests run to their end, streams included, then the server stops`);
          s.server.close().then(resolve, resolve);
        };
        io.signal?.addEventListener('abort', () => stop('interrupted'));
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      const m = s.loop.metrics();
      s.engine.dispose();
      io.out(`batchlab: stopped after ${m.completed} completed and ${m.cancelled} cancelled requests`);
    });
}

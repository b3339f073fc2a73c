import { Option } from 'commander';
import type { Command } from 'commander';
import { BACKEND_NAMES } from '../../lib/backend/registry.js';
import type { BackendName } from '../../lib/backend/registry.js';
import { servingPolicyKinds, servingPolicyModule } from '../../lib/batching/policy.js';
import '../../lib/batching/policies/index.js';
import { DEFAULT_ENGINE_SCALE, startEngineServer } from '../../lib/server/serve.js';
import { InputError } from '../../lib/util/errors.js';
import { asFlagsAsync, decimalInRange, intArg } from './context.js';

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

/** The policy config of the serve flags, checked by the policy module itself. */
export function policyFromFlags(o: { policy: string; maxBatch: string; windowMs: string; tokenBudget?: string }): Record<string, unknown> {
  const maxBatch = num('--max-batch', o.maxBatch, { min: 1, max: 4096, int: true });
  const p: Record<string, unknown> = { kind: o.policy, maxBatch };
  // Every flag given is checked, also where the policy does not read it: a typo never passes silently.
  const windowMs = num('--window-ms', o.windowMs, { min: 0, max: 3.6e6 });
  const tokenBudget = o.tokenBudget === undefined ? undefined : num('--token-budget', o.tokenBudget, { min: 1, max: 10_000_000, int: true });
  if (o.policy === 'window' || o.policy === 'static') p.windowMs = windowMs;
  if (o.policy === 'chunked') {
    if (tokenBudget === undefined) throw new InputError('--token-budget', undefined, 'tokens per step (chunked policy)');
    p.tokenBudget = tokenBudget;
  }
  return p;
}

/**
 * `batchlab serve`: a Llama-architecture decode engine behind an OpenAI-compatible
 * streaming endpoint on 127.0.0.1, scheduled by one of the simulator's policies. It
 * stops on SIGINT or SIGTERM after finishing every accepted request.
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
    .option('--window-ms <ms>', 'window (window, static policies)', '20')
    .option('--token-budget <n>', 'tokens per step (chunked policy)')
    .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', '8000')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', ...BACKEND_NAMES]).default('auto'))
    .option('--calibrate', 'measure the step cost first and publish it at /batchlab/step-cost', false)
    .option('--calibrate-max-prompt <n>', 'longest prompt the calibration times', '128')
    .option('--calibrate-reps <n>', 'rounds of the calibration', '5')
    .option('--calibrate-burst', 'also time one step of max-batch prompts of --calibrate-max-prompt tokens (the top of the step-cost curve; the costliest shape)', false)
    .option('--max-settle-ms <ms>', 'longest wait before a step for requests still being read (0: one event-loop turn per step)', '20')
    .exitOverride()
    .action(async (o: ServeOptions) => {
      const policy = policyFromFlags(o);
      const maxContext = num('--max-context', o.maxContext, { min: 2, max: 32768, int: true });
      const s = await asFlagsAsync(() => startEngineServer({
        model: o.model,
        weights: o.weights,
        scale: { width: num('--width', o.width, { min: 0, exclusiveMin: true, max: 1 }), depth: num('--depth', o.depth, { min: 0, exclusiveMin: true, max: 1 }), vocab: num('--vocab', o.vocab, { min: 0, exclusiveMin: true, max: 1 }) },
        seed: num('--seed', o.seed, { int: true }),
        maxContext,
        policy,
        port: num('--port', o.port, { min: 0, max: 65535, int: true }),
        backend: o.backend as BackendName | 'auto',
        calibrate: o.calibrate
          ? { maxBatch: policy.maxBatch as number, maxContext, maxPrompt: Math.min(maxContext, num('--calibrate-max-prompt', o.calibrateMaxPrompt, { min: 1, int: true })), reps: num('--calibrate-reps', o.calibrateReps, { min: 1, max: 100, int: true }), burst: o.calibrateBurst === true }
          : undefined,
        maxSettleSeconds: num('--max-settle-ms', o.maxSettleMs, { min: 0, max: 1000 }) / 1000,
        log: io.out,
      }), { model: '--model', dir: '--model', 'scale.width': '--width', 'scale.depth': '--depth', 'scale.vocab': '--vocab', maxContext: '--max-context' });
      io.out(`batchlab: policy ${servingPolicyModule(s.loop.policy.kind).describe(s.loop.policy)}; listening on ${s.server.url}`);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (why: string): void => {
          if (stopping) return;
          stopping = true;
          io.out(`batchlab: ${why}: finishing ${s.loop.inSystem()} accepted requests, then stopping`);
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

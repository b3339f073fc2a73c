import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../backend/registry.js';
import type { BackendName } from '../backend/registry.js';
import { engineConfigFromHf, engineParamCount, scaleEngineConfig } from '../engine/config.js';
import type { EngineConfig, EngineScale } from '../engine/config.js';
import { DecodeEngine } from '../engine/model.js';
import { openSafetensorsDir } from '../engine/safetensors.js';
import { defaultStepCostGrid, measureEngineStepCost } from '../engine/stepcost.js';
import type { EngineStepCostFit } from '../engine/stepcost.js';
import { checkEngineFits, ENGINE_HEADROOM_BYTES, seededWeightSource } from '../engine/weights.js';
import { kvBytesPerToken } from '../models/params.js';
import { engineModelSpec } from '../engine/config.js';
import { batchlabDataDir, batchlabRoot } from '../util/package-root.js';
import { InputError } from '../util/errors.js';
import { readJsonCapped } from '../util/files.js';
import type { Server } from 'node:http';
import { bindServer, startCompletionServer } from './http.js';
import type { CompletionServer } from './http.js';
import { ServingLoop } from './loop.js';
import { servingPolicyModule } from '../batching/policy.js';

/**
 * The default shrink of a catalog model: ½ width, ½ depth, ⅛ vocabulary turns
 * Llama-3.2-1B (1.24 B parameters) into a 138 M-parameter model whose decode step
 * takes tens of milliseconds on 2 CPU cores.
 */
export const DEFAULT_ENGINE_SCALE: EngineScale = { width: 0.5, depth: 0.5, vocab: 0.125 };

/** What to serve and how. */
export interface EngineServerOptions {
  /** A catalog model id (data/models), or a folder holding config.json (and *.safetensors when `weights` is 'dir'). */
  model: string;
  /** Shrink factors applied to the config (ignored with safetensors weights); default DEFAULT_ENGINE_SCALE. */
  scale?: EngineScale;
  /** 'seeded' (default) or 'dir': the safetensors files in the model folder. */
  weights?: 'seeded' | 'dir';
  seed?: number;
  maxContext?: number;
  policy: unknown;
  port?: number;
  backend?: BackendName | 'auto';
  /** Measure the step cost before serving, over this operating range. */
  calibrate?: { maxBatch: number; maxContext: number; maxPrompt: number; reps?: number; burst?: boolean };
  /** Longest wait before a step for requests still being read (ServingLoopOptions.maxSettleSeconds). */
  maxSettleSeconds?: number;
  log?: (line: string) => void;
}

/**
 * Reads the config of a catalog id or of a folder's config.json.
 *
 * @example
 * resolveEngineConfig('llama-3.2-1b', 512).maxContext // => 512
 */
export function resolveEngineConfig(model: string, maxContext?: number): EngineConfig {
  if (typeof model !== 'string' || model === '') throw new InputError('model', model, 'a catalog model id or a folder with config.json');
  const isDir = existsSync(model) && statSync(model).isDirectory();
  const path = isDir ? join(model, 'config.json') : join(batchlabDataDir('models'), `${model}.json`);
  if (!existsSync(path)) throw new InputError('model', model, 'a catalog model id (data/models/<id>.json) or a folder with config.json');
  // A config.json is kilobytes; only a regular file is read, capped by bytes read.
  const json = readJsonCapped('model', path, { maxBytes: 16 * 2 ** 20, what: 'HF config.json' });
  return engineConfigFromHf(json, { id: isDir ? undefined : model, maxContext });
}

/**
 * Binds the port, builds the engine, measures its step cost when asked, and serves it:
 * the pieces of `batchlab serve`. A port in use is an InputError naming `port`, before
 * the engine is built; until the engine serves, the port answers 503.
 *
 * @example
 * const s = await startEngineServer({ model: 'llama-3.2-1b', policy: { kind: 'continuous', maxBatch: 16 }, port: 8000 });
 * await s.server.close();
 */
export async function startEngineServer(o: EngineServerOptions): Promise<{ server: CompletionServer; loop: ServingLoop; engine: DecodeEngine; fit?: EngineStepCostFit }> {
  const log = o.log ?? (() => {});
  const base = resolveEngineConfig(o.model, o.maxContext ?? 1024);
  const useDir = o.weights === 'dir';
  const config = useDir ? base : scaleEngineConfig(base, o.scale ?? DEFAULT_ENGINE_SCALE);
  if (useDir) checkEngineFits(config);
  // The policy as the loop will check it, before the port and the engine: a bad one is refused at once.
  servingPolicyModule((o.policy as { kind?: string } | null)?.kind as string).check(o.policy);
  // The port first: one in use is refused now, not after the engine is built and calibrated (minutes at real size).
  const bound = await bindServer(o.port ?? 0);
  try {
    return await serveOn(bound, config, o, log);
  } catch (e) {
    bound.close();
    throw e;
  }
}

async function serveOn(bound: Server, config: EngineConfig, o: EngineServerOptions, log: (line: string) => void): Promise<{ server: CompletionServer; loop: ServingLoop; engine: DecodeEngine; fit?: EngineStepCostFit }> {
  const useDir = o.weights === 'dir';
  // Weights are read (or drawn) one tensor at a time as the engine uploads them.
  const weights = useDir ? openSafetensorsDir(o.model) : seededWeightSource(config, o.seed ?? 1);
  const sel = await selectBackend(o.backend ?? 'auto', { log });
  const engine = new DecodeEngine(sel.tf, config, weights);
  const p = engineParamCount(config);
  log(`batchlab: engine ${config.id}: ${(p.total / 1e6).toFixed(1)} M parameters (${(p.active / 1e6).toFixed(1)} M active), ${config.numLayers} layers, hidden ${config.hiddenSize}, context ${config.maxContext}, on ${engine.backend}`);
  let fit: EngineStepCostFit | undefined;
  if (o.calibrate) {
    const t0 = performance.now();
    const grid = defaultStepCostGrid(o.calibrate);
    fit = measureEngineStepCost(engine, grid);
    const m = engineMemoryBudget(config, Math.max(...grid.decodeBatches) * o.calibrate.maxContext);
    log(
      `batchlab: step cost measured in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${process.uptime().toFixed(1)} s since the process started (fit rms error ${(100 * fit.rmsRelativeError).toFixed(1)} %); ` +
        `peak RSS ${gib(peakRssBytes())} (measured, process lifetime) against a budget of ${gib(m.budgetBytes)} (weights ${gib(m.weightBytes)} + KV ${gib(m.kvBytes)} + ${gib(ENGINE_HEADROOM_BYTES)})`,
    );
  }
  const loop = new ServingLoop(engine, o.policy, { maxSettleSeconds: o.maxSettleSeconds });
  const server = await startCompletionServer(loop, { server: bound, model: 'batchlab', seed: o.seed ?? 1, stepCost: () => fit });
  return { server, loop, engine, fit };
}

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;

/**
 * The process's peak resident memory so far (getrusage's ru_maxrss), in bytes.
 *
 * @example
 * peakRssBytes() // => 5.9e9 after calibrating the 1.24 B model
 */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * What the engine may hold: its float32 weights, the KV cache of `cachedTokens` tokens
 * (float32 keys and values, kvBytesPerToken of the equivalent ModelSpec), and the
 * working-memory headroom; the engine frees each layer's intermediates so that a
 * step's peak stays within it.
 *
 * @example
 * engineMemoryBudget(cfg, 16 * 1024).budgetBytes // => weights + 16 K tokens of KV + 2 GiB
 */
export function engineMemoryBudget(c: EngineConfig, cachedTokens: number): { weightBytes: number; kvBytes: number; budgetBytes: number } {
  const weightBytes = engineParamCount(c).total * 4;
  const kvBytes = cachedTokens * kvBytesPerToken(engineModelSpec(c), 'fp32');
  return { weightBytes, kvBytes, budgetBytes: weightBytes + kvBytes + ENGINE_HEADROOM_BYTES };
}

/** A server in a child process (so its synchronous steps never delay the client's clock). */
export interface ChildServer {
  url: string;
  child: ChildProcess;
  /** Lines the child printed. */
  output: string[];
  /** Sends SIGTERM and resolves with the exit code once the child has finished every accepted request. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `batchlab serve` in a child process with the given CLI arguments and resolves
 * once it listens. From the built package it runs dist/bin/batchlab.js; from the
 * TypeScript sources (tests, benchmarks) it runs bin/batchlab.ts through tsx.
 *
 * @example
 * const s = await spawnServer(['--model', 'llama-3.2-1b', '--policy', 'continuous', '--max-batch', '8']);
 * await s.stop();
 */
export function spawnServer(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ChildServer> {
  const root = batchlabRoot();
  const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');
  const argv = fromSource ? ['--import', 'tsx', join(root, 'bin', 'batchlab.ts')] : [join(root, 'dist', 'bin', 'batchlab.js')];
  const child = spawn(process.execPath, [...argv, 'serve', '--port', '0', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', ...(opts.env ?? {}) },
  });
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`batchlab serve did not start within ${opts.timeoutMs ?? 180_000} ms:\n${output.join('\n')}`));
    }, opts.timeoutMs ?? 180_000);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        output.push(line);
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve({
            url: m[1],
            child,
            output,
            stop: (signal = 'SIGTERM') => {
              if (child.exitCode === null) child.kill(signal);
              return exited;
            },
          });
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`batchlab serve exited with ${code} before listening:\n${output.join('\n')}`));
    });
  });
}

import type { HardwareSpec } from '../hardware/spec.js';
import type { ModelSpec } from '../models/spec.js';
import { checkPositive } from '../util/validate.js';
import { uniformPrecision } from './layout.js';
import type { SpeculativeDecoding } from './pool.js';
import type { SearchLoad, SearchPoint, SearchSpace } from './search.js';
import { deploymentFrontier, evaluateSearchSpace, searchCheapestDeployment } from './search.js';
import type { StepModelFactory } from './types.js';
import type { PoolLayout } from './types.js';

/** One row of the dense-against-MoE comparison. */
export interface ArchitectureRow {
  model: string;
  /** What the row answers: 'one user', 'equal latency', 'equal cost', 'with MTP', 'with prefix cache'. */
  question: string;
  layout: string;
  batch: number;
  devices: number;
  tokensPerSecondPerUser: number;
  usdPerMillionOutput: number;
  ttftSeconds: number;
}

/**
 * The layouts a comparison tries for a model on 8-GPU nodes: tensor parallelism for dense, expert parallelism with data-parallel attention for MoE.
 *
 * @example
 * candidateLayouts(loadModel('llama-3.1-70b')).map((l) => l.tensorParallel) // => [1, 2, 4, 8]
 */
export function candidateLayouts(model: ModelSpec, gpusPerNode = 8): PoolLayout[] {
  const base = { gpusPerNode, pipelineParallel: 1, redundantExperts: 0, microBatchOverlap: false };
  const out: PoolLayout[] = [1, 2, 4, 8].map((tp) => ({ ...base, tensorParallel: tp, dataParallelAttention: 1, expertParallel: 1 }));
  if (model.moe) {
    for (const ep of [16, 32, 64, 144]) out.push({ ...base, tensorParallel: 1, dataParallelAttention: ep, expertParallel: ep, redundantExperts: ep === 144 ? 32 : 0, microBatchOverlap: true });
  }
  return out;
}

function describeLayout(l: PoolLayout): string {
  return l.expertParallel > 1 ? `EP${l.expertParallel} DP${l.dataParallelAttention}${l.microBatchOverlap ? ' overlap' : ''}` : `TP${l.tensorParallel}`;
}

/**
 * The essay's closing question, dense 70B-class against an MoE such as DeepSeek-V3 on
 * the same hardware: the fastest single user each can get (architecture: bytes each
 * token must read, and more GPUs per user), the cheapest deployment of each at an
 * equal per-user speed, the fastest of each at an equal cost, and what speculative
 * decoding (stated acceptance) and prefix caching (stated hit ratio) add as what-ifs.
 * Every answer is a search over the same layouts and batches (`candidateLayouts`,
 * powers of two up to `maxBatch`).
 *
 * @example
 * denseVsMoe({ dense: loadModel('llama-3.1-70b'), moe: loadModel('deepseek-v3'), hardware: loadHardware('h800'),
 *   load: { requestsPerSecond: 100, promptTokens: 2000, outputTokens: 500 }, tokensPerSecondPerUser: 20,
 *   speculative: { draftTokens: 1, acceptance: 0.85 }, cacheHitFraction: 0.563 })
 */
export function denseVsMoe(opts: {
  dense: ModelSpec;
  moe: ModelSpec;
  hardware: HardwareSpec;
  load: SearchLoad;
  /** The equal-latency target. */
  tokensPerSecondPerUser: number;
  /** The equal-cost target, USD per million output tokens (default: the MoE's cheapest at the latency target). */
  usdPerMillionOutput?: number;
  speculative: SpeculativeDecoding;
  cacheHitFraction: number;
  maxBatch?: number;
  stepModel?: StepModelFactory;
}): { rows: ArchitectureRow[]; frontiers: Record<string, SearchPoint[]>; spaces: Record<string, SearchSpace>; cheapest: Record<string, SearchPoint | null> } {
  const target = checkPositive('tokensPerSecondPerUser', opts.tokensPerSecondPerUser, 1e6);
  const batches: number[] = [];
  for (let b = 1; b <= (opts.maxBatch ?? 512); b *= 2) batches.push(b);
  const space = (model: ModelSpec, extra: Partial<SearchSpace> = {}): SearchSpace => ({
    model,
    hardware: [opts.hardware],
    layouts: candidateLayouts(model),
    precisions: [uniformPrecision('fp8')],
    batches,
    load: opts.load,
    stepModel: opts.stepModel,
    ...extra,
  });
  const rows: ArchitectureRow[] = [];
  const frontiers: Record<string, SearchPoint[]> = {};
  const spaces: Record<string, SearchSpace> = {};
  const cheapest: Record<string, SearchPoint | null> = {};
  const row = (model: ModelSpec, question: string, sp: SearchSpace, p: SearchPoint | null): void => {
    if (!p) {
      rows.push({ model: model.id, question, layout: 'none meets it', batch: 0, devices: 0, tokensPerSecondPerUser: 0, usdPerMillionOutput: Infinity, ttftSeconds: Infinity });
      return;
    }
    rows.push({
      model: model.id,
      question,
      layout: describeLayout(sp.layouts[p.layout]),
      batch: p.batch,
      devices: p.devicesPerUnit,
      tokensPerSecondPerUser: p.tokensPerSecondPerUser,
      usdPerMillionOutput: p.usdPerMillionOutput,
      ttftSeconds: p.ttftSeconds,
    });
  };
  const cheapestAt = (sp: SearchSpace): SearchPoint | null => searchCheapestDeployment(sp, { tpotSeconds: 1 / target }).best;
  const moeSpace = space(opts.moe);
  const moeCheapest = cheapestAt(moeSpace);
  const costCap = opts.usdPerMillionOutput ?? moeCheapest?.usdPerMillionOutput ?? Infinity;
  for (const model of [opts.dense, opts.moe]) {
    const sp = model === opts.moe ? moeSpace : space(model);
    const all = evaluateSearchSpace(sp);
    frontiers[model.id] = deploymentFrontier(all);
    const feasible = all.filter((p) => p.feasible);
    const fastest = feasible.reduce<SearchPoint | null>((a, p) => (a === null || p.tokensPerSecondPerUser > a.tokensPerSecondPerUser ? p : a), null);
    row(model, 'fastest single user (more GPUs per user allowed)', sp, fastest);
    spaces[model.id] = sp;
    cheapest[model.id] = model === opts.moe ? moeCheapest : cheapestAt(sp);
    row(model, `cheapest at ${target} tok/s per user`, sp, cheapest[model.id]);
    const affordable = feasible.filter((p) => p.usdPerMillionOutput <= costCap * (1 + 1e-12));
    row(model, `fastest at ≤ $${costCap.toFixed(3)} per million output tokens`, sp, affordable.reduce<SearchPoint | null>((a, p) => (a === null || p.tokensPerSecondPerUser > a.tokensPerSecondPerUser ? p : a), null));
    row(model, `cheapest at ${target} tok/s per user, with speculative decoding (${opts.speculative.draftTokens} draft, ${opts.speculative.acceptance} accepted)`, sp, cheapestAt({ ...sp, speculative: opts.speculative }));
    const cached = { ...sp, load: { ...sp.load, cacheHitFraction: opts.cacheHitFraction } };
    row(model, `cheapest at ${target} tok/s per user, with ${Math.round(opts.cacheHitFraction * 1000) / 10} % prefix-cache hits`, cached, cheapestAt(cached));
  }
  return { rows, frontiers, spaces, cheapest };
}

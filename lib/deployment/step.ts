import type { Dtype } from '../core/types.js';
import { DTYPE_BYTES } from '../core/types.js';
import { matmulBytes, matmulFlops, prefillAttentionPairs } from '../core/matmul.js';
import type { HardwareSpec } from '../hardware/spec.js';
import { hardwarePeakFlops } from '../hardware/spec.js';
import type { ModelSpec } from '../models/spec.js';
import type { ModelOperation } from '../models/ops.js';
import { expectedActiveExperts, modelStepOps } from '../models/ops.js';
import { kvBytesPerToken, paramCounts } from '../models/params.js';
import { opRoofline } from '../roofline/matmul.js';
import { ringAllReduceSeconds } from '../perf/collective.js';
import { InputError } from '../util/errors.js';
import { checkInt, checkNumber } from '../util/validate.js';
import type { DeploymentPrecision, DeviceStepBreakdown, DeviceStepInput, DeviceStepModel, PoolLayout } from './types.js';
import type { ResolvedLayout } from './layout.js';
import { checkPrecision, resolveLayout } from './layout.js';

const MAX_TOKENS = 1 << 24;

/**
 * A step input with every default filled and every field checked.
 *
 * @example
 * checkStepInput({ prefillTokens: 0, decodeSequences: 8, decodeContext: 1024 }).prefillCachedTokens // => 0
 */
export function checkStepInput(input: DeviceStepInput): Required<DeviceStepInput> {
  if (typeof input !== 'object' || input === null) throw new InputError('step', input, 'a DeviceStepInput object');
  const P = checkInt('prefillTokens', input.prefillTokens, { min: 0, max: MAX_TOKENS });
  const S = P === 0 ? 0 : checkInt('prefillSequences', input.prefillSequences ?? 1, { min: 1, max: P });
  const cached = checkNumber('prefillCachedTokens', input.prefillCachedTokens ?? 0, { min: 0, max: MAX_TOKENS });
  const D = checkInt('decodeSequences', input.decodeSequences, { min: 0, max: MAX_TOKENS });
  const ctx = checkNumber('decodeContext', input.decodeContext, { min: 0, max: MAX_TOKENS });
  const q = checkInt('decodeTokensPerSequence', input.decodeTokensPerSequence ?? 1, { min: 1, max: 64 });
  if (P + D === 0) throw new InputError('prefillTokens + decodeSequences', 0, 'at least 1');
  // Each computed token sees at least itself and at most every token a prompt can hold.
  const pairs =
    P === 0
      ? 0
      : input.prefillAttentionPairsPerToken === undefined
        ? prefillAttentionPairs(P / S, cached) / (P / S)
        : checkNumber('prefillAttentionPairsPerToken', input.prefillAttentionPairsPerToken, { min: 1, max: MAX_TOKENS });
  return { prefillTokens: P, prefillSequences: S, prefillCachedTokens: cached, prefillAttentionPairsPerToken: pairs, decodeSequences: D, decodeContext: ctx, decodeTokensPerSequence: q };
}

function sumSeconds(ops: ModelOperation[], hw: HardwareSpec, dtype: Dtype, scale: (op: ModelOperation) => number = () => 1): number {
  let t = 0;
  for (const op of ops) {
    const p = opRoofline(op, hw, dtype);
    const f = scale(op);
    t += Math.max(p.computeSeconds * f, p.memorySeconds);
  }
  return t;
}

/**
 * The spec-roofline DeviceStepModel: every operation at max(FLOPs / peak, bytes /
 * bandwidth) on one device, with
 * - data-parallel attention: each rank runs its own batch through attention,
 *   dense FFN, shared experts and LM head (split `tensorParallel` ways);
 * - expert parallelism: the rank's routed tokens (batch × top-k) are spread evenly
 *   over the stage's devices (redundant experts balance the load), each device
 *   streaming only its own experts' weights;
 * - all-to-all dispatch and combine at their own dtypes, the off-node share over the
 *   inter-node link and the rest over NVLink (both run at once; the slower sets the time);
 * - tensor-parallel ring all-reduces (two per layer) and pipeline sends;
 * - micro-batch overlap: the step is max(compute, communication) instead of their sum.
 * Prefix-cache hits skip their tokens' computation but their keys still enter the
 * attention pairs. It is a lower bound: real kernels reach a fraction of both peaks.
 *
 * @example
 * const m = rooflineDeviceStepModel(loadModel('llama-3.1-70b'), loadHardware('h100-sxm'),
 *   { gpusPerNode: 8, tensorParallel: 4, dataParallelAttention: 1, pipelineParallel: 1, expertParallel: 1,
 *     redundantExperts: 0, microBatchOverlap: false }, uniformPrecision('bf16'));
 * m.step({ prefillTokens: 0, decodeSequences: 32, decodeContext: 2048 }).seconds // => about 0.013
 */
export function rooflineDeviceStepModel(model: ModelSpec, hw: HardwareSpec, layout: PoolLayout, precision: DeploymentPrecision): DeviceStepModel {
  const L: ResolvedLayout = resolveLayout(model, layout);
  const pr = checkPrecision(precision);
  hardwarePeakFlops(hw, pr.weights);
  hardwarePeakFlops(hw, pr.attention);
  const tp = L.tensorParallel;
  const pp = L.pipelineParallel;
  const ep = L.expertParallel;
  const moe = model.moe;
  const h = model.hiddenSize;
  const label = `${hw.name} spec roofline (TP${tp}${ep > 1 ? ` EP${ep}` : ''}${L.dataParallelAttention > 1 ? ` DP${L.dataParallelAttention}` : ''}${pp > 1 ? ` PP${pp}` : ''}, ${pr.weights} weights, ${pr.attention} attention)`;
  const params = paramCounts(model);

  const expertSeconds = (tokens: number): number => {
    if (!moe || model.moeLayers === 0 || tokens === 0) return 0;
    const I = moe.expertIntermediateSize;
    const k = moe.expertsPerToken;
    const layers = model.moeLayers / pp;
    let routed: number;
    let active: number;
    if (ep === 1) {
      // Every device holds every expert: the rank's tokens reach the expected distinct experts, split tp ways.
      active = expectedActiveExperts(moe.numExperts, k, tokens);
      routed = tokens * k;
    } else {
      // The stage's ep ranks each send tokens·k routed tokens; balanced, every device receives tokens·k.
      const reached = expectedActiveExperts(moe.numExperts, k, tokens * ep) / moe.numExperts;
      active = L.routedExpertsPerDevice * reached;
      routed = tokens * k;
    }
    const m = routed / active;
    const dt = pr.weights;
    const peak = hardwarePeakFlops(hw, dt);
    const one = (kk: number, nn: number): number =>
      Math.max(matmulFlops(m, kk, nn, active) / peak / (ep === 1 ? tp : 1), matmulBytes(m, kk, nn, dt, active) / hw.memoryBytesPerSecond / (ep === 1 ? tp : 1));
    return layers * (one(h, 2 * I) + one(I, h));
  };

  const step = (raw: DeviceStepInput): DeviceStepBreakdown => {
    const w = checkStepInput(raw);
    const D = w.decodeSequences * w.decodeTokensPerSequence;
    const work = { prefillTokens: w.prefillTokens, decodeTokens: D, contextTokens: D * w.decodeContext, prefillSequences: w.prefillSequences || undefined };
    const linOps = modelStepOps(model, { ...work, dtype: pr.weights }).filter((o) => o.group !== 'routed-expert' && o.group !== 'attention-core');
    const coreOps = modelStepOps(model, { ...work, dtype: pr.attention }).filter((o) => o.group === 'attention-core');
    // Cached prefix tokens are keys every new prompt token still attends to.
    const Lp = w.prefillSequences > 0 ? w.prefillTokens / w.prefillSequences : 0;
    const pairScale = Lp > 0 ? (w.prefillAttentionPairsPerToken * Lp) / prefillAttentionPairs(Lp, 0) : 1;
    const linearSeconds = sumSeconds(linOps, hw, pr.weights) / tp / pp;
    const attentionSeconds = sumSeconds(coreOps, hw, pr.attention, (op) => (op.name.startsWith('attn.core.prefill') ? pairScale : 1)) / tp / pp;
    const T = w.prefillTokens + D;
    const expertSecondsV = expertSeconds(T);
    let comm = 0;
    if (ep > 1 && moe) {
      const offNode = ep > L.gpusPerNode ? (ep - L.gpusPerNode) / ep : 0;
      const remote = (ep - 1) / ep;
      const perLayer = (dt: Dtype): number => {
        const bytes = T * moe.expertsPerToken * h * DTYPE_BYTES[dt] * remote;
        const inter = bytes * (offNode / remote || 0);
        const intra = bytes - inter;
        return Math.max(intra / hw.intraNodeBytesPerSecond, inter / hw.interNodeBytesPerSecond);
      };
      comm += (model.moeLayers / pp) * (perLayer(pr.dispatch) + perLayer(pr.combine));
    }
    if (tp > 1) {
      // Two ring all-reduces of the hidden state per layer, at the datasheet link and no latency.
      const link = { latencySeconds: 0, bytesPerSecond: hw.intraNodeBytesPerSecond };
      comm += 2 * (model.numLayers / pp) * ringAllReduceSeconds(T * h * DTYPE_BYTES[pr.attention], tp, link);
    }
    // One send of the hidden state to the next stage, over the inter-node link once a unit spans nodes.
    if (pp > 1) comm += (T * h * DTYPE_BYTES[pr.attention]) / (L.unitDevices > L.gpusPerNode ? hw.interNodeBytesPerSecond : hw.intraNodeBytesPerSecond);
    const compute = linearSeconds + attentionSeconds + expertSecondsV;
    const seconds = L.microBatchOverlap ? Math.max(compute, comm) : compute + comm;
    return { linearSeconds, attentionSeconds, expertSeconds: expertSecondsV, communicationSeconds: comm, seconds };
  };

  const memory = (context: number): { weightBytes: number; kvBytesPerSequence: number; capacityBytes: number } => {
    checkNumber('context', context, { min: 0, max: MAX_TOKENS });
    const wb = DTYPE_BYTES[pr.weights];
    const perExpert = moe ? params.routedExperts / (moe.numExperts * Math.max(1, model.moeLayers)) : 0;
    const nonRouted = params.total - params.routedExperts;
    const routedHere = moe ? (ep === 1 ? params.routedExperts / tp : L.routedExpertsPerDevice * perExpert * model.moeLayers) : 0;
    const weightBytes = ((nonRouted / tp + routedHere) / pp) * wb;
    // MLA caches one latent per token that every head reads, so tensor parallelism cannot split it.
    const kvSplit = model.attention.kind === 'mla' ? 1 : Math.min(tp, model.attention.numKvHeads);
    const kvBytesPerSequence = (kvBytesPerToken(model, pr.attention) * context) / kvSplit / pp;
    return { weightBytes, kvBytesPerSequence, capacityBytes: hw.memoryCapacityBytes };
  };

  return { label, step, memory };
}

import type { HardwareSpec } from '../hardware/spec.js';
import { loadHardware, THIS_MACHINE, hardwarePeakFlops } from '../hardware/spec.js';
import type { ModelSpec } from '../models/spec.js';
import { InputError } from '../util/errors.js';
import { checkPositive } from '../util/validate.js';
import type { ArchitectureRow } from './compare.js';
import type { SearchPoint } from './search.js';
import type { DeploymentServing } from './serve.js';
import type { DeepseekDayReproduction } from './deepseek.js';
import type { LocalSetup } from './local.js';
import { listLocalSetups, localDecode, singleDeviceSetup } from './local.js';
import { speculativeTokensPerStep } from './pool.js';
import { DTYPE_BYTES } from '../core/types.js';
import { matmulKneeBatch, weightStreamKneeBatch } from '../perf/bound.js';

/** One place a model runs, as the essay's title compares them. */
export interface LocalVsScaleRow {
  where: string;
  kind: 'local' | 'scale';
  /** Sequences decoded together in the figure. */
  batch: number;
  /** Accelerators serving them. */
  devices: number;
  tokensPerSecondPerUser: number;
  usdPerMillionOutput: number;
  /** Weights that live off the accelerator (host memory or SSD), GB. */
  offloadedGB: number;
  /**
   * Sequences per device at which the routed-expert GEMMs turn compute-bound: each
   * expert must see the critical batch of its gate/up GEMM (`matmulKneeBatch`) per
   * step, and a device's tokens spread over its experts.
   */
  efficientBatch: number;
  /** Which bandwidth sets that batch: the device's, or the link the experts stream over to reach it. */
  boundBy: string;
  /** Why the model cannot run here (the memory shortfall), or null. */
  refusal: string | null;
  /** Whether the speed is calibrated (runtime factors or this machine's measurements), partly, a datasheet bound, or published. */
  calibration: 'calibrated' | 'partly calibrated' | 'bound' | 'published';
}

/**
 * This machine as a local setup, from its saved GEMM fit; null when this machine has none
 * (then `npx batchlab bench gemm` makes one).
 *
 * @example
 * thisMachineSetup()?.device.memoryBytesPerSecond
 */
export function thisMachineSetup(): LocalSetup | null {
  let hw: HardwareSpec;
  try {
    hw = loadHardware(THIS_MACHINE);
  } catch (e) {
    if (e instanceof InputError) return null;
    throw e;
  }
  return { ...singleDeviceSetup(hw, { hourlyCostUsd: 0 }), id: THIS_MACHINE, name: 'this machine (measured)' };
}

// Tokens one expert's gate/up GEMM [B × hidden]·[hidden × 2·intermediate] needs to turn compute-bound.
function expertKneeTokens(model: ModelSpec, peak: number, bytesPerWeight: number, bandwidth: number): number {
  const I = model.moe?.expertIntermediateSize ?? model.intermediateSize;
  return matmulKneeBatch(peak, bandwidth, bytesPerWeight, model.hiddenSize, 2 * I);
}

/**
 * The title's comparison in one table: the model on each local setup (one user, at
 * `bitsPerWeight`, offloading what does not fit) and at DeepSeek's scale (the
 * reproduction's decode pool), with tokens/s per user, dollars per million output
 * tokens and the batch each needs before its expert GEMMs stop being bound by moving
 * weights. A setup that cannot hold the model even with offload gets a row whose
 * `refusal` names the shortfall.
 *
 * @example
 * localVsScale(loadModel('deepseek-v3'), deepseekDayReproduction(), { bitsPerWeight: 4.8, context: 4096 })
 */
export function localVsScale(
  model: ModelSpec,
  scale: DeepseekDayReproduction,
  opts: { bitsPerWeight: number; context: number; setups?: LocalSetup[]; calibration?: 'calibrated' | 'bound' },
): LocalVsScaleRow[] {
  const bits = checkPositive('bitsPerWeight', opts.bitsPerWeight, 32);
  const moe = model.moe;
  const rows: LocalVsScaleRow[] = [];
  const setups = opts.setups ?? [...listLocalSetups(), ...[thisMachineSetup()].filter((s): s is LocalSetup => s !== null)];
  for (const s of setups) {
    let run;
    try {
      run = localDecode(model, s, { bitsPerWeight: bits, context: opts.context, batch: 1, calibration: opts.calibration });
    } catch (e) {
      if (!(e instanceof InputError && e.field === 'memory')) throw e;
      rows.push({ where: s.name, kind: 'local', batch: 1, devices: s.devices, tokensPerSecondPerUser: 0, usdPerMillionOutput: Infinity, offloadedGB: 0, efficientBatch: Infinity, boundBy: '', refusal: e.message, calibration: opts.calibration ?? 'calibrated' });
      continue;
    }
    const dt = (['bf16', 'fp16', 'fp32'] as const).find((d) => s.device.peakFlops[d] !== undefined) ?? 'fp32';
    // The tier that takes the most of a token's time bounds it (an SSD holding fewer bytes than host memory can still
    // take most of the time); off the device, experts must also cross the host link to be computed there.
    const slow = run.tiers.reduce((a, t) => (t.seconds > a.seconds ? t : a));
    const bw = slow.tier === 'device' ? slow.bytesPerSecond : Math.min(slow.bytesPerSecond, s.hostLinkBytesPerSecond);
    // Off the device only the weights cross the slow tier; activations stay in device memory.
    const knee =
      slow.tier === 'device'
        ? expertKneeTokens(model, hardwarePeakFlops(s.device, dt) * s.devices, bits / 8, bw)
        : weightStreamKneeBatch(hardwarePeakFlops(s.device, dt), bw, bits / 8);
    rows.push({
      where: s.name,
      kind: 'local',
      batch: 1,
      devices: s.devices,
      tokensPerSecondPerUser: run.tokensPerSecondPerUser,
      usdPerMillionOutput: run.usdPerMillionOutput,
      offloadedGB: run.offloadedBytes / 1e9,
      efficientBatch: moe ? Math.ceil((knee * moe.numExperts) / moe.expertsPerToken) : Math.ceil(knee),
      boundBy: slow.tier === 'device' ? `device memory, ${(bw / 1e9).toFixed(0)} GB/s` : `experts streamed from ${slow.tier} at ${(bw / 1e9).toFixed(0)} GB/s`,
      refusal: null,
      calibration: run.calibration,
    });
  }
  const pub = scale.published;
  const hw = loadHardware(pub.hardware);
  const dt = pub.precision.weights;
  const knee = expertKneeTokens(model, hardwarePeakFlops(hw, dt), DTYPE_BYTES[dt], hw.memoryBytesPerSecond);
  const perDevice = pub.decode.routedExpertsPerDevice ?? 1;
  const k = moe?.expertsPerToken ?? 1;
  const verify = 1 + 1; // one MTP draft verified per step
  rows.push({
    where: `DeepSeek's decode pool (${pub.decode.expertParallel} H800s, EP${pub.decode.expertParallel}), predicted`,
    kind: 'scale',
    batch: scale.decode.sequencesPerRank,
    devices: pub.decode.expertParallel,
    tokensPerSecondPerUser: scale.decode.tokensPerSecondPerUser,
    usdPerMillionOutput: scale.day.perMillion.output,
    offloadedGB: 0,
    efficientBatch: Math.ceil((knee * perDevice) / (k * verify)),
    boundBy: `device memory, ${(hw.memoryBytesPerSecond / 1e9).toFixed(0)} GB/s`,
    refusal: null,
    calibration: 'calibrated',
  });
  const f = pub.figures;
  rows.push({
    where: "DeepSeek's decode pool, published",
    kind: 'scale',
    // Users per GPU implied by the published rates: tokens/s per node / GPUs per node / tokens/s per user.
    batch: Math.round(f.decodeTokensPerNodePerSecond / f.gpusPerNode / ((f.outputTokensPerUserLow + f.outputTokensPerUserHigh) / 2)),
    devices: pub.decode.expertParallel,
    tokensPerSecondPerUser: (f.outputTokensPerUserLow + f.outputTokensPerUserHigh) / 2,
    usdPerMillionOutput: ((f.pricePerGpuHourUsd * f.gpusPerNode) / 3600 / f.decodeTokensPerNodePerSecond) * 1e6,
    offloadedGB: 0,
    efficientBatch: Math.ceil((knee * perDevice) / (k * verify)),
    boundBy: `device memory, ${(hw.memoryBytesPerSecond / 1e9).toFixed(0)} GB/s`,
    refusal: null,
    calibration: 'published',
  });
  speculativeTokensPerStep({ draftTokens: 1, acceptance: pub.workload.mtpAcceptance });
  return rows;
}

const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');
const n1 = (x: number): string => (x >= 100 ? n0(x) : x.toFixed(1));
// Markdown in notebooks treats $…$ as mathematics: the sentences escape every dollar sign.
const md = (s: string): string => s.replace(/\$/g, '\\$');
const usd = (x: number): string => (x >= 10 ? `$${n0(x)}` : x >= 1 ? `$${x.toFixed(2)}` : `$${x.toFixed(3)}`);

/**
 * DeepSeek's published day and the model's prediction in sentences, every number
 * from the reproduction.
 *
 * @example
 * showMarkdown(describeDeepseekDay(deepseekDayReproduction()))
 */
export function describeDeepseekDay(r: DeepseekDayReproduction): string {
  const f = r.published.figures;
  const row = (name: string) => r.rows.find((x) => x.figure.startsWith(name))!;
  const pre = row('prefill');
  const dec = row('decode output');
  const cap = row('decode capacity');
  const cost = row('daily cost');
  const margin = row('cost-profit margin');
  const pct = (x: number): string => `${Math.round(Math.abs(x - 1) * 100)} % ${x >= 1 ? 'above' : 'below'}`;
  const perUser = (f.outputTokensPerUserLow + f.outputTokensPerUserHigh) / 2;
  const u = r.utilisation;
  // A published rate above the predicted capacity is the model's error, not a pool run past full.
  const used = (x: number, pool: string): string =>
    x <= 1 ? `the day used ${Math.round(x * 100)} % of the ${pool} pool's capacity` : `the day's ${pool} rate sits ${Math.round((x - 1) * 100)} % above the capacity the model gives that pool (within its error)`;
  const mix = r.prefillPromptMix;
  const within = r.rows.filter((x) => x.within25).length;
  return [
    `DeepSeek's arithmetic holds: ${f.averageNodes} nodes × ${f.gpusPerNode} GPUs × $${f.pricePerGpuHourUsd} × 24 h = **${usd(r.arithmetic.dailyCostUsd)}** a day, and ${f.inputTokens / 1e9} B input tokens (${Math.round(f.cacheHitFraction * 1000) / 10} % cache hits) plus ${f.outputTokens / 1e9} B output tokens at R1 prices bring ${usd(r.arithmetic.revenueUsd)}, a margin of **${Math.round(r.arithmetic.margin * 100)} %**.`,
    `The published rates are day averages of the load served, not capacity, so the model (${r.stepModel}) prices decode where DeepSeek ran it: at the published ${n1(perUser)} tokens/s per user it fits ${n0(r.decode.sequencesPerRank)} sequences per GPU and delivers ${n0(dec.predicted)} output tokens/s per decode node against the published ${n0(dec.published)} (${pct(dec.ratio)}); at the profiling batch of ${n0(r.decodeCapacity.sequencesPerRank)} its capacity would be ${n0(cap.predicted)}, with users at only ${n1(r.decodeCapacity.tokensPerSecondPerUser)} tokens/s. Prefill has no published latency to fix its batch, so the model gives its capacity: ${n0(pre.predicted)} input tokens/s per node (cache hits counted) against the published ${n0(pre.published)} (${pct(pre.ratio)}).${mix ? ` DeepSeek publishes only the mean prompt and hit rate, so the model assumes its prompt lengths spread like those of a production chat trace, the ${mix.name} mix (data/traces; ${mix.source.split(':')[0]}; another service, mean prompt ${n0(mix.originalMeanPromptTokens)} tokens), scaled to the day's mean of ${n0(r.published.workload.prefillPromptTokens)} tokens with ${Math.round(f.cacheHitFraction * 1000) / 10} % of every prompt cached. A computed token attends to every earlier token of its prompt, so the long prompts of that spread make it attend to ${n0(mix.attentionPairsPerComputedToken)} keys on average, ${(mix.attentionPairsPerComputedToken / mix.alikePairsPerComputedToken).toFixed(1)}× as many as in prompts all of the mean length; with every prompt alike the model would give ${n0(mix.alikeInputTokensPerNodePerSecond)} (${pct(mix.alikeInputTokensPerNodePerSecond / pre.published)}).` : ''} Every kernel at its datasheet peak would give ${n0(pre.bound!)} and ${n0(dec.bound!)}. The busiest expert GPU carries ${r.expertLoadFactor.prefill.toFixed(3)}× the mean in prefill and ${r.expertLoadFactor.decode.toFixed(3)}× in decode, from seeded uniform routing over the redundant-expert placement (real routing is skewed and can only add to it).`,
    `Sized at the predicted rates, the day needs ${n1(r.day.averageNodes)} nodes and costs ${usd(cost.predicted)} instead of ${usd(cost.published)} (${pct(cost.ratio)}), for a margin of ${Math.round(margin.predicted)} % instead of ${Math.round(margin.published)} %; ${within} of ${r.rows.length} figures are within ±25 %.`,
    `**What the model cannot see.** If it is right, ${used(u.prefill, 'prefill')}, and ${used(u.decode, 'decode')}. Against DeepSeek's own profiling runs (the figures as LMSYS derived them), the day's computed prefill tokens per node are ${Math.round(u.profile.prefill * 100)} % of the profile's and its output tokens per node ${Math.round(u.profile.decode * 100)} %${mix ? `; the profiling run computes whole ${n0(r.published.workload.prefillPromptTokens)}-token prompts, and in the model the assumed prompt spread accounts for ${Math.round(mix.explainedShareOfProfileGap * 100)} % of the prefill gap (in log terms)` : ''}. ${mix ? "The rest, like the model's own error, may be" : 'The prefill gap is therefore'} utilisation, which no published figure measures: arrivals that do not fill a 16K-token batch, batches cut short to bound time to first token, routing skew beyond what redundant experts absorb, and the node count stepping down only coarsely at night (peak ${f.peakNodes} nodes, average ${f.averageNodes}). Nothing is fitted to it.`,
  ].map(md).join('\n\n');
}

/**
 * The local-versus-scale table in sentences: the fastest and cheapest local setups,
 * the scale figures, and the batch each needs to be efficient.
 *
 * @example
 * showMarkdown(describeLocalVsScale(localVsScale(model, repro, { bitsPerWeight: 4.8, context: 4096 }), 4.8))
 */
export function describeLocalVsScale(rows: readonly LocalVsScaleRow[], bitsPerWeight: number): string {
  // A matmul whose weights stream from a slow tier may never reach the ridge: say so instead of printing ∞.
  const kneeAt = (b: number, unit: string): string => (Number.isFinite(b) ? `at about ${n0(b)}${unit}` : 'at no batch at all');
  const local = rows.filter((r) => r.kind === 'local' && r.refusal === null);
  const refused = rows.filter((r) => r.refusal !== null);
  const scale = rows.filter((r) => r.kind === 'scale');
  if (local.length === 0 || scale.length === 0) throw new InputError('rows', rows.length, 'local and scale rows (from localVsScale)');
  const fastest = local.reduce((a, r) => (r.tokensPerSecondPerUser > a.tokensPerSecondPerUser ? r : a));
  const slowest = local.reduce((a, r) => (r.tokensPerSecondPerUser < a.tokensPerSecondPerUser ? r : a));
  const cheapestLocal = local.filter((r) => r.usdPerMillionOutput > 0).reduce((a, r) => (r.usdPerMillionOutput < a.usdPerMillionOutput ? r : a));
  const pred = scale[0];
  const pub = scale[scale.length - 1];
  return [
    `At ${bitsPerWeight} bits per weight, one user gets between ${n1(slowest.tokensPerSecondPerUser)} tokens/s (${slowest.where}, ${n0(slowest.offloadedGB)} GB of weights off the GPU) and ${n1(fastest.tokensPerSecondPerUser)} tokens/s (${fastest.where}) at home. Even the cheapest local setup, ${cheapestLocal.where}, costs ${usd(cheapestLocal.usdPerMillionOutput)} per million output tokens for that one user, against ${usd(pred.usdPerMillionOutput)} predicted and ${usd(pub.usdPerMillionOutput)} published for DeepSeek's decode pool.`,
    ...(refused.length ? [`${refused.map((r) => `${r.where} cannot run it at all: ${r.refusal}`).join('; ')}.`] : []),
    `The difference is the batch. A local machine serving one user reads every weight a token touches for that token alone; its expert GEMMs only stop waiting on memory ${kneeAt(fastest.efficientBatch, ' concurrent sequences')} on ${fastest.where} (${fastest.boundBy}) and ${kneeAt(slowest.efficientBatch, '')} on ${slowest.where} (${slowest.boundBy}), a load no home has. DeepSeek's decode pool needs about ${n0(pred.efficientBatch)} sequences per GPU for the same, and its published rates imply about ${n0(pub.batch)}: its 144 GPUs share each weight read among thousands of users, which is why it is cheap, while each of those users still sees ${n1(pub.tokensPerSecondPerUser)} tokens/s (published; ${n1(pred.tokensPerSecondPerUser)} predicted).`,
  ].map(md).join('\n\n');
}

// What a trick does to a figure, in words that cannot contradict the two numbers as printed.
function moves(from: number, to: number, what: string, fmt: (x: number) => string = usd): string {
  if (fmt(from) === fmt(to)) return `leaves ${what} at ${fmt(to)}`;
  return `${to < from ? 'lowers' : 'raises'} ${what} from ${fmt(from)} to ${fmt(to)}`;
}

/**
 * The dense-against-MoE answer in sentences, every number from `denseVsMoe`.
 *
 * @example
 * showMarkdown(describeDenseVsMoe(denseVsMoe({ ... }).rows))
 */
export function describeDenseVsMoe(rows: readonly ArchitectureRow[]): string {
  const models = [...new Set(rows.map((r) => r.model))];
  if (models.length !== 2) throw new InputError('rows', models.length, 'rows of exactly two models (from denseVsMoe)');
  const [dense, moe] = models;
  const get = (m: string, i: number): ArchitectureRow => rows.filter((r) => r.model === m)[i];
  const fd = get(dense, 0);
  const fm = get(moe, 0);
  const cd = get(dense, 1);
  const cm = get(moe, 1);
  const ed = get(dense, 2);
  const sd = get(dense, 3);
  const sm = get(moe, 3);
  const pm = get(moe, 4);
  const target = cm.question.match(/at ([\d.]+) tok\/s/)?.[1] ?? '';
  return [
    `**Architecture and more GPUs per user.** Alone on its fastest layout, ${dense} reaches ${n1(fd.tokensPerSecondPerUser)} tokens/s per user on ${fd.devices} GPUs (${fd.layout}) and ${moe} ${n1(fm.tokensPerSecondPerUser)} tokens/s on ${fm.devices} (${fm.layout}): the MoE reads only its active parameters per token and MLA's small cache, but it needs many GPUs just to hold its weights, and those same GPUs make one user fast.`,
    `**Equal latency.** At ${target} tokens/s per user the cheapest ${dense} deployment costs ${usd(cd.usdPerMillionOutput)} per million output tokens (${cd.layout}, batch ${cd.batch}) and the cheapest ${moe} ${usd(cm.usdPerMillionOutput)} (${cm.layout}, batch ${cm.batch} per GPU). **Equal cost.** At ${usd(cm.usdPerMillionOutput)} per million, ${ed.batch > 0 ? `${dense} gives ${n1(ed.tokensPerSecondPerUser)} tokens/s per user` : `no ${dense} deployment on this hardware gets that cheap`}.`,
    `**Tricks.** Speculative decoding (one draft token, stated acceptance) ${moves(cd.usdPerMillionOutput, sd.usdPerMillionOutput, `the cost at that speed for ${dense}`)} and ${moves(cm.usdPerMillionOutput, sm.usdPerMillionOutput, `that for ${moe}`)}; prefix caching at DeepSeek's hit ratio ${moves(cm.usdPerMillionOutput, pm.usdPerMillionOutput, `the ${moe} cost`)} and ${moves(cm.ttftSeconds * 1e3, pm.ttftSeconds * 1e3, 'its time to first token', (x) => `${n0(x)} ms`)}. Quick to respond is mostly how many GPUs stand behind each user; cheap is how many users share them.`,
  ].map(md).join('\n\n');
}

/**
 * The title's answer in the essay's words, from the reproduction and the local table:
 * how much cheaper a token is at scale, and why.
 *
 * @example
 * showMarkdown(describeTitleAnswer(deepseekDayReproduction(), localVsScale(model, repro, opts)))
 */
export function describeTitleAnswer(r: DeepseekDayReproduction, rows: readonly LocalVsScaleRow[]): string {
  const local = rows.filter((x) => x.kind === 'local' && x.refusal === null && x.usdPerMillionOutput > 0);
  const pub = rows.filter((x) => x.kind === 'scale').at(-1);
  if (local.length === 0 || !pub) throw new InputError('rows', rows.length, 'local and scale rows (from localVsScale)');
  const best = local.reduce((a, x) => (x.usdPerMillionOutput < a.usdPerMillionOutput ? x : a));
  const f = r.published.figures;
  const usersPerGpu = pub.batch;
  return [
    `**Why DeepSeek is cheap at scale but expensive to run locally.** A GPU is efficient only on big matmuls, and a mixture-of-experts model splits every step among its routed experts, so each expert's matmul is big only when thousands of users are served at once.`,
    `DeepSeek's decode pool spreads the experts over ${r.published.decode.expertParallel} GPUs and its published rates imply about ${usersPerGpu} users per GPU, so its output costs ${usd(pub.usdPerMillionOutput)} per million tokens at $${f.pricePerGpuHourUsd} per GPU-hour (published rates), while each user still reads ${n1(pub.tokensPerSecondPerUser)} tokens/s.`,
    `At home there is one user: the best local setup here, ${best.where}, gives ${n1(best.tokensPerSecondPerUser)} tokens/s for ${usd(best.usdPerMillionOutput)} per million tokens, ${n0(best.usdPerMillionOutput / pub.usdPerMillionOutput)}× DeepSeek's cost, because every weight it reads serves a single token. It is not that the model is slow; it is that only scale fills the batch.`,
  ].map(md).join('\n\n');
}

/**
 * What the serving simulator adds to an analytic point: its TTFT and TPOT percentiles
 * under Poisson load, against the analytic TPOT and TTFT, in sentences.
 *
 * @example
 * showMarkdown(describeSimulatedPoint('deepseek-v3', point, simulateSearchPoint(space, point, { requests: 2000 }, 1)))
 */
export function describeSimulatedPoint(model: string, p: SearchPoint, sim: DeploymentServing & { ratePerSecond: number; loadFraction: number }): string {
  const ms = (s: number | null): string => (s === null ? '-' : n0(s * 1e3));
  const worse = sim.tpotP50 !== null && sim.tpotP50 > p.tpotSeconds * 1.1;
  return md(
    `**Under load.** The serving simulator runs one rank of the cheapest ${model} deployment (batch up to ${p.batch}) at ${sim.ratePerSecond.toFixed(2)} requests/s, ` +
      `${Math.round(sim.loadFraction * 100)} % of its analytic capacity: time to first token p50 ${ms(sim.ttftP50)} ms and p99 ${ms(sim.ttftP99)} ms against ${ms(p.ttftSeconds)} ms for a lone prefill; ` +
      `time per output token p50 ${ms(sim.tpotP50)} ms and p99 ${ms(sim.tpotP99)} ms against the analytic ${ms(p.tpotSeconds)} ms. ` +
      (worse
        ? 'Colocated, every prompt prefilled on the rank stalls the decoding batch for a step, so the per-user speed the search promised holds only when prefill runs elsewhere: the reason DeepSeek disaggregates its prefill and decode pools.'
        : 'Queueing and interleaved prefills barely move it at this load.'),
  );
}

import { wantsJson } from './context.js';
import type { Command } from 'commander';
import type { CliIo } from '../cli.js';
import { DTYPES } from '../../lib/core/types.js';
import type { Dtype } from '../../lib/core/types.js';
import { loadHardware } from '../../lib/hardware/spec.js';
import { loadModel } from '../../lib/models/spec.js';
import { deepseekDayReproduction } from '../../lib/deployment/deepseek.js';
import { checkPrecision } from '../../lib/deployment/layout.js';
import { loadLocalSetup, localDecode } from '../../lib/deployment/local.js';
import { decodePerformance, prefillPerformance } from '../../lib/deployment/pool.js';
import { simulateDeployment } from '../../lib/deployment/serve.js';
import { perfDeviceStepModel } from '../../lib/deployment/perf.js';
import { EFFICIENCY_MODES } from '../../lib/roofline/deployment.js';
import type { EfficiencyMode } from '../../lib/roofline/deployment.js';
import type { PoolLayout } from '../../lib/deployment/types.js';
import { InputError } from '../../lib/util/errors.js';
import { checkOneOf } from '../../lib/util/validate.js';

interface DeployOptions {
  deepseekDay?: boolean;
  local?: string;
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
  precision: string;
  batch: string;
  context: string;
  prompt: string;
  cacheHit: string;
  prefillTokens: string;
  drafts: string;
  acceptance: string;
  simulate?: boolean;
  rate?: string;
  output: string;
  requests: string;
  seed: string;
  efficiency?: string;
  json?: boolean;
}

/** A numeric flag: the whole text must be a number, or an InputError names the flag. */
export function numArg(flag: string, raw: string): number {
  const v = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(v)) throw new InputError(flag, raw, 'a number');
  return v;
}

function precisionArg(raw: string): ReturnType<typeof checkPrecision> {
  const parts = raw.split(',').map((s) => s.trim());
  const d = parts.map((p, i) => checkOneOf(`--precision[${i}]`, p, DTYPES)) as Dtype[];
  if (d.length === 1) return checkPrecision({ weights: d[0], attention: d[0], dispatch: d[0], combine: d[0] });
  if (d.length !== 4) throw new InputError('--precision', raw, 'one dtype, or four: weights,attention,dispatch,combine');
  return checkPrecision({ weights: d[0], attention: d[1], dispatch: d[2], combine: d[3] });
}

const fmt = (x: number, digits = 3): string => (Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : Number(x.toPrecision(digits)).toString());

function deployCommand(o: DeployOptions, io: CliIo): void {
  if (o.deepseekDay) {
    const r = deepseekDayReproduction();
    if (o.json) {
      io.out(JSON.stringify({ stepModel: r.stepModel, arithmetic: r.arithmetic, rows: r.rows }, null, 2));
      return;
    }
    io.out(`DeepSeek-V3/R1 published day vs ${r.stepModel}`);
    io.out(`arithmetic: $${fmt(r.arithmetic.dailyCostUsd)} per day, revenue $${fmt(r.arithmetic.revenueUsd)}, margin ${(r.arithmetic.margin * 100).toFixed(0)} %`);
    for (const row of r.rows) io.out(`  ${row.figure}: published ${fmt(row.published)}, predicted ${fmt(row.predicted)} (${row.ratio.toFixed(2)}×${row.within25 ? '' : ', outside ±25 %'}), datasheet bound ${row.bound === undefined ? '-' : fmt(row.bound)}`);
    return;
  }
  const model = loadModel(o.model);
  if (o.local !== undefined) {
    const setup = loadLocalSetup(o.local);
    const run = localDecode(model, setup, { bitsPerWeight: numArg('--bits', o.bits), context: numArg('--context', o.context), batch: numArg('--batch', o.batch) });
    if (o.json) {
      io.out(JSON.stringify(run, null, 2));
      return;
    }
    io.out(`${model.id} on ${setup.name}, ${o.bits} bits per weight, batch ${run.batch}, context ${o.context}`);
    for (const t of run.tiers) io.out(`  ${t.tier}: ${fmt(t.weightBytes / 1e9)} GB weights, ${fmt(t.bytesPerStep / 1e9)} GB read per step at ${fmt(t.bytesPerSecond / 1e9)} GB/s = ${fmt(t.seconds * 1e3)} ms`);
    io.out(`  ${fmt(run.tokensPerSecondPerUser)} tok/s per user, ${fmt(run.tokensPerSecond)} tok/s in all, $${fmt(run.usdPerMillionOutput)} per million output tokens`);
    return;
  }
  const hw = loadHardware(o.hardware);
  const layout: PoolLayout = {
    gpusPerNode: numArg('--gpus-per-node', o.gpusPerNode),
    tensorParallel: numArg('--tp', o.tp),
    dataParallelAttention: numArg('--dp', o.dp),
    pipelineParallel: numArg('--pp', o.pp),
    expertParallel: numArg('--ep', o.ep),
    redundantExperts: numArg('--redundant', o.redundant),
    microBatchOverlap: o.overlap === true,
  };
  const efficiency = o.efficiency === undefined ? undefined : (checkOneOf('--efficiency', o.efficiency, EFFICIENCY_MODES) as EfficiencyMode);
  const step = perfDeviceStepModel(model, hw, layout, precisionArg(o.precision), { efficiency });
  const drafts = numArg('--drafts', o.drafts);
  const speculative = drafts > 0 ? { draftTokens: drafts, acceptance: numArg('--acceptance', o.acceptance) } : undefined;
  const context = numArg('--context', o.context);
  const prompt = numArg('--prompt', o.prompt);
  const hit = numArg('--cache-hit', o.cacheHit);
  const cached = Math.floor(prompt * hit);
  const decode = decodePerformance(step, layout, { sequencesPerRank: numArg('--batch', o.batch), context, speculative });
  const prefill = prefillPerformance(step, layout, { tokensPerRank: numArg('--prefill-tokens', o.prefillTokens), promptTokens: Math.max(1, prompt - cached), cachedTokens: cached });
  const price = hw.hourlyPriceUsd;
  const out: Record<string, unknown> = {
    stepModel: step.label,
    decode,
    prefill,
    usdPerMillionOutput: price > 0 ? (price / 3600 / decode.tokensPerSecondPerDevice) * 1e6 : null,
    usdPerMillionInput: price > 0 ? (price / 3600 / prefill.inputTokensPerSecondPerDevice) * 1e6 : null,
  };
  if (o.simulate) {
    const sim = simulateDeployment(
      step,
      {
        ratePerSecond: numArg('--rate', o.rate ?? ''),
        promptTokens: { kind: 'fixed', tokens: Math.max(1, prompt - cached) },
        outputTokens: { kind: 'fixed', tokens: numArg('--output', o.output) },
        maxBatch: numArg('--batch', o.batch),
        requests: numArg('--requests', o.requests),
      },
      numArg('--seed', o.seed),
    );
    const { result: _r, ...rest } = sim;
    out.simulated = rest;
  }
  if (o.json) {
    io.out(JSON.stringify(out, null, 2));
    return;
  }
  io.out(`${model.id} on ${hw.name}: ${step.label}`);
  io.out(`  memory per device: weights ${fmt(decode.memory.weightBytes / 1e9)} GB + KV ${fmt(decode.memory.kvBytes / 1e9)} GB of ${fmt(decode.memory.capacityBytes / 1e9)} GB${decode.memory.fits ? '' : ` (does not fit: short by ${fmt(decode.memory.shortfallBytes / 1e9)} GB)`}`);
  io.out(`  decode: ${fmt(decode.tokensPerSecondPerDevice)} output tok/s per device, ${fmt(decode.tokensPerSecondPerUser)} tok/s per user (TPOT ${fmt(decode.tpotSeconds * 1e3)} ms)`);
  io.out(`  prefill: ${fmt(prefill.inputTokensPerSecondPerDevice)} input tok/s per device (cache hits counted), step ${fmt(prefill.ttftSeconds * 1e3)} ms`);
  if (price > 0) io.out(`  at $${price} per device-hour: $${fmt(out.usdPerMillionOutput as number)} per million output tokens, $${fmt(out.usdPerMillionInput as number)} per million input tokens`);
  if (out.simulated) {
    const s = out.simulated as { ttftP50: number; ttftP99: number; tpotP50: number | null; tpotP99: number | null };
    io.out(`  simulated: TTFT p50 ${fmt(s.ttftP50 * 1e3)} ms, p99 ${fmt(s.ttftP99 * 1e3)} ms; TPOT p50 ${s.tpotP50 === null ? '-' : fmt(s.tpotP50 * 1e3)} ms, p99 ${s.tpotP99 === null ? '-' : fmt(s.tpotP99 * 1e3)} ms`);
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
    .option('--deepseek-day', "DeepSeek's published day (Feb 2025) beside the model's prediction")
    .option('--local <setup>', 'a local setup (data/deployment/local-setups.json), e.g. rtx-4090-desktop')
    .option('--bits <n>', 'bits per weight for --local', '4.8')
    .option('--model <id>', 'model catalog id', 'llama-3.1-70b')
    .option('--hardware <id>', 'hardware catalog id', 'h100-sxm')
    .option('--tp <n>', 'tensor parallelism', '1')
    .option('--dp <n>', 'data-parallel attention ranks', '1')
    .option('--pp <n>', 'pipeline stages', '1')
    .option('--ep <n>', 'expert parallelism (1, or tp × dp)', '1')
    .option('--redundant <n>', 'redundant experts', '0')
    .option('--gpus-per-node <n>', 'devices per node', '8')
    .option('--overlap', 'two micro-batches overlap communication with computation')
    .option('--precision <list>', 'one dtype, or weights,attention,dispatch,combine', 'bf16')
    .option('--batch <n>', 'decoding sequences per rank', '64')
    .option('--context <n>', 'tokens in each sequence cache', '2048')
    .option('--prompt <n>', 'prompt tokens per request', '2048')
    .option('--cache-hit <f>', 'prefix-cache hit fraction', '0')
    .option('--prefill-tokens <n>', 'prompt tokens computed per rank per prefill step', '8192')
    .option('--drafts <n>', 'speculative draft tokens per step', '0')
    .option('--acceptance <f>', 'acceptance rate of each draft token', '0.8')
    .option('--simulate', 'run the serving simulator for TTFT and TPOT percentiles')
    .option('--rate <rps>', 'requests per second per rank for --simulate')
    .option('--output <n>', 'output tokens per request for --simulate', '256')
    .option('--requests <n>', 'requests to simulate', '2000')
    .option('--seed <n>', 'simulation seed', '1')
    .option('--efficiency <mode>', 'calibrated (default when the hardware has a calibration), typical, or spec (the datasheet bound)')
    .exitOverride()
    .action((o: DeployOptions, cmd: Command) => deployCommand({ ...o, json: wantsJson(cmd) }, io));
}

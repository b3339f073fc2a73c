import { InputError } from '../util/errors.js';
import { checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import type { ServingPolicy } from './types.js';

/** Serving engines with a preset: the scheduler a default deployment of each runs. */
export const SERVING_ENGINES = ['vllm', 'sglang', 'trtllm'] as const;
/** The name of an engine with a preset: 'vllm', 'sglang' or 'trtllm'. */
export type ServingEngineName = (typeof SERVING_ENGINES)[number];
/**
 * The engine an unconfigured run follows: vLLM, what most users run. A simulation without
 * `engine` or `policy` schedules as its preset, and the CLI's `simulate`, `deploy` and
 * `search` price steps from its kernel tables unless `--framework` or `--efficiency` says
 * otherwise, so that the three agree by default.
 */
export const DEFAULT_SERVING_ENGINE: ServingEngineName = 'vllm';

/** One default of an engine: its name in the engine, the value, and where it is read (file:line at the stamped version). */
export interface EngineDefault {
  setting: string;
  value: string | number | boolean;
  source: string;
}

/**
 * How an engine sizes its KV cache: `fraction` of the device's memory holds weights and
 * KV cache (`basis: 'device'`, vLLM's gpu_memory_utilization, SGLang's
 * mem_fraction_static), or `fraction` of the memory left free beside the weights holds
 * the KV cache (`basis: 'free'`, TensorRT-LLM's free_gpu_memory_fraction).
 */
export interface EngineMemoryRule {
  fraction: number;
  basis: 'device' | 'free';
  source: string;
}

/**
 * An engine's documented defaults, mapped onto batchlab's scheduler: a policy module
 * config, a KV admission mode, KV block size, memory rule and CUDA-graph batch sizes.
 * `defaults` lists each value with the file and line it was read from; `modelling`
 * says where batchlab's scheduler departs from the engine.
 */
export interface ServingEnginePreset {
  engine: ServingEngineName;
  /** The release and commit the defaults were read from. */
  version: string;
  policy: ServingPolicy;
  kvAdmission: 'reserve' | 'blocks';
  /** Tokens per KV block (paged admission); absent: batchlab's default. */
  kvBlockTokens?: number;
  /** Batch sizes with a captured CUDA graph (decode-only steps are priced padded to them); absent: none. */
  decodeGraphSizes?: number[];
  /** How much memory the engine gives its KV cache (engineMemoryFraction applies it). */
  memory: EngineMemoryRule;
  defaults: EngineDefault[];
  modelling: string[];
}

/** What a preset may depend on: the accelerator of one replica (vLLM and SGLang size their defaults by it) and its tensor parallelism. */
export interface EngineDevice {
  /** Catalog id or marketing name, e.g. "h100-sxm", "NVIDIA A100 80GB". */
  name: string;
  memoryCapacityBytes: number;
  /** Tensor-parallel degree (SGLang's CUDA-graph batch and memory reserve depend on it); default 1. */
  tp?: number;
}

const GIB = 2 ** 30;
const MIB = 2 ** 20;

// vLLM: the PyPI wheel vllm-0.34.0 (vllm/_version.py: 0.34.0, commit g62d4bc3c7).
const VLLM_VERSION = 'vLLM 0.34.0 (commit 62d4bc3c7, V1 engine)';
const VLLM_TIERS = 'vllm/engine/arg_utils.py:3010-3043 (get_batch_defaults, OPENAI_API_SERVER: 16384 tokens and 1024 sequences at ≥ 160 GiB; 8192 and 1024 at ≥ 70 GiB unless an A100 or a GB10; else 2048 and 256)';
const VLLM_SEQ_CAP = 'vllm/engine/arg_utils.py:3269-3271 (max_num_seqs = min(max_num_seqs, max_num_batched_tokens))';
const VLLM_CHUNKED = 'vllm/config/scheduler.py:146 (enable_chunked_prefill = True)';
const VLLM_POLICY = 'vllm/config/scheduler.py:171 (policy = "fcfs"); vllm/v1/core/sched/scheduler.py:809 ("First, schedule the RUNNING requests") and :1065 ("Next, schedule the WAITING requests"); :986 preempts self.running.pop(), the latest admitted';
const VLLM_BLOCK = 'vllm/config/cache.py:185 (DEFAULT_BLOCK_SIZE = 64)';
const VLLM_MEMORY = 'vllm/config/cache.py:495-501 (resolved_gpu_memory_utilization: 1.0 with the extensible KV cache, on by default on CUDA and ROCm per :395-405, sized from the memory free after CUDA-graph capture; else DEFAULT_GPU_MEMORY_UTILIZATION 0.92 at :186)';
const VLLM_GRAPHS = 'vllm/config/vllm.py:2398-2408 (max_cudagraph_capture_size = min(2 · max_num_seqs, 512), 1024 on compute capability 10.x) and :2478-2490 (sizes 1, 2, 4, then 8 to 248 by 8, then 256 up by 16)';

// SGLang: the PyPI wheel sglang-0.5.23 (python/sglang/srt/... as sglang/srt/... in the wheel).
const SGLANG_VERSION = 'SGLang 0.5.23';
const SGLANG_TIERS = 'sglang/srt/arg_groups/memory_hook.py:88-178 (handle_gpu_memory_settings: chunked_prefill_size and decode CUDA-graph max_bs by GPU memory in MiB)';
const SGLANG_MEMORY = 'sglang/srt/arg_groups/memory_hook.py:281-330 and :357-390 (mem_fraction_static = (gpu_mem − reserved) / gpu_mem, reserved = 512 + 1.5 · max(chunked_prefill_size, 2048) + 1024 · tp · pp / 8 + 2 · decode max_bs + 8 · prefill graph sizes MiB, at least 10240 MiB above 60 GiB; (weights + KV pool) / device memory)';
const SGLANG_REQS = 'sglang/srt/mem_cache/kv_cache_configurator.py:3119-3132 (max_running_requests unset: min(clamp(KV tokens / context_len · 512, 2048, 4096), KV tokens / 2))';
const SGLANG_SCHED = 'sglang/srt/arg_groups/fields/schedule.py:86-102 (schedule_policy = "fcfs"), :71-81 (max_prefill_tokens = 16384), :139-142 (schedule_conservativeness = 1.0), :208-211 (enable_mixed_chunk = False); sglang/srt/managers/scheduler.py:3992-4004 (a prefill batch runs first when there is one, else the decode batch)';
const SGLANG_RATIO = 'sglang/srt/environ.py:646-650 (SGLANG_INIT_NEW_TOKEN_RATIO 0.7, MIN factor 0.14, DECAY_STEPS 600, CLIP_MAX_NEW_TOKENS 4096); sglang/srt/managers/schedule_policy.py:785-794 and :1406-1412 (running requests count min(remaining output, 4096) · new_token_ratio, 1.0 with ignore_eos; a new request needs prompt + min(max_new_tokens, 4096))';
const SGLANG_GRAPHS = 'sglang/srt/arg_groups/cuda_graph_hook.py:511-530 (decode capture sizes 1, 2, 4, 8, 12, 16 to 256 by 8, 272 to 496 by 16, 512 up by 32, and max_bs)';

// TensorRT-LLM: trtllm-serve's defaults, read in the stored sources.
const TRTLLM_VERSION = 'TensorRT-LLM trtllm-serve (commands/serve.py @ 00209af1; BuildConfig @ 008b2b8d)';
const TRTLLM_SERVE = 'NVIDIA/TensorRT-LLM tensorrt_llm/commands/serve.py @ 00209af1, get_llm_args() (lines 89-134 as counted in the stored copy)';
const TRTLLM_BUILD = 'NVIDIA/TensorRT-LLM tensorrt_llm/builder.py @ 008b2b8d, BuildConfig (the max_batch_size and max_num_tokens defaults get_llm_args passes on)';
const TRTLLM_MEMORY = 'TensorRT-LLM docs, "How to Change KV Cache Behavior": free_gpu_memory_fraction 0.9 "will try to allocate 90% of free GPU memory for KV cache"';

/** SGLang's GPU-memory tier (memory_hook.py): prefill chunk and decode CUDA-graph max batch, memory in MiB. */
function sglangTier(device: EngineDevice | undefined, tp: number): { chunk: number; graphMax: number; tier: string } {
  if (!device) return { chunk: 4096, graphMax: 160, tier: 'no device (fallback)' };
  const mib = device.memoryCapacityBytes / MIB;
  const small = tp < 4;
  if (mib < 20 * 1024) return { chunk: 2048, graphMax: 8, tier: '< 20 GiB' };
  if (mib < 35 * 1024) return { chunk: 4096, graphMax: small ? 48 : 160, tier: '20–35 GiB' };
  if (mib < 60 * 1024) return { chunk: 4096, graphMax: small ? 32 : 160, tier: '35–60 GiB' };
  if (mib < 90 * 1024) return { chunk: 8192, graphMax: small ? 256 : 512, tier: '60–90 GiB (H100, A100 80 GB)' };
  if (mib < 160 * 1024) return { chunk: 8192, graphMax: small ? 256 : 512, tier: '90–160 GiB (H20, H200)' };
  return { chunk: 16384, graphMax: 512, tier: '≥ 160 GiB (B200, MI300)' };
}

/** SGLang's decode CUDA-graph batch sizes up to max_bs (cuda_graph_hook.py, no speculative decoding). */
function sglangGraphSizes(maxBs: number): number[] {
  const sizes = [1, 2, 4, 8, 12];
  for (let b = 16; b <= 256; b += 8) sizes.push(b);
  for (let b = 272; b < 512; b += 16) sizes.push(b);
  for (let b = 512; b <= maxBs; b += 32) sizes.push(b);
  const out = sizes.filter((b) => b <= maxBs);
  if (out[out.length - 1] !== maxBs) out.push(maxBs);
  return out;
}

/** SGLang's prefill CUDA-graph token sizes up to max_bs (cuda_graph_hook.py:480-495): only their count enters its memory reserve. */
function sglangPrefillGraphCount(maxBs: number): number {
  let n = 0;
  const count = (from: number, to: number, by: number) => {
    for (let b = from; b <= Math.min(to, maxBs); b += by) n++;
  };
  count(4, 32, 4);
  count(48, 256, 16);
  count(288, 512, 32);
  count(576, 1024, 64);
  count(1280, 4096, 256);
  count(4608, maxBs, 512);
  return n;
}

/** SGLang's mem_fraction_static for a device (memory_hook.py): 0.95 with no device. */
function sglangMemFraction(device: EngineDevice | undefined, tp: number, chunk: number, graphMax: number): number {
  if (!device) return 0.95;
  const mib = device.memoryCapacityBytes / MIB;
  let reserved = 512 + 1.5 * Math.max(chunk, 2048) + (tp / 8) * 1024 + 2 * graphMax + 8 * sglangPrefillGraphCount(chunk);
  if (mib > 60 * 1024) reserved = Math.max(reserved, 10 * 1024);
  return Math.round(((mib - reserved) / mib) * 1000) / 1000;
}

function vllmGraphSizes(maxGraph: number): number[] {
  const graphs = [1, 2, 4].filter((b) => b <= maxGraph);
  for (let b = 8; b < Math.min(maxGraph + 1, 256); b += 8) graphs.push(b);
  for (let b = 256; b <= maxGraph; b += 16) graphs.push(b);
  return graphs;
}

/**
 * The preset of a serving engine: its documented scheduler defaults for an OpenAI-style
 * API server, version-stamped, as a batchlab policy. vLLM picks its batch defaults by
 * device: 16384 batched tokens at ≥ 160 GiB, 8192 on a GPU of at least 70 GiB that is
 * not an A100, else 2048 (also when the device is unknown, as vLLM does when it cannot
 * query one), with max_num_seqs 1024 or 256 capped by the token budget. SGLang sizes its
 * prefill chunk and decode CUDA graphs by device memory (8192 tokens from 60 to 160 GiB),
 * runs prefill batches apart from decode batches, admits a request only with KV for its
 * prompt and output (benchmark clients set ignore_eos), and derives max_running_requests
 * from its KV pool (2048 unless the pool holds more than 4 context lengths).
 * TensorRT-LLM's trtllm-serve: max_num_tokens 8192, max_batch_size 2048, prompts whole
 * (chunked prefill off), GUARANTEED_NO_EVICT.
 *
 * @example
 * servingEnginePreset('vllm', { name: 'h100-sxm', memoryCapacityBytes: 80e9 }).policy
 * // => { kind: 'chunked', maxBatch: 1024, tokenBudget: 8192 }
 */
export function servingEnginePreset(engine: ServingEngineName, device?: EngineDevice): ServingEnginePreset {
  const e = checkOneOf('engine', engine, SERVING_ENGINES);
  if (device !== undefined && (!device || typeof device.name !== 'string' || !(device.memoryCapacityBytes > 0))) {
    throw new InputError('device', device, 'a device { name, memoryCapacityBytes > 0, tp? }');
  }
  const tp = device?.tp === undefined ? 1 : checkInt('device.tp', device.tp, { min: 1, max: 4096 });
  const where = device ? `${device.name}, ${(device.memoryCapacityBytes / GIB).toFixed(1)} GiB` : 'device unknown';
  if (e === 'vllm') {
    const name = device ? device.name.toLowerCase() : '';
    const mem = device ? device.memoryCapacityBytes : 0;
    const huge = mem >= 160 * GIB;
    const big = !huge && mem >= 70 * GIB && !name.includes('a100') && !/\bgb10\b/.test(name);
    const tokens = huge ? 16384 : big ? 8192 : 2048;
    const seqs = Math.min(huge || big ? 1024 : 256, tokens);
    // Compute capability 10.x (B200, GB200, B300) is recognised by name: the catalog holds no capability.
    const sm100 = /\bg?b(200|300)\b/.test(name);
    const graphMax = Math.min(2 * seqs, sm100 ? 1024 : 512);
    return {
      engine: e,
      version: VLLM_VERSION,
      policy: { kind: 'chunked', maxBatch: seqs, tokenBudget: tokens },
      kvAdmission: 'blocks',
      kvBlockTokens: 64,
      decodeGraphSizes: vllmGraphSizes(graphMax),
      memory: { fraction: 1, basis: 'device', source: VLLM_MEMORY },
      defaults: [
        { setting: 'enable_chunked_prefill', value: true, source: VLLM_CHUNKED },
        { setting: 'max_num_batched_tokens', value: tokens, source: `${VLLM_TIERS} (${where})` },
        { setting: 'max_num_seqs', value: seqs, source: `${VLLM_TIERS}; ${VLLM_SEQ_CAP}` },
        { setting: 'policy', value: 'fcfs', source: VLLM_POLICY },
        { setting: 'block_size', value: 64, source: VLLM_BLOCK },
        { setting: 'gpu_memory_utilization', value: 1, source: VLLM_MEMORY },
        { setting: 'max_cudagraph_capture_size', value: graphMax, source: VLLM_GRAPHS },
      ],
      modelling: [
        'decode-first: every running decode takes its token of the budget, prompt chunks the rest, first come first served (batchlab chunked policy)',
        'paged KV in 64-token blocks, preemption by recompute of the latest-admitted sequence (batchlab kvAdmission "blocks")',
        'KV cache: the whole device memory beside the weights; vLLM sizes it from the memory free after CUDA-graph capture, so activations and graphs (not subtracted here) make the real pool somewhat smaller',
        'CUDA graphs: a decode-only step is priced at the next captured batch size; steps with prompt chunks are priced unpadded',
      ],
    };
  }
  if (e === 'sglang') {
    const t = sglangTier(device, tp);
    const fraction = sglangMemFraction(device, tp, t.chunk, t.graphMax);
    return {
      engine: e,
      version: SGLANG_VERSION,
      policy: { kind: 'chunked', maxBatch: 2048, tokenBudget: Math.max(t.chunk, 2048), priority: 'prefill-first' },
      kvAdmission: 'reserve',
      decodeGraphSizes: sglangGraphSizes(t.graphMax),
      memory: { fraction, basis: 'device', source: SGLANG_MEMORY },
      defaults: [
        { setting: 'chunked_prefill_size', value: t.chunk, source: `${SGLANG_TIERS}: ${t.tier} (${where})` },
        { setting: 'max_running_requests', value: 2048, source: `${SGLANG_REQS}: 2048 unless the KV pool holds more than 4 · context_len tokens` },
        { setting: 'max_prefill_tokens', value: 16384, source: SGLANG_SCHED },
        { setting: 'schedule_policy', value: 'fcfs', source: SGLANG_SCHED },
        { setting: 'schedule_conservativeness', value: 1, source: SGLANG_SCHED },
        { setting: 'enable_mixed_chunk', value: false, source: SGLANG_SCHED },
        { setting: 'init_new_token_ratio', value: 0.7, source: SGLANG_RATIO },
        { setting: 'cuda_graph_max_bs (decode)', value: t.graphMax, source: `${SGLANG_TIERS}, tp ${tp}; ${SGLANG_GRAPHS}` },
        { setting: 'mem_fraction_static', value: fraction, source: SGLANG_MEMORY },
      ],
      modelling: [
        'enable_mixed_chunk off: a step with prompt chunks carries no decodes (batchlab priority "prefill-first"); a prefill batch carries at most chunked_prefill_size tokens (below max_prefill_tokens 16384)',
        'admission: a new request needs KV for its prompt and min(output, 4096); benchmark clients send ignore_eos, so running requests count their whole remaining output (ratio 1.0) and nothing is retracted (batchlab kvAdmission "reserve"). Without ignore_eos SGLang counts them at new_token_ratio (0.7, decaying to 0.098 over 600 steps) and retracts on overflow, which batchlab does not model',
        'max_running_requests 2048 as derived for a pool under 4 context lengths; the KV pool bounds the batch well before it in practice',
        'CUDA graphs: a decode-only step is priced at the next captured batch size',
      ],
    };
  }
  return {
    engine: e,
    version: TRTLLM_VERSION,
    policy: { kind: 'chunked', maxBatch: 2048, tokenBudget: 8192, wholePrompts: true },
    kvAdmission: 'reserve',
    memory: { fraction: 0.9, basis: 'free', source: `${TRTLLM_SERVE}: free_gpu_memory_fraction = 0.9; ${TRTLLM_MEMORY}` },
    defaults: [
      { setting: 'backend', value: 'pytorch', source: TRTLLM_SERVE },
      { setting: 'max_num_tokens', value: 8192, source: TRTLLM_BUILD },
      { setting: 'max_batch_size', value: 2048, source: TRTLLM_BUILD },
      { setting: 'enable_chunked_prefill', value: false, source: TRTLLM_SERVE },
      { setting: 'capacity_scheduler_policy', value: 'GUARANTEED_NO_EVICT', source: TRTLLM_SERVE },
      { setting: 'free_gpu_memory_fraction', value: 0.9, source: `${TRTLLM_SERVE}; ${TRTLLM_MEMORY}` },
    ],
    modelling: [
      'GUARANTEED_NO_EVICT: a request is admitted only with KV reserved for its prompt and whole output, never paused (batchlab kvAdmission "reserve")',
      'KV cache: 90 % of the memory left beside the weights (activations and runtime buffers, not subtracted here, make the real pool somewhat smaller)',
      'chunked prefill off: a prompt is admitted only whole, when the 8192-token step budget left beside the running decodes holds it (batchlab chunked policy with wholePrompts, decode-first); prompts longer than max_num_tokens are refused',
      'no CUDA-graph padding of decode batches',
    ],
  };
}

/**
 * The share of a device's memory (batchlab's `memoryFraction`) that holds weights and KV
 * cache under an engine's memory rule, given the share its weights take: the rule's
 * fraction for `basis: 'device'`; f + (1 − f) · weightShare for `basis: 'free'`
 * (f of the memory left beside the weights).
 *
 * @example
 * engineMemoryFraction(servingEnginePreset('trtllm').memory, 0.44) // => 0.944
 */
export function engineMemoryFraction(rule: EngineMemoryRule, weightShare: number): number {
  const f = checkNumber('memory.fraction', rule?.fraction, { min: 0, max: 1, exclusiveMin: true });
  const w = checkNumber('weightShare', weightShare, { min: 0, max: 1 });
  return rule.basis === 'free' ? f + (1 - f) * w : f;
}

/**
 * The device a preset sizes its defaults by, from a catalog hardware entry.
 *
 * @example
 * servingEnginePreset('sglang', engineDevice(loadHardware('h100-sxm'), 2))
 */
export function engineDevice(hw: { id: string; name: string; memoryCapacityBytes: number }, tp?: number): EngineDevice {
  return { name: `${hw.id} ${hw.name}`, memoryCapacityBytes: hw.memoryCapacityBytes, ...(tp === undefined ? {} : { tp }) };
}

/**
 * The preset's one-line provenance, for tables and result descriptions.
 *
 * @example
 * describeEnginePreset(servingEnginePreset('trtllm')) // => 'TensorRT-LLM trtllm-serve (...): backend pytorch, max_num_tokens 8192, ...'
 */
export function describeEnginePreset(p: ServingEnginePreset): string {
  return `${p.version}: ${p.defaults.map((d) => `${d.setting} ${d.value}`).join(', ')}`;
}

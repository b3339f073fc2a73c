import { InputError } from '../util/errors.js';
import { checkOneOf } from '../util/validate.js';
import type { ServingPolicy } from './types.js';

/** Serving engines with a preset: the scheduler a default deployment of each runs. */
export const SERVING_ENGINES = ['vllm', 'sglang', 'trtllm'] as const;
/** The name of an engine with a preset: 'vllm', 'sglang' or 'trtllm'. */
export type ServingEngineName = (typeof SERVING_ENGINES)[number];

/** One default of an engine: its name in the engine, the value, and where it is read. */
export interface EngineDefault {
  setting: string;
  value: string | number | boolean;
  source: string;
}

/**
 * An engine's documented defaults, mapped onto batchlab's scheduler: a policy module
 * config and a KV admission mode. `defaults` lists each value with the file or page it
 * was read from; `modelling` says where batchlab's scheduler departs from the engine.
 */
export interface ServingEnginePreset {
  engine: ServingEngineName;
  /** The source snapshot the defaults were read from. */
  version: string;
  policy: ServingPolicy;
  kvAdmission: 'reserve' | 'blocks';
  /** Batch sizes with a captured CUDA graph (decode-only steps are priced padded to them); absent: none. */
  decodeGraphSizes?: number[];
  defaults: EngineDefault[];
  modelling: string[];
}

/** What a preset may depend on: the accelerator of one replica (vLLM sizes its defaults by it). */
export interface EngineDevice {
  /** Catalog id or marketing name, e.g. "h100-sxm", "NVIDIA A100 80GB". */
  name: string;
  memoryCapacityBytes: number;
}

const VLLM_ARGS = 'vllm-project/vllm vllm/engine/arg_utils.py @ 99d7eb5d, the default_max_num_batched_tokens and default_max_num_seqs tables (by usage context and device)';
const TRTLLM_BUILD = 'NVIDIA/TensorRT-LLM tensorrt_llm/builder.py @ 008b2b8d, BuildConfig (the defaults trtllm-serve passes on)';
const TRTLLM_DOCS = 'TensorRT-LLM docs, performance tuning guide, "Useful Runtime Options": capacity scheduler policy GUARANTEED_NO_EVICT (default)';
const VLLM_GRAPHS = 'vllm/config/compilation.py, CompilationConfig.max_cudagraph_capture_size: sizes [1, 2, 4] + range(8, 256, 8) + range(256, max + 1, 16), max = min(2 · max_num_seqs, 512) (a stored copy; the index gave no commit)';
const SGLANG_ARGS = 'SGLang python/sglang/srt/server_args.py, the GPU-memory tiers that set chunked_prefill_size (a stored copy; the index gave no commit)';
const SGLANG_MIXED = 'sgl-project/sglang python/sglang/srt/server_args.py @ 001067ff: enable_mixed_chunk = False ("Enabling mixing prefill and decode in a batch when using chunked prefill")';
const GIB = 2 ** 30;
const MIB = 2 ** 20;

/** SGLang's chunked_prefill_size by device memory in MiB (none known: its fallback). */
function sglangChunk(device: EngineDevice | undefined): { tokens: number; tier: string } {
  if (!device) return { tokens: 4096, tier: 'no device (fallback)' };
  const mib = device.memoryCapacityBytes / MIB;
  if (mib < 35 * 1024) return { tokens: 2048, tier: '< 35 GiB' };
  if (mib < 60 * 1024) return { tokens: 4096, tier: '35–60 GiB' };
  if (mib < 160 * 1024) return { tokens: 8192, tier: '60–160 GiB (H100, A100, H20, H200)' };
  return { tokens: 16384, tier: '≥ 160 GiB (B200, MI300)' };
}

/**
 * The preset of a serving engine: its documented scheduler defaults for an OpenAI-style
 * API server, as a batchlab policy. vLLM picks its batch defaults by device: 8192
 * batched tokens and 1024 sequences on a GPU of at least 70 GiB that is not an A100,
 * else 2048 and 256 (also when the device is unknown, as vLLM does when it cannot
 * query one); max_num_seqs is capped by max_num_batched_tokens. SGLang sizes its
 * prefill chunk by device memory (8192 tokens from 60 to 160 GiB) and does not mix
 * prefill chunks with decodes. TensorRT-LLM's max_num_tokens 8192 and max_batch_size
 * 2048 do not depend on the device.
 *
 * @example
 * servingEnginePreset('vllm', { name: 'h100-sxm', memoryCapacityBytes: 80e9 }).policy
 * // => { kind: 'chunked', maxBatch: 1024, tokenBudget: 8192 }
 */
export function servingEnginePreset(engine: ServingEngineName, device?: EngineDevice): ServingEnginePreset {
  const e = checkOneOf('engine', engine, SERVING_ENGINES);
  if (device !== undefined && (!device || typeof device.name !== 'string' || !(device.memoryCapacityBytes > 0))) {
    throw new InputError('device', device, 'a device { name, memoryCapacityBytes > 0 }');
  }
  if (e === 'vllm') {
    const big = device !== undefined && device.memoryCapacityBytes >= 70 * GIB && !device.name.toLowerCase().includes('a100');
    const tokens = big ? 8192 : 2048;
    const seqs = Math.min(big ? 1024 : 256, tokens);
    const where = device ? `${device.name}, ${(device.memoryCapacityBytes / GIB).toFixed(1)} GiB` : 'device unknown';
    const graphMax = Math.min(2 * seqs, 512);
    const graphs = [1, 2, 4];
    for (let b = 8; b < 256; b += 8) graphs.push(b);
    for (let b = 256; b <= graphMax; b += 16) graphs.push(b);
    const decodeGraphSizes = graphs.filter((b) => b <= graphMax);
    return {
      engine: e,
      version: 'vLLM V1 engine, source at commit 99d7eb5d (before v0.12)',
      policy: { kind: 'chunked', maxBatch: seqs, tokenBudget: tokens },
      kvAdmission: 'blocks',
      decodeGraphSizes,
      defaults: [
        { setting: 'enable_chunked_prefill', value: true, source: `${VLLM_ARGS}: on for generative models` },
        { setting: 'max_num_batched_tokens', value: tokens, source: `${VLLM_ARGS}: OPENAI_API_SERVER, ${big ? '≥ 70 GiB and not A100' : '< 70 GiB, an A100, or no device'} (${where})` },
        { setting: 'max_num_seqs', value: seqs, source: `${VLLM_ARGS}: OPENAI_API_SERVER, min(default, max_num_batched_tokens)` },
        { setting: 'max_cudagraph_capture_size', value: graphMax, source: VLLM_GRAPHS },
      ],
      modelling: [
        'decode-first: every running decode takes its token of the budget, prompt chunks the rest, first come first served (batchlab chunked policy)',
        'paged KV, preemption by recompute of the latest-admitted sequence (batchlab kvAdmission "blocks"; block size is batchlab\'s, not read from vLLM)',
        'CUDA graphs: a decode-only step is priced at the next captured batch size; steps with prompt chunks are priced unpadded',
      ],
    };
  }
  if (e === 'sglang') {
    const chunk = sglangChunk(device);
    return {
      engine: e,
      version: 'SGLang server_args.py (commit 001067ff for enable_mixed_chunk)',
      policy: { kind: 'chunked', maxBatch: chunk.tokens, tokenBudget: chunk.tokens, priority: 'prefill-first' },
      kvAdmission: 'blocks',
      defaults: [
        { setting: 'chunked_prefill_size', value: chunk.tokens, source: `${SGLANG_ARGS}: ${chunk.tier}` },
        { setting: 'enable_mixed_chunk', value: false, source: SGLANG_MIXED },
      ],
      modelling: [
        'enable_mixed_chunk off: a step with prompt chunks carries no decodes (batchlab priority "prefill-first")',
        'max_running_requests: SGLang derives it from its KV pool (not read); batchlab bounds running requests by the KV capacity and by the token budget',
        'paged KV, preemption by recompute of the latest-admitted sequence (batchlab kvAdmission "blocks"; block size is batchlab\'s)',
        'no CUDA-graph padding of decode batches',
      ],
    };
  }
  return {
    engine: e,
    version: 'TensorRT-LLM, source at commit 008b2b8d',
    policy: { kind: 'chunked', maxBatch: 2048, tokenBudget: 8192 },
    kvAdmission: 'reserve',
    defaults: [
      { setting: 'max_num_tokens', value: 8192, source: TRTLLM_BUILD },
      { setting: 'max_batch_size', value: 2048, source: TRTLLM_BUILD },
      { setting: 'capacity_scheduler_policy', value: 'GUARANTEED_NO_EVICT', source: TRTLLM_DOCS },
    ],
    modelling: [
      'GUARANTEED_NO_EVICT: a request is admitted only with KV reserved for its prompt and whole output, never paused (batchlab kvAdmission "reserve")',
      'prompts split at the token budget (batchlab chunked policy), decode-first; without context chunking TensorRT-LLM admits a prompt only whole',
      'no CUDA-graph padding of decode batches',
    ],
  };
}

/**
 * The device a preset sizes its defaults by, from a catalog hardware entry.
 *
 * @example
 * servingEnginePreset('vllm', engineDevice(loadHardware('h100-sxm')))
 */
export function engineDevice(hw: { id: string; name: string; memoryCapacityBytes: number }): EngineDevice {
  return { name: `${hw.id} ${hw.name}`, memoryCapacityBytes: hw.memoryCapacityBytes };
}

/**
 * The preset's one-line provenance, for tables and result descriptions.
 *
 * @example
 * describeEnginePreset(servingEnginePreset('trtllm')) // => 'TensorRT-LLM, source at commit 008b2b8d: max_num_tokens 8192, ...'
 */
export function describeEnginePreset(p: ServingEnginePreset): string {
  return `${p.version}: ${p.defaults.map((d) => `${d.setting} ${d.value}`).join(', ')}`;
}

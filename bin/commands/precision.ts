import { DTYPES, DTYPE_BYTES } from '../../lib/core/types.js';
import type { Dtype } from '../../lib/core/types.js';
import type { DeploymentPrecision } from '../../lib/deployment/types.js';
import { InputError } from '../../lib/util/errors.js';
import { checkOneOf } from '../../lib/util/validate.js';

/** The `--kv-cache` help text, shared by `deploy` and `search`. */
export const KV_CACHE_FLAG_HELP =
  `the KV cache's dtype when it differs from the attention dtype, e.g. fp8 under bf16 attention (vLLM/SGLang --kv-cache-dtype fp8): one of ${DTYPES.join(', ')} (default: the attention dtype)`;

/**
 * The `--kv-cache` flag: undefined when absent, else a dtype batchlab prices (an
 * InputError naming the flag and the allowed dtypes otherwise).
 *
 * @example
 * kvCacheArg('fp8') // => 'fp8'
 * kvCacheArg(undefined) // => undefined
 */
export function kvCacheArg(raw: string | undefined): Dtype | undefined {
  return raw === undefined ? undefined : checkOneOf('--kv-cache', raw, DTYPES);
}

/**
 * `precision` with its KV cache stored in `kvCache` (unchanged when undefined). A
 * precision that already names another KV dtype (a search spec's `kvCache`) is an
 * InputError naming `--kv-cache`: the two would disagree about one cache.
 *
 * @example
 * withKvCache({ weights: 'bf16', attention: 'bf16', dispatch: 'bf16', combine: 'bf16' }, 'fp8').kvCache // => 'fp8'
 */
export function withKvCache(precision: DeploymentPrecision, kvCache: Dtype | undefined, where = 'the precision'): DeploymentPrecision {
  if (kvCache === undefined) return precision;
  if (precision.kvCache !== undefined && precision.kvCache !== kvCache) {
    throw new InputError('--kv-cache', kvCache, `left out, or ${JSON.stringify(precision.kvCache)} (${where} sets kvCache ${JSON.stringify(precision.kvCache)})`);
  }
  return { ...precision, kvCache };
}

/** The `--compute` help text. */
export const COMPUTE_FLAG_HELP =
  `the linear layers' math when the weights are stored narrower and widened in the kernel (weight-only quantization, e.g. nvfp4 weights with bf16 math on Hopper, which has no 4-bit tensor cores): one of ${DTYPES.join(', ')} (default: the weights' dtype)`;

/**
 * `precision` with its linear layers' math in `compute` (unchanged when undefined): an
 * InputError naming `--compute` for a dtype batchlab does not price, or for math narrower
 * than the weights it would widen.
 *
 * @example
 * withCompute({ weights: 'nvfp4', attention: 'bf16', dispatch: 'bf16', combine: 'bf16' }, 'bf16').compute // => 'bf16'
 */
export function withCompute(precision: DeploymentPrecision, compute: string | undefined): DeploymentPrecision {
  if (compute === undefined) return precision;
  const c = checkOneOf('--compute', compute, DTYPES);
  if (DTYPE_BYTES[c] < DTYPE_BYTES[precision.weights]) throw new InputError('--compute', c, `a dtype at least as wide as the ${precision.weights} weights it widens (weight-only quantization), or left out`);
  return { ...precision, compute: c };
}

/**
 * A precision as `batchlab deploy` flags: `--precision` (one dtype, or the four
 * classes) and `--kv-cache` where the KV cache has its own dtype.
 *
 * @example
 * precisionFlags({ weights: 'bf16', attention: 'bf16', dispatch: 'bf16', combine: 'bf16', kvCache: 'fp8' }) // => '--precision bf16 --kv-cache fp8'
 */
export function precisionFlags(p: DeploymentPrecision): string {
  const uniform = p.weights === p.attention && p.attention === p.dispatch && p.dispatch === p.combine;
  const kv = p.kvCache === undefined || p.kvCache === p.attention ? '' : ` --kv-cache ${p.kvCache}`;
  const math = p.compute === undefined || p.compute === p.weights ? '' : ` --compute ${p.compute}`;
  return `--precision ${uniform ? p.weights : [p.weights, p.attention, p.dispatch, p.combine].join(',')}${kv}${math}`;
}

/**
 * A precision in words: "fp8", or "fp8 weights, bf16 attention, fp8 dispatch, bf16
 * combine", with ", fp8 KV cache" where the KV cache has its own dtype.
 *
 * @example
 * precisionText({ weights: 'bf16', attention: 'bf16', dispatch: 'bf16', combine: 'bf16', kvCache: 'fp8' }) // => 'bf16, fp8 KV cache'
 */
export function precisionText(p: DeploymentPrecision): string {
  const kv = p.kvCache === undefined || p.kvCache === p.attention ? '' : `, ${p.kvCache} KV cache`;
  const math = p.compute === undefined || p.compute === p.weights ? '' : `, ${p.compute} math`;
  if (p.weights === p.attention && p.attention === p.dispatch && p.dispatch === p.combine) return `${p.weights}${kv}${math}`;
  return `${p.weights} weights, ${p.attention} attention, ${p.dispatch} dispatch, ${p.combine} combine${kv}${math}`;
}

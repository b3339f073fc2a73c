// A deployment step's input, checked. The step itself is priced by `stepTime`
// (lib/roofline/deployment.ts) through `perfDeviceStepModel` (perf.ts); the datasheet
// roofline is that model at efficiency 'spec' (`rooflineDeviceStepModel`).
import { prefillAttentionPairs } from '../core/matmul.js';
import { InputError } from '../util/errors.js';
import { checkInt, checkNumber } from '../util/validate.js';
import type { DeviceStepInput } from './types.js';

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

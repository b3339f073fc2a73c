import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { prefillAttentionPairs } from '../core/matmul.js';
import { InputError } from '../util/errors.js';
import { readTextCapped } from '../util/files.js';
import { batchlabDataDir } from '../util/package-root.js';
import { checkNumber, checkOneOf } from '../util/validate.js';

/**
 * The prompts of a workload, request by request: each prompt's length and the tokens of
 * it already in the prefix cache (data/traces/*-prompts.csv). Prefill attention depends
 * on the mix, not only its means: a computed token attends to every cached and earlier
 * token of its own prompt, so a few long prompts with long cached prefixes cost more
 * attention per computed token than the same tokens in prompts of one length.
 */
export interface PromptMix {
  /** Where the mix comes from (the file's comment lines, or the caller's words). */
  source: string;
  promptTokens: Float64Array;
  cachedTokens: Float64Array;
  /** How `scalePromptMix` moved it, when it did. */
  scaling?: PromptMixScaling;
}

/** What `scalePromptMix` did to a mix. */
export interface PromptMixScaling {
  /** Every prompt length was multiplied by this. */
  lengthFactor: number;
  hits: 'proportional' | 'trace';
  /** 'trace': every cached prefix was stretched by this (1 for 'proportional'). */
  prefixStretch: number;
  /** 'trace': share of requests whose stretched prefix hit its cap (all but one token cached). */
  cappedShare: number;
}

/** What prefill pricing needs of a mix. */
export interface PromptMixStats {
  requests: number;
  meanPromptTokens: number;
  /** Cached tokens over prompt tokens (token-weighted, as a service counts its hits). */
  cacheHitFraction: number;
  /** Prompt tokens computed per request (cache hits excluded), mean. */
  meanComputedTokens: number;
  /** Keys each computed token attends to, mean over computed tokens (`prefillAttentionPairs` summed over requests). */
  attentionPairsPerComputedToken: number;
}

/** Large enough for a day of requests summarised, small enough that a runaway file is refused. */
const MAX_MIX_ROWS = 2_000_000;
const MAX_MIX_BYTES = 64 * 2 ** 20;
const MAX_PROMPT = 1 << 24;

/**
 * Parses a prompt mix: a CSV with the header `prompt_tokens,cached_tokens` (`#` lines
 * at the start of a line are comments and become the source), prompt tokens in
 * [1, 2^24], cached tokens in [0, prompt − 1] (a request computes at least one token).
 * A bad row is an InputError naming its line of the file and its column.
 *
 * @example
 * promptMixStats(parsePromptMix('prompt_tokens,cached_tokens\n4096,0\n4096,2048\n')).cacheHitFraction // => 0.25
 */
export function parsePromptMix(csv: string, source = 'inline prompt mix'): PromptMix {
  if (typeof csv !== 'string') throw new InputError('promptMix', csv, 'CSV text');
  const comments = csv
    .split('\n')
    .filter((l) => l.startsWith('#'))
    .map((l) => l.slice(1).trim());
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    // A '#' counts as a comment only at the start of a line: inside a row it is a bad value, not a cut.
    records = parse(csv, { comment: '#', comment_no_infix: true, skip_empty_lines: true, trim: true, info: true, to: MAX_MIX_ROWS + 2 }) as never;
  } catch (e) {
    throw new InputError('promptMix', source, 'well-formed CSV', (e as Error).message);
  }
  if (records.length < 2) throw new InputError('promptMix', source, 'a header prompt_tokens,cached_tokens and at least one row');
  if (records.length > MAX_MIX_ROWS + 1) throw new InputError('promptMix', source, `at most ${MAX_MIX_ROWS} rows`);
  const header = records[0].record.map((h) => h.toLowerCase());
  const ip = header.indexOf('prompt_tokens');
  const ic = header.indexOf('cached_tokens');
  if (ip < 0 || ic < 0) throw new InputError('promptMix header', records[0].record.join(','), 'columns prompt_tokens and cached_tokens');
  const n = records.length - 1;
  const promptTokens = new Float64Array(n);
  const cachedTokens = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const { record: r, info } = records[i + 1];
    const cell = (j: number): number => (r[j] === undefined || r[j] === '' ? NaN : Number(r[j]));
    const p = checkNumber(`promptMix line ${info.lines}: prompt_tokens`, cell(ip), { min: 1, max: MAX_PROMPT });
    const c = checkNumber(`promptMix line ${info.lines}: cached_tokens`, cell(ic), { min: 0, max: p - 1 });
    promptTokens[i] = p;
    cachedTokens[i] = c;
  }
  return { source: comments.length ? comments.join(' ') : source, promptTokens, cachedTokens };
}

/**
 * A prompt mix shipped under data/traces (`<name>.csv`; shipped mixes end in `-prompts`), e.g.
 * 'mooncake-conversation-prompts': one hour of a production chat service's prompts
 * with their prefix-cache hits (Mooncake's FAST'25 conversation trace, derived by
 * scripts/prompt-mix-from-mooncake.mjs).
 *
 * @example
 * promptMixStats(loadPromptMix('mooncake-conversation-prompts')).requests // => 12031
 */
export function loadPromptMix(name: string): PromptMix {
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new InputError('promptMix', name, 'the name of a data/traces/*.csv prompt mix (lower-case letters, digits, dashes)');
  let mix = loaded.get(name);
  if (mix === undefined) {
    mix = readPromptMix(name);
    loaded.set(name, mix);
  }
  // Callers get their own arrays: a shipped mix read once per process stays as shipped.
  return { source: mix.source, promptTokens: mix.promptTokens.slice(), cachedTokens: mix.cachedTokens.slice() };
}

const loaded = new Map<string, PromptMix>();

function readPromptMix(name: string): PromptMix {
  const path = join(batchlabDataDir('traces'), `${name}.csv`);
  if (!existsSync(path)) {
    const shipped = readdirSync(batchlabDataDir('traces'))
      .filter((f) => f.endsWith('-prompts.csv'))
      .map((f) => f.slice(0, -'.csv'.length));
    throw new InputError('promptMix', name, `a prompt mix under data/traces: ${shipped.join(', ')}`);
  }
  return parsePromptMix(readTextCapped('promptMix', path, { maxBytes: MAX_MIX_BYTES, what: 'prompt-mix CSV' }), name);
}

function checkMix(mix: PromptMix): void {
  if (typeof mix !== 'object' || mix === null || !(mix.promptTokens instanceof Float64Array) || !(mix.cachedTokens instanceof Float64Array)) {
    throw new InputError('promptMix', mix, 'a PromptMix (parsePromptMix or loadPromptMix)');
  }
  if (mix.promptTokens.length === 0 || mix.promptTokens.length !== mix.cachedTokens.length) throw new InputError('promptMix', mix.promptTokens.length, 'at least one request, with as many cached counts as prompts');
  // A hand-built mix gets the checks a parsed one had, so that no NaN reaches the stats.
  for (let i = 0; i < mix.promptTokens.length; i++) {
    const p = checkNumber(`promptMix.promptTokens[${i}]`, mix.promptTokens[i], { min: 0, exclusiveMin: true, max: MAX_PROMPT });
    const c = checkNumber(`promptMix.cachedTokens[${i}]`, mix.cachedTokens[i], { min: 0, max: p });
    if (!(c < p)) throw new InputError(`promptMix.cachedTokens[${i}]`, c, `less than its prompt, ${p} (a request computes some of it)`);
  }
}

/**
 * The means of a mix that prefill pricing uses: prompt and computed tokens per request,
 * the token-weighted cache-hit fraction, and the keys each computed token attends to.
 *
 * @example
 * promptMixStats(parsePromptMix('prompt_tokens,cached_tokens\n4,0\n')).attentionPairsPerComputedToken // => 2.5 (10 pairs / 4 tokens)
 */
export function promptMixStats(mix: PromptMix): PromptMixStats {
  checkMix(mix);
  let prompt = 0;
  let computed = 0;
  let pairs = 0;
  const n = mix.promptTokens.length;
  for (let i = 0; i < n; i++) {
    const L = mix.promptTokens[i];
    const c = mix.cachedTokens[i];
    prompt += L;
    computed += L - c;
    pairs += prefillAttentionPairs(L - c, c);
  }
  return {
    requests: n,
    meanPromptTokens: prompt / n,
    cacheHitFraction: 1 - computed / prompt,
    meanComputedTokens: computed / n,
    attentionPairsPerComputedToken: pairs / computed,
  };
}

/**
 * A mix moved to another service's means, keeping the spread of its prompt lengths:
 * every prompt scaled by one factor so that the mean prompt is `meanPromptTokens`, and
 * cache hits placed so that the token-weighted hit fraction is `cacheHitFraction`:
 * - `hits: 'proportional'` (default): every request has that fraction of its prompt
 *   cached. Only the lengths come from the mix; use it when the target service publishes
 *   only its mean hit rate.
 * - `hits: 'trace'`: which requests hit stays the mix's, and every cached prefix is
 *   stretched by one factor, capped so that each request still computes at least one
 *   (scaled) token. A hit fraction the mix cannot reach this way (requests that never
 *   hit cannot) is an InputError naming the reachable range. `scaling` reports the
 *   stretch and the share of requests it capped: a large share means the mix's own hits
 *   are far from the target's and the stretch distorts them.
 *
 * @example
 * promptMixStats(scalePromptMix(loadPromptMix('mooncake-conversation-prompts'), { meanPromptTokens: 4096, cacheHitFraction: 0.563 })).meanPromptTokens // => 4096
 */
export function scalePromptMix(mix: PromptMix, to: { meanPromptTokens: number; cacheHitFraction: number; hits?: 'proportional' | 'trace' }): PromptMix {
  checkMix(mix);
  const meanPrompt = checkNumber('meanPromptTokens', to?.meanPromptTokens, { min: 1, max: MAX_PROMPT });
  const target = checkNumber('cacheHitFraction', to?.cacheHitFraction, { min: 0, max: 1 });
  const hits = checkOneOf('hits', to.hits ?? 'proportional', ['proportional', 'trace'] as const);
  const n = mix.promptTokens.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += mix.promptTokens[i];
  const s = meanPrompt / (total / n);
  const promptTokens = new Float64Array(n);
  for (let i = 0; i < n; i++) promptTokens[i] = mix.promptTokens[i] * s;
  const scaledTotal = total * s;
  const cachedTokens = new Float64Array(n);
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
  if (hits === 'proportional') {
    if (!(target < 1)) throw new InputError('cacheHitFraction', target, 'less than 1 (a request computes some of its prompt)');
    for (let i = 0; i < n; i++) cachedTokens[i] = promptTokens[i] * target;
    return {
      source: `${mix.source} (lengths scaled to a mean prompt of ${meanPrompt} tokens; ${pct(target)} of every prompt cached)`,
      promptTokens,
      cachedTokens,
      scaling: { lengthFactor: s, hits, prefixStretch: 1, cappedShare: 0 },
    };
  }
  // Each request computes at least one scaled token (or keeps nothing cached if it is shorter than one).
  const cap = (i: number): number => Math.max(0, promptTokens[i] - 1);
  let reachable = 0;
  let stretchMax = 1;
  for (let i = 0; i < n; i++) {
    const c = mix.cachedTokens[i] * s;
    if (c > 0) {
      reachable += cap(i);
      stretchMax = Math.max(stretchMax, cap(i) / c);
    }
  }
  if (target > reachable / scaledTotal) {
    throw new InputError('cacheHitFraction', target, `at most ${(reachable / scaledTotal).toFixed(4)} for this prompt mix with hits: 'trace' (only its requests that hit can hit more)`);
  }
  const hitAt = (k: number): number => {
    let h = 0;
    for (let i = 0; i < n; i++) h += Math.min(cap(i), k * mix.cachedTokens[i] * s);
    return h / scaledTotal;
  };
  // hitAt is continuous and non-decreasing in k: bisection finds the stretch.
  let lo = 0;
  let hi = stretchMax;
  for (let it = 0; it < 200 && hi - lo > 1e-12 * hi; it++) {
    const mid = (lo + hi) / 2;
    if (hitAt(mid) < target) lo = mid;
    else hi = mid;
  }
  const k = target === 0 ? 0 : hi;
  let capped = 0;
  for (let i = 0; i < n; i++) {
    const want = k * mix.cachedTokens[i] * s;
    cachedTokens[i] = Math.min(cap(i), want);
    if (want > 0 && want >= cap(i)) capped++;
  }
  return {
    source: `${mix.source} (lengths scaled to a mean prompt of ${meanPrompt} tokens; its cached prefixes stretched ${k.toFixed(2)}× to ${pct(target)} hits, ${pct(capped / n)} of requests capped)`,
    promptTokens,
    cachedTokens,
    scaling: { lengthFactor: s, hits, prefixStretch: k, cappedShare: capped / n },
  };
}

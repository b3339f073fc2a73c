import { InputError } from '../util/errors.js';
import { checkInt, checkNumber } from '../util/validate.js';
import { fork } from '../util/random.js';
import type { Rng } from '../util/random.js';
import type { TokenSampler } from './loop.js';

/**
 * How a request's tokens are drawn: OpenAI's `temperature` (0 is greedy) and `top_p`
 * (nucleus), vLLM's `top_k` (0 or −1: every token), and a `seed` for reproducible draws.
 */
export interface SamplingParams {
  temperature: number;
  topP: number;
  topK: number;
  /** The seed of the draws; absent: a stream named by the request, still reproducible per server seed. */
  seed?: number;
}

/**
 * Checks the sampling fields of an OpenAI request body, with OpenAI's ranges
 * (temperature in [0, 2], top_p in (0, 1]) and vLLM's top_k (−1, 0 or an integer ≥ 1).
 * An absent temperature means greedy: the engine has no trained distribution whose
 * default temperature 1 would mean anything, and greedy answers are reproducible.
 *
 * @example
 * checkSampling({ temperature: 0.7, top_p: 0.9, seed: 3 }) // => { temperature: 0.7, topP: 0.9, topK: 0, seed: 3 }
 * checkSampling({ temperature: 5 }) // throws InputError naming temperature
 */
export function checkSampling(body: Record<string, unknown>): SamplingParams {
  const present = (k: string): boolean => body[k] !== undefined && body[k] !== null;
  const temperature = present('temperature') ? checkNumber('temperature', body.temperature, { min: 0, max: 2 }) : 0;
  const topP = present('top_p') ? checkNumber('top_p', body.top_p, { min: 0, exclusiveMin: true, max: 1 }) : 1;
  let topK = present('top_k') ? checkInt('top_k', body.top_k, { min: -1, max: 1 << 24 }) : 0;
  if (topK === -1) topK = 0;
  const seed = present('seed') ? checkInt('seed', body.seed, { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }) : undefined;
  return seed === undefined ? { temperature, topP, topK } : { temperature, topP, topK, seed };
}

/**
 * The token drawn from one row of logits: softmax of logits / temperature, cut to the
 * `topK` most likely tokens, then to the smallest set whose probability reaches `topP`
 * (ties broken by the lower id), renormalised, and inverted at the uniform `u`. With
 * temperature 0 it is the argmax (lowest id on ties).
 *
 * @example
 * sampleToken(Float32Array.from([0, 2, 1]), { temperature: 1, topP: 1, topK: 1 }, 0.99) // => 1
 */
export function sampleToken(logits: Float32Array, p: SamplingParams, u: number): number {
  const V = logits.length;
  if (p.temperature === 0 || p.topK === 1) {
    let best = 0;
    for (let k = 1; k < V; k++) if (logits[k] > logits[best]) best = k;
    return best;
  }
  let max = -Infinity;
  for (let k = 0; k < V; k++) if (logits[k] > max) max = logits[k];
  const w = new Float64Array(V);
  for (let k = 0; k < V; k++) w[k] = Math.exp((logits[k] - max) / p.temperature);
  const full = p.topP >= 1 && (p.topK <= 0 || p.topK >= V);
  let ids: number[];
  if (full) {
    ids = Array.from({ length: V }, (_, k) => k);
  } else {
    ids = Array.from({ length: V }, (_, k) => k).sort((a, b) => w[b] - w[a] || a - b);
    if (p.topK > 0 && p.topK < V) ids.length = p.topK;
    if (p.topP < 1) {
      let total = 0;
      for (const k of ids) total += w[k];
      let acc = 0;
      let keep = 0;
      while (keep < ids.length && acc < p.topP * total) acc += w[ids[keep++]];
      ids.length = Math.max(1, keep);
    }
  }
  let total = 0;
  for (const k of ids) total += w[k];
  let target = u * total;
  for (const k of ids) {
    target -= w[k];
    if (target < 0) return k;
  }
  return ids[ids.length - 1];
}

/**
 * A loop sampler for one request, or undefined for greedy decoding (the engine's own
 * argmax). One uniform draw per token from `fork(seed, 'sampling')` when the request
 * names a seed, else from `fork(serverSeed, 'sampling-<request>')`: the same seed and
 * prompt give the same tokens.
 *
 * @example
 * const s = requestSampler({ temperature: 0.8, topP: 0.95, topK: 0, seed: 7 }, 1, 'cmpl-1');
 * s?.(Float32Array.from([0.1, 0.3, 0.2]))
 */
export function requestSampler(p: SamplingParams, serverSeed: number, requestName: string): TokenSampler | undefined {
  if (p.temperature === 0 || p.topK === 1) return undefined;
  const r: Rng = p.seed !== undefined ? fork(p.seed, 'sampling') : fork(serverSeed, `sampling-${requestName}`);
  return (logits) => sampleToken(logits, p, r());
}

/**
 * Watches generated text for stop strings: `push` returns the text safe to send (holding
 * back a tail that could still become a stop string) and whether a stop string was hit
 * (the text before it is the last sent); `flush` returns what is held back at the end.
 *
 * @example
 * const m = new StopMatcher([' 7 8']);
 * m.push(' 1 7'); // => { text: ' 1', stopped: false }
 * m.push(' 8');   // => { text: '', stopped: true }
 */
export class StopMatcher {
  private readonly stops: string[];
  private readonly hold: number;
  private pending = '';
  stopped = false;

  constructor(stops: string[]) {
    this.stops = stops.filter((s) => s.length > 0);
    this.hold = Math.max(0, ...this.stops.map((s) => s.length - 1));
  }

  push(text: string): { text: string; stopped: boolean } {
    if (this.stopped) return { text: '', stopped: true };
    this.pending += text;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.pending.slice(0, cut);
      this.pending = '';
      return { text: out, stopped: true };
    }
    // Hold back only the longest tail that is the start of some stop string.
    let keep = 0;
    for (let k = Math.min(this.hold, this.pending.length); k > 0 && keep === 0; k--) {
      const tail = this.pending.slice(this.pending.length - k);
      if (this.stops.some((st) => st.startsWith(tail))) keep = k;
    }
    const safe = this.pending.length - keep;
    const out = this.pending.slice(0, safe);
    this.pending = this.pending.slice(safe);
    return { text: out, stopped: false };
  }

  flush(): string {
    const out = this.pending;
    this.pending = '';
    return out;
  }
}

/**
 * Checks OpenAI's `stop`: absent, a string, or an array of at most 4 non-empty strings.
 *
 * @example
 * checkStop([' 42']) // => [' 42']
 */
export function checkStop(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || list.length > 4 || !list.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 1000)) {
    throw new InputError('stop', stop, 'a non-empty string or an array of at most 4 non-empty strings (each ≤ 1000 characters)');
  }
  return list as string[];
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPromptMix, parsePromptMix, promptMixStats, scalePromptMix } from '../../lib/attention/index.js';
import { prefillAttentionPairs } from '../../lib/core/matmul.js';

const csv = (rows: Array<[number, number]>): string => ['prompt_tokens,cached_tokens', ...rows.map(([p, c]) => `${p},${c}`)].join('\n');

test('promptMixStats(): token-weighted hit fraction, mean computed tokens and keys per computed token by their closed forms', () => {
  const s = promptMixStats(parsePromptMix(csv([[4096, 0], [4096, 2048]])));
  assert.equal(s.requests, 2);
  assert.equal(s.meanPromptTokens, 4096);
  // 2,048 of 8,192 prompt tokens are hits.
  assert.equal(s.cacheHitFraction, 0.25);
  assert.equal(s.meanComputedTokens, (4096 + 2048) / 2);
  // Σ prefillAttentionPairs(L − c, c) / Σ (L − c): 4096·4097/2 + (2048·2048 + 2048·2049/2) over 6,144 computed tokens.
  assert.equal(s.attentionPairsPerComputedToken, ((4096 * 4097) / 2 + 2048 * 2048 + (2048 * 2049) / 2) / 6144);
});

test('promptMixStats(): prompts all alike give the fixed-length formula; spreading them (same means) raises keys per computed token', () => {
  const alike = promptMixStats(parsePromptMix(csv([[3000, 1000], [3000, 1000]])));
  assert.equal(alike.attentionPairsPerComputedToken, prefillAttentionPairs(2000, 1000) / 2000);
  // Same mean prompt (3,000) and hits (1,000), spread: convexity (Jensen) makes the mix dearer.
  const spread = promptMixStats(parsePromptMix(csv([[5000, 2000], [1000, 0]])));
  assert.equal(spread.meanPromptTokens, alike.meanPromptTokens);
  assert.equal(spread.cacheHitFraction, alike.cacheHitFraction);
  assert.ok(spread.attentionPairsPerComputedToken > alike.attentionPairsPerComputedToken);
});

test('scalePromptMix(): reaches the asked mean prompt and hit fraction, keeps which requests hit, and refuses a hit rate the mix cannot reach', () => {
  const mix = parsePromptMix(csv([[8000, 4096], [2000, 0], [6000, 1024], [4000, 3999]]));
  const s = scalePromptMix(mix, { meanPromptTokens: 4096, cacheHitFraction: 0.5 });
  const st = promptMixStats(s);
  assert.ok(Math.abs(st.meanPromptTokens - 4096) < 1e-9);
  assert.ok(Math.abs(st.cacheHitFraction - 0.5) < 1e-9);
  // The request that never hit still does not; every cached prefix leaves at least one (scaled) token computed.
  assert.equal(s.cachedTokens[1], 0);
  for (let i = 0; i < 4; i++) assert.ok(s.cachedTokens[i] < s.promptTokens[i]);
  // Zero hits: every prefix gone.
  assert.equal(promptMixStats(scalePromptMix(mix, { meanPromptTokens: 100, cacheHitFraction: 0 })).cacheHitFraction, 0);
  // Reachable at most: requests that hit cached up to L − 1: (7999 + 5999 + 3999) / 20,000.
  assert.throws(() => scalePromptMix(mix, { meanPromptTokens: 4096, cacheHitFraction: 0.9 }), /cacheHitFraction.*at most 0\.8999/);
  assert.throws(() => scalePromptMix(mix, { meanPromptTokens: 0, cacheHitFraction: 0.5 }), /meanPromptTokens/);
  assert.throws(() => scalePromptMix(mix, { meanPromptTokens: 4096, cacheHitFraction: Number.NaN }), /cacheHitFraction/);
});

test('parsePromptMix() and loadPromptMix(): bad rows and names are InputErrors naming the row and column', () => {
  assert.throws(() => parsePromptMix(csv([[100, 100]])), /row 1: cached_tokens/);
  assert.throws(() => parsePromptMix(csv([[0, 0]])), /row 1: prompt_tokens/);
  assert.throws(() => parsePromptMix('prompt_tokens,cached_tokens\n12,x\n'), /row 1: cached_tokens/);
  assert.throws(() => parsePromptMix('prompt,cached\n12,1\n'), /promptMix header/);
  assert.throws(() => parsePromptMix('prompt_tokens,cached_tokens\n'), /at least one row/);
  assert.throws(() => loadPromptMix('../models/deepseek-v3'), /promptMix/);
  assert.throws(() => loadPromptMix('no-such-mix'), /promptMix/);
});

test("loadPromptMix('mooncake-conversation-prompts'): Mooncake's FAST'25 conversation trace, its published request count and mean prompt", () => {
  const mix = loadPromptMix('mooncake-conversation-prompts');
  const s = promptMixStats(mix);
  // FAST25-release/README.md: 12,031 requests, average input length 12,035.
  assert.equal(s.requests, 12031);
  assert.equal(Math.round(s.meanPromptTokens), 12035);
  assert.match(mix.source, /Mooncake/);
  // Prefix reuse within one hour of conversations: between none and all of the input.
  assert.ok(s.cacheHitFraction > 0.1 && s.cacheHitFraction < 0.9);
});

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

test("scalePromptMix(hits: 'proportional'): reaches the asked mean prompt and hit fraction with every prompt cached alike; only the lengths' spread is kept", () => {
  const mix = parsePromptMix(csv([[8000, 4096], [2000, 0], [6000, 1024], [4000, 3999]]));
  const s = scalePromptMix(mix, { meanPromptTokens: 4096, cacheHitFraction: 0.5 });
  const st = promptMixStats(s);
  assert.ok(Math.abs(st.meanPromptTokens - 4096) < 1e-9 && Math.abs(st.cacheHitFraction - 0.5) < 1e-12);
  // Lengths keep their ratios (8000 : 2000 = 4); every prompt is half cached.
  assert.ok(Math.abs(s.promptTokens[0] / s.promptTokens[1] - 4) < 1e-12);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(s.cachedTokens[i] - s.promptTokens[i] / 2) < 1e-9);
  assert.deepEqual(s.scaling, { lengthFactor: 4096 / 5000, hits: 'proportional', prefixStretch: 1, cappedShare: 0 });
  // Keys per computed token: Σ (L/2)(L/2) + (L/2)(L/2 + 1)/2 over Σ L/2, by the closed form.
  const Ls = [...s.promptTokens];
  const closed = Ls.reduce((a, L) => a + (L / 2) * (L / 2) + ((L / 2) * (L / 2 + 1)) / 2, 0) / Ls.reduce((a, L) => a + L / 2, 0);
  assert.ok(Math.abs(st.attentionPairsPerComputedToken - closed) < 1e-9 * closed);
  assert.throws(() => scalePromptMix(mix, { meanPromptTokens: 4096, cacheHitFraction: 1 }), /cacheHitFraction/);
  assert.throws(() => scalePromptMix(mix, { meanPromptTokens: 0, cacheHitFraction: 0.5 }), /meanPromptTokens/);
  assert.throws(() => scalePromptMix(mix, { meanPromptTokens: 4096, cacheHitFraction: Number.NaN }), /cacheHitFraction/);
  assert.throws(() => scalePromptMix(mix, { meanPromptTokens: 4096, cacheHitFraction: 0.5, hits: 'all' as never }), /hits/);
});

test("scalePromptMix(hits: 'trace'): keeps which requests hit, stretches their prefixes to the asked hit fraction, each computing at least one scaled token, and reports the stretch", () => {
  const mix = parsePromptMix(csv([[8000, 4096], [2000, 0], [6000, 1024], [4000, 3999]]));
  const s = scalePromptMix(mix, { meanPromptTokens: 5000, cacheHitFraction: 0.5, hits: 'trace' });
  const st = promptMixStats(s);
  assert.ok(Math.abs(st.cacheHitFraction - 0.5) < 1e-9);
  // The request that never hit still does not; every other keeps at least one computed token.
  assert.equal(s.cachedTokens[1], 0);
  for (let i = 0; i < 4; i++) assert.ok(s.promptTokens[i] - s.cachedTokens[i] >= 1 - 1e-9, `request ${i}`);
  // Mean already 5,000: lengths unchanged. 10,000 hit tokens from 4096k + 1024k + 3999 (capped, k > 1): k = (10000 − 3999) / 5120.
  assert.equal(s.scaling?.lengthFactor, 1);
  assert.ok(Math.abs((s.scaling?.prefixStretch ?? 0) - (10000 - 3999) / 5120) < 1e-9);
  assert.equal(s.scaling?.cappedShare, 1 / 4);
  // Reachable at most: (7999 + 5999 + 3999) / 20,000.
  assert.throws(() => scalePromptMix(mix, { meanPromptTokens: 5000, cacheHitFraction: 0.9, hits: 'trace' }), /cacheHitFraction.*at most 0\.8999/);
});

test('promptMixStats() and scalePromptMix() refuse a hand-built mix with a bad element, naming it', () => {
  const good = parsePromptMix(csv([[100, 10]]));
  for (const [prompt, cached, field] of [[Number.NaN, 0, /promptTokens\[0\]/], [0, 0, /promptTokens\[0\]/], [100, 100, /cachedTokens\[0\]/], [100, -1, /cachedTokens\[0\]/]] as const) {
    const bad = { ...good, promptTokens: Float64Array.of(prompt), cachedTokens: Float64Array.of(cached) };
    assert.throws(() => promptMixStats(bad), field);
    assert.throws(() => scalePromptMix(bad, { meanPromptTokens: 100, cacheHitFraction: 0.1 }), field);
  }
});

test('parsePromptMix() and loadPromptMix(): bad rows and names are InputErrors naming the file line and column', () => {
  // The header is line 1: the first row is line 2; a comment line counts.
  assert.throws(() => parsePromptMix(csv([[100, 100]])), /line 2: cached_tokens/);
  assert.throws(() => parsePromptMix(csv([[0, 0]])), /line 2: prompt_tokens/);
  assert.throws(() => parsePromptMix('# a comment\nprompt_tokens,cached_tokens\n12,1\n12,x\n'), /line 4: cached_tokens/);
  // A '#' inside a row is a bad value, not a comment that cuts the row short.
  assert.throws(() => parsePromptMix('prompt_tokens,cached_tokens\n12,#3\n'), /promptMix/);
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

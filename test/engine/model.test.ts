import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../lib/backend/registry.js';
import { DecodeEngine } from '../../lib/engine/model.js';
import { ENGINE_HEADROOM_BYTES, enginePassTokens, seededWeights } from '../../lib/engine/weights.js';
import type { EngineConfig } from '../../lib/engine/config.js';
import { InputError } from '../../lib/util/errors.js';
import { referenceLogits } from './reference.js';
import { TINY_DENSE, TINY_MOE } from './fixtures.js';

type Tf = typeof import('@tensorflow/tfjs-core');
let tf: Tf;
before(async () => {
  tf = (await selectBackend('auto', { log: () => {} })).tf;
});

function engine(c: EngineConfig, seed = 7): DecodeEngine {
  return new DecodeEngine(tf, c, seededWeights(c, seed));
}

function rows(e: DecodeEngine, segs: Array<{ seq: number; tokens: number[] }>): Float32Array[] {
  const t = e.forward(segs);
  const v = t.arraySync() as number[][];
  t.dispose();
  return v.map((r) => Float32Array.from(r));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const PROMPT = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7];
// Float32 carries 24 bits (unit roundoff 6e-8); the logits are O(1) sums over ~50-term
// dot products through 2 layers, so 1e-4 absolute leaves two orders of magnitude of
// headroom while any wrong formula (a norm, a rotation, a head mapping) is off by > 1e-2.
const F32_TOL = 1e-4;

for (const c of [TINY_DENSE, TINY_MOE]) {
  test(`DecodeEngine.forward(${c.id}) matches the float64 reference at every position, prefill then decode`, () => {
    const w = seededWeights(c, 7);
    const ref = referenceLogits(c, w, PROMPT);
    const e = new DecodeEngine(tf, c, w);
    // Prefill 6 tokens, then one token per step: each step's logits are the reference row of its position.
    const got = [rows(e, [{ seq: 0, tokens: PROMPT.slice(0, 6) }])[0]];
    for (let p = 6; p < PROMPT.length; p++) got.push(rows(e, [{ seq: 0, tokens: [PROMPT[p]] }])[0]);
    const positions = [5, 6, 7, 8, 9];
    positions.forEach((pos, i) => assert.ok(maxAbsDiff(got[i], ref[pos]) < F32_TOL, `position ${pos}: ${maxAbsDiff(got[i], ref[pos])}`));
    // The reference is not trivially small: logits of order one differ between positions.
    assert.ok(maxAbsDiff(ref[5], ref[9]) > 0.05);
    e.dispose();
  });
}

test('DecodeEngine.forward: a prompt in chunks (3 + 4 + 3) gives the logits of the prompt in one piece', () => {
  const whole = engine(TINY_DENSE);
  const a = rows(whole, [{ seq: 1, tokens: PROMPT }])[0];
  const chunked = engine(TINY_DENSE);
  rows(chunked, [{ seq: 1, tokens: PROMPT.slice(0, 3) }]);
  rows(chunked, [{ seq: 1, tokens: PROMPT.slice(3, 7) }]);
  const b = rows(chunked, [{ seq: 1, tokens: PROMPT.slice(7) }])[0];
  assert.ok(maxAbsDiff(a, b) < 1e-5, String(maxAbsDiff(a, b)));
  whole.dispose();
  chunked.dispose();
});

for (const c of [TINY_DENSE, TINY_MOE]) {
  test(`DecodeEngine.step(${c.id}): decoding 4 sequences in one batch gives the logits of decoding each alone`, () => {
    const prompts = [[1, 2, 3], [40, 41, 42, 43, 44, 45, 46], [9], [17, 18, 19, 20, 21]];
    const batched = engine(c);
    const alone = engine(c);
    // Mixed first step: every prompt prefilled together (a continuous-batching step).
    const firstB = rows(batched, prompts.map((p, s) => ({ seq: s, tokens: p })));
    const firstA = prompts.map((p, s) => rows(alone, [{ seq: s, tokens: p }])[0]);
    let worst = Math.max(...firstB.map((r, s) => maxAbsDiff(r, firstA[s])));
    let next = firstA.map((r) => r.indexOf(Math.max(...r)));
    for (let step = 0; step < 6; step++) {
      const b = rows(batched, next.map((t, s) => ({ seq: s, tokens: [t] })));
      const a = next.map((t, s) => rows(alone, [{ seq: s, tokens: [t] }])[0]);
      worst = Math.max(worst, ...b.map((r, s) => maxAbsDiff(r, a[s])));
      next = a.map((r) => r.indexOf(Math.max(...r)));
    }
    // Batching changes the GEMM's M and so its summation blocking: float32 rounding only.
    assert.ok(worst < 1e-5, `worst batched-vs-alone difference ${worst}`);
    batched.dispose();
    alone.dispose();
  });
}

test('DecodeEngine.step over 1,050 steps (sequences joining and leaving) leaks no tensor', () => {
  const e = engine(TINY_MOE);
  let next = 1;
  const live = new Map<number, number>();
  let seqId = 0;
  const runSteps = (n: number): void => {
    for (let i = 0; i < n; i++) {
      // Keep 3 sequences alive; each lives 20 steps, so the step mixes prefill and decode.
      while (live.size < 3) live.set(seqId++, 0);
      const segs = [...live.entries()].map(([s, age]) => ({ seq: s, tokens: age === 0 ? [1, 2, 3, 4] : [next % TINY_MOE.vocabSize] }));
      next = e.step(segs)[0];
      for (const [s, age] of live) {
        if (age >= 20) {
          e.release(s);
          live.delete(s);
        } else live.set(s, age + 1);
      }
    }
  };
  // 3 sequences born together live 21 steps, so after 21·k steps none is live and the
  // engine holds only its weights: the count after 1,050 steps equals the count after 42.
  runSteps(42);
  assert.equal(e.sequences().length, 0);
  const before = tf.memory().numTensors;
  runSteps(1050);
  assert.equal(e.sequences().length, 0);
  assert.equal(tf.memory().numTensors, before);
  const held = tf.memory().numTensors;
  e.dispose();
  assert.ok(tf.memory().numTensors < held);
});

test('DecodeEngine.forward rejects bad segments with an InputError before touching any cache', () => {
  const e = engine(TINY_DENSE);
  rows(e, [{ seq: 0, tokens: [1, 2] }]);
  const bad: Array<[unknown, RegExp]> = [
    [[], /segments/],
    [[{ seq: 0, tokens: [] }], /tokens/],
    [[{ seq: 0, tokens: [61] }], /tokens\[0\].*\[0, 60\]/],
    [[{ seq: 0, tokens: [1.5] }], /tokens\[0\]/],
    [[{ seq: 1.5, tokens: [1] }], /seq/],
    [[{ seq: 2, tokens: [1] }, { seq: 2, tokens: [1] }], /once per step/],
    [[{ seq: 0, tokens: new Array(63).fill(1) }], /at most 62 more tokens \(context limit 64\)/],
  ];
  for (const [segs, re] of bad) {
    assert.throws(() => e.forward(segs as never), (err: unknown) => err instanceof InputError && re.test(err.message), JSON.stringify(segs).slice(0, 80));
  }
  assert.equal(e.length(0), 2);
  assert.deepEqual(e.sequences(), [0]);
  e.dispose();
});

test('DecodeEngine.fillCache(seq, n): a decode step over n placeholder tokens runs the shapes of one over an n-token prompt, and leaks nothing', () => {
  const e = engine(TINY_DENSE);
  e.step([{ seq: 0, tokens: PROMPT.slice(0, 6) }]);
  e.fillCache(1, 6);
  assert.equal(e.length(1), 6);
  const before = tf.memory().numTensors;
  // Both sequences in one step: the cache shapes match, so the step stacks them like two real sequences.
  const next = e.step([{ seq: 0, tokens: [1] }, { seq: 1, tokens: [1] }]);
  assert.equal(next.length, 2);
  assert.equal(e.length(0), 7);
  assert.equal(e.length(1), 7);
  // Each step replaces every layer's K and V of a sequence: the tensor count is unchanged.
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => e.fillCache(1, 3), (err: unknown) => err instanceof InputError && err.field === 'seq');
  assert.throws(() => e.fillCache(2, TINY_DENSE.maxContext), (err: unknown) => err instanceof InputError && err.field === 'tokens');
  e.release(1);
  e.dispose();
});

test('DecodeEngine.projections(): each layer\'s matrices named as modelStepOps names them, [n, k] as the config gives them', () => {
  const e = engine(TINY_DENSE);
  const c = TINY_DENSE;
  const p = e.projections();
  // Shapes from the config: qkv stacks q, k and v heads; gate/up stacks two FFN widths; the LM head is vocab × hidden.
  assert.deepEqual(p.map((x) => [x.name, x.n, x.k, x.weights.length]), [
    ['attn.qkv_proj', (c.numHeads + 2 * c.numKvHeads) * c.headDim, c.hiddenSize, c.numLayers],
    ['attn.o_proj', c.hiddenSize, c.numHeads * c.headDim, c.numLayers],
    ['ffn.gate_up_proj', 2 * c.intermediateSize, c.hiddenSize, c.numLayers],
    ['ffn.down_proj', c.hiddenSize, c.intermediateSize, c.numLayers],
    ['lm_head', c.vocabSize, c.hiddenSize, 1],
  ]);
  e.dispose();
  // MoE experts are left out: the attention projections and the LM head remain.
  const m = engine(TINY_MOE);
  assert.deepEqual(m.projections().map((x) => x.name), ['attn.qkv_proj', 'attn.o_proj', 'lm_head']);
  m.dispose();
});

for (const c of [TINY_DENSE, TINY_MOE]) {
  test(`DecodeEngine.forward(${c.id}) in passes of 4 tokens gives the float64 reference's last-token logits of every segment, and leaves the same caches`, () => {
    const w = seededWeights(c, 7);
    const tensorsBefore = tf.memory().numTensors;
    const e = new DecodeEngine(tf, c, w, { passTokens: 4 });
    // Segments of 6, 1 and 3 new tokens (10 tokens, passes 4 + 4 + 2): the first is cut
    // after 4 tokens and continues in the next pass from its cache; the second and third
    // share a pass with it. Each row must be the reference row of its segment's last token.
    const A = PROMPT.slice(0, 6);
    const B = [PROMPT[6]];
    const C = PROMPT.slice(7, 10);
    const got = rows(e, [{ seq: 0, tokens: A }, { seq: 1, tokens: B }, { seq: 2, tokens: C }]);
    assert.equal(got.length, 3);
    assert.ok(maxAbsDiff(got[0], referenceLogits(c, w, A)[5]) < F32_TOL);
    assert.ok(maxAbsDiff(got[1], referenceLogits(c, w, B)[0]) < F32_TOL);
    assert.ok(maxAbsDiff(got[2], referenceLogits(c, w, C)[2]) < F32_TOL);
    // Sequence 0's cache holds all 6 tokens: one more token continues at position 6.
    assert.equal(e.length(0), 6);
    const next = rows(e, [{ seq: 0, tokens: [PROMPT[6]] }])[0];
    assert.ok(maxAbsDiff(next, referenceLogits(c, w, PROMPT.slice(0, 7))[6]) < F32_TOL);
    e.dispose();
    // Rows of passes that were gathered or concatenated were all freed.
    assert.equal(tf.memory().numTensors, tensorsBefore);
  });
}

test('enginePassTokens: half of ENGINE_HEADROOM_BYTES over the float32 intermediates of one token in one layer', () => {
  // Llama-3.2-1B at context 1,024 (hidden 2048, 32 heads, 8 KV heads of 64, FFN 8192):
  // 7·2048 + 2·3072 + 5·2560 + 7·8192 + 3·32·1024 = 188,928 floats = 755,712 bytes a token;
  // 2^30 / 755,712 = 1420.8.
  const c = { ...TINY_DENSE, hiddenSize: 2048, numHeads: 32, numKvHeads: 8, headDim: 64, intermediateSize: 8192, numExperts: 0, expertsPerToken: 0, maxContext: 1024 };
  assert.equal(enginePassTokens(c), 1420);
  // Twice the headroom, twice the tokens (to the floor); never below one token.
  assert.equal(enginePassTokens(c, 2 * ENGINE_HEADROOM_BYTES), Math.floor(2 ** 31 / 755_712));
  assert.equal(enginePassTokens(c, 1), 1);
  assert.throws(() => new DecodeEngine(tf, TINY_DENSE, seededWeights(TINY_DENSE, 7), { passTokens: 0 }), (e: unknown) => e instanceof InputError && /passTokens/.test(e.message));
});

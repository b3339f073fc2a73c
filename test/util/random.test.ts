import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, InputError, rng } from '../../lib/util/index.js';
import { forkFloat32 } from '../../lib/util/random.js';

const draws = (r: () => number, n: number): number[] => Array.from({ length: n }, r);

test('rng(s) and rng(-s) are different streams (regression: the seed lost its sign)', () => {
  for (const s of [1, 7, 12345, 0.5, 1e12]) assert.notDeepEqual(draws(rng(s), 4), draws(rng(-s), 4), `seed ${s}`);
});

test('rng(1e17) and rng(2e17) differ, as do seeds beyond 2^32 (regression: seeds were truncated to 32 bits)', () => {
  assert.notDeepEqual(draws(rng(1e17), 4), draws(rng(2e17), 4));
  assert.notDeepEqual(draws(rng(2 ** 32), 4), draws(rng(0), 4));
  assert.notDeepEqual(draws(fork(1e17, 'x'), 4), draws(fork(2e17, 'x'), 4));
});

test('consecutive seeds 1e12 … 1e12+1e5 give 1e5 distinct streams (regression: they gave 8,192)', () => {
  // With 53-bit draws, 1e5 distinct streams collide on their first draw with probability
  // about n²/2^54 ≈ 6e-7 (birthday bound), so every first draw must be distinct.
  const first = new Set<number>();
  for (let i = 0; i < 100_000; i++) first.add(rng(1e12 + i)());
  assert.equal(first.size, 100_000);
});

test('rng draws are uniform on [0, 1): 100-bin chi-square below the 99.9 % point', () => {
  // 99.9 % point of chi-square with 99 degrees of freedom: 148.23 (NIST/SEMATECH table).
  for (const seed of [0, 1, -3, 1e17]) {
    const bins = new Array(100).fill(0);
    const n = 100_000;
    const r = rng(seed);
    for (let i = 0; i < n; i++) {
      const u = r();
      assert.ok(u >= 0 && u < 1);
      bins[Math.floor(u * 100)]++;
    }
    const chi = bins.reduce((s, o) => s + (o - n / 100) ** 2 / (n / 100), 0);
    assert.ok(chi < 148.23, `seed ${seed}: chi-square ${chi.toFixed(1)}`);
  }
});

test('draws carry 53 bits: the low bits of u·2^53 vary (a 32-bit generator leaves them zero)', () => {
  const r = rng(5);
  const odd = draws(r, 1000).filter((u) => (u * 2 ** 53) % 2 === 1).length;
  // Binomial(1000, 1/2): 500 ± 3·15.8.
  assert.ok(odd > 450 && odd < 550, `${odd} odd`);
});

test('fork streams of one seed are uncorrelated with each other and with the parent stream', () => {
  const n = 50_000;
  const corr = (a: number[], b: number[]): number => {
    const n = a.length;
    const ma = a.reduce((s, x) => s + x, 0) / n;
    const mb = b.reduce((s, x) => s + x, 0) / n;
    let sab = 0, saa = 0, sbb = 0;
    for (let i = 0; i < n; i++) {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) ** 2;
      sbb += (b[i] - mb) ** 2;
    }
    return sab / Math.sqrt(saa * sbb);
  };
  const parent = draws(rng(9), n);
  const a = draws(fork(9, 'arrivals'), n);
  const b = draws(fork(9, 'arrivalt'), n); // names one character apart
  // Independent streams: the sample correlation is N(0, 1/n); 4/sqrt(n) is a 4-sigma bound.
  const bound = 4 / Math.sqrt(n);
  assert.ok(Math.abs(corr(a, b)) < bound);
  assert.ok(Math.abs(corr(parent, a)) < bound);
  assert.ok(Math.abs(corr(a.slice(1), a.slice(0, -1))) < bound, 'lag-1 autocorrelation');
});

test('rng and fork refuse non-finite, BigInt and Symbol seeds with an InputError naming seed (regression: fork threw a TypeError)', () => {
  for (const bad of [NaN, Infinity, 10n, Symbol('s'), '7', undefined, null]) {
    assert.throws(() => fork(bad as never, 'x'), (e: unknown) => e instanceof InputError && e.field === 'seed');
    assert.throws(() => rng(bad as never), (e: unknown) => e instanceof InputError && e.field === 'seed');
  }
  assert.throws(() => fork(1, 5 as never), (e: unknown) => e instanceof InputError && e.field === 'name');
});

test('rng(0) and rng(-0) are one stream; seeds are bit-identical across calls', () => {
  assert.deepEqual(draws(rng(0), 3), draws(rng(-0), 3));
  assert.deepEqual(draws(fork(3, 'moe'), 5), draws(fork(3, 'moe'), 5));
});

test('forkFloat32(seed, name) is stable per (seed, name), uniform on [0, 1) in steps of 2^-24', () => {
  const a = forkFloat32(7, 'w');
  const b = forkFloat32(7, 'w');
  const c = forkFloat32(7, 'v');
  let sum = 0;
  let same = 0;
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const x = a();
    assert.equal(x, b());
    if (x === c()) same++;
    assert.ok(x >= 0 && x < 1);
    // A multiple of 2^-24: 24 random bits, exact in a float32.
    assert.equal(Math.fround(x), x);
    assert.equal((x * 2 ** 24) % 1, 0);
    sum += x;
  }
  // Mean of U[0, 1) is 1/2 with standard error 1/sqrt(12 n) = 0.00091 for n = 100,000: 5 standard errors.
  assert.ok(Math.abs(sum / n - 0.5) < 0.0046);
  assert.ok(same < 10);
  assert.throws(() => forkFloat32(7, 3 as unknown as string), InputError);
});

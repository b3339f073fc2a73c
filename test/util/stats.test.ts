import { test } from 'node:test';
import assert from 'node:assert/strict';
import { medianBy, summarizeSample } from '../../lib/util/index.js';
import { InputError } from '../../lib/util/errors.js';

test('summarizeSample(values) matches hand-computed statistics', () => {
  const s = summarizeSample([10, 1, 4, 3, 2]);
  // sorted 1,2,3,4,10: mean 4, median 3; sample variance Σ(x−4)²/4 = (9+4+1+0+36)/4 = 12.5.
  assert.equal(s.count, 5);
  assert.equal(s.mean, 4);
  assert.equal(s.median, 3);
  assert.equal(s.variance, 12.5);
  assert.ok(Math.abs(s.std - Math.sqrt(12.5)) < 1e-12);
  assert.equal(s.min, 1);
  assert.equal(s.max, 10);
  // numpy.percentile([1,2,3,4,10], 10) = 1 + 0.4·(2 − 1) = 1.4; 90th: 4 + 0.6·(10 − 4) = 7.6 (linear, rank (n−1)p).
  assert.ok(Math.abs(s.p10 - 1.4) < 1e-12);
  assert.ok(Math.abs(s.p90 - 7.6) < 1e-12);
});

test('summarizeSample skips NaN and leaves std NaN for one value (pandas convention)', () => {
  const s = summarizeSample([2, NaN, 2]);
  assert.equal(s.count, 2);
  assert.equal(s.mean, 2);
  assert.equal(s.std, 0);
  const one = summarizeSample([5]);
  assert.equal(one.count, 1);
  assert.ok(Number.isNaN(one.std));
  assert.equal(summarizeSample([]).count, 0);
});

test('medianBy(items, key) returns the item with the median key (the lower middle one for an even count), ties in input order', () => {
  const fits = [{ id: 'a', ridge: 30 }, { id: 'b', ridge: 10 }, { id: 'c', ridge: 20 }];
  // Sorted keys 10, 20, 30: the median 20 is item c, returned whole (not a median per field).
  assert.equal(medianBy(fits, (x) => x.ridge), fits[2]);
  // Four keys 10, 20, 30, 40: the lower middle one, 20.
  assert.equal(medianBy([...fits, { id: 'd', ridge: 40 }], (x) => x.ridge).id, 'c');
  assert.equal(medianBy([{ id: 'x', ridge: 5 }], (x) => x.ridge).id, 'x');
  // Equal keys keep the input order: the middle of p, q, r is q.
  assert.equal(medianBy([{ id: 'p', ridge: 1 }, { id: 'q', ridge: 1 }, { id: 'r', ridge: 1 }], (x) => x.ridge).id, 'q');
  assert.throws(() => medianBy([], (x: number) => x), (e: unknown) => e instanceof InputError && e.field === 'items');
  assert.throws(() => medianBy([1, NaN], (x) => x), (e: unknown) => e instanceof InputError && e.field === 'key(items[1])');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkInt, checkNumber, checkOneOf, checkPositive, InputError, rng, fork, gammaByMeanCv } from '../../lib/util/index.js';
import { checkKnownKeys } from '../../lib/util/validate.js';

test('checkInt(field, v, bounds) names the field and the allowed range', () => {
  assert.equal(checkInt('batch', 4, { min: 1, max: 8 }), 4);
  for (const bad of [0, 9, 2.5, NaN, Infinity, '4', undefined]) {
    assert.throws(() => checkInt('batch', bad, { min: 1, max: 8 }), (e: unknown) => e instanceof InputError && e.field === 'batch' && /batch must be an integer in \[1, 8\]/.test(e.message));
  }
});

test('checkNumber/checkPositive reject NaN and out-of-range values', () => {
  assert.throws(() => checkNumber('windowMs', NaN, { min: 0 }), /windowMs must be a finite number in \[0, inf\); got NaN/);
  assert.throws(() => checkPositive('rate', 0), /rate must be a finite number in \(0, inf\)/);
  assert.equal(checkPositive('rate', 2.5), 2.5);
});

test('checkOneOf lists the allowed values', () => {
  assert.throws(() => checkOneOf('policy', 'x', ['window', 'continuous']), /policy must be one of "window", "continuous"; got "x"/);
});

test('rng(seed) is deterministic per seed and differs across seeds; fork streams are independent of each other', () => {
  const a = rng(7), b = rng(7), c = rng(8);
  const xa = [a(), a(), a()], xb = [b(), b(), b()], xc = [c(), c(), c()];
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
  assert.notEqual(fork(7, 'arrivals')(), fork(7, 'lengths')());
  assert.equal(fork(7, 'arrivals')(), fork(7, 'arrivals')());
});

test('gammaByMeanCv(mean, cv) has the requested mean and coefficient of variation', () => {
  // Gamma(shape = 1/cv², scale = mean·cv²): mean = shape·scale, cv = 1/sqrt(shape).
  const draw = gammaByMeanCv(rng(3), 2, 0.5);
  const xs = Array.from({ length: 200_000 }, draw);
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1));
  assert.ok(Math.abs(mean - 2) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(sd / mean - 0.5) < 0.01, `cv ${sd / mean}`);
});

test('InputError quotes the value it got, and says nothing of a value never given (no "got undefined")', () => {
  assert.equal(new InputError('batch', 0, 'an integer in [1, 65536]').message, 'batch must be an integer in [1, 65536]; got 0');
  assert.equal(new InputError('--hardware', undefined, 'given together with --model').message, '--hardware must be given together with --model');
  assert.equal(new InputError('x', null, 'a number').message, 'x must be a number; got null');
  assert.equal(new InputError('--rate', undefined, 'given with --simulate', 'no rate').message, '--rate must be given with --simulate (no rate)');
});

test('checkKnownKeys refuses a field a spec does not have, naming it and the fields it has', () => {
  checkKnownKeys('slo', { tpotSeconds: 0.05 }, ['ttftSeconds', 'tpotSeconds']);
  assert.throws(() => checkKnownKeys('slo', { tpot: 0.05 }, ['ttftSeconds', 'tpotSeconds']), (e: unknown) => e instanceof InputError && e.field === 'slo.tpot' && e.message === 'slo.tpot must be left out (slo has the fields ttftSeconds, tpotSeconds); got 0.05');
});

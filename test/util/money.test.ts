import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatUsd } from '../../lib/util/money.js';

test('formatUsd(x) keeps two decimals and two significant digits, so $2.50 never prints as $2.5', () => {
  // Each expected string is the amount rounded by hand to max(2 decimals, 2 significant digits).
  assert.equal(formatUsd(2.5), '$2.50');
  assert.equal(formatUsd(2), '$2.00');
  assert.equal(formatUsd(0.049), '$0.049');
  assert.equal(formatUsd(0.0178), '$0.018');
  assert.equal(formatUsd(0.5), '$0.50');
  assert.equal(formatUsd(0.133), '$0.13');
  assert.equal(formatUsd(1234.5), '$1,234.50');
  assert.equal(formatUsd(0), '$0.00');
  assert.equal(formatUsd(-0.25), '-$0.25');
  assert.equal(formatUsd(Infinity), '$∞');
  assert.equal(formatUsd(NaN), '$–');
});

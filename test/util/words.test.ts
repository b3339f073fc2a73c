import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countOf, fmtFigure } from '../../lib/util/words.js';

test('fmtFigure(): significant digits below 1,000 and grouped digits above, so no non-zero figure reads as 0', () => {
  assert.equal(fmtFigure(6.66e-11), '6.66e-11');
  assert.equal(fmtFigure(0.0125), '0.0125');
  assert.equal(fmtFigure(12.3456), '12.3');
  assert.equal(fmtFigure(12.3456, 4), '12.35');
  assert.equal(fmtFigure(48123.4), '48,123');
  assert.equal(fmtFigure(0), '0');
  assert.equal(fmtFigure(-2500.6), '-2,501');
  // Rounding that reaches 1,000 is grouped as 1,000 is.
  assert.equal(fmtFigure(999.96), '1,000');
  assert.equal(fmtFigure(999.4, 4), '999.4');
  assert.equal(countOf(1, 'device'), '1 device');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fittedRooflineCurves, specRooflineCurves } from '../../lib/cost/curves.js';
import { gemmTestRow as row, gemmTestRows as rows } from '../gemm/rows.js';
import { InputError } from '../../lib/util/errors.js';

test('fittedRooflineCurves and specRooflineCurves evaluate the models at every swept M; they refuse rows without a sweep', () => {
  const fit = { overheadSeconds: 1e-5, peakFlopsPerSecond: 1e11, bytesPerSecond: 1e10, dtype: 'fp32' as const, label: 'f' };
  const [fitted] = fittedRooflineCurves(fit, rows);
  // The fp32 rows above sweep M = 1, 2, 4 at K = N = 64 (the bf16 row is a second dtype, so no second fitted curve).
  assert.deepEqual(fitted.points.map((p) => p.m), [1, 2, 4]);
  assert.equal(fittedRooflineCurves(fit, rows).length, 1);
  // M=4: 32 768 FLOPs, bytes 4·(256+4096+256) = 18 432 → overhead + max(FLOPs/peak, bytes/bw) = 1e-5 + 1.8432e-6.
  assert.ok(Math.abs(fitted.points[2].seconds - (1e-5 + 18_432 / 1e10)) < 1e-15);
  const [spec] = specRooflineCurves([{ label: 'H100 bf16', peakFlopsPerSecond: 989.5e12, bytesPerSecond: 3.35e12, dtype: 'bf16' }], rows);
  // bf16 M=1, K=N=64: bytes 2·(64+4096+64) = 8448 at 3.35e12 B/s, above 8192 FLOPs at 989.5e12.
  assert.ok(Math.abs(spec.points[0].seconds - 8448 / 3.35e12) < 1e-20);
  assert.equal(spec.style, 'spec');
  assert.throws(() => fittedRooflineCurves(fit, [row(1, 1e-5, { case: 'one-vs-many' })]), InputError);
  assert.throws(() => specRooflineCurves([{ label: 'x', peakFlopsPerSecond: 0, bytesPerSecond: 1, dtype: 'bf16' }], rows), InputError);
});

// One correctness suite for every backend present (as tfjs-core runs its kernels' tests
// per backend): every weight layout the GEMM harness times, multiplied by the very call
// the harness times (gemmVariantProduct), against a float64 reference computed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectBackends, selectBackend, BACKEND_NAMES } from '../../lib/backend/index.js';
import { GEMM_VARIANTS, gemmVariantOperands, gemmVariantProduct } from '../../lib/gemm/index.js';

// Odd sizes with no symmetry, so a transposed or mis-strided operand cannot pass by accident;
// m = 1 is the decode case, where some kernels switch to a matrix-vector product.
const SHAPES: Array<[number, number, number]> = [[7, 33, 5], [1, 40, 9], [16, 3, 24]];

// The logical operands: X[m×k] and W[k×n], element (i, p) and (p, j).
const xAt = (i: number, p: number) => Math.sin(i * 1.3 + p * 0.7) * 0.5;
const wAt = (p: number, j: number) => Math.cos(p * 1.7 - j * 0.3);

for (const name of BACKEND_NAMES) {
  for (const variant of GEMM_VARIANTS) {
    test(`gemmVariantProduct(${variant}) on ${name} matches a float64 reference within float32 rounding`, async (t) => {
      const status = (await detectBackends()).find((b) => b.name === name)!;
      if (!status.available) return t.skip(`${name} unavailable: ${status.reason}`);
      const { tf } = await selectBackend(name, { log: () => {} });
      for (const [m, k, n] of SHAPES) {
        const ops = gemmVariantOperands(variant, m, k, n);
        // Lay the same logical X and W out as the variant stores them.
        const [wr, wc] = ops.wShape;
        const wData = Float32Array.from({ length: wr * wc }, (_, e) => {
          const r = Math.floor(e / wc);
          const c = e % wc;
          return ops.transposeB || ops.weightFirst ? wAt(c, r) : wAt(r, c); // stored [n×k] or [k×n]
        });
        const [xr, xc] = ops.xShape;
        const xData = Float32Array.from({ length: xr * xc }, (_, e) => {
          const r = Math.floor(e / xc);
          const c = e % xc;
          return ops.weightFirst ? xAt(c, r) : xAt(r, c); // [k×m] (feature-major) or [m×k]
        });
        const before = tf.memory().numTensors;
        const out = tf.tidy(() => {
          const y = gemmVariantProduct(tf, ops, tf.tensor2d(wData, ops.wShape), tf.tensor2d(xData, ops.xShape));
          return { shape: y.shape, data: y.dataSync() };
        });
        assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
        // Feature-major computes W·X = (X·W)ᵀ: [n×m].
        assert.deepEqual(out.shape, ops.weightFirst ? [n, m] : [m, n]);
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let ref = 0;
            let mag = 0;
            for (let p = 0; p < k; p++) {
              ref += Math.fround(xAt(i, p)) * Math.fround(wAt(p, j));
              mag += Math.abs(xAt(i, p) * wAt(p, j));
            }
            const got = ops.weightFirst ? out.data[j * m + i] : out.data[i * n + j];
            // float32 accumulation: a few ulps of the sum of magnitudes per term.
            assert.ok(Math.abs(got - ref) <= 4 * k * 2 ** -24 * mag + 1e-7, `${variant} ${m}×${k}×${n} [${i},${j}] ${got} vs ${ref}`);
          }
      }
    });
  }
}

// The grouped-expert benchmark multiplies a stack of experts in one batched call,
// X[E×c×K]·W[E×K×N] (or ·Wᵀ from W[E×N×K]), through the same gemmVariantProduct.
for (const name of BACKEND_NAMES) {
  for (const variant of ['plain', 'transposed-w'] as const) {
    test(`gemmVariantProduct(${variant}) on ${name} multiplies a batch of expert weights expert by expert`, async (t) => {
      const status = (await detectBackends()).find((b) => b.name === name)!;
      if (!status.available) return t.skip(`${name} unavailable: ${status.reason}`);
      const { tf } = await selectBackend(name, { log: () => {} });
      const [e, c, k, n] = [3, 5, 17, 6];
      const ops = gemmVariantOperands(variant, c, k, n);
      const wAtE = (x: number, p: number, j: number) => Math.cos(p * 1.7 - j * 0.3 + x);
      const xAtE = (x: number, i: number, p: number) => Math.sin(i * 1.3 + p * 0.7 - x) * 0.5;
      const wData = new Float32Array(e * k * n);
      const xData = new Float32Array(e * c * k);
      for (let x = 0; x < e; x++) {
        for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) wData[x * k * n + (ops.transposeB ? j * k + p : p * n + j)] = wAtE(x, p, j);
        for (let i = 0; i < c; i++) for (let p = 0; p < k; p++) xData[x * c * k + i * k + p] = xAtE(x, i, p);
      }
      const out = tf.tidy(() => gemmVariantProduct(tf, ops, tf.tensor3d(wData, [e, ...ops.wShape]), tf.tensor3d(xData, [e, c, k])).dataSync());
      for (let x = 0; x < e; x++)
        for (let i = 0; i < c; i++)
          for (let j = 0; j < n; j++) {
            let ref = 0;
            let mag = 0;
            for (let p = 0; p < k; p++) {
              ref += Math.fround(xAtE(x, i, p)) * Math.fround(wAtE(x, p, j));
              mag += Math.abs(xAtE(x, i, p) * wAtE(x, p, j));
            }
            const got = out[x * c * n + i * n + j];
            assert.ok(Math.abs(got - ref) <= 4 * k * 2 ** -24 * mag + 1e-7, `${variant} expert ${x} [${i},${j}] ${got} vs ${ref}`);
          }
    });
  }
}

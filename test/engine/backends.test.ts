// The same engine on every tfjs backend present here (as tfjs-core runs one suite per
// backend): each must match the float64 reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectBackends, selectBackend } from '../../lib/backend/registry.js';
import { DecodeEngine } from '../../lib/engine/model.js';
import { seededWeights } from '../../lib/engine/weights.js';
import { referenceLogits } from './reference.js';
import { TINY_DENSE, TINY_MOE } from './fixtures.js';

const statuses = await detectBackends();
for (const s of statuses) {
  test(`DecodeEngine on backend ${s.name} matches the float64 reference (dense and MoE)`, { skip: s.available ? false : s.reason }, async () => {
    const tf = (await selectBackend(s.name, { log: () => {} })).tf;
    for (const c of [TINY_DENSE, TINY_MOE]) {
      const w = seededWeights(c, 5);
      const prompt = [7, 1, 30, 2, 44];
      const ref = referenceLogits(c, w, prompt);
      const e = new DecodeEngine(tf, c, w);
      assert.equal(e.backend, s.tfjsBackend);
      const t = e.forward([{ seq: 0, tokens: prompt }]);
      const got = t.dataSync();
      t.dispose();
      let worst = 0;
      for (let i = 0; i < c.vocabSize; i++) worst = Math.max(worst, Math.abs(got[i] - ref[prompt.length - 1][i]));
      // Float32 rounding only (see model.test.ts for the tolerance's reasoning).
      assert.ok(worst < 1e-4, `${c.id} on ${s.name}: ${worst}`);
      e.dispose();
    }
  });
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  pipelineBubbleFraction,
  pipelineTickClosedForm,
  pipelineCollectionWindow,
  pipelineBubbleSweep,
  pipelineWindowSweep,
  pipelineSchedule,
} from '../../lib/pipeline/index.js';
import { InputError } from '../../lib/util/index.js';

test('pipelineBubbleFraction is (S−1)/(v·m+S−1)', () => {
  assert.equal(pipelineBubbleFraction({ stages: 8, microBatches: 8 }), 7 / 15); // GPipe, Huang et al. 2019
  assert.equal(pipelineBubbleFraction({ stages: 4, microBatches: 8, chunks: 2 }), 3 / 19); // Megatron-LM interleaved: 3/16 of ideal
  assert.equal(pipelineBubbleFraction({ stages: 1, microBatches: 1 }), 0); // one device never waits
  assert.throws(() => pipelineBubbleFraction({ stages: 4, microBatches: 0 }), (e: unknown) => e instanceof InputError && e.field === 'microBatches');
});

test('pipelineTickClosedForm reduces to GPipe for uniform stages and adds transfers otherwise', () => {
  const u = pipelineTickClosedForm([1, 1, 1, 1], 5);
  assert.equal(u.tickSeconds, 8); // m+S−1 = 8 stage-times
  assert.equal(u.bubbleFraction, 3 / 8);
  // Σt = 4, (S−1)·d = 0.5, (m−1)·max t = 3·2: 10.5; busy 3·4 of 3·10.5.
  const n = pipelineTickClosedForm([2, 1, 1], 4, 0.25);
  assert.equal(n.tickSeconds, 10.5);
  assert.equal(n.bubbleFraction, 1 - 16 / 31.5);
  assert.throws(() => pipelineTickClosedForm([1, 0], 2), /stageSeconds\[1\] must be/);
  assert.throws(() => pipelineTickClosedForm([], 2), (e: unknown) => e instanceof InputError && e.field === 'stageSeconds');
});

test('pipelineCollectionWindow picks the fewest micro-batches that keep the bubble under target', () => {
  for (const S of [2, 4, 8, 16, 61]) {
    for (const b of [0.05, 0.1, 0.25, 0.5]) {
      for (const v of [1, 2]) {
        const w = pipelineCollectionWindow({ stages: S, targetBubble: b, arrivalRate: 250, microBatchSize: 4, chunks: v });
        // The tick's bubble, interleaved stalls included (checked against the simulator below).
        const at = (m: number) => pipelineBubbleFraction({ stages: S, microBatches: m, chunks: v });
        assert.ok(at(w.microBatches) <= b + 1e-12, `S=${S} b=${b} v=${v}: m=${w.microBatches}`);
        for (let m = 1; m < w.microBatches; m++) assert.ok(at(m) > b, `S=${S} b=${b} v=${v}: m=${m} is enough`);
        assert.equal(w.requests, 4 * w.microBatches);
        assert.equal(w.windowSeconds, w.requests / 250); // window = m·size / rate
      }
    }
  }
  // m ≥ (S−1)(1−b)/b is exactly 63 for S = 8, b = 0.1: floating point must not round it to 64.
  const w8 = pipelineCollectionWindow({ stages: 8, targetBubble: 0.1, arrivalRate: 100, microBatchSize: 4 });
  assert.equal(w8.microBatches, 63);
  assert.equal(w8.windowSeconds, 2.52);
  assert.ok(Math.abs(w8.bubbleFraction - 0.1) < 1e-12);
  assert.equal(pipelineCollectionWindow({ stages: 1, targetBubble: 0.1, arrivalRate: 1, microBatchSize: 1 }).microBatches, 1);
});

test('pipelineCollectionWindow: a simulated tick of that size meets the target', () => {
  for (const S of [4, 8, 16]) {
    const w = pipelineCollectionWindow({ stages: S, targetBubble: 0.1, arrivalRate: 1000, microBatchSize: 1 });
    const run = pipelineSchedule({ layers: 2 * S, stages: S, layerSeconds: 1e-4 }, { kind: 'fill-drain', microBatches: w.microBatches });
    assert.ok(run.bubbleFraction <= 0.1 + 1e-9, `S=${S}: ${run.bubbleFraction}`);
    const smaller = pipelineSchedule({ layers: 2 * S, stages: S, layerSeconds: 1e-4 }, { kind: 'fill-drain', microBatches: w.microBatches - 1 });
    assert.ok(smaller.bubbleFraction > 0.1, `S=${S}: one micro-batch fewer breaks the target`);
  }
});

test('pipelineCollectionWindow over uneven stages and transfers: the simulated tick meets the target, one fewer does not', () => {
  // 61 layers over 8 stages split 8,8,8,8,8,7,7,7: the 8-layer stages set the pace.
  for (const [S, d] of [[4, 0], [8, 0], [8, 3e-5], [16, 1e-5]] as const) {
    const spec = { layers: 61, stages: S, layerSeconds: 1e-4, transferSeconds: d };
    const stageSeconds = pipelineSchedule(spec, { kind: 'fill-drain', microBatches: 1 }).layout.stageSeconds;
    const w = pipelineCollectionWindow({ stages: S, targetBubble: 0.1, arrivalRate: 50, microBatchSize: 2, stageSeconds, transferSeconds: d });
    const sim = (m: number) => pipelineSchedule(spec, { kind: 'fill-drain', microBatches: m }).bubbleFraction;
    assert.ok(sim(w.microBatches) <= 0.1 + 1e-9, `S=${S} d=${d}: ${sim(w.microBatches)}`);
    assert.ok(sim(w.microBatches - 1) > 0.1, `S=${S} d=${d}: m−1 suffices`);
    assert.ok(Math.abs(w.bubbleFraction - sim(w.microBatches)) < 1e-9);
    // Uneven stages need more micro-batches than the even-split formula promises.
    assert.ok(w.microBatches > pipelineCollectionWindow({ stages: S, targetBubble: 0.1, arrivalRate: 50, microBatchSize: 2 }).microBatches);
  }
  // Those stages idle 1 − 61/64 = 4.7 % however large the tick: a 4 % target is out of reach.
  const t8 = [8, 8, 8, 8, 8, 7, 7, 7].map((n) => n * 1e-4);
  assert.throws(
    () => pipelineCollectionWindow({ stages: 8, targetBubble: 0.04, arrivalRate: 50, microBatchSize: 2, stageSeconds: t8 }),
    /targetBubble must be above 0\.04688/,
  );
  assert.throws(() => pipelineCollectionWindow({ stages: 4, targetBubble: 0.1, arrivalRate: 50, microBatchSize: 2, stageSeconds: t8 }), (e: unknown) => e instanceof InputError && e.field === 'stageSeconds');
  assert.throws(() => pipelineCollectionWindow({ stages: 8, targetBubble: 0.1, arrivalRate: 50, microBatchSize: 2, stageSeconds: t8, chunks: 2 }), (e: unknown) => e instanceof InputError && e.field === 'chunks');
});

test('pipelineCollectionWindow rejects bad input naming the field', () => {
  const ok = { stages: 8, targetBubble: 0.1, arrivalRate: 100, microBatchSize: 4 };
  const field = (f: string) => (e: unknown) => e instanceof InputError && e.field === f;
  assert.throws(() => pipelineCollectionWindow({ ...ok, targetBubble: 0 }), field('targetBubble'));
  assert.throws(() => pipelineCollectionWindow({ ...ok, targetBubble: 1.5 }), field('targetBubble'));
  assert.throws(() => pipelineCollectionWindow({ ...ok, targetBubble: 1e-15 }), field('targetBubble'));
  assert.throws(() => pipelineCollectionWindow({ ...ok, arrivalRate: 0 }), field('arrivalRate'));
  assert.throws(() => pipelineCollectionWindow({ ...ok, microBatchSize: 2.5 }), field('microBatchSize'));
});

test('pipelineBubbleSweep over 61 layers: simulation equals the flow-shop closed form of the uneven split', () => {
  const rows = pipelineBubbleSweep({ layers: 61, stages: [4, 8, 16], microBatches: [1, 2, 4, 8, 16, 32, 64], layerSeconds: 1e-4 });
  assert.equal(rows.length, 21);
  for (const r of rows) {
    assert.ok(Math.abs(r.bubbleFraction - r.closedFormBubble!) < 1e-9, `S=${r.stages} m=${r.microBatches}`);
    // 61 layers do not split evenly, so the uneven pipeline idles at least as much as an even one.
    assert.ok(r.bubbleFraction >= r.evenStagesBubble - 1e-12);
    assert.ok(Math.abs(r.microBatchesPerSecond - r.microBatches / r.tickSeconds) < 1e-6 * r.microBatchesPerSecond);
  }
  const il = pipelineBubbleSweep({ layers: 64, stages: [4], microBatches: [4, 8], layerSeconds: 1e-4, chunks: 2 });
  assert.equal(il[0].closedFormBubble, null);
  assert.ok(Math.abs(il[1].bubbleFraction - 3 / 19) < 1e-9); // even 64-layer split: Megatron's (S−1)/(v·m+S−1)
});

test('pipelineWindowSweep crosses stage counts and rates; the window falls as 1/rate', () => {
  const rows = pipelineWindowSweep({ stages: [4, 16], arrivalRates: [10, 100], targetBubble: 0.1, microBatchSize: 2 });
  assert.equal(rows.length, 4);
  assert.deepEqual(rows.map((r) => r.microBatches), [27, 27, 135, 135]); // (S−1)·0.9/0.1 for S = 4 and 16
  assert.ok(Math.abs(rows[0].windowSeconds / rows[1].windowSeconds - 10) < 1e-12);
  assert.throws(() => pipelineWindowSweep({ stages: [], arrivalRates: [1], targetBubble: 0.1, microBatchSize: 1 }), (e: unknown) => e instanceof InputError && e.field === 'stages');
  assert.throws(() => pipelineWindowSweep({ stages: [4], arrivalRates: [1], targetBubble: 0.1, microBatchSize: 1, layers: 61 }), (e: unknown) => e instanceof InputError && e.field === 'layerSeconds');
  assert.throws(() => pipelineWindowSweep({ stages: [4], arrivalRates: [1], targetBubble: 0.1, microBatchSize: 1, transferSeconds: 1e-6 }), (e: unknown) => e instanceof InputError && e.field === 'transferSeconds');
});

test('pipelineWindowSweep prices the uneven split of each stage count when given layers', () => {
  const rows = pipelineWindowSweep({ stages: [4, 8], arrivalRates: [100], targetBubble: 0.1, microBatchSize: 1, layers: 61, layerSeconds: 1e-4 });
  for (const r of rows) {
    const sim = pipelineSchedule({ layers: 61, stages: r.stages, layerSeconds: 1e-4 }, { kind: 'fill-drain', microBatches: r.microBatches });
    assert.ok(Math.abs(sim.bubbleFraction - r.bubbleFraction) < 1e-9 && r.bubbleFraction <= 0.1, `S=${r.stages}`);
  }
});

test('pipelineBubbleFraction equals the event simulator for interleaved ticks whose micro-batches are not a multiple of the stages', () => {
  // S = 4, v = 2, m = 1: one micro-batch crosses 8 virtual stages alone, each device busy 2 of 8 slots: 0.75.
  assert.equal(pipelineBubbleFraction({ stages: 4, microBatches: 1, chunks: 2 }), 0.75);
  for (const S of [2, 3, 4, 8]) {
    for (const v of [1, 2, 3]) {
      for (let m = 1; m <= 2 * S + 1; m++) {
        const run = pipelineSchedule({ layers: S * v * 2, stages: S, layerSeconds: 1e-3 }, v === 1 ? { kind: 'fill-drain', microBatches: m } : { kind: 'interleaved', microBatches: m, chunks: v });
        assert.ok(Math.abs(pipelineBubbleFraction({ stages: S, microBatches: m, chunks: v }) - run.bubbleFraction) < 1e-9, `S=${S} v=${v} m=${m}`);
      }
    }
  }
});

test('pipelineCollectionWindow with chunks picks the fewest micro-batches whose interleaved tick meets the target', () => {
  // S = 4, v = 2, b = 0.2: the multiple-of-S bound is m ≥ 3·0.8/(0.2·2) = 6, but m = 6 leaves a
  // partial group of 2 (bubble (3+2)/(12+3+2) = 5/17 > 0.2); m = 7 gives (3+1)/(14+3+1) = 2/9 > 0.2;
  // m = 8 is a multiple of 4: 3/19 ≤ 0.2.
  const w = pipelineCollectionWindow({ stages: 4, targetBubble: 0.2, arrivalRate: 10, microBatchSize: 1, chunks: 2 });
  assert.equal(w.microBatches, 8);
  assert.equal(w.bubbleFraction, 3 / 19);
});

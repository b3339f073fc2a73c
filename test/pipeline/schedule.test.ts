import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipelineSchedule, pipelineTickClosedForm, type PipelineRun, type PipelineStageSpec } from '../../lib/pipeline/index.js';
import { InputError } from '../../lib/util/index.js';

const close = (a: number, b: number, tol = 1e-9, msg?: string) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), msg ?? `${a} ≈ ${b}`);

/** Structural invariants every run must satisfy, whatever the schedule. */
function checkInvariants(run: PipelineRun, spec: PipelineStageSpec) {
  const S = run.layout.stages;
  const nv = S * run.layout.chunks;
  const hop = S > 1 ? (spec.transferSeconds ?? 0) : 0;
  assert.equal(run.timeline.length, run.flows * run.passes * nv);
  // A device runs one micro-batch at a time.
  for (let i = 1; i < run.timeline.length; i++) {
    const a = run.timeline[i - 1], b = run.timeline[i];
    if (a.device === b.device) assert.ok(b.start >= a.end - 1e-12, `overlap on device ${a.device}`);
  }
  // A micro-batch reaches virtual stage j only after stage j−1 plus the hand-over.
  const at = new Map<string, { start: number; end: number }>();
  for (const s of run.timeline) at.set(`${s.flow}/${s.pass}/${s.virtualStage}`, s);
  for (const s of run.timeline) {
    assert.equal(s.device, s.virtualStage % S);
    if (s.virtualStage > 0) {
      const prev = at.get(`${s.flow}/${s.pass}/${s.virtualStage - 1}`)!;
      assert.ok(s.start >= prev.end + hop - 1e-12, 'stage order');
    } else if (s.pass > 0) {
      // Token-by-token dependency: the next token enters after the previous one left.
      const prev = at.get(`${s.flow}/${s.pass - 1}/${nv - 1}`)!;
      assert.ok(s.start >= prev.end + hop - 1e-12, 'token dependency');
      if (run.kind !== 'streaming') {
        // Tick barrier: no micro-batch of tick p starts before every one of tick p−1 left.
        for (let f = 0; f < run.flows; f++) assert.ok(s.start >= at.get(`${f}/${s.pass - 1}/${nv - 1}`)!.end + hop - 1e-12, 'tick barrier');
      }
    }
  }
  // Work is conserved: busy device-time equals passes × flows × the model's layer work,
  // priced here straight from the spec rather than from the layout.
  const perLayer = typeof spec.layerSeconds === 'number' ? Array(spec.layers).fill(spec.layerSeconds) : (spec.layerSeconds as number[]);
  const modelWork = perLayer.reduce((a: number, b: number) => a + b, 0);
  close(run.busySeconds.reduce((a, b) => a + b, 0), run.flows * run.passes * modelWork, 1e-9, 'work conserved');
}

test('fill-drain bubble fraction equals (S−1)/(m+S−1) for uniform stages and no transfer', () => {
  // GPipe (Huang et al. 2019): the bubble of one tick is (S−1)/(m+S−1).
  for (const S of [1, 2, 4, 8, 16]) {
    for (const m of [1, 2, 3, 7, 16, 64]) {
      const spec = { layers: 2 * S, stages: S, layerSeconds: 1e-3 };
      const run = pipelineSchedule(spec, { kind: 'fill-drain', microBatches: m });
      close(run.bubbleFraction, (S - 1) / (m + S - 1), 1e-12, `S=${S} m=${m}`);
      close(run.makespanSeconds, (m + S - 1) * 2e-3, 1e-12); // m+S−1 stage-times per tick
      checkInvariants(run, spec);
    }
  }
});

test('fill-drain ticks repeat back to back, and per-token latency tends to the tick time', () => {
  const S = 4, m = 6, P = 5, t = 1e-3;
  const spec = { layers: S, stages: S, layerSeconds: t, };
  const run = pipelineSchedule(spec, { kind: 'fill-drain', microBatches: m, ticks: P, microBatchSize: 8 });
  const T = (m + S - 1) * t;
  close(run.makespanSeconds, P * T);
  close(run.bubbleFraction, (S - 1) / (m + S - 1)); // every tick has the same bubble
  // Micro-batch f's last token leaves at (P−1)·T + (f+S)·t, so its P gaps sum to that.
  let sum = 0;
  for (let f = 0; f < m; f++) sum += (P - 1) * T + (f + S) * t;
  close(run.tokenLatencySeconds, sum / (m * P));
  close(run.tokensPerSecond, (m * P * 8) / (P * T));
  checkInvariants(run, spec);
});

test('fill-drain over uneven stages and transfer latency matches the flow-shop closed form', () => {
  // Makespan of m identical jobs in a flow shop: Σt + (S−1)·d + (m−1)·max t.
  const layerSeconds = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8].map((x) => x * 1e-4);
  for (const [S, d] of [[3, 0], [4, 2e-4], [6, 1e-3]] as const) {
    for (const m of [1, 2, 5, 20]) {
      const spec = { layers: 12, stages: S, layerSeconds, transferSeconds: d };
      const run = pipelineSchedule(spec, { kind: 'fill-drain', microBatches: m });
      const cf = pipelineTickClosedForm(run.layout.stageSeconds, m, d);
      close(run.makespanSeconds, cf.tickSeconds, 1e-12, `S=${S} m=${m} d=${d}`);
      close(run.bubbleFraction, cf.bubbleFraction, 1e-9);
      checkInvariants(run, spec);
    }
  }
});

test('interleaved bubble time relative to ideal equals (S−1)/(v·m) when S divides m', () => {
  // Megatron-LM interleaved schedule (Narayanan et al. 2021, §2.2.2): bubble time
  // fraction (S−1)/(v·m) of the ideal time m·t.
  for (const S of [2, 4, 8]) {
    for (const v of [1, 2, 3, 4]) {
      for (const m of [S, 2 * S, 4 * S]) {
        const spec = { layers: S * v * 2, stages: S, layerSeconds: 1e-3 };
        const run = pipelineSchedule(spec, { kind: 'interleaved', microBatches: m, chunks: v });
        close(run.bubbleOverIdeal, (S - 1) / (v * m), 1e-9, `S=${S} v=${v} m=${m}`);
        close(run.bubbleFraction, (S - 1) / (v * m + S - 1), 1e-9);
        checkInvariants(run, spec);
      }
    }
  }
});

test('interleaved with one chunk reproduces the fill-drain timeline', () => {
  const spec = { layers: 10, stages: 5, layerSeconds: (i: number) => (i + 1) * 1e-4, transferSeconds: 5e-5 };
  const a = pipelineSchedule(spec, { kind: 'interleaved', microBatches: 7, chunks: 1, ticks: 2 });
  const b = pipelineSchedule(spec, { kind: 'fill-drain', microBatches: 7, ticks: 2 });
  assert.deepEqual(a.timeline, b.timeline);
});

test('interleaving beats fill-drain when m is not a multiple of S, and still conserves work', () => {
  const spec = { layers: 24, stages: 4, layerSeconds: 1e-3 };
  const fd = pipelineSchedule(spec, { kind: 'fill-drain', microBatches: 6 });
  const il = pipelineSchedule(spec, { kind: 'interleaved', microBatches: 6, chunks: 2 });
  assert.ok(il.bubbleFraction < fd.bubbleFraction, `${il.bubbleFraction} < ${fd.bubbleFraction}`);
  checkInvariants(il, spec);
});

test('streaming with R = S requests: zero bubble in steady state, (S−1)/(N·S+S−1) overall', () => {
  // Request r's token k enters stage 0 at (k·S + r)·t; the pipeline is never idle
  // between the first device-S−1 slot and the last device-0 slot.
  for (const S of [2, 4, 8]) {
    const N = 50;
    const spec = { layers: S, stages: S, layerSeconds: 1e-3 };
    const run = pipelineSchedule(spec, { kind: 'streaming', requests: S, tokens: N });
    assert.ok(run.steadyBubbleFraction !== null && run.steadyBubbleFraction < 1e-9, `steady ${run.steadyBubbleFraction}`);
    close(run.bubbleFraction, (S - 1) / (N * S + S - 1), 1e-9);
    // One token per request every S·t; request r's first token leaves at (r+S)·t,
    // so the mean gap is S·t + (S−1)·t/(2N).
    close(run.tokenLatencySeconds, S * 1e-3 + ((S - 1) * 1e-3) / (2 * N), 1e-9);
    checkInvariants(run, spec);
  }
});

test('streaming bubble shrinks toward zero as tokens grow once requests ≥ stages', () => {
  const spec = { layers: 16, stages: 8, layerSeconds: 1e-4 };
  let prev = 1;
  for (const N of [4, 16, 64, 256]) {
    const run = pipelineSchedule(spec, { kind: 'streaming', requests: 12, tokens: N });
    assert.ok(run.bubbleFraction < prev, `N=${N}: ${run.bubbleFraction} < ${prev}`);
    prev = run.bubbleFraction;
  }
  assert.ok(prev < 0.01, `256 tokens: ${prev}`);
});

test('streaming with fewer requests than stages idles 1 − R/S of each device in steady state', () => {
  // Each request occupies one stage at a time, so R of S devices are busy.
  for (const [S, R] of [[4, 1], [4, 2], [8, 3], [8, 6]]) {
    const run = pipelineSchedule({ layers: S, stages: S, layerSeconds: 1e-3 }, { kind: 'streaming', requests: R, tokens: 400 });
    close(run.steadyBubbleFraction!, 1 - R / S, 2e-3, `S=${S} R=${R}: ${run.steadyBubbleFraction}`);
  }
});

test('streaming with transfer latency: utilisation R·t / (S·(t+d)) below saturation', () => {
  // A request's cycle is S·t of work plus S hand-overs (S−1 forward, one back to stage 0).
  const S = 4, t = 1e-3, d = 5e-4;
  for (const R of [2, 4]) {
    const spec = { layers: S, stages: S, layerSeconds: t, transferSeconds: d };
    const run = pipelineSchedule(spec, { kind: 'streaming', requests: R, tokens: 400 });
    close(run.steadyBubbleFraction!, 1 - (R * t) / (S * (t + d)), 3e-3, `R=${R}: ${run.steadyBubbleFraction}`);
    close(run.passLatencySeconds, S * t + (S - 1) * d, 1e-9); // no queueing below saturation
    checkInvariants(run, spec);
  }
});

test('streaming over uneven stages keeps every token dependency and conserves work', () => {
  const spec = { layers: 9, stages: 3, layerSeconds: [1, 5, 2, 2, 2, 1, 3, 1, 1].map((x) => x * 1e-4), transferSeconds: 1e-5 };
  const run = pipelineSchedule(spec, { kind: 'streaming', requests: 5, tokens: 30, chunks: 3 });
  checkInvariants(run, spec);
  // The bottleneck device bounds throughput: at most 1 / max stage-seconds micro-batches/s.
  assert.ok(run.microBatchesPerSecond <= 1 / Math.max(...run.layout.stageSeconds) + 1e-9);
});

test('pipelineSchedule is deterministic', () => {
  const spec = { layers: 61, stages: 8, layerSeconds: (i: number) => 1e-4 * (1 + (i % 3)), transferSeconds: 2e-5 };
  const a = pipelineSchedule(spec, { kind: 'streaming', requests: 11, tokens: 20 });
  const b = pipelineSchedule(spec, { kind: 'streaming', requests: 11, tokens: 20 });
  assert.deepEqual(a, b);
});

test('pipelineSchedule rejects bad schedules naming the field', () => {
  const spec = { layers: 8, stages: 4, layerSeconds: 1e-3 };
  const field = (f: string) => (e: unknown) => e instanceof InputError && e.field === f;
  assert.throws(() => pipelineSchedule(spec, { kind: 'zigzag' } as never), field('schedule.kind'));
  assert.throws(() => pipelineSchedule(spec, { kind: 'fill-drain', microBatches: 0 }), field('schedule.microBatches'));
  assert.throws(() => pipelineSchedule(spec, { kind: 'fill-drain', microBatches: 2, ticks: 1.5 }), field('schedule.ticks'));
  assert.throws(() => pipelineSchedule(spec, { kind: 'interleaved', microBatches: 4 } as never), field('schedule.chunks'));
  assert.throws(() => pipelineSchedule(spec, { kind: 'interleaved', microBatches: 4, chunks: 3 }), field('layers')); // 8 < 4·3
  assert.throws(() => pipelineSchedule(spec, { kind: 'streaming', requests: 4, tokens: NaN }), field('schedule.tokens'));
  assert.throws(() => pipelineSchedule(spec, { kind: 'streaming', requests: 4, tokens: 3, microBatchSize: 0 }), field('schedule.microBatchSize'));
  // 1000 × 1000 × 4 slots would be 4e6 objects: refused before any allocation.
  assert.throws(() => pipelineSchedule(spec, { kind: 'streaming', requests: 1000, tokens: 1000 }), /schedule\.requests × schedule\.tokens × stages × schedule\.chunks must be at most 1000000/);
  assert.throws(() => pipelineSchedule(spec, null as never), field('schedule'));
});

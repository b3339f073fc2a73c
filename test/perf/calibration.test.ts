import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { calibrationFromJson, gemmComputeSeconds, rooflineSeconds, matmulKneeBatch, weightStreamKneeBatch, smallestTrue, linkSeconds, ringAllReduceSeconds, SPEC_CALIBRATION, TYPICAL_CALIBRATION } from '../../lib/perf/index.js';
import { hardwareFromJson, loadHardware } from '../../lib/hardware/index.js';
import { InputError } from '../../lib/util/errors.js';

const h800json = (): Record<string, any> => JSON.parse(readFileSync(new URL('../../data/hardware/h800.json', import.meta.url), 'utf8'));
const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

test('calibrationFromJson() names the field of a negative efficiency, one above 1, a missing source or a missing field', () => {
  const bad = (mutate: (c: Record<string, any>) => void, field: string): void => {
    const j = h800json();
    mutate(j.calibration);
    assert.throws(() => hardwareFromJson(j), (e: unknown) => e instanceof InputError && e.field === field, field);
  };
  bad((c) => (c.gemmEfficiency.fp8.value = -0.2), 'calibration.gemmEfficiency.fp8.value');
  bad((c) => (c.memoryEfficiency.value = 1.3), 'calibration.memoryEfficiency.value');
  bad((c) => delete c.attentionPrefillEfficiency.source, 'calibration.attentionPrefillEfficiency.source');
  bad((c) => delete c.interNodeLatencySeconds, 'calibration.interNodeLatencySeconds');
  bad((c) => (c.gemmEfficiency = {}), 'calibration.gemmEfficiency');
  bad((c) => (c.gemmEfficiency.fp7 = { kind: 'datasheet', value: 0.5, source: 'x' }), 'calibration.gemmEfficiency dtype');
  bad((c) => (c.computeUnits.value = 13.5), 'calibration.computeUnits.value');
  bad((c) => delete c.memoryEfficiency.kind, 'calibration.memoryEfficiency.kind');
  bad((c) => (c.graphKernelSeconds.kind = 'published serving figure'), 'calibration.graphKernelSeconds.kind');
  bad((c) => (c.overlapEfficiency = { kind: 'kernel-measurement', value: 1.1, source: 'x' }), 'calibration.overlapEfficiency.value');
  bad((c) => (c.overlapEfficiency = { kind: 'kernel-measurement', value: 0.8 }), 'calibration.overlapEfficiency.source');
  // Optional and absent from the catalog: overlap then hides all of the shorter side the model prices.
  const j = h800json();
  assert.equal(j.calibration.overlapEfficiency, undefined);
  assert.equal(hardwareFromJson(j).calibration!.overlapEfficiency, undefined);
  j.calibration.overlapEfficiency = { kind: 'kernel-measurement', value: 0.8, source: 'a profiler trace of two overlapped micro-batches' };
  assert.equal(hardwareFromJson(j).calibration!.overlapEfficiency, 0.8);
  assert.throws(() => calibrationFromJson(null), /calibration/);
});

test('every calibrated catalog entry carries a source for every number', () => {
  for (const id of ['h800', 'h100-sxm', 'h200']) {
    const cal = loadHardware(id).calibration;
    assert.ok(cal, id);
    for (const [k, v] of Object.entries(cal.sources)) assert.ok(v.source.length > 10, `${id} ${k}`);
    assert.ok(Object.keys(cal.sources).length >= 17);
    // No entry sets overlapEfficiency: the only figures that could are serving systems' published overlap gains.
    assert.equal(cal.overlapEfficiency, undefined, id);
  }
  assert.equal(loadHardware('a100-80gb').calibration, undefined);
});

test('gemmComputeSeconds(): tiles round M and N up and waves round tiles up to whole multiples of the units', () => {
  const cal = { ...SPEC_CALIBRATION, gemmTileM: 64, gemmTileN: 128, computeUnits: 132 };
  // 4096×2112 output: 64 × 17 = 1088 tiles in ⌈1088/132⌉ = 9 waves of 132 tiles of 2·7168·64·128 FLOPs.
  const t = gemmComputeSeconds({ m: 4096, k: 7168, n: 2112, batch: 1 }, 1e15, cal, 0.5);
  assert.ok(rel(t, (9 * 132 * 2 * 7168 * 64 * 128) / 0.5e15) < 1e-12);
  // One row costs a whole 64-row tile.
  assert.equal(gemmComputeSeconds({ m: 1, k: 64, n: 128, batch: 1 }, 1e15, cal, 1), gemmComputeSeconds({ m: 64, k: 64, n: 128, batch: 1 }, 1e15, cal, 1));
  // The spec calibration is the plain FLOP count.
  assert.equal(gemmComputeSeconds({ m: 3.5, k: 10, n: 7, batch: 2 }, 1e12, SPEC_CALIBRATION, 1), (2 * 3.5 * 10 * 7 * 2) / 1e12);
});

test('rooflineSeconds, matmulKneeBatch and smallestTrue follow their closed forms', () => {
  assert.equal(rooflineSeconds(2e12, 1e9, 1e15, 3e12), 2e-3);
  assert.equal(rooflineSeconds(1, 3e12, 1e15, 3e12), 1);
  // At the knee, compute time equals memory time: 2·B·k·n/P = (k·n + B·(k+n))·s/W.
  const B = matmulKneeBatch(989.5e12, 3.35e12, 2, 8192, 28672);
  assert.ok(rel((2 * B * 8192 * 28672) / 989.5e12, ((8192 * 28672 + B * (8192 + 28672)) * 2) / 3.35e12) < 1e-12);
  assert.equal(matmulKneeBatch(1e15, 1e9, 2, 16, 16), Infinity);
  // Weights over a slow link, activations on the device: 2·B·k·n/P = k·n·s/W at any k, n; finite where matmulKneeBatch is not.
  const W = weightStreamKneeBatch(1e15, 1e9, 2);
  assert.ok(rel((2 * W * 16 * 16) / 1e15, (16 * 16 * 2) / 1e9) < 1e-12);
  assert.equal(smallestTrue((x) => x * x >= 50, 1 << 20), 8);
  assert.equal(smallestTrue(() => false, 100), Infinity);
});

test('linkSeconds is α + bytes/β; a ring all-reduce sends 2(d−1)/d of the buffer and pays α once', () => {
  const link = { latencySeconds: 1e-5, bytesPerSecond: 1e11 };
  assert.equal(linkSeconds(0, link), 0);
  assert.ok(rel(linkSeconds(1e6, link), 2e-5) < 1e-12);
  assert.ok(rel(ringAllReduceSeconds(1e6, 4, link), 1e-5 + 1.5e-5) < 1e-12);
  assert.equal(ringAllReduceSeconds(1e6, 1, link), 0);
});

test('TYPICAL_CALIBRATION carries the H800 kernel and link figures (data/hardware/h800.json) without a unit count', () => {
  const h800 = loadHardware('h800').calibration!;
  for (const f of ['memoryEfficiency', 'attentionMemoryEfficiency', 'attentionPrefillEfficiency', 'attentionDecodeEfficiency', 'auxiliaryKernelFraction', 'gemmTileM', 'gemmTileN',
    'kernelLaunchSeconds', 'graphKernelSeconds', 'intraNodeLatencySeconds', 'intraNodeEfficiency', 'interNodeLatencySeconds', 'interNodeEfficiency'] as const) {
    assert.equal(TYPICAL_CALIBRATION[f], h800[f], f);
  }
  // Overlap hides all of the shorter side, as on every catalog entry (which sets none).
  assert.equal(TYPICAL_CALIBRATION.overlapEfficiency, 1);
  assert.equal(TYPICAL_CALIBRATION.gemmEfficiency.bf16, h800.gemmEfficiency.fp8);
  assert.equal(TYPICAL_CALIBRATION.computeUnits, 1);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEngineVsLocal, measureEngineVsLocal } from '../../lib/server/realsize.js';
import { InputError } from '../../lib/util/errors.js';

test('measureEngineVsLocal(): each batch measured beside stepTime over kernel rows measured in the same run, written as a kernel table; memory against weights + KV + 2 GiB', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-realsize-'));
  try {
    // Llama-3.2-1B at 1/8 width, 1/8 depth, 1/64 vocab: a model of a few million parameters.
    const r = await measureEngineVsLocal({ scale: { width: 0.125, depth: 0.125, vocab: 1 / 64 }, batches: [1, 4], rounds: 3, prompt: 4, kernelDir: dir });
    assert.deepEqual(r.rows.map((x) => x.batch), [1, 4]);
    // prompt + the warm-up and profiled decode steps + the middle of 3 rounds: 4 + 2 + 1.
    assert.equal(r.machine.context, 7);
    for (const x of r.rows) {
      assert.ok(x.measuredStepSeconds > 0 && Number.isFinite(x.measuredStepSeconds));
      assert.equal(x.measuredTokensPerSecond, x.batch / x.measuredStepSeconds);
      // The median round lies between the slowest and the fastest.
      assert.ok(x.measuredTokensPerSecondRange[0] <= x.measuredTokensPerSecond && x.measuredTokensPerSecond <= x.measuredTokensPerSecondRange[1], String(x.measuredTokensPerSecondRange));
      assert.ok(Math.abs(x.error - (x.predictedTokensPerSecond / x.measuredTokensPerSecond - 1)) < 1e-12);
      assert.ok(x.roundErrors[0] <= x.roundErrors[1] && x.roundErrors[1] <= x.roundErrors[2]);
      assert.equal(x.prediction, 'kernel-table');
      // The step's GEMMs are the measured rows of this batch times their calls per step (layers; the LM head once),
      // plus the embedding gather (no GEMM: its B rows read and written, 2·B·hidden float32s, at the measured bandwidth).
      const hidden = Number(r.machine.kernels.find((k) => k.name === 'attn.qkv_proj')!.dims.k);
      const gemm =
        r.machine.kernels.filter((k) => k.op === 'gemm' && k.dims.m === x.batch).reduce((a, k) => a + Number(k.seconds.toPrecision(6)) * k.callsPerStep, 0) +
        (2 * x.batch * hidden * 4) / r.machine.bytesPerSecond;
      assert.ok(Math.abs(x.breakdown.gemm - gemm) <= 1e-5 * gemm, `${x.breakdown.gemm} vs ${gemm}`);
      const att = r.machine.kernels.find((k) => k.op === 'generation_attention' && k.dims.batch === x.batch)!;
      assert.ok(Math.abs(x.breakdown.attention - Number(att.seconds.toPrecision(6)) * att.callsPerStep) <= 1e-5 * x.breakdown.attention);
      // Every kernel the step launches is either a GEMM, an attention kernel or an auxiliary one.
      assert.ok(x.auxiliaryKernels > 0 && x.auxiliaryKernels < x.kernels);
      // stepTime launches the auxiliary kernels and the embedding gather, each at the auxiliary kernels' measured mean
      // time; the GEMMs and attention are table rows, whose timed calls already hold their launch.
      assert.ok(x.kernelSeconds > 0);
      assert.ok(Math.abs(x.breakdown.launch - (x.auxiliaryKernels + 1) * x.kernelSeconds) <= 1e-9 * x.breakdown.launch);
    }
    // The rows were written in the kernel database's schema, with their provenance beside them.
    assert.ok(r.machine.kernelTable && existsSync(join(r.machine.kernelTable, 'gemm.csv')) && existsSync(join(r.machine.kernelTable, 'generation_attention.csv')));
    const prov = JSON.parse(readFileSync(join(r.machine.kernelTable, 'provenance.json'), 'utf8'));
    assert.equal(prov.rows.length, r.machine.kernels.length);
    assert.equal(r.memory.weightBytes, r.parameters * 4);
    assert.equal(r.memory.budgetBytes, r.memory.weightBytes + r.memory.kvBytes + 2 * 2 ** 30);
    assert.ok(r.memory.peakRssBytes > 0);
    assert.equal(r.batchCost.measured, r.rows[1].measuredStepSeconds / r.rows[0].measuredStepSeconds);
    const text = describeEngineVsLocal(r);
    assert.ok(text.includes(r.model) && text.includes(r.rows[0].measuredTokensPerSecond.toFixed(2)) && text.includes('kernel-table prediction'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(() => measureEngineVsLocal({ batches: [0] }), (e: unknown) => e instanceof InputError && e.field === 'batches[0]');
  await assert.rejects(() => measureEngineVsLocal({ batches: [1], kernelDir: '' }), (e: unknown) => e instanceof InputError && e.field === 'kernelDir');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeKernelDonor, listHardware, loadHardware, hardwareFromJson, hardwarePeakFlops, resolveHardware, thisMachineHardware } from '../../lib/hardware/index.js';
import { batchlabRoot } from '../../lib/util/package-root.js';
import { InputError } from '../../lib/util/errors.js';
import type { FittedRoofline } from '../../lib/core/types.js';

const REQUIRED = ['a100-80gb', 'b200', 'h100-sxm', 'h200', 'h800', 'mi300x', 'rtx-4090'];

test('batchlabRoot() finds the folder whose package.json is named batchlab', () => {
  const root = batchlabRoot();
  assert.ok(existsSync(join(root, 'package.json')));
  assert.equal(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name, 'batchlab');
});

test('listHardware() holds every catalog device, each with a source for every number', () => {
  const all = listHardware();
  assert.deepEqual(
    all.map((h) => h.id).filter((id) => REQUIRED.includes(id)),
    REQUIRED,
  );
  for (const hw of all) {
    const numbers = [
      ...Object.keys(hw.peakFlops).map((d) => `peakFlops.${d}`),
      'memoryBytesPerSecond',
      'memoryCapacityBytes',
      'intraNodeBytesPerSecond',
      'interNodeBytesPerSecond',
      'hourlyPriceUsd',
    ];
    for (const key of numbers) assert.ok(hw.sources[key]?.source.length > 10, `${hw.id}: ${key} has no source`);
    // Prices are assumptions, and say so (or name the report whose assumption they are).
    assert.match(hw.sources.hourlyPriceUsd.source, /assum/i, `${hw.id} price source`);
    // Datasheet ratios: every tensor dtype in the catalog runs at least as fast as fp32.
    for (const v of Object.values(hw.peakFlops)) assert.ok(v! >= hw.peakFlops.fp32!, hw.id);
  }
});

test('catalog peaks are dense: the with-sparsity datasheet figures halved', () => {
  // NVIDIA H100 datasheet (SXM): BF16 1,979 TFLOPS and FP8 3,958 TFLOPS "with sparsity".
  assert.equal(loadHardware('h100-sxm').peakFlops.bf16! * 2, 1979e12);
  assert.equal(loadHardware('h100-sxm').peakFlops.fp8! * 2, 3958e12);
  // NVIDIA H200 datasheet: same compute as H100 SXM, 4.8 TB/s and 141 GB; aiconfigurator's h200_sxm.yaml reads the
  // capacity as 141 GiB ('mem_capacity: 151397597184 # 141GiB', commit 095f58a5).
  const h200 = loadHardware('h200');
  assert.equal(h200.peakFlops.bf16! * 2, 1979e12);
  assert.equal(h200.memoryBytesPerSecond, 4.8e12);
  assert.equal(h200.memoryCapacityBytes, 141 * 2 ** 30);
  // The same file's GiB for A100 80GB, H100 SXM (80 GiB) and B200 (180 GiB): a100_sxm, h100_sxm and b200_sxm.yaml.
  assert.equal(loadHardware('a100-80gb').memoryCapacityBytes, 85899345920);
  assert.equal(loadHardware('h100-sxm').memoryCapacityBytes, 80 * 2 ** 30);
  assert.equal(loadHardware('b200').memoryCapacityBytes, 180 * 2 ** 30);
  // NVIDIA A100 datasheet lists dense BF16 312 TFLOPS next to 624 with sparsity.
  assert.equal(loadHardware('a100-80gb').peakFlops.bf16, 312e12);
  // AMD MI300X datasheet: BF16 1,307.4 TFLOPS dense (2,614.9 with sparsity).
  assert.equal(loadHardware('mi300x').peakFlops.bf16, 1307.4e12);
  // NVIDIA HGX B200: 36 PFLOPS FP16/BF16 with sparsity for 8 GPUs -> 2.25 PFLOPS dense each.
  assert.equal(loadHardware('b200').peakFlops.bf16, 36e15 / 8 / 2);
  // NVIDIA HGX B200: FP4 Tensor Core 144 PFLOPS with sparsity for 8 GPUs -> 9 PFLOPS dense NVFP4 each, twice FP8.
  assert.equal(loadHardware('b200').peakFlops.nvfp4, 144e15 / 8 / 2);
  assert.equal(loadHardware('b200').peakFlops.nvfp4, 2 * loadHardware('b200').peakFlops.fp8!);
  // Hopper has no FP4 tensor cores: asked for one, the error lists what it has.
  assert.throws(() => hardwarePeakFlops(loadHardware('h200'), 'nvfp4'), (e: unknown) => e instanceof InputError && /fp8/.test(e.message));
});

test('hardwarePeakFlops() rejects a dtype the device has no figure for, naming the ones it has', () => {
  // The A100 has no FP8 tensor cores (A100 datasheet lists none).
  assert.throws(() => hardwarePeakFlops(loadHardware('a100-80gb'), 'fp8'), (e: unknown) => e instanceof InputError && /dtype/.test(e.message) && /bf16/.test(e.message));
  assert.equal(hardwarePeakFlops(loadHardware('h800'), 'bf16'), 989.5e12);
});

test('loadHardware() rejects an unknown id, listing the known ones', () => {
  assert.throws(() => loadHardware('tpu-v9'), (e: unknown) => e instanceof InputError && /h100-sxm/.test(e.message));
});

test('hardwareFromJson() names the field that is missing or invalid', () => {
  const good = JSON.parse(readFileSync(join(batchlabRoot(), 'data/hardware/h100-sxm.json'), 'utf8'));
  assert.equal(hardwareFromJson(good).memoryBytesPerSecond, 3.35e12);
  const noSource = structuredClone(good);
  delete noSource.memoryBytesPerSecond.source;
  assert.throws(() => hardwareFromJson(noSource), /memoryBytesPerSecond\.source/);
  const negative = structuredClone(good);
  negative.peakFlops.bf16.value = -1;
  assert.throws(() => hardwareFromJson(negative), /peakFlops\.bf16\.value/);
  const badDtype = structuredClone(good);
  badDtype.peakFlops.fp4 = { value: 1, source: 'x' };
  assert.throws(() => hardwareFromJson(badDtype), /peakFlops dtype/);
  const missing = structuredClone(good);
  delete missing.interNodeBytesPerSecond;
  assert.throws(() => hardwareFromJson(missing), /interNodeBytesPerSecond/);
  assert.throws(() => hardwareFromJson([]), InputError);
  // A misspelt field is refused by name, not read as absent (the catalog's own fields only).
  const typo = structuredClone(good);
  typo.memoryBandwith = typo.memoryBytesPerSecond;
  assert.throws(() => hardwareFromJson(typo), (e: unknown) => e instanceof InputError && e.field === 'hardware.memoryBandwith' && /hardware has the fields id, name, vendor, peakFlops, memoryBytesPerSecond/.test(e.message));
  const calTypo = structuredClone(good);
  calTypo.calibration.gemmEffciency = calTypo.calibration.gemmEfficiency;
  assert.throws(() => hardwareFromJson(calTypo), (e: unknown) => e instanceof InputError && e.field === 'calibration.gemmEffciency');
  // And one level down: a sourced number's own fields, a calibration entry's, a borrowing's.
  const noteTypo = structuredClone(good);
  noteTypo.memoryBytesPerSecond.note = 'HBM3';
  assert.throws(() => hardwareFromJson(noteTypo), (e: unknown) => e instanceof InputError && e.field === 'memoryBytesPerSecond.note');
  const calEntry = structuredClone(good);
  calEntry.calibration.kernelLaunchSeconds.sorce = 'x';
  assert.throws(() => hardwareFromJson(calEntry), (e: unknown) => e instanceof InputError && e.field === 'calibration.kernelLaunchSeconds.sorce');
  const h800 = JSON.parse(readFileSync(join(batchlabRoot(), 'data/hardware/h800.json'), 'utf8'));
  h800.computeKernelsFrom.note = 'x';
  assert.throws(() => hardwareFromJson(h800), (e: unknown) => e instanceof InputError && e.field === 'computeKernelsFrom.note');
});

test("computeKernelDonor(): H800 borrows H100 SXM's kernel tables, every datasheet peak, the bandwidth and the SMs equal; its links differ", () => {
  const h800 = loadHardware('h800');
  const h100 = loadHardware('h100-sxm');
  assert.equal(h800.computeKernelsFrom, 'h100-sxm');
  assert.match(h800.sources.computeKernelsFrom.source, /H800 Tensor Core GPU datasheet, SXM column, against the NVIDIA H100 Tensor Core GPU datasheet, SXM column/);
  assert.equal(computeKernelDonor(h800)?.id, 'h100-sxm');
  for (const id of ['h100-sxm', 'h200', 'mi300x']) assert.equal(computeKernelDonor(loadHardware(id)), undefined, id);
  // The figures compared, as the two catalog files give them (each citing its datasheet's SXM column).
  assert.deepEqual(h800.peakFlops, h100.peakFlops);
  assert.equal(h800.memoryBytesPerSecond, h100.memoryBytesPerSecond);
  assert.equal(h800.calibration?.computeUnits, h100.calibration?.computeUnits);
  for (const f of [...Object.keys(h800.peakFlops).map((d) => `peakFlops.${d}`), 'memoryBytesPerSecond']) {
    assert.match(h800.sources[f].source, /^NVIDIA H800 Tensor Core GPU datasheet, SXM column/, f);
    assert.match(h100.sources[f].source, /^NVIDIA H100 Tensor Core GPU datasheet, SXM column/, f);
  }
  // Only the links differ: NVLink 400 GB/s against 900 GB/s in the datasheets (one direction stored).
  assert.equal(h800.intraNodeBytesPerSecond, 200e9);
  assert.equal(h100.intraNodeBytesPerSecond, 450e9);
});

test('hardwareFromJson() refuses computeKernelsFrom where a compute or memory figure differs from the named device, naming the field', () => {
  const good = JSON.parse(readFileSync(join(batchlabRoot(), 'data/hardware/h800.json'), 'utf8'));
  const named = (field: string) => (e: unknown) => e instanceof InputError && e.field === field;
  const fp8 = structuredClone(good);
  fp8.peakFlops.fp8.value = 1.5e15;
  assert.throws(() => hardwareFromJson(fp8), (e: unknown) => named('peakFlops.fp8')(e) && /1979000000000000, NVIDIA H100 SXM5 80GB's figure/.test((e as Error).message));
  const bandwidth = structuredClone(good);
  bandwidth.memoryBytesPerSecond.value = 4.8e12;
  assert.throws(() => hardwareFromJson(bandwidth), named('memoryBytesPerSecond'));
  // A dtype one device has and the other lacks differs too.
  const fewer = structuredClone(good);
  delete fewer.peakFlops.int8;
  assert.throws(() => hardwareFromJson(fewer), named('peakFlops.int8'));
  const sms = structuredClone(good);
  sms.calibration.computeUnits.value = 114;
  assert.throws(() => hardwareFromJson(sms), named('calibration.computeUnits'));
  // Links and capacity are the device's own: a different NVLink or memory size is allowed.
  const links = structuredClone(good);
  links.intraNodeBytesPerSecond.value = 100e9;
  links.memoryCapacityBytes.value = 64e9;
  assert.equal(hardwareFromJson(links).computeKernelsFrom, 'h100-sxm');
  // The donor must be another catalog device that reads its own tables, and the choice must be sourced.
  for (const device of ['h999', 'h800', 'this-machine']) {
    const bad = structuredClone(good);
    bad.computeKernelsFrom.device = device;
    assert.throws(() => hardwareFromJson(bad), named('computeKernelsFrom'), device);
  }
  const chain = structuredClone(good);
  chain.id = 'lab-h800';
  chain.computeKernelsFrom.device = 'h800';
  assert.throws(() => hardwareFromJson(chain), (e: unknown) => named('computeKernelsFrom')(e) && /h800 borrows h100-sxm/.test((e as Error).message));
  const unsourced = structuredClone(good);
  delete unsourced.computeKernelsFrom.source;
  assert.throws(() => hardwareFromJson(unsourced), named('computeKernelsFrom.source'));
  // A user's file is refused the same way, the field prefixed with the flag and the file.
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-donor-'));
  try {
    const file = join(dir, 'lab-h800.json');
    writeFileSync(file, JSON.stringify({ ...fp8, id: 'lab-h800' }));
    assert.throws(() => resolveHardware(file, '--hardware'), named(`--hardware ${file}: peakFlops.fp8`));
    writeFileSync(file, JSON.stringify({ ...good, id: 'lab-h800' }));
    assert.equal(computeKernelDonor(resolveHardware(file, '--hardware'))?.id, 'h100-sxm');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('thisMachineHardware(fit) takes the fitted peak and bandwidth, labelled as measured', () => {
  const fit: FittedRoofline = { overheadSeconds: 2e-5, peakFlopsPerSecond: 4e10, bytesPerSecond: 1e10, dtype: 'fp32', label: 'tensorflow on host-a' };
  const hw = thisMachineHardware(fit, { memoryCapacityBytes: 16e9 });
  assert.equal(hw.peakFlops.fp32, 4e10);
  assert.equal(hw.memoryBytesPerSecond, 1e10);
  assert.equal(hw.memoryCapacityBytes, 16e9);
  assert.equal(hw.sources['peakFlops.fp32'].source, 'measured');
  assert.match(hw.sources.memoryBytesPerSecond.notes!, /host-a/);
  assert.equal(Object.keys(hw.peakFlops).length, 1);
  assert.throws(() => hardwarePeakFlops(hw, 'bf16'), InputError);
  assert.throws(() => thisMachineHardware({ ...fit, peakFlopsPerSecond: NaN }), /fit\.peakFlopsPerSecond/);
  assert.throws(() => thisMachineHardware({ ...fit, dtype: 'fp64' as never }), /fit\.dtype/);
});

test('loadHardware("this-machine") is the spec of the newest fit saved for this machine id, and says how to measure when none is', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { saveFittedRoofline } = await import('../../lib/cost/store.js');
  const { machineId, thisMachineFacts } = await import('../../lib/util/machine.js');
  const here = machineId(thisMachineFacts());
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-hw-'));
  try {
    assert.throws(() => loadHardware('this-machine', { measuredDir: dir }), (e: unknown) => e instanceof InputError && /bench gemm/.test(e.message));
    const fit = (peak: number): FittedRoofline => ({ overheadSeconds: 5e-5, peakFlopsPerSecond: peak, bytesPerSecond: 2e10, dtype: 'fp32', label: `peak ${peak}` });
    // Every machine may share one host name ("vm"): only the machine id decides.
    const prov = (machine: string | undefined, date: string) => ({ source: 'measured', host: 'vm', machine, backend: 'tensorflow', date });
    saveFittedRoofline({ fit: fit(1e11), provenance: prov(here, '2026-01-01') }, dir);
    saveFittedRoofline({ fit: fit(2e11), provenance: prov(here, '2026-02-01') }, dir);
    saveFittedRoofline({ fit: fit(9e11), provenance: prov(`other-${here}`, '2026-03-01') }, dir); // another machine's fit never applies here
    saveFittedRoofline({ fit: fit(8e11), provenance: prov(undefined, '2026-04-01') }, dir); // nor one keyed by host name only
    const hw = loadHardware('this-machine', { measuredDir: dir });
    assert.equal(hw.id, 'this-machine');
    assert.equal(hw.peakFlops.fp32, 2e11);
    assert.equal(hw.memoryBytesPerSecond, 2e10);
    assert.equal(hw.sources['peakFlops.fp32'].source, 'measured');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('thisMachineHardware(fit) carries a lossless calibration whose launch cost is the fitted per-call overhead', () => {
  const hw = thisMachineHardware({ overheadSeconds: 2e-5, peakFlopsPerSecond: 4e10, bytesPerSecond: 1e10, dtype: 'fp32', label: 'fit' });
  assert.equal(hw.calibration?.gemmEfficiency.fp32, 1);
  assert.equal(hw.calibration?.memoryEfficiency, 1);
  assert.equal(hw.calibration?.kernelLaunchSeconds, 2e-5);
  assert.match(hw.calibration?.sources.kernelLaunchSeconds.notes ?? '', /overhead/);
});

test('"this-machine" without a saved fit names the folder it looked in (an installed package\'s user folder in full, not "data/measured")', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-nofit-'));
  const before = process.env.BATCHLAB_MEASURED_DIR;
  process.env.BATCHLAB_MEASURED_DIR = dir;
  try {
    assert.throws(() => loadHardware('this-machine'), (e: unknown) => e instanceof InputError && e.message.includes(`in ${dir}: run \`npx batchlab bench gemm\``));
  } finally {
    if (before === undefined) delete process.env.BATCHLAB_MEASURED_DIR;
    else process.env.BATCHLAB_MEASURED_DIR = before;
    rmSync(dir, { recursive: true, force: true });
  }
});

// Predicted vs measured on this machine: a real batched decode server (lib/engine behind
// lib/server, in a child process) against simulateServing fed the engine's step cost
// measured on this machine, with the same Poisson workload and seed.
//   node --import tsx bench/engine-vs-simulator.ts [--requests 40] [--engine-steps] [--no-outside | --only-outside] [--repeats 2] [--scale-by-speed] [--calibrate-once | --recalibrate-each-point] [--real-size]
//     [--points light,knee,saturated,closed 1,closed 4,closed 16] [--calibration-fraction 1] [--save-steps <dir>] [--check]
// --save-steps <dir> writes, per repeat and client, the served-step calibration's steps and each
// point's steps (work and seconds, decision to next decision) with the fits and provenance, as
// JSON files in <dir> (created; regular files, written atomically), so a step-cost fit can be
// judged on steps it never saw. Each point also prints stepCostBins: measured/fitted by tokens per step.
// --points measures only the named points (names as the tables print them; default all);
// --calibration-fraction sends that fraction of the served-step calibration's requests
// (default 1). Both make a reduced run of the real-size model possible; every progress
// line carries the wall time since the start and since the line before (the phase it ends).
// --check checks both sections' point plans (as predictedVsMeasured would) and stops before
// starting any server (test/server/experiment.test.ts runs it).
// --calibrate-once runs the served-step calibration once before all points; by default the
// issue-24 section runs it again before each point (the real-size model: once, unless
// --recalibrate-each-point), because a shared machine's speed drifts over a run.
// Three loads (light, near the knee, saturated: 0.3, 0.75 and 1.2 × the predicted
// capacity under continuous batching), two policies (continuous; the tick-level window
// of 30 ms), two configs (dense Llama-3.2-1B and MoE Mixtral-8x7B, scaled down).
// Target (issue #16): every error ≤ 10 % for TTFT p50, inter-token p50 and throughput.
// Then the default served model (Llama-3.2-1B at DEFAULT_ENGINE_SCALE, 138 M parameters),
// continuous batching ≤ 16, at light, knee and saturated Poisson load and in closed loop
// with 1, 4 and 16 clients, each point measured with batchlab's client and with an outside
// one (the official openai Python package, bench/outside_load.py), --repeats times for the
// spread. Target (issue #24): TTFT p50 and p99, ITL p50 and throughput within 10 %.
// Every error is printed; the run's CPU load is printed too, because the measured side
// shares the cores with whatever else runs, and so is steps× per point and client: the
// median served step of the run against the calibrated step cost for the same work (1.00:
// the machine ran at the calibration's speed). Each client has its own served-step
// calibration (its own work shares the cores) and its own HTTP path, both measured in the
// run before the points. The served-step fit takes the engine's per-sequence and per-key
// costs (timed shapes) and fits the token curve and what serving adds per sequence to
// served steps; each point's line splits the run's steps× into steps with prompt tokens
// and decode-only steps (shared cores slow the two apart); the simulator multiplies
// each step by a factor drawn from the calibration's measured step spread (slow steps that
// other processes cause). The server's own additions are priced by measurement: the
// HTTP path per request (probeServerOverheads, per client), the time between steps and
// the settle before a step (inside every served step, decision to next decision), and
// admission at step boundaries (a request that arrives during a step waits for its end,
// in the simulator as on the server). bench/http-path.ts shows each part of a TTFT.
// The "at served" column is a posteriori, not a prediction: the error of the same
// simulation at the step cost the run was actually served (the client's fit × steps×).
// Where it is small and the error is not, the miss is the step cost's (the machine ran
// at another speed than a minute before, or the fit prices this point's steps wrongly),
// not the simulator's.
import { PREDICTION_DRAWS } from '../lib/server/predict.js';
import { cpus, hostname, loadavg } from 'node:os';
import { join } from 'node:path';
import { checkExperimentPoints, describeExperiment, predictedVsMeasured } from '../lib/server/experiment.js';
import type { ExperimentResult } from '../lib/server/experiment.js';
import { DEFAULT_ENGINE_SCALE } from '../lib/server/serve.js';
import { outsideClientAvailable, runOutsideLoad } from './outside-client.js';
import { predictionErrorSummary } from '../lib/server/predict.js';
import { median } from '../lib/util/stats.js';
import type { ExperimentModel } from '../lib/server/experiment.js';
import type { ServingPolicy } from '../lib/batching/types.js';
import { InputError } from '../lib/util/errors.js';
import { checkWritableDir, ensureDir, writeFileSafe } from '../lib/util/files.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const requests = arg('--requests', 40);
const calibrationFraction = arg('--calibration-fraction', 1);
if (!(calibrationFraction > 0 && calibrationFraction <= 1)) throw new InputError('--calibration-fraction', process.argv[process.argv.indexOf('--calibration-fraction') + 1], 'a number in (0, 1]');
const seed = arg('--seed', 1);
if (process.argv.includes('--recalibrate-each-point') && process.argv.includes('--calibrate-once')) throw new InputError('--calibrate-once', 'given with --recalibrate-each-point', 'left out when --recalibrate-each-point is given (the two flags ask for opposite calibrations)');
// Default: the step cost is fitted to steps the server ran under a calibration load (a
// different seed from the measured points); --engine-steps uses engine steps timed back to back.
const calibration = process.argv.includes('--engine-steps') ? 'engine' : 'served';
const maxBatch = 8;
const models: ExperimentModel[] = [
  // 19 M parameters: hidden 512, 4 layers, FFN 2048, GQA 8/2 heads of 64, vocab 8016.
  { label: 'dense', id: 'llama-3.2-1b', scale: { width: 0.25, depth: 0.25, vocab: 0.0625 } },
  // 25 M parameters, 8 M active: hidden 256, 4 layers, 8 experts of width 896, top-2, vocab 1000.
  { label: 'MoE', id: 'mixtral-8x7b', scale: { width: 0.0625, depth: 0.125, vocab: 0.03125 } },
];
const policies: ServingPolicy[] = [
  { kind: 'continuous', maxBatch },
  { kind: 'window', windowMs: 30, maxBatch },
];
const loads: Array<[string, number]> = [
  ['light', 0.3],
  ['knee', 0.75],
  ['saturated', 1.2],
];
const closedClients = [1, 4, 16];
const pointNames = [...loads.map(([name]) => name), ...closedClients.map((c) => `closed ${c}`)];
const pointsIndex = process.argv.indexOf('--points');
const chosen = pointsIndex > 0 ? (process.argv[pointsIndex + 1] ?? '').split(',').map((n) => n.trim()) : pointNames;
for (const n of chosen) if (!pointNames.includes(n)) throw new InputError('--points', n, `a comma-separated list of ${pointNames.join(', ')}`);
const wanted = (name: string): boolean => chosen.includes(name);
const saveIndex = process.argv.indexOf('--save-steps');
// Checked before any work, so that a bad folder fails at once.
const saveSteps = saveIndex > 0 ? checkWritableDir('--save-steps', process.argv[saveIndex + 1]) : undefined;
const loadBefore = loadavg();
/** Writes one JSON file per client of a run: its calibration's steps, its points' steps, its fit and the engine's, with provenance. */
function writeSteps(r: ExperimentResult, run: string): void {
  if (!saveSteps) return;
  const dir = ensureDir('--save-steps', saveSteps);
  for (const client of Object.keys(r.steps.fits)) {
    const file = join(dir, `steps-${run}-${client}.json`.replace(/[^A-Za-z0-9._-]/g, '_'));
    const body = {
      provenance: {
        what: 'served steps: work and seconds from the loop\'s decision on a step to its next decision (measured); calibration steps are the fit\'s samples, point steps are held out',
        date: r.provenance.date,
        machine: `${hostname()}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`,
        loadAverage: { beforeBench: loadBefore, afterRun: r.provenance.loadAverage },
        model: r.model,
        backend: r.provenance.backend,
        seed: r.provenance.seed,
        client,
      },
      fit: r.steps.fits[client],
      // With the calibration run again before each point: the fit each later point was predicted from.
      ...(r.steps.pointFits ? { pointFits: r.steps.pointFits.filter((f) => f.client === client) } : {}),
      engineFit: r.engineFit,
      calibration: r.steps.calibration.filter((c) => c.client === client),
      points: r.steps.points.filter((p) => p.client === client),
    };
    writeFileSafe('--save-steps', file, `${JSON.stringify(body)}\n`);
    log(`served steps of the ${client} client written to ${file}`);
  }
}
const tStart = performance.now();
let tLast = tStart;
// Each line says when it was printed and how long since the line before: the wall time of the phase it ends.
const log = (line: string): void => {
  const now = performance.now();
  console.log(`[${((now - tStart) / 1000).toFixed(0).padStart(5)} s, +${((now - tLast) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  tLast = now;
};

console.log(`engine vs simulator; ${hostname()}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`workload: Poisson arrivals, prompts U[16, 64], outputs U[8, 32], ${requests} requests per point, seed ${seed}; step cost from ${calibration === 'served' ? 'served steps under a calibration load' : 'engine steps timed back to back'}\n` +
  `predicted: the median over ${PREDICTION_DRAWS} seeded draws of the served steps' measured spread (one run when the fit has none), the smallest and largest draw beside it; closed loop: each client's first request is warm-up, left out of measured and predicted figures alike\n`);
const t0 = performance.now();
const all: Array<{ model: string; metric: string; error: number }> = [];
const steady: Array<{ metric: string; error: number }> = [];
const onlyOutside = process.argv.includes('--only-outside');
const simulatedLoads = loads.filter(([name]) => wanted(name));
// A point's name is its key (its steps, its fit): a load run under two policies is two points.
const firstPoints = policies.flatMap((policy) => simulatedLoads.map(([name, load]) => ({ policy, load, name: `${name} (${policy.kind})` })));
const outsidePolicy: ServingPolicy = { kind: 'continuous', maxBatch: 16 };
const outsidePoints = [
  ...loads.map(([name, load]) => ({ policy: outsidePolicy, load, name })),
  ...closedClients.map((clients) => ({ policy: outsidePolicy, clients, name: `closed ${clients}` })),
].filter((p) => wanted(p.name));
// Both plans are checked before any server starts; --check stops there (a test runs it, so a plan that
// predictedVsMeasured would refuse fails in CI, not minutes into npm run bench).
if (firstPoints.length) checkExperimentPoints(firstPoints);
if (outsidePoints.length) checkExperimentPoints(outsidePoints);
if (process.argv.includes('--check')) {
  console.log(`plan checked: ${firstPoints.length} points per model in the first section, ${outsidePoints.length} with the outside client`);
  process.exit(0);
}
for (const model of onlyOutside || simulatedLoads.length === 0 ? [] : models) {
  const r = await predictedVsMeasured({
    model,
    workload: { requests, promptTokens: { kind: 'uniform', min: 16, max: 64 }, outputTokens: { kind: 'uniform', min: 8, max: 32 } },
    points: firstPoints,
    seed,
    maxContext: 256,
    capacityBatch: maxBatch,
    calibrateReps: 5,
    calibration,
    calibrationFraction,
    log,
  });
  console.log(describeExperiment(r));
  printTokenCurve(r.fit);
  writeSteps(r, `${model.label}-seed${seed}`);
  console.log(`${'model'.padEnd(6)} ${'policy'.padEnd(30)} ${'load'.padEnd(22)} ${'rate/s'.padStart(7)} ${'metric'.padEnd(19)} ${'predicted'.padStart(10)} ${'measured'.padStart(10)} ${'error'.padStart(8)}`);
  for (const row of r.table.objects() as Array<Record<string, unknown>>) {
    const err = row.error as number;
    const key = ['TTFT p50 (s)', 'ITL p50 (s)', 'throughput (tok/s)'].includes(row.metric as string);
    console.log(
      `${String(row.model).padEnd(6)} ${String(row.policy).padEnd(30)} ${String(row.point).padEnd(22)} ${(row.ratePerSecond as number).toFixed(2).padStart(7)} ${String(row.metric).padEnd(19)} ` +
        `${(row.predicted as number).toPrecision(4).padStart(10)} ${(row.measured as number).toPrecision(4).padStart(10)} ${(100 * err).toFixed(1).padStart(7)} %${key && Math.abs(err) > 0.1 ? '  > 10 %' : ''}`,
    );
    if (key) all.push({ model: model.label, metric: row.metric as string, error: err });
  }
  console.log();
}
function printTokenCurve(f: ExperimentResult['fit']): void {
  const upTo = f.servedUpToTokens ?? Infinity;
  // Knots past the largest steps the calibration ran enough of are extrapolated (the engine's timed curve carried up): marked "(x)".
  console.log(`step cost by tokens per step: ${f.tokenKnots.map((k, i) => `${k}: ${(f.tokenSeconds[i] * 1e3).toFixed(1)}${k > upTo ? ' (x)' : ''}`).join(', ')} ms${Number.isFinite(upTo) ? `; (x): extrapolated past ${upTo} tokens with the engine's timed curve` : ''}`);
}
function printTable(r: ExperimentResult, keys: string[]): void {
  console.log(`${'point'.padEnd(10)} ${'client'.padEnd(8)} ${'nominal'.padStart(8)} ${'offered'.padStart(8)} ${'steps×'.padStart(6)} ${'metric'.padEnd(19)} ${'predicted'.padStart(10)} ${'draws min–max'.padStart(19)} ${'measured'.padStart(10)} ${'error'.padStart(8)} ${'at served'.padStart(9)}`);
  for (const row of r.table.objects() as Array<Record<string, unknown>>) {
    const err = row.error as number;
    const atServed = row.errorAtServedCost as number;
    const key = keys.includes(row.metric as string);
    const nominal = Number.isFinite(row.ratePerSecond as number) ? (row.ratePerSecond as number).toFixed(2) : '-';
    const offered = Number.isFinite(row.offeredRatePerSecond as number) ? (row.offeredRatePerSecond as number).toFixed(2) : '-';
    console.log(
      `${String(row.point).padEnd(10)} ${String(row.client).padEnd(8)} ${nominal.padStart(8)} ${offered.padStart(8)} ${(row.stepRatio as number).toFixed(2).padStart(6)} ${String(row.metric).padEnd(19)} ` +
        `${(row.predicted as number).toPrecision(4).padStart(10)} ${band(row).padStart(19)} ${(row.measured as number).toPrecision(4).padStart(10)} ${(100 * err).toFixed(1).padStart(7)} % ${Number.isFinite(atServed) ? `${(100 * atServed).toFixed(1).padStart(7)} %` : '-'.padStart(9)}${key && Math.abs(err) > 0.1 ? '  > 10 %' : ''}`,
    );
  }
}
function printSummary(errors: Array<{ metric: string; error: number }>, indent: string, within: string): void {
  for (const sm of predictionErrorSummary(errors)) {
    console.log(`${indent}${sm.metric.padEnd(19)} |error| median ${(100 * sm.medianAbsError).toFixed(1)} %, max ${(100 * sm.maxAbsError).toFixed(1)} %; ${sm.within10}/${sm.points} ${within}`);
  }
}
function band(row: Record<string, unknown>): string {
  const lo = row.predictedMin as number | undefined;
  const hi = row.predictedMax as number | undefined;
  return lo === undefined || hi === undefined ? '-' : `${lo.toPrecision(4)}–${hi.toPrecision(4)}`;
}

if (!process.argv.includes('--no-outside')) {
  if (!outsideClientAvailable()) {
    console.log('default model with the outside client: skipped (the venv has no Python; run node scripts/setup.mjs)');
  } else {
    const repeats = arg('--repeats', 2);
    const keys = ['TTFT p50 (s)', 'TTFT p99 (s)', 'ITL p50 (s)', 'throughput (tok/s)'];
    const points = outsidePoints;
    // --real-size: the full Llama-3.2-1B (1.24 B parameters, about 6 GB of memory; steps of about a second on 2 cores).
    const realSize = process.argv.includes('--real-size');
    const served = realSize ? { label: 'real size', id: 'llama-3.2-1b', scale: { width: 1, depth: 1, vocab: 1 } } : { label: 'default', id: 'llama-3.2-1b', scale: DEFAULT_ENGINE_SCALE };
    console.log(`${realSize ? 'real-size model (Llama-3.2-1B, 1.24 B parameters)' : 'default model (Llama-3.2-1B, DEFAULT_ENGINE_SCALE)'}, continuous ≤ 16; measured with batchlab's client and the openai Python package ("python"); ${repeats} repeats; points ${points.map((p) => p.name).join(', ')}; ${requests} requests per point; served-step calibration at ${calibrationFraction} of its requests`);
    // The calibration again before each point tracks the machine's drift (ExperimentSpec.recalibrateEachPoint); the
    // real-size model's calibration takes minutes, so there it runs once unless asked.
    const recalibrateEachPoint = process.argv.includes('--recalibrate-each-point') || (!realSize && !process.argv.includes('--calibrate-once'));
    console.log(`served-step calibration ${recalibrateEachPoint ? 'run again before each point (--calibrate-once: once, before all points)' : 'run once, before all points (--recalibrate-each-point: again before each)'}`);
    const spread = new Map<string, number[]>();
    const atServed: Array<{ metric: string; error: number }> = [];
    for (let rep = 0; rep < repeats; rep++) {
      const r = await predictedVsMeasured({
        model: served,
        workload: { requests, promptTokens: { kind: 'uniform', min: 16, max: 64 }, outputTokens: { kind: 'uniform', min: 8, max: 32 } },
        points,
        seed: seed + rep,
        maxContext: 256,
        capacityBatch: 16,
        calibrateReps: 3,
        calibration: 'served',
        realiseNominalRate: true,
        scaleBySpeed: process.argv.includes('--scale-by-speed'),
        recalibrateEachPoint,
        outside: { label: 'python', run: (url, workload, s) => runOutsideLoad(url, workload, s) },
        calibrationFraction,
        log,
      });
      console.log(describeExperiment(r));
      printTokenCurve(r.fit);
      writeSteps(r, `${served.label}-seed${seed + rep}`);
      console.log(`repeat ${rep + 1} of ${repeats} (seed ${seed + rep}):`);
      printTable(r, keys);
      for (const row of r.table.objects() as Array<Record<string, unknown>>) {
        if (!keys.includes(row.metric as string)) continue;
        const k = `${row.point} · ${row.client} · ${row.metric}`;
        spread.set(k, [...(spread.get(k) ?? []), row.error as number]);
        all.push({ model: `${served.label}/${row.client}`, metric: row.metric as string, error: row.error as number });
        if (Math.abs((row.stepRatio as number) - 1) <= 0.05) steady.push({ metric: row.metric as string, error: row.error as number });
        if (Number.isFinite(row.errorAtServedCost as number)) atServed.push({ metric: row.metric as string, error: row.errorAtServedCost as number });
      }
      console.log();
    }
    console.log('error over the repeats: median (min … max); a median outside 10 % is marked:');
    for (const [k, errs] of spread) {
      const lo = Math.min(...errs);
      const hi = Math.max(...errs);
      const med = median(errs);
      console.log(`  ${k.padEnd(48)} ${(100 * med).toFixed(1).padStart(7)} % (${(100 * lo).toFixed(1)} … ${(100 * hi).toFixed(1)} %)${Math.abs(med) > 0.1 ? '  > 10 %' : ''}`);
    }
    console.log();
    // Where the machine ran its served steps at the calibration's speed (steps× within 5 %), the error is the model's, not the machine's drift.
    console.log(`points whose served steps ran within 5 % of the calibrated cost (steps× 0.95–1.05): ${steady.length / keys.length} of ${spread.size / keys.length * repeats}`);
    printSummary(steady, '  ', 'within 10 %');
    // The same errors with each run's own served step cost in the simulation: what the simulator gets wrong when the step cost is right.
    console.log('a posteriori, not a prediction: each run re-simulated at the step cost it was served (its fit × steps×):');
    printSummary(atServed, '  ', 'within 10 %');
    console.log();
  }
}

printSummary(all, '', 'within the 10 % target');
console.log(`\nrun time ${((performance.now() - t0) / 1000).toFixed(0)} s; load average after ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

import * as aq from 'arquero';
import { loadavg } from 'node:os';
import { servingCapacity } from '../batching/replica.js';
import { servingPolicyModule } from '../batching/policy.js';
import type { ServingPolicy, ServingResult } from '../batching/types.js';
import { engineParamCount, scaleEngineConfig } from '../engine/config.js';
import type { EngineScale } from '../engine/config.js';
import { engineStepCost, fitStepCostSamples, scaleStepCostFit, stepCostBins } from '../engine/stepcost.js';
import type { StepCostBin, StepSample } from '../engine/stepcost.js';
import type { EngineStepCostFit } from '../engine/stepcost.js';
import { InputError } from '../util/errors.js';
import { checkArray, checkInt, checkPositive } from '../util/validate.js';
import { planLoad, probeServerOverheads, runLoad } from './load.js';
import type { LoadResult, LoadWorkload } from './load.js';
import { closedLoopWarmup, comparePrediction, measuredAfterWarmup, predictLoadDraws, servedStepRatio, serverStepCost } from './predict.js';
import { serveBenchmarkMetrics } from '../batching/benchmark.js';
import type { PredictionRow } from './predict.js';
import { median } from '../util/stats.js';
import type { ServerOverheads } from './predict.js';
import { resolveEngineConfig, spawnServer } from './serve.js';
import type { Table } from '../util/table.js';
import { requestTimelines, timelineMedians } from './timeline.js';
import type { ServerRunLog } from './timeline.js';

/** The server's log of the run since its last reset. */
async function serverLog(url: string): Promise<ServerRunLog> {
  return (await (await fetch(`${url}/batchlab/metrics`)).json()) as ServerRunLog;
}


/** A model to serve: a catalog id and its shrink factors. */
export interface ExperimentModel {
  /** Short name for tables, e.g. "dense" or "MoE". */
  label: string;
  id: string;
  scale: EngineScale;
}

/** One measured point: a policy and an arrival rate (absolute, or a fraction of capacity), or a closed loop of `clients`. */
export interface ExperimentPoint {
  policy: ServingPolicy;
  /** Closed loop: this many clients, each sending its next request when the last one finished (no think time). */
  clients?: number;
  /** Fraction of the engine's predicted capacity under continuous batching at `capacityBatch`. */
  load?: number;
  ratePerSecond?: number;
  /** A name for the point in tables (default: the load or rate). */
  name?: string;
}

/** A point's name in tables, saved steps and recalibrations: its own, else its clients, load or rate. */
function pointName(p: ExperimentPoint): string {
  return p.name ?? (p.clients !== undefined ? `closed ${p.clients}` : p.load !== undefined ? `load ${p.load}` : `${p.ratePerSecond} req/s`);
}

/**
 * Checks an experiment's points before anything runs: each one closed-loop clients, a load
 * or a rate, and every name (its own, or the default its clients, load or rate give it)
 * unlike the others', since names label the recalibrations and the saved steps.
 * `predictedVsMeasured` calls it before starting a server; a benchmark can call it on its
 * whole plan first.
 *
 * @example
 * checkExperimentPoints([{ policy: { kind: 'continuous', maxBatch: 8 }, load: 0.3 }, { policy: { kind: 'window', windowMs: 30, maxBatch: 8 }, load: 0.3 }])
 * // => InputError: points[1].name must be a name no other point has (unnamed, the point is called 'load 0.3'; …)
 */
export function checkExperimentPoints(points: readonly ExperimentPoint[]): void {
  checkArray<ExperimentPoint>('points', points, 100);
  const names = new Set<string>();
  for (const [i, p] of points.entries()) {
    if (typeof p !== 'object' || p === null) throw new InputError(`points[${i}]`, p, 'a point object');
    if (p.clients === undefined && p.load === undefined && p.ratePerSecond === undefined) throw new InputError(`points[${i}]`, p, 'a point with ratePerSecond, load or clients');
    if (p.name !== undefined && (typeof p.name !== 'string' || p.name.trim() === '' || p.name.length > 200)) throw new InputError(`points[${i}].name`, p.name, 'a non-empty string of at most 200 characters');
    const name = pointName(p);
    if (names.has(name)) throw new InputError(`points[${i}].name`, p.name ?? name, `a name no other point has${p.name === undefined ? ` (unnamed, the point is called '${name}'; name the points that share a load under different policies)` : ''}`);
    names.add(name);
  }
}

/** A predicted-vs-measured experiment on one model. */
export interface ExperimentSpec {
  model: ExperimentModel;
  /** Prompt and output lengths, and requests per point; arrivals are Poisson at each point's rate. */
  workload: Omit<LoadWorkload, 'arrivals'>;
  points: ExperimentPoint[];
  seed: number;
  maxContext: number;
  /** Batch limit of the capacity that `load` refers to, and largest batch the step cost is measured at. */
  capacityBatch: number;
  /** Rounds of the step-cost measurement (default 5). */
  calibrateReps?: number;
  /**
   * Scale the measured step cost by the speed probed just before each client's run of a
   * point (default false; the ratio is recorded either way, per client). On a shared machine the speed drifts
   * between the measurement and a run, but a probe of back-to-back engine steps also
   * misses what slows a served step (the client and the HTTP writes on the same cores),
   * and on this 2-core machine it made the predictions worse on average. With the
   * 'served' calibration the speed is also probed right after the calibration load, and
   * the step cost is scaled by the ratio of the two probes (the drift since the served
   * steps were timed).
   */
  scaleBySpeed?: boolean;
  /**
   * Where the prediction's step cost comes from. 'engine' (default): engine steps timed
   * back to back in the server process (measureEngineStepCost), plus the loop's measured
   * per-step overhead. 'served': steps the server ran under a calibration load before
   * the points (closed loop at 1, half and all of capacityBatch clients, another seed),
   * fitted by fitStepCostSamples; it carries the cost of serving itself (token writes,
   * the client on the same cores).
   */
  calibration?: 'engine' | 'served';
  /**
   * Stretch each point's Poisson sample so that it realises the nominal rate ((n − 1)
   * gaps over the span of the sends), instead of the sample's own rate (default false).
   * 40 requests realise a Poisson rate within ±16 % at one standard deviation, and some
   * seeds far outside it (seed 1's first 40 arrivals run at 1.84× the nominal rate), so a
   * point named by its load would otherwise sit elsewhere. Measured and predicted runs
   * share the stretched arrivals.
   */
  realiseNominalRate?: boolean;
  /**
   * Fraction of the served-step calibration's requests to send (default 1: 12 at one
   * client, 2·clients + 4 at the others; see calibrateOnServedSteps). A model whose steps
   * take about a second (the full Llama-3.2-1B on 2 cores) spends minutes on the
   * calibration; a fraction below 1 shortens it at the price of fewer fitted steps.
   */
  calibrationFraction?: number;
  /**
   * With the 'served' calibration, run it again (for every client) right before each
   * point after the first, and predict the point from that fit (default false: one
   * calibration before all points). On a shared machine the speed drifts over a run: in
   * one 22-minute run of the default model the points' served steps went from ×1.06 to
   * ×1.42 the one calibration's, with the speed probe (probeEngineSpeed) rising from ×0.93
   * to ×1.29 over the same minutes. A fresh calibration carries the machine's speed of the
   * minute before the point, measured on served steps (client and HTTP writes included),
   * which the probe's back-to-back engine steps are not. Each client's calibration runs
   * right before its own run of the point (batchlab's, then the outside client's, the
   * outside client's first one included), so no other run lies between a fit and the run
   * it predicts.
   */
  recalibrateEachPoint?: boolean;
  /**
   * A second client to measure every point with, after batchlab's own (e.g. the openai
   * Python package): its rows carry its label in the `client` column.
   */
  outside?: { label: string; run: (url: string, workload: LoadWorkload, seed: number) => Promise<LoadResult> };
  /** Called with a line of progress. */
  log?: (line: string) => void;
}

/** What an experiment returns: one row per point and metric, the fit and the capacity. */
export interface ExperimentResult {
  /**
   * Columns: model, policy, point, client, ratePerSecond, offeredRatePerSecond, speedRatio
   * (probeEngineSpeed just before the client's run of the point), stepRatio (servedStepRatio of the run's steps
   * against the client's calibrated step cost), metric, predicted (the median over the
   * prediction's draws, see predictLoadDraws), predictedMin and predictedMax (the smallest
   * and largest draw; absent when the fit has no measured spread, so one run), measured,
   * error, errorAtServedCost (a posteriori, not a prediction: the error of the same
   * simulation with the client's fit scaled by stepRatio, the step cost the run was
   * actually served, the loop's time between steps included; NaN when the run logged no
   * steps); plus meanBatchPredicted and stepsPredicted per point (the simulator's view,
   * medians over the draws). In closed loop every figure leaves out each client's first
   * request on both sides (closedLoopWarmup).
   */
  table: Table;
  /** One row per point: measured and predicted throughput, TTFT p50, ITL p50 and e2e p50 (batchlab's client; as `table`, warm-up left out). */
  points: Table;
  model: ExperimentModel;
  /** Parameters of the served engine (total, and active per token). */
  params: { total: number; active: number };
  /** batchlab's client's step cost from the calibration before all points (before any speed scaling): the capacity's and the first point's; with `recalibrateEachPoint` later points' fits are in steps.pointFits. */
  fit: EngineStepCostFit;
  /** The engine's own step cost, timed on shapes in the server process (measureEngineStepCost). */
  engineFit: EngineStepCostFit;
  overheads: ServerOverheads;
  capacityRps: number;
  measured: LoadResult[];
  /** Per point, one simulated run: draw 0 of the prediction (predictLoad's own step factors); the tables take the median over all draws. */
  predicted: ServingResult[];
  /**
   * The steps the server ran (servedStepSamples: work and seconds, decision to next
   * decision): per client, the served-step calibration's (the steps its fit was fitted
   * to; empty with the 'engine' calibration) and each point's (steps the fit never saw).
   */
  steps: ExperimentSteps;
  provenance: { model: string; backend: string; date: string; seed: number; loadAverage: number[]; note: string };
}

/** Served steps of an experiment, per client: its calibration's and its points'. */
export interface ExperimentSteps {
  /** Per client, the calibration loads' steps, each load named by its closed-loop clients (and, for a recalibration, the point it preceded). */
  calibration: Array<{ client: string; clients: number; steps: StepSample[]; beforePoint?: string }>;
  /** Per point and client, the run's steps. */
  points: Array<{ point: string; client: string; steps: StepSample[] }>;
  /** Per client, the step cost its predictions used (before any speed scaling); with `recalibrateEachPoint`, the first point's. */
  fits: Record<string, EngineStepCostFit>;
  /** With `recalibrateEachPoint`: per point after the first and per client, the fit calibrated right before it. */
  pointFits?: Array<{ point: string; client: string; fit: EngineStepCostFit }>;
}

/**
 * Serves a model in a child process (so the engine's synchronous steps never delay the
 * load generator's clock), measures its step cost there and the server's overheads
 * beyond engine steps (probeServerOverheads), then for every point: resets
 * the server to the point's policy, probes the engine's speed now against the measured
 * step cost (probeEngineSpeed; recorded, and used to scale the step cost when
 * `scaleBySpeed`; with `recalibrateEachPoint` the served-step calibration runs again
 * first, and the point is predicted from that fit), drives it with Poisson arrivals of the workload and
 * seed, and predicts the same run with `simulateServing` from the measured step cost. With
 * an outside client, the reset, probe (and recalibration) run again right before its own run.
 * Returns predicted beside measured TTFT p50/p99, inter-token latency p50, time per
 * output token p50 and throughput, each with its relative error.
 *
 * @example
 * const r = await predictedVsMeasured({ model: { label: 'dense', id: 'llama-3.2-1b', scale: { width: 0.25, depth: 0.25, vocab: 0.0625 } },
 *   workload: { requests: 40, promptTokens: { kind: 'uniform', min: 16, max: 64 }, outputTokens: { kind: 'uniform', min: 8, max: 32 } },
 *   points: [{ policy: { kind: 'continuous', maxBatch: 8 }, load: 0.5 }], seed: 1, maxContext: 256, capacityBatch: 8 });
 * r.table.filter((d) => d.metric === 'TTFT p50 (s)')
 */
export async function predictedVsMeasured(spec: ExperimentSpec): Promise<ExperimentResult> {
  const log = spec.log ?? (() => {});
  const points = checkArray<ExperimentPoint>('points', spec.points, 100);
  const maxContext = checkInt('maxContext', spec.maxContext, { min: 2, max: 32768 });
  const capBatch = checkInt('capacityBatch', spec.capacityBatch, { min: 1, max: 4096 });
  const calFraction = spec.calibrationFraction === undefined ? 1 : checkPositive('calibrationFraction', spec.calibrationFraction, 1);
  if (spec.recalibrateEachPoint === true && spec.calibration !== 'served') throw new InputError('recalibrateEachPoint', spec.recalibrateEachPoint, "true only with calibration 'served' (the engine calibration is timed once, when the server starts)");
  checkExperimentPoints(points);
  const maxPrompt = spec.workload.promptTokens && spec.workload.promptTokens.kind !== 'lognormal' ? (spec.workload.promptTokens.kind === 'fixed' ? spec.workload.promptTokens.tokens : spec.workload.promptTokens.max) : 128;
  const s = spec.model.scale;
  const srv = await spawnServer([
    '--model', spec.model.id,
    '--width', String(s.width), '--depth', String(s.depth), '--vocab', String(s.vocab),
    '--max-context', String(maxContext), '--seed', String(spec.seed),
    '--policy', 'continuous', '--max-batch', String(capBatch),
    '--calibrate', '--calibrate-max-prompt', String(Math.min(maxContext, Math.max(2 * capBatch, maxPrompt))), '--calibrate-reps', String(spec.calibrateReps ?? 5), '--calibrate-burst',
  ]);
  try {
    for (const line of srv.output) if (/engine|step cost/.test(line)) log(line);
    const engineFit = (await (await fetch(`${srv.url}/batchlab/step-cost`)).json()) as EngineStepCostFit;
    let fit = engineFit;
    const probed = await probeServerOverheads(srv.url);
    log(`batchlab: server overheads: ${(probed.stepSeconds * 1e3).toFixed(2)} ms per step (loop), ${(probed.requestSeconds * 1e3).toFixed(2)} ms per request (HTTP path)`);
    let overheads: ServerOverheads = probed;
    // Per client, the speed when its prediction's step cost was timed, against the engine fit (1 for that fit itself).
    let speedAtFit = 1;
    let outsideSpeedAtFit = 1;
    const steps: ExperimentSteps = { calibration: [], points: [], fits: {} };
    // The engine's speed now against its step-cost measurement (probeEngineSpeed, in the server).
    const probeSpeed = async (): Promise<number> => {
      const sp = await fetch(`${srv.url}/batchlab/speed`, { method: 'POST' });
      if (!sp.ok) throw new Error(`the server refused the speed probe: ${await sp.text()}`);
      return ((await sp.json()) as { ratio: number }).ratio;
    };
    // One client's served-step calibration (its loads recorded, before a point when named), then, with scaleBySpeed, the speed right after it.
    const calibrateClient = async (client: string, run: NonNullable<ExperimentSpec['outside']>['run'] | undefined, beforePoint?: string): Promise<{ fit: EngineStepCostFit; speed: number }> => {
      const record = (clients: number, st: StepSample[]): void => void steps.calibration.push({ client, clients, steps: st, ...(beforePoint === undefined ? {} : { beforePoint }) });
      // Over the engine fit: its timed per-sequence and per-key costs (a served fit has no timed shapes to give them).
      const f = await calibrateOnServedSteps(srv.url, spec.workload, capBatch, spec.seed + 1000, engineFit, undefined, run, calFraction, record);
      return { fit: f, speed: spec.scaleBySpeed === true ? await probeSpeed() : 1 };
    };
    if (spec.calibration === 'served') {
      ({ fit, speed: speedAtFit } = await calibrateClient('batchlab', undefined));
      // The served steps already include the loop's time between steps.
      overheads = { stepSeconds: 0, requestSeconds: probed.requestSeconds };
      log(`batchlab: step cost fitted to ${fit.provenance.reps} served steps (fit rms error ${(100 * fit.rmsRelativeError).toFixed(0)} %)${describeServedPerSequence(fit)}`);
      if (spec.scaleBySpeed === true) log(`batchlab: engine speed right after the served calibration ×${speedAtFit.toFixed(2)} of the engine fit`);
    }
    // The outside client's own HTTP path (its request building and parsing included), probed the same way.
    let outsideOverheads: ServerOverheads | undefined;
    // The step cost served to the outside client: its own work shares the cores with the engine.
    let outsideFit = fit;
    if (spec.outside) {
      const o = await probeServerOverheads(srv.url, 8, spec.outside.run);
      outsideOverheads = { stepSeconds: overheads.stepSeconds, requestSeconds: o.requestSeconds };
      log(`batchlab: the ${spec.outside.label} client's HTTP path: ${(o.requestSeconds * 1e3).toFixed(2)} ms per request`);
      // With a calibration before each point, the outside client's first one runs right before its first run (below).
      if (spec.calibration === 'served' && spec.recalibrateEachPoint !== true) {
        ({ fit: outsideFit, speed: outsideSpeedAtFit } = await calibrateClient(spec.outside.label, spec.outside.run));
        log(`batchlab: step cost fitted to ${outsideFit.provenance.reps} steps served to the ${spec.outside.label} client (fit rms error ${(100 * outsideFit.rmsRelativeError).toFixed(0)} %)${describeServedPerSequence(outsideFit)}`);
      }
    }
    steps.fits.batchlab = fit;
    if (spec.outside) steps.fits[spec.outside.label] = outsideFit;
    const base = { ...spec.workload, arrivals: { kind: 'poisson' as const, ratePerSecond: 1 }, stepCost: serverStepCost(fit, overheads) };
    const capacityRps = servingCapacity(base, { kind: 'continuous', maxBatch: capBatch }, spec.seed);
    log(`batchlab: predicted capacity ${capacityRps.toFixed(2)} requests/s (continuous, batch ≤ ${capBatch})`);
    const rows: Array<Record<string, unknown>> = [];
    const perPoint: Array<Record<string, unknown>> = [];
    const measured: LoadResult[] = [];
    const predicted: ServingResult[] = [];
    for (const [i, p] of points.entries()) {
      const clients = p.clients === undefined ? undefined : checkInt(`points[${i}].clients`, p.clients, { min: 1, max: 4096 });
      const rate = clients !== undefined ? NaN : p.ratePerSecond ?? (p.load !== undefined ? checkPositive(`points[${i}].load`, p.load, 100) * capacityRps : undefined);
      if (rate === undefined) throw new InputError(`points[${i}]`, p, 'a point with ratePerSecond, load or clients');
      // Gaps scale as 1 / rate: the seed's span at rate 1 gives the rate whose sample realises `rate`.
      const unitPlan = planLoad({ ...spec.workload, arrivals: { kind: 'poisson', ratePerSecond: 1 } }, spec.seed).requests;
      const drawRate = spec.realiseNominalRate === true && Number.isFinite(rate) && unitPlan.length > 1 ? (rate * unitPlan[unitPlan.length - 1].at) / (unitPlan.length - 1) : rate;
      const policy = servingPolicyModule(p.policy?.kind).check(p.policy) as ServingPolicy;
      const describe = servingPolicyModule(policy.kind).describe(policy);
      const name = pointName(p);
      // The step costs this point is predicted from: the first calibration's, or with recalibrateEachPoint its own.
      let ownFit = fit;
      let ownSpeed = speedAtFit;
      let otherFit = outsideFit;
      let otherSpeed = outsideSpeedAtFit;
      const speeds = (x: number): string => (spec.scaleBySpeed === true ? `, engine speed right after ×${x.toFixed(2)}` : '');
      if (spec.recalibrateEachPoint === true && i > 0) {
        // The same calibration loads as the first (same seed), so two fits differ only by the machine's state.
        ({ fit: ownFit, speed: ownSpeed } = await calibrateClient('batchlab', undefined, name));
        (steps.pointFits ??= []).push({ point: name, client: 'batchlab', fit: ownFit });
        log(`batchlab: recalibrated before ${name}: ${ownFit.provenance.reps} served steps (fit rms error ${(100 * ownFit.rmsRelativeError).toFixed(0)} %${speeds(ownSpeed)})`);
      }
      // Resets to the point's policy, then probes the machine's speed just before a run, against the step-cost measurement.
      const resetAndProbe = async (): Promise<number> => {
        const reset = await fetch(`${srv.url}/batchlab/reset`, { method: 'POST', body: JSON.stringify({ policy }) });
        if (!reset.ok) throw new Error(`the server refused the reset: ${await reset.text()}`);
        return probeSpeed();
      };
      const ratio = await resetAndProbe();
      const fitNow = spec.scaleBySpeed === true ? scaleStepCostFit(ownFit, ratio / ownSpeed) : ownFit;
      const workload: LoadWorkload = { ...spec.workload, arrivals: clients !== undefined ? { kind: 'closed', clients } : { kind: 'poisson', ratePerSecond: drawRate } };
      const m = await runLoad({ url: srv.url, workload, seed: spec.seed });
      const logs = [await serverLog(srv.url)];
      // A closed loop's first round (one request per client, sent together) is warm-up: left out of both sides.
      const warmupRequests = closedLoopWarmup(workload);
      const prs = predictLoadDraws(workload, policy, fitNow, spec.seed, overheads, { warmupRequests });
      const pr = prs[0];
      measured.push(m);
      predicted.push(pr);
      const runs: Array<[string, LoadResult]> = [['batchlab', m]];
      const ratios = [ratio];
      let outsideFitNow = otherFit;
      if (spec.outside) {
        if (spec.recalibrateEachPoint === true) {
          // Right before its own run, as batchlab's client's: a fit made before the other client's run would carry minutes of drift more.
          ({ fit: otherFit, speed: otherSpeed } = await calibrateClient(spec.outside.label, spec.outside.run, i > 0 ? name : undefined));
          if (i === 0) {
            outsideFit = otherFit;
            outsideSpeedAtFit = otherSpeed;
            steps.fits[spec.outside.label] = otherFit;
            log(`batchlab: step cost fitted to ${otherFit.provenance.reps} steps served to the ${spec.outside.label} client (fit rms error ${(100 * otherFit.rmsRelativeError).toFixed(0)} %)${describeServedPerSequence(otherFit)}`);
          } else {
            (steps.pointFits ??= []).push({ point: name, client: spec.outside.label, fit: otherFit });
            log(`batchlab: recalibrated before ${name}: ${otherFit.provenance.reps} steps served to the ${spec.outside.label} client (fit rms error ${(100 * otherFit.rmsRelativeError).toFixed(0)} %${speeds(otherSpeed)})`);
          }
        }
        const outsideRatio = await resetAndProbe();
        ratios.push(outsideRatio);
        outsideFitNow = spec.scaleBySpeed === true ? scaleStepCostFit(otherFit, outsideRatio / otherSpeed) : otherFit;
        runs.push([spec.outside.label, await spec.outside.run(srv.url, workload, spec.seed)]);
        logs.push(await serverLog(srv.url));
      }
      let ownCmp: PredictionRow[] = [];
      for (const [k, [client, mm]] of runs.entries()) {
        const own = client === 'batchlab';
        const ov = own ? overheads : outsideOverheads!;
        // The outside client's own step cost; in closed loop predictLoad counts its HTTP path as think time.
        const prcs = own ? prs : predictLoadDraws(workload, policy, outsideFitNow, spec.seed, ov, { warmupRequests });
        const prc = prcs[0];
        // The simulator's view of the run, as its figures: the median over the draws.
        const stepsPredicted = median(prcs.map((x) => x.steps));
        const meanBatchPredicted = median(prcs.map((x) => x.meanBatch));
        // The step cost this client's run was predicted from, before any speed scaling.
        const clientFit = own ? ownFit : otherFit;
        const drift = servedStepRatio(logs[k].steps, clientFit);
        // The same ratio over the steps that carry prompt tokens and over decode-only steps: where a TTFT error comes from.
        const promptDrift = servedStepRatio(logs[k].steps.filter((st) => st.work.prefillTokens > 0), clientFit);
        const decodeDrift = servedStepRatio(logs[k].steps.filter((st) => st.work.prefillTokens === 0), clientFit);
        const cmp = comparePrediction(mm, prcs, ov, { warmupRequests });
        if (own) ownCmp = cmp;
        // A posteriori, not a prediction: the same simulation at the step cost the run was served (the fit times its median
        // served-step ratio), so what error remains is the simulator's, and the rest is the step cost's (the machine's drift,
        // or the fit pricing this point's mix of steps). Served steps run decision to decision: the loop's time is in the ratio.
        const servedCost = Number.isFinite(drift) && drift > 0 && drift <= 1000 ? scaleStepCostFit(clientFit, drift) : undefined;
        const servedOv = { ...ov, stepSeconds: 0 };
        const atServed = servedCost ? comparePrediction(mm, predictLoadDraws(workload, policy, servedCost, spec.seed, servedOv, { warmupRequests }), servedOv, { warmupRequests }) : [];
        const offered = Number.isFinite(rate) ? `${rate.toFixed(2)} req/s, offered ${mm.offeredRatePerSecond.toFixed(2)}` : `${clients} clients`;
        log(`batchlab: ${spec.model.label} · ${describe} · ${name} (${offered}, speed ×${ratios[k].toFixed(2)}, ${client} client): ` + cmp.map((c) => `${c.metric.split(' (')[0]} ${(100 * c.error).toFixed(0)} %`).join(', '));
        const parts = timelineMedians(requestTimelines(mm, logs[k]));
        const ms = (x: number): string => (x * 1e3).toFixed(1);
        log(`batchlab:   TTFT parts (medians, ms): send→headers read ${ms(parts.toHeaders)}, →submitted ${ms(parts.toSubmit)}, →admitted ${ms(parts.toAdmit)}, →first token written ${ms(parts.toFirstToken)}, →read by the client ${ms(parts.toClient)}; ` +
          `served steps ${logs[k].steps.length} (predicted ${stepsPredicted}), ×${drift.toFixed(2)} the calibrated step cost (median; steps with prompt tokens ×${promptDrift.toFixed(2)}, decode-only ×${decodeDrift.toFixed(2)}), client CPU ${ms(mm.clientCpuSeconds / mm.outputTokens)} ms per output token`);
        const held = servedStepSamples(logs[k].steps);
        steps.points.push({ point: name, client, steps: held });
        log(`batchlab:   ${describeStepCostBins(stepCostBins(clientFit, held))}`);
        for (const c of cmp) rows.push({ model: spec.model.label, policy: describe, point: name, client, ratePerSecond: rate, offeredRatePerSecond: mm.offeredRatePerSecond, speedRatio: ratios[k], stepRatio: drift, ...c, errorAtServedCost: atServed.find((a) => a.metric === c.metric)?.error ?? NaN, meanBatchPredicted, stepsPredicted });
      }
      perPoint.push({
        model: spec.model.label,
        policy: describe,
        kind: policy.kind,
        maxBatch: policy.maxBatch,
        windowMs: (policy as { windowMs?: number }).windowMs ?? 0,
        point: name,
        ratePerSecond: rate,
        speedRatio: ratio,
        // As the table's batchlab-client rows: the median over the draws, the warm-up left out of both sides.
        measuredThroughput: row(ownCmp, 'throughput (tok/s)').measured,
        predictedThroughput: row(ownCmp, 'throughput (tok/s)').predicted,
        measuredTtftP50: row(ownCmp, 'TTFT p50 (s)').measured,
        predictedTtftP50: row(ownCmp, 'TTFT p50 (s)').predicted,
        measuredItlP50: row(ownCmp, 'ITL p50 (s)').measured,
        predictedItlP50: row(ownCmp, 'ITL p50 (s)').predicted,
        measuredE2eP50: measuredAfterWarmup(m, warmupRequests).e2e.p50,
        predictedE2eP50: median(prs.map((x) => serveBenchmarkMetrics(x, warmupRequests).medianE2elMs / 1e3)) + overheads.requestSeconds,
      });
    }
    return {
      model: spec.model,
      params: engineParamCount(scaleEngineConfig(resolveEngineConfig(spec.model.id, maxContext), spec.model.scale)),
      table: aq.from(rows),
      points: aq.from(perPoint),
      fit,
      engineFit,
      overheads,
      capacityRps,
      measured,
      predicted,
      steps,
      provenance: {
        model: fit.provenance.model,
        backend: fit.provenance.backend,
        date: new Date().toISOString(),
        seed: spec.seed,
        loadAverage: loadavg(),
        note: 'measured on a CPU shared with other processes: errors include the load they put on it',
      },
    };
  } finally {
    await srv.stop('SIGTERM');
  }
}

/**
 * One line on how a fit prices held-out served steps by tokens per step (stepCostBins):
 * per bin, the median and 90th percentile of measured over fitted seconds and the steps.
 *
 * @example
 * describeStepCostBins([{ fromTokens: 64, toTokens: 127, steps: 5, median: 0.91, p90: 1.2 }])
 * // => 'held-out steps, measured/fitted by tokens per step (median, p90, steps): 64–127 0.91 1.20 5'
 */
export function describeStepCostBins(bins: StepCostBin[]): string {
  return `held-out steps, measured/fitted by tokens per step (median, p90, steps): ${bins.length ? bins.map((b) => `${b.fromTokens === b.toTokens ? b.fromTokens : `${b.fromTokens}–${b.toTokens}`} ${b.median.toFixed(2)} ${b.p90.toFixed(2)} ${b.steps}`).join('; ') : 'none'}`;
}

/** What a served-step fit added per sequence to the engine's cost, as a clause; empty for other fits. */
function describeServedPerSequence(f: EngineStepCostFit): string {
  return f.servedPerSequenceSeconds === undefined ? '' : `; served steps add ${(f.servedPerSequenceSeconds * 1e3).toFixed(2)} ms per sequence to the engine's ${((f.perSequenceSeconds - f.servedPerSequenceSeconds) * 1e3).toFixed(2)} ms (calibrated)`;
}

/**
 * One markdown bullet on what an experiment served and measured: parameters, the
 * measured step cost in its three parts, the server's overheads and the predicted
 * capacity.
 *
 * @example
 * showMarkdown(describeExperiment(r)); // "- **dense** (...): 19.3 M parameters, ..."
 */
export function describeExperiment(r: ExperimentResult): string {
  const f = r.fit;
  const p = r.params;
  return (
    `- **${r.model.label}** (${f.provenance.model}): ${(p.total / 1e6).toFixed(1)} M parameters, ${(p.active / 1e6).toFixed(1)} M active per token. ` +
    `A decode step of 1 sequence costs ${(1e3 * engineStepCost(f)({ prefillTokens: 0, decodeTokens: 1, contextTokens: 0 })).toFixed(1)} ms; each further sequence adds ` +
    (f.servedPerSequenceSeconds === undefined
      ? `${(1e3 * f.perSequenceSeconds).toFixed(2)} ms of attention plus its share of the GEMMs`
      : `${(1e3 * (f.perSequenceSeconds - f.servedPerSequenceSeconds)).toFixed(2)} ms of attention plus its share of the GEMMs and ${(1e3 * f.servedPerSequenceSeconds).toFixed(2)} ms that serving adds`) +
    `, each cached token ${(1e6 * f.perKeySeconds).toFixed(2)} µs ` +
    `(fit error ${(100 * f.rmsRelativeError).toFixed(0)} % rms over ${f.points.length ? `${f.points.length} timed shapes` : `${f.provenance.reps} served steps`}). ` +
    (f.points.length ? `The server adds ${(1e3 * r.overheads.stepSeconds).toFixed(2)} ms per step and ` : 'The served steps include the loop\'s time between steps; the HTTP path adds ') +
    `${(1e3 * r.overheads.requestSeconds).toFixed(1)} ms per request; predicted capacity ${r.capacityRps.toFixed(1)} requests/s ` +
    `(continuous batching). Measured on the ${r.provenance.backend} backend, ${r.provenance.date.slice(0, 16).replace('T', ' ')} UTC, ` +
    `load average ${r.provenance.loadAverage.map((l) => l.toFixed(1)).join(' / ')}.`
  );
}

/** A step as the server's log reports it (StepRecord; `nextDecision` null when the loop has not decided since). */
export interface ServedStep {
  start: number;
  nextDecision: number | null;
  work: StepSample['work'];
}

/**
 * The samples a served-step fit takes from a server's step log: each step's work and its
 * duration from the decision on it to the loop's next decision (the step, its token
 * writes and the loop's settle before the next step); a step the loop has not decided
 * after yet gives none.
 *
 * @example
 * servedStepSamples([{ start: 0, nextDecision: 0.07, work: { prefillTokens: 32, decodeTokens: 0, contextTokens: 0 } }])
 * // => [{ work: { prefillTokens: 32, ... }, seconds: 0.07 }]
 */
export function servedStepSamples(steps: ServedStep[]): StepSample[] {
  if (!Array.isArray(steps)) throw new InputError('steps', steps, 'an array of served steps { start, nextDecision, work }');
  return steps.flatMap((s) => {
    const next = s?.nextDecision ?? NaN;
    return s && s.work && Number.isFinite(next) && Number.isFinite(s.start) ? [{ work: s.work, seconds: next - s.start }] : [];
  });
}

/**
 * The served-step calibration: runs closed-loop loads (1, half and all of `maxBatch`
 * clients, think time 0, 12 requests of the workload's lengths at 1 client, where prompts
 * run alone, and `2·clients + 4` at the others) against
 * an idle server and fits the step cost to the steps it ran, each timed from the decision
 * on it to the loop's next decision, so the fit carries the server's time between steps
 * (token writes, reading new requests, the client on the same cores). The per-sequence
 * and per-key costs are the engine fit's (when it was timed on shapes); the token curve and
 * what a served step adds per sequence are fitted to the served steps (fitStepCostSamples).
 * `batchlab load --predict`, notebook 08 and the engine-vs-simulator benchmark all use it.
 *
 * @example
 * const fit = await calibrateOnServedSteps(url, { requests: 40, promptTokens: { kind: 'fixed', tokens: 32 }, outputTokens: { kind: 'fixed', tokens: 16 } }, 16, 1001, engineFit);
 * // `policy`: the policy the calibration runs under (default continuous at maxBatch); the server is left with it.
 * // `client`: who sends the calibration load (default batchlab's runLoad): a client's own work on the same
 * // cores slows the steps it is served, so another client (bench/outside-client.ts) calibrates its own.
 * // `fraction` (0, 1]: send this fraction of each load's requests, rounded up and at least one per client (default 1).
 * // `record`: called with each load's closed-loop clients and its served steps (the samples the fit gets).
 */
export async function calibrateOnServedSteps(
  url: string,
  workload: Omit<LoadWorkload, 'arrivals'>,
  maxBatch: number,
  seed: number,
  engineFit: EngineStepCostFit,
  policy: ServingPolicy = { kind: 'continuous', maxBatch },
  client: (url: string, workload: LoadWorkload, seed: number) => Promise<LoadResult> = (u, w, s) => runLoad({ url: u, workload: w, seed: s }),
  fraction = 1,
  record?: (clients: number, steps: StepSample[]) => void,
): Promise<EngineStepCostFit> {
  const f = checkPositive('fraction', fraction, 1);
  const samples: StepSample[] = [];
  for (const clients of [...new Set([1, Math.max(1, Math.round(maxBatch / 2)), maxBatch])]) {
    const reset = await fetch(`${url}/batchlab/reset`, { method: 'POST', body: JSON.stringify({ policy }) });
    if (!reset.ok) throw new Error(`the server refused the reset: ${await reset.text()}`);
    // One client is where prompts run alone, the only steps that time a prompt's own cost: it sends 12, the others 2·clients + 4.
    await client(url, { ...workload, arrivals: { kind: 'closed', clients }, requests: calibrationRequests(clients, f) }, seed + clients);
    const m = (await (await fetch(`${url}/batchlab/metrics`)).json()) as { steps: ServedStep[] };
    const load = servedStepSamples(m.steps);
    record?.(clients, load);
    samples.push(...load);
  }
  // The engine's timed shapes vary batch and context apart, so its per-sequence and per-key costs are identified; served steps are not.
  // Its token curve, timed with repetitions, carries the served curve past the largest steps the calibration ran enough of.
  const attention = engineFit.points.length > 0 ? { perSequenceSeconds: engineFit.perSequenceSeconds, perKeySeconds: engineFit.perKeySeconds, tokenCurve: { tokenKnots: engineFit.tokenKnots, tokenSeconds: engineFit.tokenSeconds } } : undefined;
  return fitStepCostSamples(samples, { label: `${engineFit.provenance.model} served steps on ${engineFit.provenance.backend}, ${new Date().toISOString().slice(0, 10)}`, backend: engineFit.provenance.backend, model: engineFit.provenance.model }, attention);
}

/** Requests the served-step calibration sends at `clients` closed-loop clients: 12 at one, 2·clients + 4 at more, times `fraction`, rounded up, at least one per client. */
function calibrationRequests(clients: number, fraction: number): number {
  return Math.max(clients, Math.ceil(fraction * (clients === 1 ? 12 : 2 * clients + 4)));
}

/** A metric's row of comparePrediction; NaN values when the run gave none (no ITL with one-token outputs). */
function row(rows: PredictionRow[], metric: string): { predicted: number; measured: number } {
  return rows.find((r) => r.metric === metric) ?? { predicted: NaN, measured: NaN };
}

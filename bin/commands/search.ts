import { efficiencyModeOf } from '../../lib/roofline/deployment.js';
import { wantsJson } from './context.js';
import type { Command } from 'commander';
import type { CliIo } from './io.js';
import { cheapestByBruteForce, deploymentFrontier, evaluateSearchPoint, evaluateSearchSpace, meetsSlo, searchCheapestDeployment, searchPointCoordinates, searchSpaceSize } from '../../lib/deployment/search.js';
import type { SearchPoint, SearchSpace, Slo } from '../../lib/deployment/search.js';
import { searchSpaceFromSpec } from '../../lib/deployment/spec.js';
import { specFramework } from '../../lib/batching/replica.js';
import { searchDecodeContext } from '../../lib/deployment/search.js';
import type { PoolLayout } from '../../lib/deployment/types.js';
import { hardwareWithPrice } from '../../lib/hardware/spec.js';
import { formatUsd } from '../../lib/util/money.js';
import { asFlags, decimalInRange, intArg, seedArg } from './context.js';
import { SIMULATED_SLO_PERCENTILE, simulatedCheapestDeployment } from '../../lib/deployment/serve.js';
import type { SimulatedCandidate } from '../../lib/deployment/serve.js';
import { PRICE_FLAG_HELP, countOf, modelNoteLines, progressBar } from './inputs.js';
import type { SearchSpec } from '../../lib/deployment/spec.js';
import { InputError } from '../../lib/util/errors.js';
import { readJsonCapped } from '../../lib/util/files.js';
import { calibratedStepModel, kernelTableStepModel } from '../../lib/deployment/perf.js';
import { DEFAULT_SERVING_ENGINE } from '../../lib/batching/engines.js';
import { FP8_SCALING_FLAG_HELP, FRAMEWORK_FLAG_HELP, efficiencyText, figuresKind, kernelOptionsFromFlags, tablesPrice } from './kernels.js';
import type { KernelDb } from '../../lib/kernels/load.js';
import { defaultKernelDb } from '../../lib/kernels/load.js';
import { kernelTablesText } from '../../lib/kernels/pricer.js';
import { KV_CACHE_FLAG_HELP, kvCacheArg, precisionFlags, precisionText, withKvCache } from './precision.js';

/** A spec is a few kilobytes of JSON; the cap counts bytes read, so /dev/zero or a FIFO cannot grow memory. */
export const MAX_SPEC_BYTES = 16 * 2 ** 20;

/** Reads a JSON spec file (an object, at most MAX_SPEC_BYTES), or an InputError naming the flag. */
export function readJsonSpec(flag: string, path: string | undefined): unknown {
  const kind = 'JSON spec file (one object; see docs/sweeps.md)';
  const what = `a ${kind}`;
  if (path === undefined) throw new InputError(flag, path, what);
  const spec = readJsonCapped(flag, path, { maxBytes: MAX_SPEC_BYTES, what: kind });
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    const holds = Array.isArray(spec) ? `a JSON array of ${spec.length} item${spec.length === 1 ? '' : 's'}; one spec per file, an object with its fields at the top` : `JSON ${spec === null ? 'null' : typeof spec}`;
    throw new InputError(flag, path, what, `it holds ${holds}`);
  }
  return spec;
}

/** A layout in words: "TP2", "TP8 DP4 EP32, 32 redundant experts, overlapped". */
function layoutText(l: PoolLayout): string {
  const parts = [`TP${l.tensorParallel}`];
  if (l.dataParallelAttention > 1) parts.push(`DP${l.dataParallelAttention}`);
  if (l.pipelineParallel > 1) parts.push(`PP${l.pipelineParallel}`);
  if (l.expertParallel > 1) parts.push(`EP${l.expertParallel}`);
  let t = parts.join(' ');
  if (l.redundantExperts > 0) t += `, ${countOf(l.redundantExperts, 'redundant expert')}`;
  if (l.microBatchOverlap) t += ', overlapped';
  return t;
}

function where(p: SearchPoint, space: SearchSpace): string {
  return `${p.hardware}, ${layoutText(space.layouts[p.layout])}, ${precisionText(space.precisions[p.precision])}`;
}

const pct = (x: number): string => `${(100 * x).toFixed(0)} %`;

/** What a point's figures are (short, as deploy's --json gives it, and in words): kernel tables where the flags' framework holds its device, else the performance model at the hardware's efficiencies. */
function figuresOf(p: SearchPoint, space: SearchSpace, kernels: { framework?: string; kernelDb?: KernelDb }): { kind: string; note: string } {
  const hw = space.hardware.find((h) => h.id === p.hardware)!;
  const mode = efficiencyModeOf(hw);
  const tables = kernels.framework === undefined ? undefined : kernelTablesText(kernels.kernelDb ?? defaultKernelDb(), hw, kernels.framework);
  if (tablesPrice(kernels, hw)) return { kind: figuresKind(true, mode), note: `figures are priced from measured ${tables} (interpolated between their rows) where a table holds the op, ${efficiencyText(mode)} elsewhere` };
  return { kind: figuresKind(false, mode), note: `figures are ${mode} (the performance model ${efficiencyText(mode)}${tables === undefined ? '' : `; ${tables}`})` };
}

function describe(p: SearchPoint, space: SearchSpace): string {
  // An underfilled point's step figures are those of the batch its load keeps (loadBatch), not of its batch.
  const at = p.underfilled && p.loadBatch !== p.batch ? ` (the load keeps ${p.loadBatch} per rank; step figures at that batch)` : '';
  return `${where(p, space)}, batch ${p.batch}${at}: ` +
    `${p.tokensPerSecondPerUser.toFixed(1)} tok/s per user, ${p.tokensPerSecondPerDevice.toFixed(0)} tok/s per device, ` +
    `TTFT ${(p.ttftSeconds * 1e3).toFixed(0)} ms, TPOT ${(p.tpotSeconds * 1e3).toFixed(1)} ms; ` +
    `${countOf(p.devicesNeeded, 'device')} (${formatUsd(p.usdPerHour)} per hour) at ${pct(p.utilisation)} utilisation: ${formatUsd(p.usdPerMillionOutput)} per million output tokens ` +
    `(${formatUsd(p.usdPerMillionOutputFullBatch)} were every slot of batch ${p.batch} busy)`;
}

// A word as a POSIX shell reads it back: single-quoted unless plain.
const quote = (x: string): string => (/^[\w./:@-]+$/.test(x) ? x : `'${x.replace(/'/g, "'\\''")}'`);

/**
 * Where the search's answer was priced by the performance model and other hardware of the
 * space by kernel tables: the cheapest point of that hardware meeting the SLO (null where
 * none does), as the full space's point; undefined where the question does not arise.
 */
function cheapestFromTables(space: SearchSpace, slo: Slo, best: SearchPoint, kernels: { framework?: string; kernelDb?: KernelDb }): SearchPoint | null | undefined {
  const tabled = space.hardware.map((h, i) => ({ h, i })).filter(({ h }) => tablesPrice(kernels, h));
  const bestHw = space.hardware.find((h) => h.id === best.hardware)!;
  if (tabled.length === 0 || tablesPrice(kernels, bestHw)) return undefined;
  const subspace = { ...space, hardware: tabled.map(({ h }) => h) };
  const sub = searchCheapestDeployment(subspace, slo).best;
  if (!sub) return null;
  // The same point of the full space: batch varies fastest, then precision, layout and hardware.
  const c = searchPointCoordinates(subspace, sub.index);
  const index = ((tabled[c.h].i * space.layouts.length + c.l) * space.precisions.length + c.p) * space.batches.length + c.b;
  return evaluateSearchPoint(space, index);
}

/** The `batchlab deploy` line that prices the same configuration (its full-batch all-in $/M equals the search's). */
// batch: the batch the point's TPOT is priced at (an underfilled point's is the load's); a
// simulation's engine cap is the point's own batch.
function deployCommandFor(p: SearchPoint, space: SearchSpace, spec: SearchSpec, usdPerHour: string | undefined, kernelFlags: string[], batch = p.underfilled ? p.loadBatch : p.batch): string {
  const l = space.layouts[p.layout];
  const pr = space.precisions[p.precision];
  const hit = space.load.cacheHitFraction ?? 0;
  const computed = Math.max(1, space.load.promptTokens - Math.floor(space.load.promptTokens * hit));
  const hwRef = spec.hardware.find((h) => h === p.hardware) ?? spec.hardware[space.hardware.findIndex((h) => h.id === p.hardware)];
  const args = [
    'batchlab deploy', `--model ${quote(spec.model)}`, `--hardware ${quote(hwRef)}`,
    `--tp ${l.tensorParallel}`, `--dp ${l.dataParallelAttention}`, `--pp ${l.pipelineParallel}`, `--ep ${l.expertParallel}`,
    ...(l.redundantExperts > 0 ? [`--redundant ${l.redundantExperts}`, '--eplb'] : []), `--gpus-per-node ${l.gpusPerNode}`, ...(l.microBatchOverlap ? ['--overlap'] : []),
    precisionFlags(pr),
    `--batch ${batch}`, `--context ${searchDecodeContext(space.load)}`, `--prompt ${space.load.promptTokens}`, `--cache-hit ${hit}`,
    `--prefill-tokens ${computed}`, `--output ${space.load.outputTokens}`,
    ...(usdPerHour !== undefined ? [`--usd-per-hour ${usdPerHour}`] : []),
    ...kernelFlags,
  ];
  return args.join(' ');
}

// The library's memory reason reads "memory: short by X GB per device".
const shortGb = (p: SearchPoint): number => Number(/short by ([\d.]+) GB/.exec(p.reason ?? '')?.[1] ?? Infinity);

/**
 * Why no point met the SLO: every configuration too big for memory (or invalid), or
 * some that fit but miss the latency limits. Each (hardware, layout, precision) is
 * judged at its smallest batch, where memory use and TPOT are lowest.
 */
function whyNone(space: SearchSpace, slo: Slo, smallestBatch: readonly SearchPoint[]): { kind: 'memory' | 'layout' | 'slo'; reason: string } {
  const groups = smallestBatch.length;
  let layout = 0;
  let memory = 0;
  let firstMemory: SearchPoint | null = null; // the closest to fitting
  let firstLayout: SearchPoint | null = null;
  let bestTtft = Infinity;
  let bestTpot = Infinity;
  for (const p of smallestBatch) {
    if (p.feasible) {
      bestTtft = Math.min(bestTtft, p.ttftSeconds);
      bestTpot = Math.min(bestTpot, p.tpotSeconds);
    } else if (p.reason?.startsWith('memory')) {
      memory++;
      if (firstMemory === null || shortGb(p) < shortGb(firstMemory)) firstMemory = p;
    } else {
      layout++;
      firstLayout ??= p;
    }
  }
  const smallest = space.batches[0];
  if (memory + layout === groups) {
    if (memory === 0) return { kind: 'layout', reason: `no layout is valid for ${space.model.id}: e.g. ${where(firstLayout!, space)} (${firstLayout!.reason})` };
    const eg = `closest: ${where(firstMemory!, space)} (${firstMemory!.reason})`;
    return { kind: 'memory', reason: `no configuration fits in memory, even at the smallest batch (${smallest})${layout ? ` (${layout} of ${groups} layouts are invalid)` : ''}; ${eg}` };
  }
  const fit = groups - memory - layout;
  const limits = [
    slo.ttftSeconds === undefined ? '' : `best TTFT ${(bestTtft * 1e3).toFixed(0)} ms against ${(slo.ttftSeconds * 1e3).toFixed(0)} ms`,
    slo.tpotSeconds === undefined ? '' : `best TPOT ${(bestTpot * 1e3).toFixed(1)} ms against ${(slo.tpotSeconds * 1e3).toFixed(1)} ms`,
  ].filter(Boolean);
  return { kind: 'slo', reason: `no configuration meets the SLO: ${fit} of ${groups} configurations fit in memory at batch ${smallest}, and their ${limits.join(', ')}` };
}

function sloText(slo: Slo): string {
  const parts = [
    slo.ttftSeconds === undefined ? '' : `TTFT ≤ ${(slo.ttftSeconds * 1e3).toFixed(0)} ms`,
    slo.tpotSeconds === undefined ? '' : `TPOT ≤ ${(slo.tpotSeconds * 1e3).toFixed(1)} ms`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'none';
}

/**
 * The (hardware, layout, precision) configurations of the spec the search leaves out because
 * they cannot run at all (the heads do not divide, the device has no such dtype, more experts
 * per device than exist, …), grouped by reason, rather than searching fewer points without a
 * word. Reasons name the spec's fields.
 */
function leftOutConfigurations(smallestBatch: readonly SearchPoint[]): Array<{ layouts: number[]; precisions: number[]; hardware: string[]; reason: string }> {
  const out = new Map<string, { layouts: number[]; precisions: number[]; hardware: string[]; reason: string }>();
  for (const point of smallestBatch) {
    if (!point.reason?.startsWith('layout: ')) continue;
    const reason = point.reason
      .slice('layout: '.length)
      .replace(/^parallelism\.tp\b/, 'tensorParallel')
      .replace(/^parallelism\.pp\b/, 'pipelineParallel')
      .replace(/^parallelism\.ep\b/, 'expertParallel')
      .replace(/^parallelism\.dp\b/, 'dataParallelAttention');
    const g = out.get(reason) ?? { layouts: [], precisions: [], hardware: [], reason };
    out.set(reason, g);
    if (!g.layouts.includes(point.layout)) g.layouts.push(point.layout);
    if (!g.precisions.includes(point.precision)) g.precisions.push(point.precision);
    if (!g.hardware.includes(point.hardware)) g.hardware.push(point.hardware);
  }
  return [...out.values()];
}

/** Every (hardware, layout, precision) configuration at its smallest batch, in index order: what whyNone and leftOutConfigurations judge. */
function smallestBatchPoints(space: SearchSpace): SearchPoint[] {
  const B = space.batches.length;
  const out: SearchPoint[] = [];
  for (let g0 = 0; g0 < searchSpaceSize(space); g0 += B) out.push(evaluateSearchPoint(space, g0));
  return out;
}

/** One left-out group in words: which layouts and precisions (all of them unsaid), on which hardware, and why. */
function leftOutText(g: { layouts: number[]; precisions: number[]; hardware: string[]; reason: string }, space: SearchSpace): string {
  const layouts = g.layouts.length === space.layouts.length ? 'every layout' : g.layouts.map((l) => `layouts[${l}] (${layoutText(space.layouts[l])})`).join(', ');
  const precisions = g.precisions.length === space.precisions.length ? '' : ` with ${g.precisions.map((p) => `precisions[${p}] (${precisionText(space.precisions[p])})`).join(', ')}`;
  return `not searched: ${layouts}${precisions} on ${g.hardware.join(', ')}: ${g.reason}`;
}

const fmtRate = (r: number): string => (r >= 100 ? r.toFixed(1) : r.toPrecision(4));

function simulatedText(c: SimulatedCandidate): string {
  const ms = (x: number | null): string => (x === null ? '-' : `${(x * 1e3).toFixed(x < 0.1 ? 1 : 0)} ms`);
  const v = c.serving;
  // A rank whose queue grew through the run: its percentiles are not a steady state's, only lower bounds.
  const b = v.backlog;
  const grew = b?.growing ? `; the queue grew (${fmtRate(b.servedPerSecond)} of ${fmtRate(b.offeredPerSecond)} req/s served): not a steady state, the TTFT grows with the number of requests` : '';
  return `TTFT p50 ${ms(v.ttftP50)}, p99 ${ms(v.ttftP99)}; TPOT p50 ${ms(v.tpotP50)}, p99 ${ms(v.tpotP99)} (simulated at ${fmtRate(v.ratePerSecond)} req/s per rank, the load keeping each rank's engine busy ${(v.loadFraction * 100).toFixed(0)} % of the time${grew})`;
}

function simulatedJson(c: SimulatedCandidate): Record<string, unknown> {
  const { result: _r, ...serving } = c.serving;
  return { index: c.point.index, meets: c.meets, missed: c.missed, usdPerMillionOutput: c.point.usdPerMillionOutput, ...serving, latencyUnit: 'seconds' };
}

function searchCommand(
  o: { spec?: string; json?: boolean; frontier?: boolean; bruteForce?: boolean; usdPerHour?: string; framework?: string; kernelDb?: string; fp8Scaling?: string; kvCache?: string; simulate?: boolean; requests?: string; candidates?: string; seed?: string },
  io: CliIo,
): void {
  if (!o.simulate) for (const [flag, v] of [['--requests', o.requests], ['--candidates', o.candidates], ['--seed', o.seed]] as const) if (v !== undefined) throw new InputError(flag, v, 'given with --simulate (it sets up the simulated check)');
  // A p99 verdict needs a hundred requests at the least (at a hundred it is the slowest one's).
  const requests = intArg('--requests', o.requests ?? '2000', 100, 1_000_000);
  const candidates = intArg('--candidates', o.candidates ?? '10', 1, 1000);
  const seed = seedArg(o.seed ?? '1');
  const kvCache = kvCacheArg(o.kvCache);
  const spec = readJsonSpec('--spec', o.spec) as SearchSpec;
  // The spec's framework (the default engine's, vllm, when it names none) unless --framework
  // says otherwise; a spec's null prices every point from the performance model alone.
  const fromSpec = searchSpaceFromSpec(spec);
  const fromSpecFramework = specFramework(spec);
  const implied = spec.framework === undefined ? `a search spec without "framework" reads (${DEFAULT_SERVING_ENGINE}'s, the default engine's)` : 'the spec\'s "framework" names';
  const kernels = o.framework === undefined && fromSpecFramework !== null ? kernelOptionsFromFlags({ ...o, framework: fromSpecFramework }, undefined, implied) : kernelOptionsFromFlags(o);
  // No framework (a spec's framework null): the calibrated model alone, not the default engine's tables.
  const space: SearchSpace = { ...fromSpec, stepModel: kernels.framework === undefined ? calibratedStepModel : kernelTableStepModel(kernels) };
  // Every precision of the spec stores its KV cache at --kv-cache.
  space.precisions = space.precisions.map((p, i) => withKvCache(p, kvCache, `precisions[${i}] of the spec`));
  if (kernels.fp8Scaling !== undefined && !space.precisions.some((p) => p.weights === 'fp8')) {
    throw new InputError('--fp8-scaling', kernels.fp8Scaling, 'left out when no precision of the spec has FP8 weights: it picks the FP8 GEMM table');
  }
  // As deploy refuses it on a device no table of the framework prices: the flag would change nothing.
  if (kernels.fp8Scaling !== undefined && !space.hardware.some((h) => tablesPrice(kernels, h))) {
    throw new InputError('--fp8-scaling', kernels.fp8Scaling, `left out: it picks an FP8 GEMM table, and there are ${space.hardware.map((h) => kernelTablesText(kernels.kernelDb ?? defaultKernelDb(), h, kernels.framework!)).join('; ')}`);
  }
  if (o.usdPerHour !== undefined) {
    // Search ranks by money: at no price every configuration ties, and the answer would say nothing.
    const price = decimalInRange('--usd-per-hour', o.usdPerHour, { min: 0, exclusiveMin: true, max: 1e6 });
    space.hardware = space.hardware.map((h) => hardwareWithPrice(h, price, '--usd-per-hour'));
  }
  const slo = spec.slo ?? {};
  const t0 = performance.now();
  const bar = progressBar(io, 'search: configurations');
  let found: ReturnType<typeof searchCheapestDeployment>;
  try {
    found = searchCheapestDeployment(space, slo, { onProgress: (d, n) => bar.update(d, n) });
  } finally {
    bar.stop();
  }
  const { best, evaluated } = found;
  const seconds = (performance.now() - t0) / 1000;
  const brute = o.bruteForce ? cheapestByBruteForce(space, slo) : undefined;
  const frontier = o.frontier ? deploymentFrontier(evaluateSearchSpace(space)) : undefined;
  const smallest = smallestBatchPoints(space);
  const none = best ? null : whyNone(space, slo, smallest);
  // The kernel-table flags, so the printed deploy command prices the point the same way.
  // The deploy line prices the answer as search did: from the framework's tables where they hold its
  // hardware, else (no tables, or none of this framework's) from the model, kept to it with --efficiency.
  const kernelFlagsFor = (p: SearchPoint): string[] => {
    const hw = space.hardware.find((h) => h.id === p.hardware)!;
    return kernels.framework === undefined || !tablesPrice(kernels, hw)
      ? [`--efficiency ${efficiencyModeOf(hw)}`]
      : [
          `--framework ${kernels.framework}`,
          ...(o.kernelDb === undefined ? [] : [`--kernel-db ${quote(o.kernelDb)}`]),
          // Only where it picked the answer's table: FP8 weights (deploy refuses it for others).
          ...(kernels.fp8Scaling === undefined || space.precisions[p.precision].weights !== 'fp8' ? [] : [`--fp8-scaling ${kernels.fp8Scaling}`]),
        ];
  };
  const deploy = best ? deployCommandFor(best, space, spec, o.usdPerHour, kernelFlagsFor(best)) : null;
  // An answer the performance model priced beside hardware the kernel tables price: the cheapest
  // measured one too, so a like-for-like comparison sits next to it.
  const tablesBest = best ? cheapestFromTables(space, slo, best, kernels) : undefined;
  const tablesDeploy = tablesBest ? deployCommandFor(tablesBest, space, spec, o.usdPerHour, kernelFlagsFor(tablesBest)) : null;
  const leftOut = leftOutConfigurations(smallest);
  const simBar = o.simulate && best ? progressBar(io, 'search: simulated check') : undefined;
  let simulated: ReturnType<typeof simulatedCheapestDeployment> | undefined;
  try {
    simulated = o.simulate && best ? asFlags(() => simulatedCheapestDeployment(space, slo, { requests, candidates, onCandidate: (d, n) => simBar?.update(d, n) }, seed), { requests: '--requests' }) : undefined;
  } finally {
    simBar?.stop();
  }
  // The deploy line that reruns the simulated answer's check: its rate to ten digits reproduces the percentiles.
  const simBest = simulated?.best;
  const simDeploy = simBest ? `${deployCommandFor(simBest.point, space, spec, o.usdPerHour, kernelFlagsFor(simBest.point), simBest.point.batch)} --simulate --rate ${Number(simBest.serving.ratePerSecond.toPrecision(10))} --requests ${requests} --seed ${seed}` : null;
  if (o.json) {
    const figures = best ? figuresOf(best, space, kernels) : undefined;
    const pricedBy = Object.fromEntries(space.hardware.map((h) => [h.id, figuresKind(tablesPrice(kernels, h), efficiencyModeOf(h))]));
    const simJson = o.simulate && {
      percentile: SIMULATED_SLO_PERCENTILE,
      requests,
      seed,
      ...(simulated ? {} : { reason: 'no configuration meets the SLO as the search prices it: nothing to check' }),
      best: simulated?.best ? simulatedJson(simulated.best) : null,
      sameAsDeploy: simDeploy,
      checked: (simulated?.checked ?? []).map(simulatedJson),
    };
    io.out(JSON.stringify({ slo, best, ...(figures ? { figures: figures.kind, figuresNote: figures.note } : {}), ...(tablesBest !== undefined ? { cheapestFromTables: tablesBest, cheapestFromTablesDeploy: tablesDeploy } : {}), pricedBy, evaluated, seconds, reason: none?.reason ?? null, reasonKind: none?.kind ?? null, sameAsDeploy: deploy, leftOut, notes: space.model.notes ?? [], ...(brute !== undefined ? { bruteForce: brute, agrees: brute?.index === best?.index } : {}), ...(frontier ? { frontier: frontier.map((p) => ({ ...p, meetsSlo: meetsSlo(p, slo), figures: figuresOf(p, space, kernels).kind })) } : {}), ...(simJson ? { simulated: simJson } : {}) }, null, 2));
    return;
  }
  const L = space.load;
  const total = searchSpaceSize(space);
  const skipped = total - evaluated;
  const searched = skipped === 0 ? countOf(evaluated, 'point') : `${evaluated} of ${countOf(total, 'point')} (${skipped} skipped: their configuration's layout is invalid or its TTFT misses the SLO at every batch)`;
  io.out(`searched ${searched} in ${seconds.toFixed(2)} s for ${space.model.id} at ${L.requestsPerSecond} req/s (${L.promptTokens} prompt + ${L.outputTokens} output tokens); SLO: ${sloText(slo)}`);
  io.out(best ? `cheapest: ${describe(best, space)}` : none!.reason);
  if (best) {
    io.out(`  the load keeps ${best.concurrency >= 10 ? best.concurrency.toFixed(1) : best.concurrency.toPrecision(2)} sequences in flight (Little's law: ${L.requestsPerSecond} req/s × (TTFT + ${L.outputTokens} × TPOT)) in ${countOf(Math.round(best.slots), 'slot')}; ${
      best.underfilled
        ? `fewer than one serving unit holds at the smallest batch (${best.batch}): priced on ${
            best.devicesNeeded === best.devicesPerUnit ? `one serving unit (${countOf(best.devicesNeeded, 'device')}), the least a load takes` : `the ${countOf(best.devicesNeeded, 'device')} its prefill and decode time need`
          }, paid by the hour, ${best.loadBatch === 1 ? 'at the TPOT of one sequence per rank (`deploy --batch 1` gives it)' : `with up to ${best.loadBatch} sequences per rank (the fewest that hold what the load keeps in flight), at the slowest TPOT of batches 1 to ${best.loadBatch}`}`
        : 'batches it cannot fill are not priced'
    }`);
    io.out(`  ${figuresOf(best, space, kernels).note}; the same configuration: ${deploy}`);
    io.out(
      simulated
        ? `  TTFT and TPOT above are one prompt's prefill step and a decode step at the batch; under its load, with queueing and prompts sharing steps with decodes (the serving simulator, ${requests} Poisson requests per check, seed ${seed}, SLO held at p${SIMULATED_SLO_PERCENTILE} as MLPerf's Server scenario holds it):`
        : `  TTFT and TPOT above are one prompt's prefill step and a decode step at the batch, without queueing or prompts sharing steps with decodes: --simulate checks the cheapest answers under their load (p${SIMULATED_SLO_PERCENTILE}, the serving simulator)`,
    );
  }
  if (simulated) {
    for (const c of simulated.checked) io.out(`    ${c.meets ? 'holds' : `misses (${c.missed.join(', ')})`}: ${where(c.point, space)}, batch ${c.point.batch}, ${formatUsd(c.point.usdPerMillionOutput)}/M: ${simulatedText(c)}`);
    const all = simulated.candidates < candidates;
    io.out(
      simulated.best
        ? `cheapest under simulation: ${describe(simulated.best.point, space)}${simulated.best.point.index === best!.index ? ' (the same answer)' : ''}; the same configuration under its load: ${simDeploy}`
        : all
          ? `none of the ${countOf(simulated.checked.length, 'answer')} meeting the SLO analytically holds it at p${SIMULATED_SLO_PERCENTILE} under simulation (every one was checked)`
          : `none of the ${countOf(simulated.checked.length, 'cheapest answer')} holds the SLO at p${SIMULATED_SLO_PERCENTILE} under simulation (raise --candidates to check more)`,
    );
  }
  // A search over hardware priced two ways ranks measured kernels against the model: say which is which.
  const byTables = space.hardware.filter((h) => tablesPrice(kernels, h)).map((h) => h.id);
  const byModel = space.hardware.filter((h) => !tablesPrice(kernels, h)).map((h) => `${h.id} (${efficiencyModeOf(h)})`);
  if (byTables.length && byModel.length) io.out(`  priced from ${kernels.framework}'s kernel tables: ${byTables.join(', ')}; by the performance model: ${byModel.join(', ')} (the two can differ several times over at small batches)`);
  if (tablesBest !== undefined) {
    io.out(tablesBest ? `  cheapest priced from ${kernels.framework}'s kernel tables: ${describe(tablesBest, space)}; the same configuration: ${tablesDeploy}` : `  no hardware priced from ${kernels.framework}'s kernel tables meets the SLO`);
  }
  for (const g of leftOut) io.out(`  ${leftOutText(g, space)}`);
  if (brute !== undefined) io.out(`brute force: ${brute ? `point ${brute.index}` : 'none'} (${brute?.index === best?.index ? 'agrees' : 'DISAGREES'})`);
  // Each frontier point says what priced it and whether it meets the SLO: the frontier ranges over every feasible point.
  if (frontier) for (const p of frontier) io.out(`  frontier: ${describe(p, space)} [${figuresOf(p, space, kernels).kind}${meetsSlo(p, slo) ? '' : '; misses the SLO'}]`);
  for (const line of modelNoteLines(space.model)) io.out(line);
}

/** `batchlab search --spec file.json`: the cheapest deployment meeting the spec's SLO, and the frontier. */
export function register(program: Command, io: CliIo): void {
  program
    .command('search')
    .description('the cheapest deployment meeting TTFT/TPOT limits, from a JSON search spec')
    .option('--spec <file>', 'search spec: model, hardware, layouts, precisions, batches, load, slo')
    .option('--frontier', 'also print the Pareto frontier of tokens/s per user against tokens/s per device')
    .option('--brute-force', 'check the optimum against a brute-force evaluation of every point')
    .option('--usd-per-hour <usd>', `${PRICE_FLAG_HELP} (every hardware of the spec)`)
    .option('--framework <name>', `price GEMMs, attention and all-reduces from this serving framework's measured kernel tables, where they hold a point's hardware (default: the spec's framework, else ${DEFAULT_SERVING_ENGINE}'s, as deploy and simulate price by default; a spec's "framework": null prices from the performance model alone): ${FRAMEWORK_FLAG_HELP}`)
    .option('--kernel-db <dir>', 'kernel tables in batchlab\'s schema (default: the shipped data/kernels)')
    .option('--fp8-scaling <kind>', FP8_SCALING_FLAG_HELP)
    .option('--kv-cache <dtype>', `${KV_CACHE_FLAG_HELP}; applies to every precision of the spec`)
    .option('--simulate', `check the cheapest answers under their load in the serving simulator (Poisson arrivals, continuous batching up to the batch), cheapest first, until one holds the SLO at p${SIMULATED_SLO_PERCENTILE}`)
    .option('--requests <n>', 'with --simulate: requests per check, at least 100 for a p99 (default 2000)')
    .option('--candidates <n>', 'with --simulate: how many of the cheapest answers to check at most (default 10)')
    .option('--seed <n>', 'with --simulate: the simulation seed (default 1)')
    .exitOverride()
    .action((o, cmd: Command) => searchCommand({ ...o, json: wantsJson(cmd) }, io));
}

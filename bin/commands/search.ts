import { wantsJson } from './context.js';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliIo } from './io.js';
import { cheapestByBruteForce, deploymentFrontier, evaluateSearchPoint, evaluateSearchSpace, searchCheapestDeployment, searchSpaceSize } from '../../lib/deployment/search.js';
import type { SearchPoint, SearchSpace, Slo } from '../../lib/deployment/search.js';
import { searchSpaceFromSpec } from '../../lib/deployment/spec.js';
import type { SearchSpec } from '../../lib/deployment/spec.js';
import { InputError } from '../../lib/util/errors.js';

/** Reads a JSON spec file, or an InputError naming the flag. */
export function readJsonSpec(flag: string, path: string | undefined): unknown {
  if (path === undefined) throw new InputError(flag, path, 'a JSON spec file (see docs/sweeps.md)');
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError(flag, path, 'a readable JSON file', (e as Error).message);
  }
}

function describe(p: SearchPoint, spec: SearchSpec): string {
  const l = spec.layouts[p.layout];
  const pr = spec.precisions[p.precision];
  return `${p.hardware}, layout ${JSON.stringify(l)}, precision ${typeof pr === 'string' ? pr : JSON.stringify(pr)}, batch ${p.batch}: ` +
    `${p.tokensPerSecondPerUser.toFixed(1)} tok/s per user, ${p.tokensPerSecondPerDevice.toFixed(0)} tok/s per device, ` +
    `TTFT ${(p.ttftSeconds * 1e3).toFixed(0)} ms, TPOT ${(p.tpotSeconds * 1e3).toFixed(1)} ms, $${p.usdPerMillionOutput.toFixed(3)} per million output tokens, ${p.devicesNeeded} devices ($${p.usdPerHour.toFixed(2)}/h)`;
}

function where(p: SearchPoint, spec: SearchSpec): string {
  const pr = spec.precisions[p.precision];
  return `${p.hardware}, layout ${JSON.stringify(spec.layouts[p.layout])}, precision ${typeof pr === 'string' ? pr : JSON.stringify(pr)}`;
}

// The library's memory reason reads "memory: short by X GB per device".
const shortGb = (p: SearchPoint): number => Number(/short by ([\d.]+) GB/.exec(p.reason ?? '')?.[1] ?? Infinity);

/**
 * Why no point met the SLO: every configuration too big for memory (or invalid), or
 * some that fit but miss the latency limits. Each (hardware, layout, precision) is
 * judged at its smallest batch, where memory use and TPOT are lowest.
 */
function whyNone(space: SearchSpace, spec: SearchSpec, slo: Slo): { kind: 'memory' | 'layout' | 'slo'; reason: string } {
  const B = space.batches.length;
  const n = searchSpaceSize(space);
  const groups = n / B;
  let layout = 0;
  let memory = 0;
  let firstMemory: SearchPoint | null = null; // the closest to fitting
  let firstLayout: SearchPoint | null = null;
  let bestTtft = Infinity;
  let bestTpot = Infinity;
  for (let g0 = 0; g0 < n; g0 += B) {
    const p = evaluateSearchPoint(space, g0);
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
    if (memory === 0) return { kind: 'layout', reason: `no layout is valid for ${space.model.id}: e.g. ${where(firstLayout!, spec)} (${firstLayout!.reason})` };
    const eg = `closest: ${where(firstMemory!, spec)} (${firstMemory!.reason})`;
    return { kind: 'memory', reason: `no configuration fits in memory, even at the smallest batch (${smallest})${layout ? ` (${layout} of ${groups} layouts are invalid)` : ''}; ${eg}` };
  }
  const fit = groups - memory - layout;
  const limits = [
    slo.ttftSeconds === undefined ? '' : `best TTFT ${(bestTtft * 1e3).toFixed(0)} ms against ${(slo.ttftSeconds * 1e3).toFixed(0)} ms`,
    slo.tpotSeconds === undefined ? '' : `best TPOT ${(bestTpot * 1e3).toFixed(1)} ms against ${(slo.tpotSeconds * 1e3).toFixed(1)} ms`,
  ].filter(Boolean);
  return { kind: 'slo', reason: `no configuration meets the SLO: ${fit} of ${groups} configurations fit in memory at batch ${smallest}, and their ${limits.join(', ')}` };
}

function searchCommand(o: { spec?: string; json?: boolean; frontier?: boolean; bruteForce?: boolean }, io: CliIo): void {
  const spec = readJsonSpec('--spec', o.spec) as SearchSpec;
  const space = searchSpaceFromSpec(spec);
  const slo = spec.slo ?? {};
  const t0 = performance.now();
  const { best, evaluated } = searchCheapestDeployment(space, slo);
  const seconds = (performance.now() - t0) / 1000;
  const brute = o.bruteForce ? cheapestByBruteForce(space, slo) : undefined;
  const frontier = o.frontier ? deploymentFrontier(evaluateSearchSpace(space)) : undefined;
  const none = best ? null : whyNone(space, spec, slo);
  if (o.json) {
    io.out(JSON.stringify({ slo, best, evaluated, seconds, reason: none?.reason ?? null, reasonKind: none?.kind ?? null, ...(brute !== undefined ? { bruteForce: brute, agrees: brute?.index === best?.index } : {}), ...(frontier ? { frontier } : {}) }, null, 2));
    return;
  }
  io.out(`searched ${evaluated} points in ${seconds.toFixed(2)} s; SLO ${JSON.stringify(slo)}`);
  io.out(best ? `cheapest: ${describe(best, spec)}` : none!.reason);
  if (brute !== undefined) io.out(`brute force: ${brute ? `point ${brute.index}` : 'none'} (${brute?.index === best?.index ? 'agrees' : 'DISAGREES'})`);
  if (frontier) for (const p of frontier) io.out(`  frontier: ${describe(p, spec)}`);
}

/** `batchlab search --spec file.json`: the cheapest deployment meeting the spec's SLO, and the frontier. */
export function register(program: Command, io: CliIo): void {
  program
    .command('search')
    .description('the cheapest deployment meeting TTFT/TPOT limits, from a JSON search spec')
    .option('--spec <file>', 'search spec: model, hardware, layouts, precisions, batches, load, slo')
    .option('--frontier', 'also print the Pareto frontier of tokens/s per user against tokens/s per device')
    .option('--brute-force', 'check the optimum against a brute-force evaluation of every point')
    .exitOverride()
    .action((o, cmd: Command) => searchCommand({ ...o, json: wantsJson(cmd) }, io));
}

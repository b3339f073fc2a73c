import { wantsJson } from './context.js';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliIo } from '../cli.js';
import { cheapestByBruteForce, deploymentFrontier, evaluateSearchSpace, searchCheapestDeployment } from '../../lib/deployment/search.js';
import type { SearchPoint } from '../../lib/deployment/search.js';
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

function searchCommand(o: { spec?: string; json?: boolean; frontier?: boolean; bruteForce?: boolean }, io: CliIo): void {
  const spec = readJsonSpec('--spec', o.spec) as SearchSpec;
  const space = searchSpaceFromSpec(spec);
  const slo = spec.slo ?? {};
  const t0 = performance.now();
  const { best, evaluated } = searchCheapestDeployment(space, slo);
  const seconds = (performance.now() - t0) / 1000;
  const brute = o.bruteForce ? cheapestByBruteForce(space, slo) : undefined;
  const frontier = o.frontier ? deploymentFrontier(evaluateSearchSpace(space)) : undefined;
  if (o.json) {
    io.out(JSON.stringify({ slo, best, evaluated, seconds, ...(brute !== undefined ? { bruteForce: brute, agrees: brute?.index === best?.index } : {}), ...(frontier ? { frontier } : {}) }, null, 2));
    return;
  }
  io.out(`searched ${evaluated} points in ${seconds.toFixed(2)} s; SLO ${JSON.stringify(slo)}`);
  io.out(best ? `cheapest: ${describe(best, spec)}` : 'no configuration meets the SLO');
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

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FittedRoofline } from '../cost/types.js';
import { DTYPES } from '../cost/types.js';
import { batchlabDataDir } from './package-root.js';

function asFit(x: unknown): FittedRoofline | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const f = x as Record<string, unknown>;
  const pos = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;
  const ok =
    typeof f.overheadSeconds === 'number' &&
    Number.isFinite(f.overheadSeconds) &&
    f.overheadSeconds >= 0 &&
    pos(f.peakFlopsPerSecond) &&
    pos(f.bytesPerSecond) &&
    typeof f.dtype === 'string' &&
    (DTYPES as readonly string[]).includes(f.dtype) &&
    typeof f.label === 'string';
  return ok ? (f as unknown as FittedRoofline) : undefined;
}

/**
 * The newest roofline fitted by the GEMM harness, if one was saved: the most
 * recently modified JSON file under `dir` (default data/measured/) that holds a
 * FittedRoofline, either as the whole document or under a `fit` or `roofline` key.
 * Returns undefined when there is none, so a caller can fall back to a quick probe.
 *
 * @example
 * const fit = findMeasuredRoofline() ?? (await probeMachineRoofline());
 */
export function findMeasuredRoofline(dir: string = batchlabDataDir('measured')): FittedRoofline | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs || a.localeCompare(b));
  for (const file of files) {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      continue; // a half-written or foreign file is not a fit
    }
    const d = doc as Record<string, unknown> | null;
    const fit = asFit(d) ?? asFit(d?.fit) ?? asFit(d?.roofline);
    if (fit) return fit;
  }
  return undefined;
}

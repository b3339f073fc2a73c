import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { measuredDataDir } from '../util/package-root.js';
import { InputError } from '../util/errors.js';
import { ensureDir, readJsonCapped, writeFileSafe } from '../util/files.js';
import type { Provenance } from '../util/provenance.js';
import { machineId, thisMachineFacts } from '../util/machine.js';
import type { RooflineFitError } from './fit.js';
import type { FittedRoofline } from '../core/types.js';
import { DTYPES } from '../core/types.js';

/** A fit as stored under data/measured/: the parameters and where they came from. */
export interface StoredRooflineFit {
  fit: FittedRoofline;
  provenance: Provenance & { host: string; backend: string; date: string };
  /** Points the fit used, and its held-out error when known. */
  points?: number;
  heldOut?: RooflineFitError;
  /** Path of the file it was read from (set by the loader). */
  file?: string;
}

function isFit(x: unknown): x is FittedRoofline {
  const f = x as Record<string, unknown> | null;
  return (
    typeof f === 'object' &&
    f !== null &&
    typeof f.overheadSeconds === 'number' &&
    f.overheadSeconds >= 0 &&
    typeof f.peakFlopsPerSecond === 'number' &&
    f.peakFlopsPerSecond > 0 &&
    typeof f.bytesPerSecond === 'number' &&
    f.bytesPerSecond > 0 &&
    (DTYPES as readonly string[]).includes(f.dtype as string) &&
    typeof f.label === 'string'
  );
}

function fitsDir(dir?: string): string {
  return dir ?? measuredDataDir();
}

/**
 * Saves a fit as `fit-<machine>-<backend>-<date>.json` (atomically; the host name when
 * the provenance has no machine id) and returns the path.
 *
 * @example
 * saveFittedRoofline({ fit, provenance: { source: 'measured', host: 'vm', machine: 'epyc-2c-8g-3f09a1c2', backend: 'tensorflow', date: '2026-01-02' } })
 * // => '<root>/data/measured/fit-epyc-2c-8g-3f09a1c2-tensorflow-2026-01-02.json'
 */
export function saveFittedRoofline(doc: StoredRooflineFit, dir?: string): string {
  if (!isFit(doc?.fit)) throw new InputError('fit', doc?.fit, 'a FittedRoofline with non-negative overhead and positive peak and bandwidth');
  const p = doc.provenance;
  for (const f of ['host', 'backend', 'date'] as const) {
    if (typeof p?.[f] !== 'string' || p[f] === '') throw new InputError(`provenance.${f}`, p?.[f], 'a non-empty string');
  }
  const d = fitsDir(dir);
  ensureDir('dir', d);
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '-');
  const path = join(d, `fit-${safe(p.machine ?? p.host)}-${safe(p.backend)}-${safe(p.date)}.json`);
  const { file: _file, ...rest } = doc;
  writeFileSafe('dir', path, `${JSON.stringify(rest, null, 1)}\n`);
  return path;
}

/**
 * The newest stored fit of a machine (default: this machine, by its id from
 * lib/util/machine.ts, unless a host is given; '*' for any) and optionally a host and a backend, from every JSON
 * file under data/measured/ that carries `fit` and `provenance` (fit files and completed
 * sweep results alike). A fit without a machine id never counts as this machine's: host
 * names repeat across machines. Newest means the latest provenance date, then the latest
 * file modification. Undefined when none matches.
 *
 * @example
 * const stored = loadLatestFittedRoofline();
 * if (stored) fittedMatmulCost(stored.fit)
 */
export function loadLatestFittedRoofline(opts: { machine?: string; host?: string; backend?: string; dir?: string } = {}): StoredRooflineFit | undefined {
  const d = fitsDir(opts.dir);
  if (!existsSync(d)) return undefined;
  // Asking by host is asking about files named by hand; otherwise this machine's id decides.
  const machine = opts.machine ?? (opts.host !== undefined ? '*' : machineId(thisMachineFacts()));
  const host = opts.host ?? '*';
  const found: Array<StoredRooflineFit & { mtime: number }> = [];
  for (const name of readdirSync(d)) {
    if (!name.endsWith('.json')) continue;
    const file = join(d, name);
    let doc: Partial<StoredRooflineFit>;
    try {
      // Only regular files are read: a device or FIFO named *.json in the folder is refused at once and skipped.
      doc = readJsonCapped('dir', file, { maxBytes: 256 * 2 ** 20 }) as Partial<StoredRooflineFit>;
    } catch {
      continue; // not JSON, or being replaced: not a fit
    }
    if (!isFit(doc.fit) || typeof doc.provenance !== 'object' || doc.provenance === null) continue;
    const prov = doc.provenance;
    if (machine !== '*' && prov.machine !== machine) continue;
    if (host !== '*' && prov.host !== host) continue;
    if (opts.backend && prov.backend !== opts.backend) continue;
    found.push({ ...(doc as StoredRooflineFit), file, mtime: statSync(file).mtimeMs });
  }
  found.sort((a, b) => String(b.provenance.date ?? '').localeCompare(String(a.provenance.date ?? '')) || b.mtime - a.mtime);
  if (!found.length) return undefined;
  const { mtime: _m, ...best } = found[0];
  return best;
}

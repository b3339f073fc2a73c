// Published serving figures as validation: the errors grouped by source, and the
// leave-one-source-out table.
//   node --import tsx bench/published-cases.ts [--framework trtllm]
// Without --framework each case reads its own framework's tables where the database holds
// them for its device, else TensorRT-LLM's (publishedCaseTables).
// A source is a publisher (a data/published file's `publisher`, else the file): two files
// of one publisher are one source, not two independent ones. A source's held-out error is
// its error when no constant of batchlab comes from it. The bench reads every hardware
// calibration entry's source and flags a published source that one of them cites: that
// source's cases are then not held out, and say so. Each case is priced twice: by the
// calibrated model and from the kernel database (where it holds tables of the device).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publishedCases, publishedCaseTables, predictPublishedCase } from '../lib/roofline/index.js';
import { KERNEL_FRAMEWORKS } from '../lib/kernels/pricer.js';
import { batchlabDataDir } from '../lib/util/package-root.js';
import { checkOneOf } from '../lib/util/validate.js';
import { median } from '../lib/util/stats.js';

const arg = process.argv.indexOf('--framework');
const framework = arg >= 0 ? checkOneOf('--framework', process.argv[arg + 1], KERNEL_FRAMEWORKS) : undefined;
const tablesWord = framework === undefined ? "each case's framework's tables where the device has them, else trtllm" : `${framework} tables`;

interface Row { source: string; file: string; id: string; error: number; dbError: number | null }

const hwDir = batchlabDataDir('hardware');
const citations: Array<{ where: string; text: string }> = [];
for (const f of readdirSync(hwDir).filter((x) => x.endsWith('.json')).sort()) {
  const cal = (JSON.parse(readFileSync(join(hwDir, f), 'utf8')) as { calibration?: Record<string, { source?: string; notes?: string }> }).calibration ?? {};
  for (const [k, v] of Object.entries(cal)) if (v && typeof v === 'object') citations.push({ where: `${f} calibration.${k}`, text: `${v.source ?? ''} ${v.notes ?? ''}` });
}

// A source file's distinctive words: its URL's path, else its source text's first quoted title.
function fingerprints(fileId: string): string[] {
  const json = JSON.parse(readFileSync(join(batchlabDataDir('published'), `${fileId}.json`), 'utf8')) as { url?: string; source: string };
  const out: string[] = [];
  if (json.url) out.push(json.url.replace(/^https?:\/\//, '').replace(/\/$/, ''));
  const quoted = /'([^']{12,})'/.exec(json.source)?.[1];
  if (quoted) out.push(quoted);
  return out;
}

const rows: Row[] = publishedCases().map((c) => {
  const p = predictPublishedCase(c);
  let dbError: number | null = null;
  try {
    const d = predictPublishedCase(c, { framework: publishedCaseTables(c, { framework }).framework });
    // A device without a table is the calibrated model again: not a kernel-database figure.
    if ((d.step.kernels ?? []).some((u) => u.rows > 0)) dbError = d.error;
  } catch {
    dbError = null;
  }
  const file = c.file ?? '?';
  return { source: c.publisher ?? file, file, id: c.id, error: p.error, dbError };
});
const abspct = (x: number): string => `${(x * 100).toFixed(1)} %`;

// The case-by-case table is bench/kernel-db-published.ts's (calibrated beside kernel tables); this bench groups by source.
console.log(`leave one source out: each source's cases when no constant comes from that source (calibrated model; kernel database: ${tablesWord})`);
const sources = [...new Set(rows.map((r) => r.source))].sort((a, b) => a.localeCompare(b));
const table = sources.map((s) => {
  const mine = rows.filter((r) => r.source === s);
  const files = [...new Set(mine.map((r) => r.file))];
  const cited = citations.filter((c) => files.some((f) => fingerprints(f).some((fp) => c.text.includes(fp))));
  const abs = mine.map((r) => Math.abs(r.error));
  const db = mine.filter((r) => r.dbError !== null).map((r) => Math.abs(r.dbError as number));
  return {
    source: s,
    files: files.join(', '),
    cases: mine.length,
    'held out': cited.length === 0 ? 'yes' : `no: cited by ${cited.map((c) => c.where).join(', ')}`,
    'median |error|': abspct(median(abs)),
    'max |error|': abspct(Math.max(...abs)),
    'within ±25 %': `${abs.filter((a) => a <= 0.25).length} of ${mine.length}`,
    'kernel db median |error|': db.length ? `${abspct(median(db))} (${db.length} cases)` : '– (no table)',
  };
});
console.table(table);
const heldOut = rows.filter((r) => table.find((t) => t.source === r.source)?.['held out'] === 'yes');
const abs = rows.map((r) => Math.abs(r.error));
const db = rows.filter((r) => r.dbError !== null).map((r) => Math.abs(r.dbError as number));
console.log(`all ${rows.length} cases from ${sources.length} sources: median |error| ${abspct(median(abs))} (target ≤ 10 %), ${abs.filter((a) => a <= 0.25).length} within ±25 % (target: all)`);
if (db.length) console.log(`kernel database (${tablesWord}), the ${db.length} cases it prices from tables: median |error| ${abspct(median(db))}, ${db.filter((a) => a <= 0.25).length} within ±25 %`);
if (heldOut.length) console.log(`held-out sources only (${heldOut.length} cases): median |error| ${abspct(median(heldOut.map((r) => Math.abs(r.error))))}`);

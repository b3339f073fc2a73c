// Published serving figures as validation: the calibrated model's errors grouped by
// source, and the leave-one-source-out table.
//   node --import tsx bench/published-cases.ts
// A source's held-out error is its error when no constant of batchlab comes from it. The
// bench reads every hardware calibration entry's source and flags a published source that
// one of them cites: that source's cases are then not held out, and say so.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publishedCases, predictPublishedCase } from '../lib/roofline/index.js';
import { batchlabDataDir } from '../lib/util/package-root.js';
import { median } from '../lib/util/stats.js';

interface Row { source: string; id: string; published: number; predicted: number; error: number }

const hwDir = batchlabDataDir('hardware');
const citations: Array<{ where: string; text: string }> = [];
for (const f of readdirSync(hwDir).filter((x) => x.endsWith('.json')).sort()) {
  const cal = (JSON.parse(readFileSync(join(hwDir, f), 'utf8')) as { calibration?: Record<string, { source?: string; notes?: string }> }).calibration ?? {};
  for (const [k, v] of Object.entries(cal)) if (v && typeof v === 'object') citations.push({ where: `${f} calibration.${k}`, text: `${v.source ?? ''} ${v.notes ?? ''}` });
}

// A source file's distinctive words: its URL's path, else its source text's first clause.
function fingerprints(fileId: string): string[] {
  const json = JSON.parse(readFileSync(join(batchlabDataDir('published'), `${fileId}.json`), 'utf8')) as { url?: string; source: string };
  const out: string[] = [];
  if (json.url) out.push(json.url.replace(/^https?:\/\//, '').replace(/\/$/, ''));
  const quoted = /'([^']{12,})'/.exec(json.source)?.[1];
  if (quoted) out.push(quoted);
  return out;
}

const fileOf = new Map<string, string>();
for (const f of readdirSync(batchlabDataDir('published')).filter((x) => x.endsWith('.json'))) {
  const id = f.slice(0, -5);
  const json = JSON.parse(readFileSync(join(batchlabDataDir('published'), f), 'utf8')) as { cases?: Array<{ id: string }>; day?: unknown };
  for (const c of json.cases ?? []) fileOf.set(c.id, id);
  if (json.day) for (const c of publishedCases()) if (!fileOf.has(c.id) && c.source === (json as { source?: string }).source) fileOf.set(c.id, id);
}

const rows: Row[] = publishedCases().map((c) => {
  const p = predictPublishedCase(c);
  return { source: fileOf.get(c.id) ?? '?', id: c.id, published: p.published, predicted: p.predicted, error: p.error };
});
const abspct = (x: number): string => `${(x * 100).toFixed(1)} %`;

// The case-by-case table is bench/kernel-db-published.ts's (calibrated beside kernel tables); this bench groups by source.
console.log('leave one source out: each source\'s cases when no constant comes from that source');
const sources = [...new Set(rows.map((r) => r.source))].sort();
const table = sources.map((s) => {
  const mine = rows.filter((r) => r.source === s);
  const cited = citations.filter((c) => fingerprints(s).some((fp) => c.text.includes(fp)));
  const abs = mine.map((r) => Math.abs(r.error));
  return {
    source: s,
    cases: mine.length,
    'held out': cited.length === 0 ? 'yes' : `no: cited by ${cited.map((c) => c.where).join(', ')}`,
    'median |error|': abspct(median(abs)),
    'max |error|': abspct(Math.max(...abs)),
    'within ±25 %': `${abs.filter((a) => a <= 0.25).length} of ${mine.length}`,
  };
});
console.table(table);
const heldOut = rows.filter((r) => table.find((t) => t.source === r.source)?.['held out'] === 'yes');
const abs = rows.map((r) => Math.abs(r.error));
console.log(`all ${rows.length} cases: median |error| ${abspct(median(abs))} (target ≤ 10 %), ${abs.filter((a) => a <= 0.25).length} within ±25 % (target: all)`);
if (heldOut.length) console.log(`held-out sources only (${heldOut.length} cases): median |error| ${abspct(median(heldOut.map((r) => Math.abs(r.error))))}`);

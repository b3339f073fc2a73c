// Published serving cases (data/published/) priced two ways: by the calibrated model and
// with GEMMs, attention (MLA included), routed experts (wide-EP MoE rows for large expert-parallel layouts), DeepEP dispatch/combine and tensor-parallel all-reduces read from the kernel database
// (data/kernels, NVIDIA aiconfigurator's measured tables) of each case's framework.
// Prints both errors against the published figure; nothing is fitted to these cases.
//   node --import tsx bench/kernel-db-published.ts [--framework trtllm]
// Without --framework each case reads its own framework's tables where the database holds
// them for its device, else TensorRT-LLM's; the last column says which priced it. 'from tables'
// is the share of kernel calls a table row priced, with the share of them extrapolated past the rows.
import { publishedCases, publishedCaseTables, predictPublishedCase } from '../lib/roofline/published.js';
import { KERNEL_FRAMEWORKS } from '../lib/kernels/pricer.js';
import { checkOneOf } from '../lib/util/validate.js';

const arg = process.argv.indexOf('--framework');
const framework = arg >= 0 ? checkOneOf('--framework', process.argv[arg + 1], KERNEL_FRAMEWORKS) : undefined;
const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
// Three significant digits at least: a latency of 25.7 ms keeps its decimal, a throughput of 6,920 tokens/s none.
const num = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
const rows: string[][] = [['case', 'hardware', 'unit', 'published', 'calibrated', 'error', 'kernel db', 'error', 'from tables', 'tables']];
const errs: { cal: number[]; db: number[] } = { cal: [], db: [] };
for (const c of publishedCases()) {
  const cal = predictPublishedCase(c);
  const tables = publishedCaseTables(c, { framework });
  let db;
  try {
    db = predictPublishedCase(c, { framework: tables.framework });
  } catch (e) {
    rows.push([c.id, c.hardware, c.published.unit, String(c.published.value), num(cal.predicted), pct(cal.error), '-', '-', (e as Error).message.slice(0, 60), tables.label]);
    continue;
  }
  // Share of priced kernel calls that a table answered (the rest: the calibrated model).
  const usage = db.step.kernels ?? [];
  const all = usage.reduce((s, u) => s + u.calls, 0);
  const fromTables = usage.filter((u) => u.rows > 0).reduce((s, u) => s + u.calls, 0);
  // Of those, the calls read past the rows (past their tokens, or DeepEP carried to an EP they lack).
  const extrapolated = usage.filter((u) => u.rows > 0 && u.kind === 'extrapolated').reduce((s, u) => s + u.calls, 0);
  const share = (n: number): number => (all ? Math.round((100 * n) / all) : 0);
  errs.cal.push(Math.abs(cal.error));
  errs.db.push(Math.abs(db.error));
  rows.push([c.id, c.hardware, c.published.unit, String(c.published.value), num(cal.predicted), pct(cal.error), num(db.predicted), pct(db.error), `${share(fromTables)} % of calls${extrapolated ? ` (${share(extrapolated) || '<1'} % extrapolated)` : ''}`, tables.label]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((x, i) => x.padEnd(widths[i])).join('  '));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`\nmedian |error|: calibrated ${(median(errs.cal) * 100).toFixed(1)} %, kernel db ${(median(errs.db) * 100).toFixed(1)} % over ${errs.db.length} cases`);
console.log(`within ±25 %: calibrated ${errs.cal.filter((e) => e <= 0.25).length}, kernel db ${errs.db.filter((e) => e <= 0.25).length} of ${errs.db.length}`);

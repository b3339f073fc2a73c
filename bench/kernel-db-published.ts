// Published serving cases (data/published/) priced two ways: by the calibrated model and
// with GEMMs, attention (MLA included), routed experts (wide-EP MoE rows for large expert-parallel layouts), DeepEP dispatch/combine and tensor-parallel all-reduces read from the kernel database
// (data/kernels, NVIDIA aiconfigurator's measured tables) of each case's framework.
// Prints both errors against the published figure; nothing is fitted to these cases.
//   node --import tsx bench/kernel-db-published.ts [--framework trtllm]
// Without --framework each case reads its own framework's tables where the database holds
// them for its device, else TensorRT-LLM's; the last column says which priced it. 'from tables'
// is the share of kernel calls a table row priced, with the share of them extrapolated past the rows.
// --diagnose adds, for every offline case whose batch the KV cache bounds (TensorRT-LLM's
// guaranteed-no-evict and max-utilization cases), what the prediction used: sequences per device, the memory
// budget (weights, activations, KV fraction, KV tokens), the step split by kernel family with
// the kind of table answer behind each op, the HBM bandwidth the attention rows imply, and the
// bound on output tokens/s that reading the KV cache alone at datasheet bandwidth sets.
import { meanContextInFlight, publishedCaseLengthMoments, publishedCases, publishedCaseTables, publishedGridCases, publishedGridComparisons, predictPublishedCase, readPublishedFile, type PublishedCase, type PublishedComparison } from '../lib/roofline/published.js';
import { memoryFit } from '../lib/roofline/deployment.js';
import { loadModel } from '../lib/models/spec.js';
import { loadHardware } from '../lib/hardware/spec.js';
import { KERNEL_FRAMEWORKS } from '../lib/kernels/pricer.js';
import { checkOneOf } from '../lib/util/validate.js';
import { median } from '../lib/util/stats.js';

const arg = process.argv.indexOf('--framework');
const framework = arg >= 0 ? checkOneOf('--framework', process.argv[arg + 1], KERNEL_FRAMEWORKS) : undefined;
const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
// Three significant digits at least: a latency of 25.7 ms keeps its decimal, a throughput of 6,920 tokens/s none.
const num = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
const diagnose = process.argv.includes('--diagnose');
const ms = (x: number): string => (x * 1e3).toFixed(1);
const diagnoses: string[] = [];
const rows: string[][] = [['case', 'hardware', 'unit', 'published', 'calibrated', 'error', 'kernel db', 'error', 'from tables', 'tables']];
const errs: { cal: number[]; db: number[] } = { cal: [], db: [] };
// Each case's kernel-database error, with how the release it ran stands to the tables' where it states another.
const dbErrors: Array<{ id: string; error: number; release?: 'older' | 'newer' }> = [];
// Each case's kernel-database comparison and the tables that priced it, for the sections below.
const priced = new Map<string, { db: PublishedComparison; framework: string }>();
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
  if (diagnose && c.phase === 'offline' && c.concurrency) diagnoses.push(diagnoseCase(c, db));
  errs.cal.push(Math.abs(cal.error));
  errs.db.push(Math.abs(db.error));
  dbErrors.push({ id: c.id, error: db.error, release: tables.caseRelease });
  priced.set(c.id, { db, framework: tables.framework });
  rows.push([c.id, c.hardware, c.published.unit, String(c.published.value), num(cal.predicted), pct(cal.error), num(db.predicted), pct(db.error), `${share(fromTables)} % of calls${extrapolated ? ` (${share(extrapolated) || '<1'} % extrapolated)` : ''}`, tables.label]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((x, i) => x.padEnd(widths[i])).join('  '));
console.log(`\nmedian |error|: calibrated ${(median(errs.cal) * 100).toFixed(1)} %, kernel db ${(median(errs.db) * 100).toFixed(1)} % over ${errs.db.length} cases`);
console.log(`within ±25 %: calibrated ${errs.cal.filter((e) => e <= 0.25).length}, kernel db ${errs.db.filter((e) => e <= 0.25).length} of ${errs.db.length}`);
// A kernel of another release is another kernel: the cases that state a release other than the
// tables' check the tables across releases, and are summarised apart (all stay in the totals above).
const summary = (abs: number[]): string => `kernel db median |error| ${(median(abs) * 100).toFixed(1)} %, ${abs.filter((e) => e <= 0.25).length} of ${abs.length} within ±25 %`;
for (const release of ['older', 'newer'] as const) {
  const cases = dbErrors.filter((x) => x.release === release);
  if (cases.length === 0) continue;
  console.log(`cases that ran ${release === 'older' ? 'an older' : 'a newer'} release of their framework than the tables that priced them: ${summary(cases.map((x) => Math.abs(x.error)))} (${cases.map((x) => x.id).join(', ')})`);
}
const others = dbErrors.filter((x) => x.release === undefined);
if (others.length > 0 && others.length < dbErrors.length) console.log(`the other cases (the tables' own release, or none stated): ${summary(others.map((x) => Math.abs(x.error)))}`);

// A case of many request lengths (a benchmark's dataset) is priced over its trace's spread;
// beside it, the same case with every request at the means, what that spread is worth.
const spread = publishedCases().filter((c) => c.lengths !== undefined && priced.has(c.id));
if (spread.length > 0) {
  console.log('cases of many lengths, kernel db error over their stated spread / with every request at the means:');
  for (const c of spread) {
    const { db, framework: fw } = priced.get(c.id)!;
    const { lengths: _, ...alike } = c;
    console.log(`  ${c.id}: ${pct(db.error)} / ${pct(predictPublishedCase(alike, { framework: fw }).error)} (${c.lengths!.trace})`);
  }
}

/** What the prediction of a KV-bound offline case used, and the KV-read bound (see the header). */
function diagnoseCase(c: PublishedCase, db: PublishedComparison): string {
  const model = loadModel(c.model);
  const hw = loadHardware(c.hardware);
  const isl = c.promptTokens as number;
  const osl = c.outputTokens as number;
  const lengths = publishedCaseLengthMoments(c);
  const config = { parallelism: { devicesPerNode: c.devicesPerNode, ...c.parallelism }, precision: c.precision };
  const empty = memoryFit(model, hw, config, { batch: 0, context: isl + osl, tokens: 0 });
  // One token's KV bytes on one device, as memoryFit counts them (its share of the KV heads).
  const kvToken = memoryFit(model, hw, config, { batch: 1, context: 1, tokens: 0 }).kvCacheBytes;
  const fraction = c.concurrency!.kvCacheFraction;
  const kvTokens = Math.floor((fraction * (empty.capacityBytes - empty.weightBytes - empty.activationBytes)) / kvToken);
  const seqs = (db.sequencesPerDevice as number) * c.devices;
  const context = meanContextInFlight(lengths);
  const b = db.step.breakdown;
  const ms = (x: number): string => (x * 1e3).toFixed(2);
  const gb = (x: number): string => (x / 1e9).toFixed(1);
  const bw = hw.memoryBytesPerSecond;
  // Bandwidth the attention rows imply: the KV bytes a decode step reads on one device over its
  // attention time (prefill attention included, so a lower bound on the decode kernels' rate).
  const attnBw = (seqs * context * kvToken) / b.attentionSeconds;
  // Any batch: every output token reads its sequence's cache (mean context), each device its
  // share at datasheet bandwidth, so the group's output tokens/s is at most bw / (context · kvToken).
  const bound = bw / (context * kvToken);
  const kinds = (db.step.kernels ?? []).filter((u) => u.rows > 0).map((u) => `${u.op}:${u.from.split('/').pop()?.replace('.csv.gz', '')}=${u.kind}`);
  return [
    `${c.id}: published ${c.published.value}, predicted ${db.predicted.toFixed(0)} (${pct(db.error)})`,
    `  memory per device: ${gb(empty.capacityBytes)} GB capacity (catalog) - ${gb(empty.weightBytes)} GB weights - ${gb(empty.activationBytes)} GB activations, x ${fraction} KV fraction = ${kvTokens} KV tokens (${kvToken} B/token/device)${c.concurrency!.kvCacheTokens === undefined ? '' : `; the run's log states ${c.concurrency!.kvCacheTokens} KV tokens, which size the batch`}; ${seqs} sequences of ${c.lengths === undefined ? `${isl + osl} tokens (${osl} out)` : `many lengths (${c.lengths.trace}: mean prompt ${isl}, mean output ${osl}, ${Math.round(context + 1)} tokens in flight on average, ${c.concurrency!.kind})`}${c.requests === undefined ? '' : `; ${c.requests} requests at once, ${c.requests <= seqs ? 'one batch of them all' : c.requests % seqs === 0 ? 'whole batches only' : `the last ${c.requests % seqs} alone`}`}`,
    `  step ${ms(db.step.seconds)} ms: gemm ${ms(b.gemmSeconds)}, attention ${ms(b.attentionSeconds)}, elementwise ${ms(b.elementwiseSeconds)}, launch ${ms(b.launchSeconds)}, all-reduce ${ms(b.tensorParallelSeconds)} (exposed communication ${ms(b.exposedCommunicationSeconds)})`,
    `  rows: ${kinds.join(', ')}`,
    `  attention reads KV at ${(attnBw / 1e12).toFixed(2)} TB/s = ${((100 * attnBw) / bw).toFixed(0)} % of the datasheet ${(bw / 1e12).toFixed(2)} TB/s (attention time includes prefill)`,
    `  KV-read bound (any batch, datasheet bandwidth, the case's KV dtype): ${bound.toFixed(0)} output tokens/s of the group; published/bound ${(c.published.value / bound).toFixed(2)}, predicted/bound ${(db.predicted / bound).toFixed(2)}`,
  ].join('\n');
}
// A source that ran one setup over a grid of lengths: every run of it, priced as its cases
// are, so that the rule that picked the cases is judged against the runs it left out. Each
// run also prints what priced it (predicted, not measured): the step, the batch, and the
// error as time per step (predicted step × error).
const allCases = publishedCases();
for (const file of [...new Set(allCases.map((c) => c.file as string))]) {
  if (readPublishedFile(file).grid === undefined) continue;
  let res: Array<{ c: PublishedCase; p: PublishedComparison }>;
  try {
    const grid = publishedGridCases(file);
    res = publishedGridComparisons(file, { framework }).map((p, k) => ({ c: grid[k], p }));
  } catch (e) {
    console.log(`\n${file}: the whole grid not priced: ${(e as Error).message.slice(0, 160)}`);
    continue;
  }
  const picked = allCases.filter((c) => c.file === file).length;
  const abs = res.map((r) => Math.abs(r.p.error));
  console.log(`\n${file}: the whole grid, ${res.length} runs (its ${picked} cases are among them), kernel db: ${abs.filter((e) => e <= 0.25).length} of ${res.length} priced within ±25 %, median |error| ${(median(abs) * 100).toFixed(1)} %, max ${(Math.max(...abs) * 100).toFixed(1)} %`);
  console.log('  by output length: prompt tokens, error; then (predicted) step ms, batch, error × step ms');
  for (const out of [...new Set(res.map((r) => r.c.outputTokens as number))].sort((a, b) => a - b)) {
    const row = res.filter((r) => r.c.outputTokens === out);
    console.log(`  ${String(out).padStart(5)} out: ${row.map((r) => `${r.c.promptTokens} in ${pct(r.p.error)}`).join(', ')}`);
    console.log(`  ${''.padStart(9)} ${row.map((r) => `${ms(r.p.step.intervalSeconds)}/${Math.round((r.p.sequencesPerDevice as number) * r.c.devices)}/${ms(r.p.step.intervalSeconds * r.p.error)}`).join(', ')}`);
  }
}
if (diagnose) console.log(`\n${diagnoses.join('\n')}`);

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { evaluateSearchSpace } from '../../lib/deployment/search.js';
import { searchSpaceFromSpec } from '../../lib/deployment/spec.js';
import type { SearchSpec } from '../../lib/deployment/spec.js';
import { run, withDir } from './run.js';

const example = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../docs/search-spec.example.json'), 'utf8')) as SearchSpec;


test('batchlab search: when nothing fits in memory it says so (it said "no configuration meets the SLO"), with the reason in --json', withDir(async (dir) => {
  // Llama-3.1-405B on one or two 24 GB cards: even fp8 weights (~405 GB) are far beyond 48 GB.
  const spec: SearchSpec = { ...example, model: 'llama-3.1-405b', hardware: ['rtx-4090'], layouts: [{ tensorParallel: 1 }, { tensorParallel: 2 }] };
  const path = join(dir, 'spec.json');
  writeFileSync(path, JSON.stringify(spec));
  const text = await run(['search', '--spec', path]);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /no configuration fits in memory, even at the smallest batch \(1\); closest: rtx-4090, TP2, fp8 \(memory: short by ([\d.]+) GB per device\)/);
  assert.doesNotMatch(text.out, /meets the SLO/);
  const j = JSON.parse((await run(['--json', 'search', '--spec', path])).out);
  assert.equal(j.best, null);
  assert.equal(j.reasonKind, 'memory');
  assert.equal(j.reason, text.out.split('\n')[1]);
  // "closest" is the smallest shortfall of every point of the space.
  const shortfalls = evaluateSearchSpace(searchSpaceFromSpec(spec)).map((p) => Number(/short by ([\d.]+) GB/.exec(p.reason!)![1]));
  assert.equal(Number(/short by ([\d.]+) GB/.exec(j.reason)![1]), Math.min(...shortfalls));
}));

test('batchlab search: when configurations fit but miss the limits, the reason gives the best TTFT and TPOT against them', withDir(async (dir) => {
  const path = join(dir, 'spec.json');
  writeFileSync(path, JSON.stringify({ ...example, slo: { ttftSeconds: 0.001, tpotSeconds: 0.001 } }));
  const j = JSON.parse((await run(['--json', 'search', '--spec', path])).out);
  assert.equal(j.best, null);
  assert.equal(j.reasonKind, 'slo');
  // With --simulate there is nothing to check, and the JSON says why.
  const sj = JSON.parse((await run(['--json', 'search', '--spec', path, '--simulate'])).out);
  assert.equal(sj.simulated.best, null);
  assert.deepEqual(sj.simulated.checked, []);
  assert.match(sj.simulated.reason, /nothing to check/);
  assert.match(j.reason, /^no configuration meets the SLO: \d+ of 24 configurations fit in memory at batch 1, and their best TTFT \d+ ms against 1 ms, best TPOT [\d.]+ ms against 1\.0 ms$/);
  // The text says how many points were priced of how many, and why the rest were skipped (it said "searched 0 points" beside "23 of 24 configurations fit").
  const text = await run(['search', '--spec', path]);
  assert.match(text.out, /^searched 0 of 240 points \(240 skipped: their configuration's layout is invalid or its TTFT misses the SLO at every batch\) in /);
  // A search with an answer carries no reason.
  const ok = JSON.parse((await run(['--json', 'search', '--spec', resolve(import.meta.dirname, '../../docs/search-spec.example.json')])).out);
  assert.ok(ok.best);
  assert.equal(ok.reason, null);
}));

test('batchlab search --simulate checks the answers under their load until one holds the SLO at p99, and its deploy line reproduces that check', withDir(async (dir) => {
  const path = join(dir, 'h200.json');
  writeFileSync(path, JSON.stringify({ ...example, hardware: ['h200'] }));
  const r = await run(['--json', 'search', '--spec', path, '--simulate', '--requests', '500']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.simulated.percentile, 99);
  assert.equal(j.simulated.checked[0].index, j.best.index);
  const slo = j.slo as { ttftSeconds: number; tpotSeconds: number };
  for (const c of j.simulated.checked) assert.equal(c.meets, c.ttftP99 <= slo.ttftSeconds && c.tpotP99 <= slo.tpotSeconds);
  assert.ok(j.simulated.best.meets);
  // The printed line runs deploy --simulate on the same rank at the same rate, seed and requests: the same percentiles.
  const line = (j.simulated.sameAsDeploy as string).split(' ').slice(1);
  assert.ok(line.includes('--simulate'));
  const d = await run(['--json', ...line]);
  assert.equal(d.code, 0, d.err);
  const sim = JSON.parse(d.out).simulated;
  for (const k of ['ttftP99', 'tpotP99'] as const) assert.ok(Math.abs(sim[k] - j.simulated.best[k]) <= 1e-6 * j.simulated.best[k], `${k}: ${sim[k]} vs ${j.simulated.best[k]}`);
  // The text says what the search's own TTFT and TPOT leave out, with or without the check.
  const plain = await run(['search', '--spec', path]);
  assert.match(plain.out, /TTFT and TPOT above are one prompt's prefill step and a decode step at the batch, without queueing or prompts sharing steps with decodes: --simulate checks/);
  // Its flags need it, and a p99 needs a hundred requests.
  const lone = await run(['search', '--spec', path, '--requests', '100']);
  assert.equal(lone.code, 2);
  assert.match(lone.err, /^batchlab: --requests must be given with --simulate/);
  const few = await run(['search', '--spec', path, '--simulate', '--requests', '10']);
  assert.equal(few.code, 2);
  assert.match(few.err, /^batchlab: --requests must be an integer in \[100, 1000000\]; got 10/);
  // A miss names the limits it breaks, each against the SLO.
  const text = await run(['search', '--spec', path, '--simulate', '--requests', '500']);
  for (const c of j.simulated.checked.filter((x: { meets: boolean }) => !x.meets)) assert.ok(c.missed.length > 0);
  assert.match(text.out, /misses \((TTFT|TPOT) p99 [\d.]+ m?s > [\d.]+ m?s/);
}));

test('batchlab search --frontier says what priced each frontier point and which miss the SLO', async () => {
  const r = await run(['search', '--spec', resolve(import.meta.dirname, '../../docs/search-spec.example.json'), '--frontier']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n').filter((l) => l.startsWith('  frontier: '));
  assert.ok(lines.length > 1);
  for (const l of lines) {
    const m = /TTFT (\d+) ms, TPOT ([\d.]+) ms;.*\[(kernel tables|typical|calibrated|spec)(; misses the SLO)?\]$/.exec(l);
    assert.ok(m, l);
    // docs/search-spec.example.json: TTFT ≤ 1 s and TPOT ≤ 40 ms.
    assert.equal(m[4] !== undefined, Number(m[1]) > 1000 || Number(m[2]) > 40, l);
  }
  // mi300x has no kernel tables: its points are the performance model's (typical).
  assert.ok(lines.filter((l) => l.includes('mi300x')).every((l) => /\[typical/.test(l)));
  // The JSON says the same of each point.
  const j = JSON.parse((await run(['--json', 'search', '--spec', resolve(import.meta.dirname, '../../docs/search-spec.example.json'), '--frontier'])).out);
  for (const p of j.frontier) {
    assert.equal(p.meetsSlo, p.ttftSeconds <= 1 && p.tpotSeconds <= 0.04);
    assert.equal(p.figures, p.hardware === 'mi300x' ? 'typical' : 'kernel tables');
  }
});

test('batchlab search: an answer the performance model priced comes with the cheapest the kernel tables price, the answer of the search limited to that hardware', withDir(async (dir) => {
  const example = resolve(import.meta.dirname, '../../docs/search-spec.example.json');
  const r = JSON.parse((await run(['--json', 'search', '--spec', example])).out);
  // docs/search-spec.example.json: mi300x has no kernel tables (typical), h100-sxm and h200 have vLLM's.
  assert.equal(r.best.hardware, 'mi300x');
  const spec = JSON.parse(readFileSync(example, 'utf8')) as SearchSpec;
  const path = join(dir, 'tabled.json');
  writeFileSync(path, JSON.stringify({ ...spec, hardware: ['h100-sxm', 'h200'] }));
  const only = JSON.parse((await run(['--json', 'search', '--spec', path])).out);
  const { index: _a, ...fromTables } = r.cheapestFromTables;
  const { index: _b, ...alone } = only.best;
  assert.deepEqual(fromTables, alone);
  assert.equal(r.cheapestFromTablesDeploy, only.sameAsDeploy);
  const text = (await run(['search', '--spec', example])).out;
  assert.match(text, /\n  cheapest priced from vllm's kernel tables: (h100-sxm|h200), TP\d+, .*; the same configuration: batchlab deploy .*--framework vllm/);
  // An answer the tables priced needs no such line.
  assert.equal(only.cheapestFromTables, undefined);
}));

test('batchlab sweep: a shard beyond the points says it holds none (it printed "points 240..239")', withDir(async (dir) => {
  const spec = resolve(import.meta.dirname, '../../docs/search-spec.example.json');
  // The example spec has 3 hardware × 4 layouts × 2 precisions × 10 batches = 240 points; 250 shards leave the last 10 empty.
  const r = await run(['sweep', '--spec', spec, '--shard', '249/250', '--out', dir]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^batchlab: shard 249\/250 holds no points \(240 points over 250 shards leave shard 249 none\) -> /);
  assert.doesNotMatch(r.out, /240\.\.239/);
  const j = JSON.parse((await run(['--json', 'sweep', '--spec', spec, '--shard', '249/250', '--out', dir])).out);
  assert.equal(j.points, 0);
  assert.match(j.reason, /leave shard 249 none/);
  const one = JSON.parse((await run(['--json', 'sweep', '--spec', spec, '--shard', '0/250', '--out', dir])).out);
  assert.equal(one.points, 1);
  assert.equal(one.reason, null);
}));

test('batchlab merge: a JSON file that is not a shard is refused naming the file and what it lacks (it said "format; got undefined")', withDir(async (dir) => {
  const cases: Array<[string, string, RegExp]> = [
    ['empty.json', '{}', /\(it has no "format" field\)$/],
    ['array.json', '[1]', /\(it holds a JSON array\)$/],
    ['other.json', '{"format":"x"}', /\(its "format" is "x"\)$/],
    ['text.json', 'nope', /\(not JSON: /],
  ];
  for (const [name, body, detail] of cases) {
    const p = join(dir, name);
    writeFileSync(p, body);
    const r = await run(['merge', p]);
    assert.equal(r.code, 2);
    assert.equal(r.err.split('\n').length, 1);
    assert.ok(r.err.startsWith(`batchlab: input must be a sweep shard file written by \`batchlab sweep\` (format "batchlab-sweep-shard/2"); got ${JSON.stringify(p)}`), r.err);
    assert.match(r.err, detail);
  }
}));

test('batchlab merge: a CSV of no GEMM rows is refused naming the file, and nothing is written (it merged "0 GEMM rows from 0 machines" with exit 0)', withDir(async (dir) => {
  const p = join(dir, 'hello.csv');
  writeFileSync(p, 'hello\n');
  const out = join(dir, 'merged.csv');
  const r = await run(['merge', p, '--out', out]);
  assert.equal(r.code, 2);
  assert.ok(r.err.startsWith(`batchlab: input must be a GEMM harness CSV of at least one row`), r.err);
  assert.match(r.err, /got ".*hello\.csv"$/);
  assert.ok(!existsSync(out));
}));

test('batchlab merge of a measured folder merges the harness\'s gemm-*.csv files and skips CSVs of other formats (it failed on the shipped example folder\'s attention CSV)', async () => {
  // data/examples/measured: gemm-vm-tensorflow-2026-11-29.csv and two gemm-vs-reference-*.csv in the harness format, beside an
  // attention CSV and a steps CSV of their own formats.
  const r = await run(['--json', 'merge', resolve(import.meta.dirname, '../../data/examples/measured')]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { rows: number; machines: Array<{ backend: string; rows: number }> };
  // The tfjs rows and the numpy reference rows the gemm-vs-reference files carry.
  assert.deepEqual(new Set(j.machines.map((m) => m.backend)), new Set(['tensorflow', 'numpy']));
  assert.equal(j.rows, j.machines.reduce((a, m) => a + m.rows, 0));
});

test('batchlab merge --out refuses to write over one of its inputs, shard or GEMM CSV, and leaves it as it was', withDir(async (dir) => {
  const spec = resolve(import.meta.dirname, '../../docs/search-spec.example.json');
  for (const shard of ['0/2', '1/2']) assert.equal((await run(['sweep', '--spec', spec, '--shard', shard, '--out', dir])).code, 0);
  const first = join(dir, 'shard-0000-of-0002.json');
  const before = readFileSync(first, 'utf8');
  const r = await run(['merge', dir, '--out', first]);
  assert.equal(r.code, 2);
  assert.equal(r.err, `batchlab: --out must be a file that is not one of the inputs; got ${JSON.stringify(first)} (it is the input ${first})`);
  assert.equal(readFileSync(first, 'utf8'), before);
  // The same file by another path is the same file.
  const again = await run(['merge', dir, '--out', join(dir, '.', 'shard-0000-of-0002.json')]);
  assert.equal(again.code, 2);
  // A new file beside them is fine, and the folder still merges afterwards.
  assert.equal((await run(['merge', dir, '--out', join(dir, 'merged.json')])).code, 0);
  assert.equal((await run(['merge', dir])).code, 0);
  // An interrupted shard's partial file in the folder is left out and named, not read as a shard.
  writeFileSync(join(dir, 'shard-0001-of-0002.partial.json'), '{}');
  const withPartial = await run(['merge', dir]);
  assert.equal(withPartial.code, 0, withPartial.err);
  assert.match(withPartial.err, /^batchlab: 1 partial shard file left out \(an interrupted shard; rerun its `batchlab sweep` command to finish it\): .*shard-0001-of-0002\.partial\.json$/);
  const csv = join(dir, 'gemm.csv');
  writeFileSync(csv, 'not read');
  const c = await run(['merge', csv, '--out', csv]);
  assert.equal(c.code, 2);
  assert.match(c.err, /^batchlab: --out must be a file that is not one of the inputs/);
  assert.equal(readFileSync(csv, 'utf8'), 'not read');
}));

test('batchlab search names a layout of the spec that cannot run the model (it searched fewer points without a word)', withDir(async (dir) => {
  const spec = { ...example, layouts: [{ ...example.layouts[0], tensorParallel: 3 }, ...example.layouts.slice(1)] };
  const path = join(dir, 'tp3.json');
  writeFileSync(path, JSON.stringify(spec));
  const r = await run(['search', '--spec', path]);
  assert.equal(r.code, 0, r.err);
  // Llama 3.1 70B has 64 attention heads (data/models/llama-3.1-70b.json): 3 divides none of them evenly.
  assert.match(r.out, /\n {2}not searched: layouts\[0\] \(TP3\) on h100-sxm, h200, mi300x: tensorParallel must be a divisor of the 64 attention heads of llama-3.1-70b/);
  const j = JSON.parse((await run(['--json', 'search', '--spec', path])).out);
  assert.deepEqual(j.leftOut.map((g: { layouts: number[]; precisions: number[] }) => [g.layouts, g.precisions]), [[[0], [0, 1]]]);
  assert.deepEqual(JSON.parse((await run(['--json', 'search', '--spec', 'docs/search-spec.example.json'])).out).leftOut, []);
  // A precision a device has no peak for (A100: no FP8) is named as the precision, on that device, for every layout.
  const a100 = join(dir, 'a100.json');
  writeFileSync(a100, JSON.stringify({ ...example, hardware: ['a100-80gb', 'h100-sxm'] }));
  const b = await run(['search', '--spec', a100]);
  assert.match(b.out, /\n {2}not searched: every layout with precisions\[1\] \(fp8\) on a100-80gb: /);
}));

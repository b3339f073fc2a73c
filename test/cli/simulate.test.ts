import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from './run.js';

const trace = resolve(import.meta.dirname, '../../data/traces/bursty-chat.csv');

test('batchlab simulate --trace --requests N replays the first N requests of the trace (it replayed all 500)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-sim-'));
  try {
    // The same trace cut to its first 100 data rows by hand: replaying it whole must give the same run.
    const lines = readFileSync(trace, 'utf8').split('\n');
    const header = lines.findIndex((l) => l.startsWith('timestamp'));
    const cut = join(dir, 'first-100.csv');
    writeFileSync(cut, `${lines.slice(0, header + 101).join('\n')}\n`);
    const a = await run(['--json', 'simulate', '--trace', trace, '--requests', '100']);
    const b = await run(['--json', 'simulate', '--trace', cut]);
    assert.equal(a.code, 0, a.err);
    assert.equal(b.code, 0, b.err);
    const ja = JSON.parse(a.out);
    const jb = JSON.parse(b.out);
    assert.equal(ja.requests, 100);
    assert.match(ja.description, /\(100 requests\)/);
    delete ja.description;
    delete jb.description;
    assert.deepEqual(ja, jb);
    // Without --requests the whole trace plays, whatever the Poisson default (1000) is.
    assert.equal(JSON.parse((await run(['--json', 'simulate', '--trace', trace])).out).requests, 500);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batchlab simulate --trace with --model refuses a trace whose longest replayed request exceeds the model\'s context, as --prompt + --output are refused (it simulated a 200,000-token prompt on a 131,072-token model)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-sim-'));
  try {
    const long = join(dir, 'long.csv');
    writeFileSync(long, 'timestamp,prompt_tokens,output_tokens\n0,100,10\n0.1,200000,10\n');
    const model = ['--model', 'llama-3.1-8b', '--hardware', 'h100-sxm'];
    // Llama-3.1-8B config.json: max_position_embeddings 131072.
    const r = await run(['simulate', '--trace', long, ...model]);
    assert.equal(r.code, 2);
    assert.match(r.err, /^batchlab: --trace must be small enough that its request 2, 200000 prompt \+ 10 output tokens \(200,010 tokens\) is at most llama-3\.1-8b's context of 131,072 tokens/);
    // Only the requests replayed count: the first alone fits.
    const first = await run(['--json', 'simulate', '--trace', long, '--requests', '1', ...model]);
    assert.equal(first.code, 0, first.err);
    assert.equal(JSON.parse(first.out).requests, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batchlab simulate --trace: --requests beyond the trace, Poisson-only flags and a missing file name the flag', async () => {
  const more = await run(['simulate', '--trace', trace, '--requests', '501']);
  assert.equal(more.code, 2);
  assert.equal(more.err, 'batchlab: --requests must be an integer in [1, 500]; got 501');
  const rate = await run(['simulate', '--trace', trace, '--rate', '5']);
  assert.equal(rate.code, 2);
  assert.match(rate.err, /^batchlab: --rate must be left out with --trace/);
  const missing = await run(['simulate', '--trace', '/nonexistent.csv']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /^batchlab: --trace must be a readable CSV file; got "\/nonexistent.csv"/);
});

test('batchlab simulate prints one unit per latency line', async () => {
  const r = await run(['simulate', '--requests', '50']);
  assert.equal(r.code, 0, r.err);
  const ttft = r.out.split('\n').find((l) => l.startsWith('time to first token'))!;
  const e2e = r.out.split('\n').find((l) => l.startsWith('end-to-end latency'))!;
  assert.match(ttft, /^time to first token: p50 [\d.]+ ms, p99 [\d.]+ ms$/);
  assert.match(e2e, /^end-to-end latency: p50 [\d.]+ ms, p99 [\d.]+ ms$/);
  // Every request has 64 output tokens at 20 ms per step: end to end is at least 64 × 20 ms.
  assert.ok(Number(/p50 ([\d.]+) ms/.exec(e2e)![1]) >= 1280);
});

test('batchlab simulate --engine vllm --model --hardware --concurrency prints a bench-serve table and names its step model', async () => {
  const r = await run(['simulate', '--engine', 'vllm', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--concurrency', '1,16', '--requests-per-client', '4']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  // vLLM 0.34.0's API-server defaults on an 80 GB H100 (vllm/engine/arg_utils.py:3010-3043, vllm/config/vllm.py:2398-2408).
  assert.match(lines[0], /^scheduler: vLLM 0\.34\.0 .*max_num_batched_tokens 8192, max_num_seqs 1024, .*max_cudagraph_capture_size 512$/);
  assert.match(lines[2], /first of each client excluded as warm-up from every figure/);
  // Under an engine preset and no --efficiency or --framework, the engine's own kernel tables price the steps (data/kernels ships h100_sxm/vllm).
  assert.equal(lines[1], "step model: llama-3.1-8b bf16 on 1× h100-sxm (performance model, calibrated, vllm 0.24.0 kernel tables; the scheduler preset is vllm 0.34.0's, the kernel tables 0.24.0's: kernels of one release under another's scheduler); every figure is simulated over steps priced from measured kernel tables (interpolated between their rows), an op no table holds at the hardware's sourced calibration efficiencies");
  const header = lines.findIndex((l) => l.startsWith('concurrency'));
  assert.match(lines[header], /TTFT ms mean\/median\/p99 +TPOT ms mean\/median\/p99 +ITL ms mean\/median\/p99 +E2EL ms mean\/median\/p99 +window s +drain s/);
  // 1 client × 4 requests, the first warm-up: 3 completed; 16 clients: 48.
  assert.deepEqual([lines[header + 1], lines[header + 2]].map((l) => Number(l.trim().split(/\s+/)[1])), [3, 48]);
  const json = JSON.parse((await run(['--json', 'simulate', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--concurrency', '1', '--requests-per-client', '3'])).out);
  assert.equal(json.rows[0].completed, 2);
  assert.ok(json.rows[0].meanTpotMs > 0);
});

test('batchlab simulate refuses policy flags without --policy, --engine with --policy, and --model without --hardware', async () => {
  const batch = await run(['simulate', '--max-batch', '8']);
  assert.equal(batch.code, 2);
  assert.match(batch.err, /^batchlab: --max-batch must be given with --policy/);
  const both = await run(['simulate', '--engine', 'vllm', '--policy', 'continuous']);
  assert.equal(both.code, 2);
  assert.match(both.err, /^batchlab: --engine must be left out with --policy/);
  const half = await run(['simulate', '--model', 'llama-3.1-8b']);
  assert.equal(half.code, 2);
  assert.match(half.err, /^batchlab: --hardware must be given together with --model/);
  const engine = await run(['simulate', '--engine', 'tgi']);
  assert.equal(engine.code, 2);
  assert.match(engine.err, /^batchlab: --engine must be one of/);
});

test('batchlab simulate --policy prices the catalog replica as deploy does (the default engine\'s kernel tables, the performance model with --efficiency); --efficiency spec is the datasheet bound, faster, and says so', async () => {
  const args = ['--json', 'simulate', '--policy', 'continuous', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--requests', '50', '--rate', '5'];
  const spec = await run([...args, '--efficiency', 'spec']);
  const cal = await run([...args, '--efficiency', 'calibrated']);
  const byDefault = await run(args);
  assert.equal(cal.code, 0, cal.err);
  assert.equal(spec.code, 0, spec.err);
  const a = JSON.parse(spec.out);
  const b = JSON.parse(cal.out);
  assert.equal(b.stepModel, 'llama-3.1-8b bf16 on 1× h100-sxm (performance model, calibrated)');
  assert.match(b.figuresNote, /performance model at the hardware's sourced calibration efficiencies \(not measured kernels\)$/);
  assert.equal(a.stepModel, 'llama-3.1-8b bf16 on 1× h100-sxm (performance model, spec)');
  assert.match(a.figuresNote, /datasheet-bound steps: latencies are lower bounds, throughputs upper bounds$/);
  // deploy's default: data/kernels holds h100_sxm/vllm, so a --policy run reads vLLM's tables, as deploy and the vLLM preset do.
  const d = JSON.parse(byDefault.out);
  assert.equal(d.figures, 'kernel tables');
  assert.match(d.stepModel, /^llama-3\.1-8b bf16 on 1× h100-sxm \(performance model, calibrated, vllm 0\.24\.0 kernel tables\)/);
  assert.equal(/KV (\d+) tok/.exec(d.description)![1], /KV (\d+) tok/.exec(b.description)![1]);
  // The same arrivals and lengths (seed 1); the calibrated steps take longer than their datasheet bound (h100-sxm calibration).
  assert.ok(b.e2e.p50 > a.e2e.p50, `${b.e2e.p50} vs ${a.e2e.p50}`);
  // One memory fit: the same KV capacity whichever model prices the steps.
  assert.equal(/KV (\d+) tok/.exec(b.description)![1], /KV (\d+) tok/.exec(a.description)![1]);
  const bad = await run([...args, '--efficiency', 'fast']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /--efficiency must be one of/);
  const noModel = await run(['simulate', '--efficiency', 'spec']);
  assert.match(noModel.err, /--efficiency must be left out without --model and --hardware/);
});

test('batchlab simulate --framework prices the replica from that framework\'s kernel tables where data/kernels holds the device, says so, and says where it does not', async () => {
  // data/kernels (SOURCE.json) ships h100_sxm/vllm/0.24.0; no mi300x folder.
  const a = await run(['simulate', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--framework', 'vllm', '--requests', '200']);
  assert.equal(a.code, 0, a.err);
  assert.match(a.out, /step model: llama-3\.1-8b bf16 on 1× h100-sxm \(performance model, calibrated, vllm 0\.24\.0 kernel tables; the scheduler preset is vllm 0\.34\.0's, the kernel tables 0\.24\.0's: kernels of one release under another's scheduler\)/);
  // Typed for a device the database holds no table of, --framework could price nothing: refused, naming the flag.
  const b = await run(['simulate', '--model', 'llama-3.1-8b', '--hardware', 'mi300x', '--framework', 'vllm', '--requests', '200']);
  assert.equal(b.code, 2);
  assert.match(b.err, /^batchlab: --framework must be left out for mi300x: data\/kernels holds no kernel table for it \(without --framework the performance model prices it, and says so\); got "vllm"/);
  // Without it, the default engine's tables are missing there and the label says so.
  const b2 = await run(['simulate', '--model', 'llama-3.1-8b', '--hardware', 'mi300x', '--requests', '200']);
  assert.equal(b2.code, 0, b2.err);
  assert.match(b2.out, /\(performance model, typical, no vllm kernel tables for mi300x\)/);
  const c = await run(['simulate', '--framework', 'vllm']);
  assert.equal(c.code, 2);
  assert.match(c.err, /--framework must be left out without --model and --hardware/);
  const e = await run(['simulate', '--kernel-db', 'data/kernels']);
  assert.equal(e.code, 2);
  assert.match(e.err, /--kernel-db must be left out without --model and --hardware/);
  const d = await run(['simulate', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--framework', 'tgi']);
  assert.equal(d.code, 2);
  assert.match(d.err, /--framework must be one of the frameworks data\/kernels holds: sglang, trtllm, vllm; got "tgi"/);
});

test('batchlab simulate under an engine preset reads that engine\'s kernel tables unless --efficiency or --framework says otherwise, and every output says what its figures are', async () => {
  const base = ['--json', 'simulate', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--requests', '100', '--rate', '5'];
  const vllm = JSON.parse((await run(base)).out);
  // The tables' release is in the label, and that it is not the preset's: the preset is vLLM 0.34.0's
  // scheduler (lib/batching/engines.ts), the kernels vLLM 0.24.0's (data/kernels/SOURCE.json).
  assert.equal(vllm.stepModel, "llama-3.1-8b bf16 on 1× h100-sxm (performance model, calibrated, vllm 0.24.0 kernel tables; the scheduler preset is vllm 0.34.0's, the kernel tables 0.24.0's: kernels of one release under another's scheduler)");
  assert.match(vllm.figuresNote, /measured kernel tables/);
  assert.equal(vllm.figures, 'kernel tables');
  // The same run as --framework vllm typed out: the default is that flag, nothing else.
  assert.deepEqual(JSON.parse((await run([...base, '--framework', 'vllm'])).out), vllm);
  const trt = JSON.parse((await run([...base, '--engine', 'trtllm'])).out);
  // TensorRT-LLM's preset is stamped by commits, not by a release number: no release to compare.
  assert.equal(trt.stepModel, 'llama-3.1-8b bf16 on 1× h100-sxm (performance model, calibrated, trtllm 1.3.0rc20 kernel tables)');
  // --efficiency alone keeps the tables out: the spec bound is a bound, not vLLM's kernels.
  const bound = JSON.parse((await run([...base, '--efficiency', 'spec'])).out);
  assert.equal(bound.stepModel, 'llama-3.1-8b bf16 on 1× h100-sxm (performance model, spec)');
  assert.match(bound.figuresNote, /lower bounds/);
  assert.equal(bound.figures, 'bound');
  // The bound is faster than vLLM's measured kernels: same arrivals and lengths (seed 1).
  assert.ok(bound.e2e.p50 < vllm.e2e.p50, `${bound.e2e.p50} vs ${vllm.e2e.p50}`);
  // A device the tables lack: the performance model, and the figures say which (data/kernels has no mi300x folder).
  const amd = JSON.parse((await run(['--json', 'simulate', '--model', 'llama-3.1-8b', '--hardware', 'mi300x', '--requests', '100', '--rate', '5'])).out);
  assert.match(amd.stepModel, /\(performance model, typical, no vllm kernel tables for mi300x\)$/);
  assert.match(amd.figuresNote, /performance model at typical efficiencies \(not measured kernels\)$/);
  // --efficiency spec with --framework: the tables price what they hold, so the figures are not called bounds.
  const mixed = JSON.parse((await run([...base, '--efficiency', 'spec', '--framework', 'vllm'])).out);
  assert.equal(mixed.stepModel, "llama-3.1-8b bf16 on 1× h100-sxm (performance model, spec, vllm 0.24.0 kernel tables; the scheduler preset is vllm 0.34.0's, the kernel tables 0.24.0's: kernels of one release under another's scheduler)");
  assert.match(mixed.figuresNote, /measured kernel tables \(interpolated between their rows\), an op no table holds at the datasheet bound$/);
  assert.ok(mixed.e2e.p50 > bound.e2e.p50, `${mixed.e2e.p50} vs ${bound.e2e.p50}`);
  // The database holds tables for a100-80gb, but only TensorRT-LLM's (data/kernels/SOURCE.json): the default vLLM preset is
  // priced by the performance model there and says so; a typed --framework vllm is still refused, naming the flag.
  const a100 = await run(['--json', 'simulate', '--model', 'llama-3.1-8b', '--hardware', 'a100-80gb', '--requests', '100', '--rate', '5']);
  assert.equal(a100.code, 0, a100.err);
  assert.match(JSON.parse(a100.out).stepModel, /\(performance model, calibrated, no vllm kernel tables for a100-80gb\)$|\(performance model, typical, no vllm kernel tables for a100-80gb\)$/);
  assert.match(JSON.parse(a100.out).figuresNote, /not measured kernels/);
  assert.equal(JSON.parse(a100.out).figures, 'typical');
  const typed = await run(['simulate', '--model', 'llama-3.1-8b', '--hardware', 'a100-80gb', '--framework', 'vllm', '--requests', '10']);
  assert.equal(typed.code, 2);
  assert.match(typed.err, /^batchlab: --framework must be one the kernel database holds for a100-80gb/);
  const constant = JSON.parse((await run(['--json', 'simulate', '--requests', '20'])).out);
  assert.match(constant.figuresNote, /constant --step-ms \(given, not measured\)$/);
});

test('batchlab simulate --concurrency: X_max is the table\'s highest steady-state throughput, a curve still rising at its largest concurrency says N* is a lower bound, and a repeated count is refused', async () => {
  // Two requests per client, the first warm-up: the whole run's throughput (warm-up round included) is not what the table reports.
  const j = JSON.parse((await run(['--json', 'simulate', '--concurrency', '1,4,64', '--requests-per-client', '2'])).out);
  assert.equal(j.maxThroughputRps, Math.max(...j.rows.map((r: { requestThroughput: number }) => r.requestThroughput)));
  assert.equal(j.maxThroughputClients, 64);
  assert.match(j.saturation, /at N = 64, the largest swept: the curve may still be rising; × R\(1\) \+ Z, one client's cycle\).*; X_max and N\* are lower bounds/);
  assert.equal(j.saturationClientsKind, 'lower bound');
  assert.ok(j.saturationClients > 0);
  // No run at one client and throughput still rising at the largest N (a constant 20 ms step, the vLLM preset's batch
  // limit far above 8): R(1) + Z is an upper bound, X_max a lower one, so N* bounds nothing and says so.
  const text = await run(['simulate', '--concurrency', '2,8', '--requests-per-client', '3']);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /R\(1\) \+ Z ≤ N \/ X at N = 2 \(no run at one client\)/);
  assert.match(text.out, /saturation: not located by this sweep: .*gives no bound on N\*/);
  assert.doesNotMatch(text.out, /N\* = /, 'no figure for a product of a lower and an upper bound');
  const sj = JSON.parse((await run(['--json', 'simulate', '--concurrency', '2,8', '--requests-per-client', '3'])).out);
  assert.match(sj.saturation, /^saturation: not located by this sweep/);
  // --json gives no N* where the text gives none (it printed 99.99999999999999 beside "not located").
  assert.equal(sj.saturationClients, null);
  assert.equal(sj.saturationClientsKind, null);
  const twice = await run(['simulate', '--concurrency', '8,8,1']);
  assert.equal(twice.code, 2);
  assert.equal(twice.err, 'batchlab: --concurrency[1] must be a client count the list does not already hold (each is one run); got 8');
  // Too many requests in all names the two flags that make them (it said "requests must be …").
  const many = await run(['simulate', '--concurrency', '10000', '--requests-per-client', '1000']);
  assert.equal(many.code, 2);
  assert.equal(many.err, 'batchlab: --concurrency × --requests-per-client must be an integer in [1, 5000000]; got 10000000');
  // A dtype the device has no peak for names --dtype (it said "dtype must …").
  const fp4 = await run(['roofline', '--dtype', 'nvfp4', '--hardware', 'h100-sxm']);
  assert.equal(fp4.code, 2);
  assert.ok(fp4.err.startsWith('batchlab: --dtype must be one of '), fp4.err);
});

test('batchlab simulate refuses a flag the chosen run would ignore, naming it', async () => {
  for (const [args, message] of [
    [['--policy', 'continuous', '--window-ms', '500'], /^batchlab: --window-ms must be left out with --policy continuous/],
    [['--policy', 'window', '--token-budget', '1'], /^batchlab: --token-budget must be left out with --policy window/],
    [['--requests-per-client', '9'], /^batchlab: --requests-per-client must be given with --concurrency/],
    [['--rate', 'abc'], /^batchlab: --rate must be a number in \[0\.000001, 1000000000\]; got "abc"$/],
    [['--model', 'llama-3.1-8b'], /^batchlab: --hardware must be given together with --model \(a catalog replica needs both\)$/],
    [['--model', 'llama-3.1-405b', '--hardware', 'h100-sxm'], /^batchlab: --tp must be an integer large enough for llama-3\.1-405b's weights and a KV cache on h100-sxm; got 1 \(/],
    [['--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '3'], /^batchlab: --tp must be a divisor of the 32 attention heads/],
    // Llama 3.1's config.json: max_position_embeddings 131072 (data/models/llama-3.1-8b.json).
    [['--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--prompt', '131009'], /^batchlab: --prompt must be small enough that --prompt \+ --output 64 \(131,073 tokens\) is at most llama-3\.1-8b's context of 131,072 tokens/],
  ] as Array<[string[], RegExp]>) {
    const r = await run(['simulate', ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, message, args.join(' '));
  }
});

test('batchlab simulate --json and deploy --simulate --json name their latency unit, and the numbers are the text output\'s milliseconds in seconds', async () => {
  const args = ['simulate', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--requests', '50', '--rate', '5'];
  const text = await run(args);
  const json = JSON.parse((await run(['--json', ...args])).out);
  assert.equal(json.latencyUnit, 'seconds');
  const ms = Number(/time to first token: p50 ([\d.]+) ms/.exec(text.out)![1]);
  assert.ok(Math.abs(json.ttft.p50 * 1e3 - ms) <= 0.05, `${json.ttft.p50} s against ${ms} ms`);
  const dargs = ['deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--simulate', '--rate', '4', '--requests', '50'];
  const dtext = await run(dargs);
  const d = JSON.parse((await run([...dargs, '--json'])).out).simulated;
  assert.equal(d.latencyUnit, 'seconds');
  const dms = Number(/simulated \(.*\): TTFT p50 ([\d.,]+) ms/.exec(dtext.out)![1].replace(/,/g, ''));
  assert.ok(Math.abs(d.ttftP50 * 1e3 - dms) / dms < 0.01, `${d.ttftP50} s against ${dms} ms`);
});

test('batchlab simulate says when an open-loop run did not keep up with its arrivals (its TTFT grows with --requests)', async () => {
  // The default replica takes a constant 20 ms a step, 64 output tokens each, batch ≤ 256 at the
  // default preset: at most about 256 / (64 × 0.02 s) = 200 req/s. 1,000 req/s cannot be served.
  const over = await run(['simulate', '--rate', '1000', '--requests', '4000']);
  assert.equal(over.code, 0, over.err);
  const m = /not a steady state: from [\d.]+ s to the last arrival at [\d.]+ s, ([\d,]+) requests arrived and ([\d,]+) finished \(([\d.]+) of ([\d.]+) req\/s\), and the median end-to-end latency rose from [\d.]+ s \(second quarter of arrivals\) to [\d.]+ s \(last quarter\): the queue grew.*; lower --rate, or add replicas$/m.exec(over.out);
  assert.ok(m, over.out);
  assert.ok(Number(m[3]) < 0.9 * Number(m[4]));
  const j = JSON.parse((await run(['--json', 'simulate', '--rate', '1000', '--requests', '4000'])).out);
  assert.equal(j.backlog.growing, true);
  assert.ok(j.backlog.servedPerSecond <= 210, `${j.backlog.servedPerSecond}`);
  assert.ok(j.backlog.e2eLastQuarter >= 1.5 * j.backlog.e2eSecondQuarter);
  // Far below that, no warning, whatever the seed: short runs whose window holds requests still
  // in flight (20 requests of 1.3 s at 10 req/s; 20 s outputs at 20 req/s), and 2 req/s.
  for (const args of [['--rate', '10', '--requests', '20'], ['--policy', 'continuous', '--max-batch', '1024', '--rate', '20', '--output', '1000'], ...[1, 2, 3, 4, 5, 6, 7].map((seed) => ['--rate', '2', '--requests', '40', '--seed', String(seed)])]) {
    const calm = await run(['simulate', ...args]);
    assert.equal(calm.code, 0, calm.err);
    assert.doesNotMatch(calm.out, /not a steady state/, args.join(' '));
  }
  assert.equal(JSON.parse((await run(['--json', 'simulate', '--rate', '2', '--requests', '40'])).out).backlog.growing, false);
  // A trace that offers 1,000 req/s: the advice names the trace, not --rate (which --trace refuses).
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-over-'));
  try {
    const path = join(dir, 'over.csv');
    writeFileSync(path, `timestamp,prompt_tokens,output_tokens\n${Array.from({ length: 4000 }, (_, i) => `${(i / 1000).toFixed(3)},256,64`).join('\n')}\n`);
    const t = await run(['simulate', '--trace', path]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /the queue grew.*; the trace offers more than this replica serves \(add replicas\)$/m);
    assert.doesNotMatch(t.out, /--rate/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batchlab simulate takes an HF config.json, a hardware file and --precision, as deploy and search do', async () => {
  // DeepSeek-V3 in bf16 (1.34 TB of weights) cannot sit on 8 H200s; in FP8 it can, and simulate now runs it.
  const bf16 = await run(['simulate', '--model', 'deepseek-v3', '--hardware', 'h200', '--tp', '8', '--concurrency', '1']);
  assert.equal(bf16.code, 2);
  assert.match(bf16.err, /--tp must be an integer large enough for deepseek-v3's weights/);
  const fp8 = await run(['--json', 'simulate', '--model', 'deepseek-v3', '--hardware', 'h200', '--tp', '8', '--precision', 'fp8', '--concurrency', '1']);
  assert.equal(fp8.code, 0, fp8.err);
  assert.match(JSON.parse(fp8.out).stepModel, /deepseek-v3 fp8 on 8× h200/);
  // The example config.json of data/examples (Qwen2.5-7B), and the catalog's h100-sxm as a file.
  const own = await run(['simulate', '--model', 'data/examples/models/qwen2.5-7b/config.json', '--hardware', 'data/hardware/h100-sxm.json', '--concurrency', '1']);
  assert.equal(own.code, 0, own.err);
  assert.match(own.out, /step model: Qwen\/Qwen2\.5-7B-Instruct bf16 on 1× h100-sxm/);
  const lone = await run(['simulate', '--precision', 'fp8']);
  assert.equal(lone.code, 2);
  assert.match(lone.err, /^batchlab: --precision must be left out without --model and --hardware; got "fp8"/);
  const bad = await run(['simulate', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--precision', 'fp6']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^batchlab: --precision must be one of/);
});

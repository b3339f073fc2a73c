import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { runBatchlabCli } from '../../bin/cli.js';

const root = resolve(import.meta.dirname, '../..');
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBatchlabCli(args, { out: (s) => out.push(s), err: (s) => err.push(s), progress: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('batchlab deploy --deepseek-day --json: the published arithmetic and one row per figure', async () => {
  const r = await run(['deploy', '--deepseek-day', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.arithmetic.dailyCostUsd, 87072);
  assert.equal(j.rows.length, 6);
});

test('batchlab deploy: a deployment priced; --local on a setup; bad flags exit 2 naming the field', async () => {
  const a = await run(['deploy', '--model', 'llama-3.1-70b', '--hardware', 'h100-sxm', '--tp', '4', '--batch', '32', '--json']);
  assert.equal(a.code, 0, a.err);
  const j = JSON.parse(a.out);
  // $ per million output tokens = $2.99 / 3600 / (tokens/s per device) × 1e6 (h100-sxm catalog price).
  assert.ok(Math.abs(j.usdPerMillionOutput - (2.99 / 3600 / j.decode.tokensPerSecondPerDevice) * 1e6) < 1e-9);
  const b = await run(['deploy', '--local', 'mac-studio-m3-ultra', '--model', 'deepseek-v3', '--bits', '4.8', '--context', '2048', '--batch', '1']);
  assert.equal(b.code, 0, b.err);
  assert.match(b.out, /tok\/s per user/);
  const c = await run(['deploy', '--tp', '0']);
  assert.equal(c.code, 2);
  assert.match(c.err, /^batchlab: --tp must be an integer in \[1, 1024\]; got 0$/);
  const d = await run(['deploy', '--model', 'deepseek-v3', '--hardware', 'h800', '--dp', '144', '--ep', '144', '--precision', 'fp8,bf16,fp8,bf16', '--batch', '64', '--simulate', '--rate', '0', '--json']);
  assert.equal(d.code, 2);
  assert.match(d.err, /^batchlab: --rate must be a number in \(0, 1000000\]; got "0"$/);
});

test('batchlab search --spec --brute-force --json: the optimum agrees with brute force', async () => {
  const r = await run(['search', '--spec', join(root, 'docs', 'search-spec.example.json'), '--brute-force', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.agrees, true);
  assert.ok(j.best.tpotSeconds <= 0.04 && j.best.ttftSeconds <= 1);
  const bad = await run(['search', '--spec', join(root, 'no-such.json')]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--spec/);
});

// One line on stderr, exit code 2, nothing on stdout: the shape of every flag refusal.
function refused(r: { code: number; out: string; err: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, r.out);
  assert.equal(r.err.split('\n').length, 1, r.err);
  assert.match(r.err, pattern);
}

test('batchlab deploy --cache-hit outside [0, 1) is refused naming the flag (1.5 used to price input at $0.0000758/M)', async () => {
  for (const v of ['1.5', '-0.5', '1', 'abc']) {
    const r = await run(['deploy', '--cache-hit', v]);
    refused(r, /^batchlab: --cache-hit must be a number in \[0, 1\); got "/);
    assert.equal(r.out, '');
  }
  // Inside the range, the hits are counted in the input rate: (uncached + cached) / uncached × the computed rate.
  const ok = await run(['deploy', '--cache-hit', '0.5', '--json']);
  assert.equal(ok.code, 0, ok.err);
  const p = JSON.parse(ok.out).prefill;
  assert.equal(p.cachedTokens, 1024);
  assert.equal(p.promptTokens, 1024);
  assert.ok(Math.abs(p.inputTokensPerSecondPerDevice - 2 * p.computedTokensPerSecondPerDevice) < 1e-9 * p.inputTokensPerSecondPerDevice);
});

test('batchlab deploy --prompt-mix: prompts shaped like a shipped trace at the same means price prefill lower; an unknown mix or an unreachable hit rate names its flag', async () => {
  const alike = JSON.parse((await run(['deploy', '--cache-hit', '0.5', '--json'])).out).prefill;
  const r = await run(['deploy', '--cache-hit', '0.5', '--prompt-mix', 'mooncake-conversation-prompts', '--json']);
  assert.equal(r.code, 0, r.err);
  const mixed = JSON.parse(r.out).prefill;
  // Same means (2,048-token prompts, half cached), longer cached prefixes for some: more attention per computed token.
  assert.ok(Math.abs(mixed.promptTokens - 1024) < 1e-6 && Math.abs(mixed.cachedTokens - 1024) < 1e-6);
  assert.ok(mixed.inputTokensPerSecondPerDevice < alike.inputTokensPerSecondPerDevice);
  // The output says the mix was applied (it changed the prefill figures without a word).
  assert.deepEqual(JSON.parse(r.out).promptMix, { name: 'mooncake-conversation-prompts', meanPromptTokens: 2048, cacheHitFraction: 0.5 });
  assert.match((await run(['deploy', '--cache-hit', '0.5', '--prompt-mix', 'mooncake-conversation-prompts'])).out, /prefill: .*prompts spread as the mooncake-conversation-prompts mix \(data\/traces\), scaled to a mean of 2,048 tokens\)/);
  // Tiny prompts: at least one token is computed per prompt, as without a mix.
  const tiny = await run(['deploy', '--prompt', '2', '--cache-hit', '0.6', '--prompt-mix', 'mooncake-conversation-prompts', '--json']);
  assert.equal(tiny.code, 0, tiny.err);
  assert.equal(JSON.parse(tiny.out).prefill.promptTokens, 1);
  refused(await run(['deploy', '--prompt-mix', 'nope']), /^batchlab: --prompt-mix must be a prompt mix under data\/traces: mooncake-conversation-prompts; got "nope"$/);
});

test('batchlab deploy --drafts: negatives are refused like values above 16', async () => {
  for (const v of ['-1', '17', '1.5']) refused(await run(['deploy', '--drafts', v]), /^batchlab: --drafts must be an integer in \[0, 16\]; got /);
  const ok = await run(['deploy', '--drafts', '2', '--acceptance', '0.5', '--json']);
  assert.equal(ok.code, 0, ok.err);
  // Expected tokens per step with 2 drafts at acceptance 0.5: 1 + 0.5 + 0.25 = 1.75.
  assert.ok(Math.abs(JSON.parse(ok.out).decode.tokensPerStep - 1.75) < 1e-12);
});

test('batchlab deploy: the defaults fit in memory, and --help states them truthfully', async () => {
  const r = await run(['deploy', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.fits, true);
  const m = j.decode.memory;
  assert.ok(m.fits && m.needBytes <= m.capacityBytes);
  // Llama-3.1-70B KV per token: 80 layers × 8 KV heads × 128 dims × (K, V) × 2 bytes = 327,680 B;
  // tp 4 splits the 8 heads four ways; 64 sequences × 2048 tokens.
  assert.equal(m.kvBytes, (64 * 2048 * 327_680) / 4);
  const help = await run(['deploy', '--help']);
  assert.equal(help.code, 0);
  const text = help.out.replace(/\s+/g, ' ');
  assert.match(text, /--tp <n> tensor parallelism \(default: "4"\)/);
  assert.match(text, new RegExp(`${Math.round(m.weightBytes / 1e9)} GB of weights and ${Math.round(m.kvBytes / 1e9)} GB of KV cache per ${Math.round(m.capacityBytes / 2 ** 30)} GiB \\(${(m.capacityBytes / 1e9).toFixed(1)} GB\\) device`));
  const plain = await run(['deploy']);
  assert.match(plain.out, /\(fits\)/);
  assert.doesNotMatch(plain.out, /does not fit/);
});

test('batchlab deploy refuses a layout or batch that does not fit, with the shortfall (it used to price them)', async () => {
  // Weights alone: 141.1 GB of bf16 weights on one 80 GiB H100 (catalog capacity 80 · 2^30 B = 85.9 GB); short by
  // 141.1 + 42.9 (KV) + 0.02 (activations) − 85.9 = 98.2 GB.
  const w = await run(['deploy', '--tp', '1', '--json']);
  refused(w, /^batchlab: --tp\/--pp\/--ep\/--precision must be a layout whose weights and one sequence fit in 85\.9 GB per device .*short by 98\.2 GB\)$/);
  const j = JSON.parse(w.out);
  assert.equal(j.fits, false);
  assert.match(j.reason, /^the weights alone do not fit in memory/);
  // KV: 64 × 2048 tokens × 327,680 B = 42,949,672,960 B; shortfall = weights + KV + activations − capacity
  // (memoryFit, the one fit; this used to leave the activations out, a second assumption).
  // Activations: 64 tokens × (2 × 8,192 hidden + 128,256 vocab) × 2 B (the widest op, data/models/llama-3.1-70b.json).
  assert.equal(j.memory.kvBytes, 42_949_672_960);
  assert.equal(j.memory.activationBytes, 64 * (2 * 8192 + 128_256) * 2);
  assert.equal(j.memory.shortfallBytes, j.memory.weightBytes + 42_949_672_960 + j.memory.activationBytes - 80 * 2 ** 30);
  assert.doesNotMatch(w.out, /usdPerMillion/);
  // Batch: the refusal gives the largest --batch that fits; it fits and one more does not.
  const b = await run(['deploy', '--model', 'llama-3.2-1b', '--tp', '1', '--batch', '65536']);
  refused(b, /^batchlab: --batch must be an integer in \[1, (\d+)\] for this layout and --context 2048 .*short by [\d,.]+ GB\)$/);
  const most = Number(/\[1, (\d+)\]/.exec(b.err)![1]);
  assert.ok(most > 1 && most < 65536);
  assert.equal((await run(['deploy', '--model', 'llama-3.2-1b', '--tp', '1', '--batch', String(most)])).code, 0);
  refused(await run(['deploy', '--model', 'llama-3.2-1b', '--tp', '1', '--batch', String(most + 1)]), /--batch must be an integer in \[1, /);
});

test('batchlab deploy errors name the flag the user typed and its range', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['deploy', '--batch', '0'], /^batchlab: --batch must be an integer in \[1, 65536\]; got 0$/],
    [['deploy', '--local', 'rtx-4090-desktop', '--model', 'deepseek-v3', '--bits', '0'], /^batchlab: --bits must be a number in \(0, 32\]; got "0"$/],
    [['deploy', '--prefill-tokens', '0'], /^batchlab: --prefill-tokens must be an integer in \[1, 16777216\]; got 0$/],
    [['deploy', '--simulate'], /^batchlab: --rate must be given with --simulate/],
    [['deploy', '--model', 'deepseek-v3', '--ep', '3'], /^batchlab: --ep must be 1 or --tp × --dp = 4 /],
    [['deploy', '--pp', '81'], /^batchlab: --pp must be an integer in \[1, 80\]; got 81$/],
    // 8192 prefill tokens per step hold the uncached part of a prompt of at most 8192 / (1 − 0.5) = 16,384 tokens.
    [['deploy', '--prompt', '16385', '--cache-hit', '0.5'], /^batchlab: --prompt must be an integer in \[1, 16384\]/],
  ];
  for (const [args, pattern] of cases) refused(await run(args), pattern);
});

test('batchlab deploy refuses a prefill step whose prompts\' KV caches cannot fit, with the most that do (it printed "fits" for a million prefill tokens)', async () => {
  // Llama-3.1-8B on one H100: 1,000,000 prefill tokens are 488 prompts of 2,048 tokens, about 128 GiB of bf16 KV cache.
  const big = await run(['deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--prefill-tokens', '1000000']);
  refused(big, /^batchlab: --prefill-tokens must be at most about ([\d,]+): its 488 prompts of 2,048 tokens need [\d.]+ GB per device, of 85\.9 GB, and (\d+) fit; got 1000000$/);
  const most = Number(/at most about ([\d,]+)/.exec(big.err)![1].replace(/,/g, ''));
  assert.equal((await run(['deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--prefill-tokens', String(most)])).code, 0);
});

test('batchlab deploy names the flag the user typed when a prompt does not fit in one prefill step', async () => {
  // --prompt defaults to 2,048 tokens, none cached: a typed --prefill-tokens 1 is the flag to change.
  const step = await run(['deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--prefill-tokens', '1']);
  refused(step, /^batchlab: --prefill-tokens must be an integer in \[2048, 16777216\]: one prefill step holds a whole prompt's uncached tokens, 2048 of --prompt 2048 \(its default\) after --cache-hit 0; or lower --prompt; got 1$/);
  // A typed --prompt is the one blamed, with the longest that fits (half cached: 200 uncached of 400).
  const prompt = await run(['deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--prompt', '4000', '--cache-hit', '0.5', '--prefill-tokens', '200']);
  refused(prompt, /^batchlab: --prompt must be an integer in \[1, 400\]: its uncached tokens after --cache-hit 0\.5 must fit in one prefill step of --prefill-tokens 200; got 4000 \(2000 uncached\)$/);
});

test('batchlab deploy --deepseek-day prints the margin in percent and dollars with a $ throughout', async () => {
  const r = await run(['deploy', '--deepseek-day']);
  assert.equal(r.code, 0, r.err);
  // DeepSeek's published day (Feb 2025): $87,072 per day, 545 % cost-profit margin.
  assert.match(r.out, /margin 545 %/);
  assert.match(r.out, /cost-profit margin at R1 prices: published 545 %, predicted \d+ %/);
  // One money formatter: two decimals on every dollar figure.
  assert.match(r.out, /daily cost: published \$87,072\.00, predicted \$[\d,]+\.\d\d /);
  assert.doesNotMatch(r.out, /published 5\.45/);
});

test('batchlab deploy --eplb --simulate --engine: the simulated replica is priced under the EPLB it states, as the printed figures are', async () => {
  const args = ['deploy', '--model', 'deepseek-v3', '--hardware', 'h200', '--tp', '1', '--dp', '8', '--ep', '8', '--batch', '16', '--precision', 'fp8', '--simulate', '--rate', '2', '--requests', '20', '--engine', 'sglang', '--json'];
  const plain = await run(args);
  const eplb = await run([...args, '--eplb']);
  assert.equal(plain.code, 0, plain.err);
  assert.equal(eplb.code, 0, eplb.err);
  const [p, e] = [JSON.parse(plain.out), JSON.parse(eplb.out)];
  // The placement model's factor is above 1 at any finite batch (uniformRoutingLoadFactor), so the busiest expert
  // device is slower under EPLB than the uniform rows at the layer's own tokens. Without EPLB the
  // tables price the power-law routing rows, so a step may go either way; each figure changes.
  assert.notEqual(e.decode.tpotSeconds, p.decode.tpotSeconds);
  assert.notEqual(e.prefill.ttftSeconds, p.prefill.ttftSeconds);
  // The engine preset's replica is another step model (its memory rule): it must carry --eplb too,
  // so its simulated TTFT moves the way the printed prefill step does.
  assert.equal(Math.sign(e.simulated.ttftP50 - p.simulated.ttftP50), Math.sign(e.prefill.ttftSeconds - p.prefill.ttftSeconds), `${e.simulated.ttftP50} against ${p.simulated.ttftP50}`);
});

test('batchlab deploy --eplb without kernel tables says which load factor priced decode and prefill, and where it comes from', async () => {
  const { uniformRoutingLoadFactor } = await import('../../lib/roofline/routing.js');
  const { loadModel } = await import('../../lib/models/spec.js');
  const args = ['deploy', '--model', 'deepseek-v3', '--hardware', 'h200', '--tp', '1', '--dp', '32', '--ep', '32', '--redundant', '32', '--eplb', '--batch', '64', '--prefill-tokens', '4096', '--prompt', '2048', '--precision', 'fp8'];
  const r = await run(args);
  assert.equal(r.code, 0, r.err);
  // Each step's tokens over the 32 ranks: 64 sequences each in decode, 4,096 prompt tokens each in prefill;
  // the placement model's default sample (seed 1, 5 steps) at those tokens.
  const ds = loadModel('deepseek-v3');
  const decode = uniformRoutingLoadFactor(ds, { expertParallel: 32, redundantExperts: 32 }, 64 * 32, 1, 5);
  const prefill = uniformRoutingLoadFactor(ds, { expertParallel: 32, redundantExperts: 32 }, 4096 * 32, 1, 5);
  assert.ok(r.out.includes(`decode EPLB: expert load factor ${decode.toFixed(4)}, the busiest device over the mean from batchlab's placement model (uniformRoutingLoadFactor: uniform top-8 routing of 2048 tokens over 32 devices with 32 redundant experts, seed 1, 5 steps, sampled at 2048 tokens)`), r.out);
  assert.ok(r.out.includes('extrapolated from a sample of 65536 tokens as 1/√tokens'), r.out);
  assert.ok(r.out.includes(`prefill EPLB: expert load factor ${prefill.toFixed(4)}, `), r.out);
  const j = JSON.parse((await run([...args, '--json'])).out);
  assert.equal(j.decode.step.expertLoad.factor, decode);
  assert.equal(j.decode.step.expertLoad.tokens, 64 * 32);
  // Without --eplb (and so without its copies) nothing is said of EPLB.
  const plain = await run(args.filter((a) => a !== '--eplb').filter((a, i, all) => a !== '--redundant' && all[i - 1] !== '--redundant'));
  assert.doesNotMatch(plain.out, /EPLB/);
});

test('batchlab deploy refuses a typed flag its mode would ignore, naming the flag and the mode that reads it', async () => {
  for (const [args, message] of [
    [['--rate', '5'], /^batchlab: --rate must be given with --simulate \(it sets up the serving simulation\); got "5"$/],
    [['--requests', '5'], /^batchlab: --requests must be given with --simulate/],
    [['--seed', '3'], /^batchlab: --seed must be given with --simulate/],
    [['--engine', 'vllm'], /^batchlab: --engine must be given with --simulate/],
    [['--memory', '100'], /^batchlab: --memory must be given with --local or --setup/],
    [['--bits', '4'], /^batchlab: --bits must be given with --local or --setup/],
    [['--bound'], /^batchlab: --bound must be given with --local or --setup/],
    [['--deepseek-day', '--tp', '2'], /^batchlab: --tp must be left out with --deepseek-day/],
    [['--deepseek-day', '--model', 'llama-3.1-8b'], /^batchlab: --model must be left out with --deepseek-day/],
    [['--local', 'rtx-4090-desktop', '--tp', '8'], /^batchlab: --tp must be left out with --local \(a local setup reads only /],
    [['--local', 'rtx-4090-desktop', '--hardware', 'h200'], /^batchlab: --hardware must be left out with --local/],
    [['--simulate'], /^batchlab: --rate must be given with --simulate: requests per second per rank, a number in \(0, 1000000\]$/],
    [['--acceptance', '0.5'], /^batchlab: --acceptance must be given with --drafts of 1 or more/],
    // Llama 2's config.json: max_position_embeddings 4096 (data/models/llama-2-7b.json).
    [['--model', 'llama-2-7b', '--tp', '1', '--context', '4097'], /^batchlab: --context must be small enough that --context \(4,097 tokens\) is at most llama-2-7b's context of 4,096 tokens/],
    [['--model', 'llama-2-7b', '--tp', '1', '--prompt', '3841'], /^batchlab: --prompt must be small enough that --prompt \+ --output 256 \(4,097 tokens\)/],
    [['--drafts', '0', '--acceptance', '0.5'], /^batchlab: --acceptance must be given with --drafts of 1 or more/],
    [['--local', 'rtx-4090-desktop', '--kv-cache', 'fp8'], /^batchlab: --kv-cache must be left out with --local/],
  ] as Array<[string[], RegExp]>) {
    const r = await run(['deploy', ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, message, args.join(' '));
  }
  // What a mode reads still passes: a local setup's own overrides, and the simulator's flags with --simulate.
  assert.equal((await run(['deploy', '--local', 'rtx-4090-desktop', '--memory', '20', '--bits', '4'])).code, 0);
  assert.equal((await run(['deploy', '--model', 'llama-3.1-8b', '--tp', '1', '--drafts', '1', '--acceptance', '0.5'])).code, 0);
  assert.equal((await run(['deploy', '--model', 'llama-2-7b', '--tp', '1', '--batch', '8', '--context', '4096', '--prompt', '3840'])).code, 0);
  assert.equal((await run(['deploy', '--model', 'llama-3.1-8b', '--tp', '1', '--simulate', '--rate', '2', '--requests', '50', '--seed', '3', '--engine', 'vllm'])).code, 0);
});

test('batchlab deploy --simulate at a rate the rank cannot serve says the queue grew (its percentiles grow with --requests), as simulate does', async () => {
  // Llama-3.1-70B TP4 on H100 at batch 64 serves about 4.5 req/s of 2,048 + 256 tokens; 10 are offered.
  const r = await run(['deploy', '--simulate', '--rate', '10', '--requests', '2000']);
  assert.equal(r.code, 0);
  assert.match(r.out, /\n {2}not a steady state: .* requests arrived and .* finished .*the queue grew.*lower --rate/);
  const light = await run(['deploy', '--simulate', '--rate', '1', '--requests', '400']);
  assert.doesNotMatch(light.out, /not a steady state/);
});

test('batchlab deploy prices from the default engine\'s kernel tables, agreeing with simulate; where no table prices it, it says which measured tables hold the device (the two models differed 3× with no word)', async () => {
  const args = ['deploy', '--model', 'llama-3.1-70b', '--hardware', 'h200', '--tp', '8', '--batch', '1'];
  // Without --framework, vllm's tables price the step (data/kernels holds h200_sxm/vllm), as simulate's default engine does:
  // one sequence's TPOT is simulate's ITL at concurrency 1 (the same step, 300 tokens of context against simulate's 256 + 64).
  const byDefault = JSON.parse((await run(['--json', ...args, '--context', '300'])).out);
  assert.equal(byDefault.figures, 'kernel tables');
  assert.equal(byDefault.kernelTablesHeld, undefined);
  const sim = JSON.parse((await run(['--json', 'simulate', '--model', 'llama-3.1-70b', '--hardware', 'h200', '--tp', '8', '--concurrency', '1'])).out);
  assert.equal(sim.figures, 'kernel tables');
  const itl: number = sim.rows[0].itlP50;
  assert.ok(Math.abs(itl - byDefault.decode.tpotSeconds) <= 0.02 * itl, `${itl} vs ${byDefault.decode.tpotSeconds}`);
  // With --efficiency the performance model prices it: data/kernels (SOURCE.json) holds h200_sxm under sglang, trtllm and vllm, and deploy says so.
  const text = await run([...args, '--efficiency', 'calibrated']);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /measured kernel tables in data\/kernels hold h200 \(sglang, trtllm, vllm\): --framework <name> prices this step from them/);
  assert.deepEqual(JSON.parse((await run(['--json', ...args, '--efficiency', 'calibrated'])).out).kernelTablesHeld, ['sglang', 'trtllm', 'vllm']);
  // a100-80gb holds TensorRT-LLM's tables only: the default falls back to the model, names the missing vllm tables, and points at trtllm's.
  const a100 = await run(['deploy', '--model', 'llama-3.1-8b', '--hardware', 'a100-80gb', '--tp', '1']);
  assert.match(a100.out, /no vllm kernel tables for a100-80gb/);
  assert.match(a100.out, /measured kernel tables in data\/kernels hold a100-80gb \(trtllm\)/);
  // Priced from tables already, or on a device they do not hold (no mi300x folder): nothing to say.
  assert.equal(JSON.parse((await run(['--json', ...args, '--framework', 'trtllm'])).out).kernelTablesHeld, undefined);
  const amd = await run(['deploy', '--model', 'llama-3.1-8b', '--hardware', 'mi300x', '--tp', '1']);
  assert.doesNotMatch(amd.out, /measured kernel tables/);
});

test('batchlab deploy --kernel-db: the tables it points at the device to are those of that database, not the shipped one', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { writeKernelTable } = await import('../../lib/kernels/write.js');
  const root = mkdtempSync(join(tmpdir(), 'batchlab-kdb-h200-'));
  try {
    // A database holding h200_sxm only: h100-sxm falls back to the model, and the shipped tables it holds are not offered.
    writeKernelTable(root, { device: 'h200_sxm', framework: 'vllm', version: '1', op: 'gemm' }, [{ dtype: 'bf16', m: 1, n: 8192, k: 8192, time_us: 30 }]);
    // --framework typed for a device that database holds no table of: refused, naming the database (it was accepted, and the hint named the shipped tables).
    const h100 = await run(['deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--framework', 'vllm', '--kernel-db', root]);
    assert.equal(h100.code, 2);
    assert.match(h100.err, new RegExp(`--framework must be left out for h100-sxm: ${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} holds no kernel table for it`));
    // Another framework's tables there: refused naming them (kernelPricer).
    writeKernelTable(root, { device: 'h100_sxm', framework: 'mine', version: '1', op: 'gemm' }, [{ dtype: 'bf16', m: 1, n: 4096, k: 4096, time_us: 10 }]);
    const other = await run(['deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--framework', 'vllm', '--kernel-db', root]);
    assert.equal(other.code, 2);
    assert.match(other.err, /--framework must be one the kernel database holds for h100-sxm: mine 1; got "vllm"/);
    // With --efficiency, that database's tables are what deploy points at, not the shipped ones.
    const hint = await run(['deploy', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--efficiency', 'calibrated']);
    assert.match(hint.out, /measured kernel tables in data\/kernels hold h100-sxm \(sglang, trtllm, vllm\)/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('batchlab deploy --overlap says when splitting the step into two micro-batches makes it slower (a dense TP4 step: 60 % slower with no word)', async () => {
  const plain = JSON.parse((await run(['--json', 'deploy'])).out);
  const over = JSON.parse((await run(['--json', 'deploy', '--overlap'])).out);
  assert.equal(plain.tpotOverWithoutOverlap, undefined);
  assert.ok(Math.abs(over.tpotOverWithoutOverlap - over.decode.tpotSeconds / plain.decode.tpotSeconds) < 1e-9);
  assert.ok(over.tpotOverWithoutOverlap > 1.2, `${over.tpotOverWithoutOverlap}`);
  const text = await run(['deploy', '--overlap']);
  assert.match(text.out, /\n {2}--overlap makes this TPOT [\d.]+ % longer than without it: two micro-batches read every weight twice/);
});

test('a hardware file with no hourly price is priced with --usd-per-hour, and each printed price says where it came from (it said "the catalog\'s assumed price" of a file\'s)', async () => {
  const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-price-'));
  try {
    const { hourlyPriceUsd: _, calibration: _c, ...j } = JSON.parse(readFileSync(join(root, 'data/hardware/h100-sxm.json'), 'utf8'));
    const unpriced = join(dir, 'my-gpu.json');
    writeFileSync(unpriced, JSON.stringify({ ...j, id: 'my-gpu', name: 'My GPU' }));
    const priced = join(dir, 'my-priced-gpu.json');
    writeFileSync(priced, JSON.stringify({ ...j, id: 'my-priced-gpu', name: 'My GPU', hourlyPriceUsd: { value: 0.69, source: 'my invoice' } }));
    const base = ['deploy', '--model', 'llama-3.1-8b', '--tp', '1', '--batch', '8'];
    assert.match((await run([...base, '--hardware', unpriced])).out, /\n {2}no hourly price \(the hardware file gives no hourly price\): give one with --usd-per-hour/);
    assert.match((await run([...base, '--hardware', unpriced, '--usd-per-hour', '1'])).out, /at \$1\.00 per device-hour \(given with --usd-per-hour\)/);
    assert.match((await run([...base, '--hardware', priced])).out, /at \$0\.69 per device-hour \(the hardware file's price: my invoice\)/);
    assert.match((await run([...base, '--hardware', 'h100-sxm'])).out, /per device-hour \(the catalog's assumed price\)/);
    assert.equal((await run(['roofline', '--hardware', unpriced])).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refusals from inside the library name the flag the user typed: --efficiency on an uncalibrated device, --requests past the simulator\'s work cap', async () => {
  const eff = await run(['deploy', '--hardware', 'mi300x', '--efficiency', 'calibrated']);
  assert.equal(eff.code, 2);
  assert.match(eff.err, /^batchlab: --efficiency must be 'spec' or 'typical': mi300x has no sourced calibration/);
  // 2,048 + 256 tokens a request on average: 10^9 tokens of work allow 434,027 requests.
  const many = await run(['deploy', '--simulate', '--rate', '1000000', '--requests', '1000000']);
  assert.equal(many.code, 2);
  assert.match(many.err, /^batchlab: --requests must be at most 434027 /);
});

test('batchlab deploy --compute prices weight-only quantization (gpt-oss-120b\'s 4-bit experts with bf16 math on an H200, which has no 4-bit tensor cores): weights at 4 bits, GEMM math at bf16, the GEMMs by the model', async () => {
  const args = ['deploy', '--model', 'gpt-oss-120b', '--hardware', 'h200', '--tp', '1', '--precision', 'nvfp4,bf16,bf16,bf16', '--batch', '32'];
  // Without --compute the 4-bit math is refused, and the refusal says how to ask for weight-only quantization.
  const plain = await run(args);
  assert.equal(plain.code, 2);
  assert.match(plain.err, /--precision must be one of .*has no nvfp4 peak; to store nvfp4 weights and compute in bf16, .* add --compute bf16\)$/);
  const r = await run([...args, '--compute', 'bf16']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /nvfp4 weights \(bf16 math\), bf16 attention/);
  // The linear layers the tables would price as 16-bit-weight GEMMs are the model's, and say why; the router stays on its bf16 rows.
  assert.match(r.out, /routed-expert: \d+ calibrated calls from .*: nvfp4 weights with bf16 math, which no table files/);
  assert.match(r.out, /gemm: \d+ interpolated calls/);
  const j = JSON.parse((await run(['--json', ...args, '--compute', 'bf16'])).out);
  const bf16 = JSON.parse((await run(['--json', ...args.slice(0, -4), '--precision', 'bf16', '--batch', '32', '--tp', '2'])).out);
  // 4-bit weights hold the model on one H200 (bf16's need two), and read a quarter of the bytes or so.
  assert.ok(j.decode.memory.weightBytes < 0.3 * 2 * bf16.decode.memory.weightBytes, `${j.decode.memory.weightBytes} against ${2 * bf16.decode.memory.weightBytes}`);
  // Math narrower than the weights it would widen is refused by name.
  const narrow = await run(['deploy', '--model', 'llama-3.1-8b', '--tp', '1', '--precision', 'bf16', '--compute', 'fp8']);
  assert.equal(narrow.code, 2);
  assert.equal(narrow.err, 'batchlab: --compute must be a dtype at least as wide as the bf16 weights it widens (weight-only quantization), or left out; got "fp8"');
});

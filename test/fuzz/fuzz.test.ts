// Property-based fuzzing: thousands of generated inputs, each of which must end in a
// finite, sensible result or an InputError naming the field; never a hang, another
// exception, a NaN/Infinity or a negative count. Bounded: FC_RUN caps runs and seconds
// per property. The tally of outcomes is printed at the end (test diagnostics).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadModelConfig, loadModel } from '../../lib/models/index.js';
import { hardwareFromJson, loadHardware } from '../../lib/hardware/index.js';
import { simulateServing, parseServingTrace, servingSweepPoints, constantStepCost } from '../../lib/batching/index.js';
import { moeRouteCounts, moeDistinctExperts } from '../../lib/moe/index.js';
import { pipelineSchedule, pipelineBubbleFraction } from '../../lib/pipeline/index.js';
import { decodeStepTime } from '../../lib/roofline/index.js';
import { rng, fork } from '../../lib/util/index.js';
import { parseBatchList, parseShapeList } from '../../bin/cli.js';
import { runBatchlabCli } from '../../bin/cli.js';
import { assertAllFinite, expectCleanOutcome, FC_RUN, HOSTILE_NUMBERS, HOSTILE_STRINGS, reportTallies, tallies, withOneMutation } from './harness.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const num = fc.oneof(fc.constantFrom(...HOSTILE_NUMBERS), fc.double(), fc.integer({ min: -10, max: 5000 }));
const str = fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 12 }));
const HOSTILE_VALUES: unknown[] = [...HOSTILE_NUMBERS, ...HOSTILE_STRINGS, undefined, null, true, [], {}, { value: 1 }];
const mutation = fc.record({ path: fc.nat(), value: fc.nat(), mutate: fc.boolean() });
const anyValue = fc.oneof(num, str, fc.constant(undefined), fc.constant(null), fc.boolean(), fc.constant([]), fc.constant({}));

after(() => reportTallies('fuzz'));

test('fuzz loadModelConfig: mutated HF configs give a ModelSpec with positive sizes or an InputError naming the field', () => {
  const base = JSON.parse(JSON.stringify(loadModel('llama-3.2-1b'))) as unknown; // a spec, not a config: used only for its key names
  void base;
  const keys = ['architectures', 'model_type', 'hidden_size', 'num_hidden_layers', 'vocab_size', 'num_attention_heads', 'num_key_value_heads', 'head_dim', 'intermediate_size',
    'n_routed_experts', 'num_experts_per_tok', 'num_local_experts', 'moe_intermediate_size', 'q_lora_rank', 'kv_lora_rank', 'first_k_dense_replace', 'tie_word_embeddings',
    'sliding_window', 'layer_types', 'constructor', '__proto__', 'toString'];
  const archs = fc.constantFrom(['LlamaForCausalLM'], ['MixtralForCausalLM'], ['DeepseekV3ForCausalLM'], ['Qwen3MoeForCausalLM'], ['GptOssForCausalLM'], ['constructor'], ['__proto__'], ['toString'], 'x', []);
  const valid = fc.record({ architectures: fc.constant(['LlamaForCausalLM']), hidden_size: fc.constantFrom(64, 2048, 4096), num_hidden_layers: fc.integer({ min: 1, max: 80 }),
    vocab_size: fc.integer({ min: 1, max: 200_000 }), num_attention_heads: fc.constantFrom(8, 16, 32), num_key_value_heads: fc.constantFrom(1, 8), intermediate_size: fc.integer({ min: 1, max: 30_000 }) });
  const cfg = fc.oneof(valid, fc.record({ architectures: archs, hidden_size: num, num_hidden_layers: num, vocab_size: num, num_attention_heads: num, intermediate_size: num })
    .chain((b) => fc.dictionary(fc.constantFrom(...keys), anyValue, { maxKeys: 6 }).map((extra) => ({ ...b, ...extra }))));
  fc.assert(
    fc.property(cfg, (c) =>
      expectCleanOutcome('loadModelConfig', () => loadModelConfig(JSON.parse(JSON.stringify(c))), (m) => {
        assert.ok(m && typeof m.architecture === 'string');
        assert.ok(m.hiddenSize >= 1 && m.numLayers >= 1 && m.vocabSize >= 1);
        assertAllFinite(m);
      }),
    ),
    FC_RUN,
  );
});

test('fuzz hardwareFromJson: catalog entries with one hostile field give finite rates ≥ 1 or an InputError', () => {
  const h200 = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'data', 'hardware', 'h200.json'), 'utf8')) as Record<string, unknown>;
  const paths = ['id', 'name', 'vendor', 'peakFlops', 'peakFlops.bf16', 'peakFlops.bf16.value', 'peakFlops.fp8.value', 'peakFlops.fp8.source', 'memoryBytesPerSecond.value',
    'memoryCapacityBytes.value', 'intraNodeBytesPerSecond', 'interNodeBytesPerSecond.value', 'hourlyPriceUsd.value', 'hourlyPriceUsd.source', 'peakFlops.constructor', 'peakFlops.__proto__'];
  fc.assert(
    fc.property(mutation, (m) =>
      expectCleanOutcome('hardwareFromJson', () => hardwareFromJson(withOneMutation(h200, paths, HOSTILE_VALUES, m)), (hw) => {
        assertAllFinite(hw);
        for (const v of Object.values(hw.peakFlops)) assert.ok((v as number) >= 1);
        assert.ok(hw.memoryBytesPerSecond >= 1 && hw.hourlyPriceUsd >= 0);
      }),
    ),
    FC_RUN,
  );
});

test('fuzz simulateServing: configs with one hostile field finish with finite times and non-negative counts, or an InputError', () => {
  const policy = fc.oneof(
    fc.record({ kind: fc.constant('window'), windowMs: fc.double({ min: 1e-3, max: 500, noNaN: true }), maxBatch: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ kind: fc.constant('continuous'), maxBatch: fc.integer({ min: 1, max: 64 }) }),
    fc.integer({ min: 1, max: 16 }).map((maxBatch) => ({ kind: 'chunked', maxBatch, tokenBudget: maxBatch * 8 })),
  );
  const arrivals = fc.oneof(
    fc.record({ kind: fc.constant('poisson'), ratePerSecond: fc.double({ min: 0.1, max: 1000, noNaN: true }) }),
    fc.record({ kind: fc.constant('gamma'), ratePerSecond: fc.double({ min: 0.1, max: 1000, noNaN: true }), cv: fc.double({ min: 0.1, max: 5, noNaN: true }) }),
    fc.constant({ kind: 'burst' }),
  );
  const length = fc.oneof(
    fc.record({ kind: fc.constant('fixed'), tokens: fc.integer({ min: 1, max: 64 }) }),
    fc.integer({ min: 1, max: 64 }).map((min) => ({ kind: 'uniform', min, max: min + 10 })),
    fc.record({ kind: fc.constant('lognormal'), median: fc.integer({ min: 1, max: 64 }), sigma: fc.double({ min: 0, max: 2, noNaN: true }), max: fc.constant(128) }),
  );
  const config = fc.record({ requests: fc.integer({ min: 1, max: 60 }), arrivals, promptTokens: length, outputTokens: length, policy, step: fc.double({ min: 1e-6, max: 1, noNaN: true }) });
  const paths = ['requests', 'arrivals.kind', 'arrivals.ratePerSecond', 'promptTokens.kind', 'promptTokens.tokens', 'outputTokens.tokens', 'outputTokens.max',
    'policy.kind', 'policy.maxBatch', 'policy.windowMs', 'policy.tokenBudget', 'kvCapacityTokens', 'step'];
  // Lengths up to the 1e7-token cap are valid but make a run take seconds (the work cap allows
  // minutes); the regression tests cover the cap itself, the fuzz keeps each run small.
  const hostile = [...HOSTILE_VALUES, 5_000_001, 10_000_001, 2 ** 31];
  fc.assert(
    fc.property(config, mutation, fc.oneof(fc.integer(), fc.double()), (c, m, seed) =>
      expectCleanOutcome(
        'simulateServing',
        () => {
          const { step, ...cfg } = withOneMutation(c, paths, hostile, m) as typeof c & { step: unknown };
          return simulateServing({ ...cfg, stepCost: () => step } as never, seed);
        },
        (r) => {
          assert.ok(r.requests >= 1 && r.steps >= 1 && r.makespanSeconds >= 0);
          assert.ok(r.tokens.prompt >= 0 && r.tokens.output >= 0, JSON.stringify(r.tokens));
          assert.ok(r.meanBatch >= 0 && r.utilisation >= 0 && r.utilisation <= 1 + 1e-9);
          assertAllFinite({ m: r.makespanSeconds, t: r.throughputTokensPerSecond, w: r.wait, e: r.e2e, u: r.utilisation });
        },
      ),
    ),
    { ...FC_RUN, numRuns: 300 },
  );
});

test('fuzz parseServingTrace: traces with hostile cells, rows and headers give valid columns or an InputError naming the line', () => {
  const row = fc.tuple(fc.double({ min: 0, max: 5, noNaN: true }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 5000 }));
  const hostileCell = fc.constantFrom('2147483648', '-1', '0', '0x10', '', 'NaN', '1.5', '9007199254740993', '"1', '1e400', '<script>', '1,2');
  fc.assert(
    fc.property(fc.array(row, { minLength: 1, maxLength: 30 }), fc.option(fc.tuple(fc.nat(), fc.nat(2), hostileCell), { nil: undefined }),
      fc.constantFrom('timestamp,prompt_tokens,output_tokens', 'output_tokens,timestamp,prompt_tokens', 'Timestamp,Prompt_Tokens,Output_Tokens', 'timestamp,prompt_tokens', ''),
      fc.constantFrom('\n', '\r\n'), fc.boolean(),
      (rows, bad, header, eol, comment) => {
        let t = 0;
        const order = header.toLowerCase().split(',');
        const lines = rows.map(([dt, p, o], i) => {
          t += dt;
          const cells: Record<string, string> = { timestamp: String(t), prompt_tokens: String(p), output_tokens: String(o) };
          const out = order.map((c) => cells[c] ?? '1');
          if (bad && bad[0] % rows.length === i) out[bad[1] % out.length] = bad[2];
          return out.join(',');
        });
        const text = [header, ...(comment ? ['# a comment'] : []), ...lines].join(eol);
        expectCleanOutcome('parseServingTrace', () => parseServingTrace(text), (tr) => {
          assert.equal(tr.timestamps.length, rows.length);
          for (let i = 0; i < tr.timestamps.length; i++) {
            assert.ok(tr.promptTokens[i] >= 1 && tr.outputTokens[i] >= 1 && tr.timestamps[i] >= 0);
            if (i) assert.ok(tr.timestamps[i] >= tr.timestamps[i - 1]);
          }
        });
      }),
    FC_RUN,
  );
});

test('fuzz servingSweepPoints: grids of any size are counted before they are built', () => {
  const list = fc.oneof(fc.array(num, { maxLength: 5 }), fc.constant(Array.from({ length: 4096 }, (_, i) => i + 1)));
  const base = { arrivals: { kind: 'poisson', ratePerSecond: 1 }, requests: 10, promptTokens: { kind: 'fixed', tokens: 1 }, outputTokens: { kind: 'fixed', tokens: 1 }, stepCost: constantStepCost(0.01) };
  fc.assert(
    fc.property(fc.subarray(['window', 'continuous', 'chunked']), list, list, list, fc.option(list), (policies, maxBatches, windowsMs, tokenBudgets, rates) =>
      expectCleanOutcome('servingSweepPoints', () => servingSweepPoints({ base, policies, maxBatches, windowsMs, tokenBudgets, ratesPerSecond: rates ?? undefined } as never), (pts) => {
        assert.ok(pts.length >= 0 && pts.length <= 100_000);
      }),
    ),
    { ...FC_RUN, numRuns: 200 },
  );
});

test('fuzz MoE routing: generated specs give counts that sum to tokens·topK, or an InputError', () => {
  const valid = fc.oneof(
    fc.integer({ min: 1, max: 256 }).chain((e) => fc.record({ kind: fc.constant('uniform'), experts: fc.constant(e), topK: fc.integer({ min: 1, max: e }) })),
    fc.integer({ min: 1, max: 64 }).chain((e) => fc.record({ kind: fc.constant('weighted'), experts: fc.constant(e), topK: fc.integer({ min: 1, max: e }), popularity: fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: e, maxLength: e }) })),
    fc.constantFrom({ kind: 'group-limited', experts: 256, topK: 8, groups: 8, groupsPerToken: 4 }, { kind: 'group-limited', experts: 16, topK: 4, groups: 4, groupsPerToken: 2 }),
  );
  fc.assert(
    fc.property(valid, mutation, fc.integer({ min: 0, max: 40 }), fc.integer(), (s, m, t, seed) =>
      expectCleanOutcome('moeRouteCounts', () => {
        const spec = withOneMutation(s, ['experts', 'topK', 'kind', 'groups', 'groupsPerToken', 'popularity'], [...HOSTILE_VALUES, 65_536, 65_537, 60_000, [0, 0, 0]], m);
        return { spec, counts: moeRouteCounts(spec as never, t, fork(seed, 'fuzz')) };
      }, ({ spec, counts }) => {
        let sum = 0;
        for (const c of counts) {
          assert.ok(c >= 0);
          sum += c;
        }
        assert.equal(sum, t * (spec.topK as number));
      }),
    ),
    { ...FC_RUN, numRuns: 300 },
  );
  const experts = fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(65_536, 65_537, 0, -1, 2.5, NaN));
  const spec = fc.record({
    kind: fc.constantFrom('uniform', 'weighted', 'group-limited', 'x'),
    experts,
    topK: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(60_000, 65_536, 0, -3)),
    groups: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.constantFrom(0, 65_536)),
    groupsPerToken: fc.integer({ min: 0, max: 16 }),
  }).chain((s) => fc.option(fc.array(num, { minLength: 1, maxLength: 300 }), { nil: undefined }).map((popularity) => ({ ...s, popularity })));
  const tokens = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(-1, 1.5, 1e12));
  fc.assert(
    fc.property(spec, tokens, fc.integer(), (s, t, seed) =>
      expectCleanOutcome('moeRouteCounts', () => moeRouteCounts(s as never, t, fork(seed, 'fuzz')), (counts) => {
        let sum = 0;
        for (const c of counts) {
          assert.ok(c >= 0);
          sum += c;
        }
        assert.equal(sum, t * (s.topK as number));
      }),
    ),
    { ...FC_RUN, numRuns: 300 },
  );
  fc.assert(
    fc.property(num, num, num, (e, k, b) =>
      expectCleanOutcome('moeDistinctExperts', () => moeDistinctExperts(e, k, b), (d) => assert.ok(Number.isFinite(d) && d >= 0 && d <= e)),
    ),
    FC_RUN,
  );
});

test('fuzz pipeline schedules and bubbles: finite makespans and bubble fractions in [0, 1), or an InputError', () => {
  const validRun = fc.record({
    layers: fc.integer({ min: 1, max: 80 }), stages: fc.integer({ min: 1, max: 8 }), cost: fc.double({ min: 1e-6, max: 1, noNaN: true }),
    kind: fc.constantFrom('fill-drain', 'interleaved', 'streaming'), flows: fc.integer({ min: 1, max: 12 }), passes: fc.integer({ min: 1, max: 4 }), chunks: fc.integer({ min: 1, max: 3 }),
  });
  fc.assert(
    fc.property(validRun, mutation, (v, m) =>
      expectCleanOutcome(
        'pipelineSchedule (valid ± one field)',
        () => {
          const r = withOneMutation(v, ['layers', 'stages', 'cost', 'kind', 'flows', 'passes', 'chunks'], HOSTILE_VALUES, m);
          return pipelineSchedule({ layers: r.layers, stages: r.stages, layerSeconds: r.cost }, { kind: r.kind, microBatches: r.flows, requests: r.flows, ticks: r.passes, tokens: r.passes, chunks: r.chunks } as never);
        },
        (run) => {
          assert.ok(run.makespanSeconds > 0 && Number.isFinite(run.makespanSeconds));
          assert.ok(run.bubbleFraction >= 0 && run.bubbleFraction < 1, String(run.bubbleFraction));
          assert.ok(Number.isFinite(run.tokensPerSecond) && run.tokensPerSecond > 0);
        },
      ),
    ),
    { ...FC_RUN, numRuns: 300 },
  );
  const kind = fc.constantFrom('fill-drain', 'interleaved', 'streaming', 'x');
  const small = fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.constantFrom(0, -1, 1.5, 1e9, NaN));
  const cost = fc.oneof(fc.double({ min: 1e-6, max: 1, noNaN: true }), fc.double({ min: 1e-6, max: 1, noNaN: true }), fc.constantFrom(0, -1, 1e308, 1e-320, NaN, Infinity));
  fc.assert(
    fc.property(small, small, kind, small, small, small, cost, (layers, stages, k, flows, passes, chunks, c) =>
      expectCleanOutcome(
        'pipelineSchedule',
        () =>
          pipelineSchedule({ layers, stages, layerSeconds: c }, { kind: k, microBatches: flows, requests: flows, ticks: passes, tokens: passes, chunks } as never),
        (run) => {
          assert.ok(run.makespanSeconds > 0 && Number.isFinite(run.makespanSeconds));
          assert.ok(run.bubbleFraction >= 0 && run.bubbleFraction < 1, String(run.bubbleFraction));
          assert.ok(Number.isFinite(run.tokensPerSecond) && run.tokensPerSecond > 0);
        },
      ),
    ),
    { ...FC_RUN, numRuns: 300 },
  );
  fc.assert(
    fc.property(num, num, num, (s, m, v) =>
      expectCleanOutcome('pipelineBubbleFraction', () => pipelineBubbleFraction({ stages: s, microBatches: m, chunks: v }), (f) => assert.ok(f >= 0 && f < 1)),
    ),
    FC_RUN,
  );
});

test('fuzz decodeStepTime: catalog model × hardware × hostile batch and context give a finite positive time or an InputError', () => {
  const llama = loadModel('llama-3.1-8b');
  const ds = loadModel('deepseek-v3');
  const hw = loadHardware('h200');
  fc.assert(
    fc.property(fc.constantFrom(llama, ds), fc.constantFrom('bf16', 'fp8', 'fp32', 'fp64'), num, num, (m, dtype, batch, context) =>
      expectCleanOutcome('decodeStepTime', () => decodeStepTime(m, hw, { dtype: dtype as never, batch, context }), (t) => assert.ok(Number.isFinite(t) && t > 0)),
    ),
    FC_RUN,
  );
});

test('fuzz seeds: rng and fork take any value and give draws in [0, 1) or an InputError naming seed', () => {
  fc.assert(
    fc.property(fc.oneof(fc.double(), fc.bigInt(), fc.string(), fc.constant(Symbol('s')), fc.constant(undefined)), str, (seed, name) =>
      expectCleanOutcome('fork', () => fork(seed as never, name)(), (u) => assert.ok(u >= 0 && u < 1)),
    ),
    FC_RUN,
  );
  fc.assert(fc.property(fc.double(), (seed) => expectCleanOutcome('rng', () => rng(seed)(), (u) => assert.ok(u >= 0 && u < 1))), FC_RUN);
});

test('fuzz CLI argument parsers: batch and shape lists parse to positive integers or an InputError naming the entry', () => {
  const token = fc.oneof(str, fc.nat(100_000).map(String), fc.constantFrom('pow2:64', 'pow2only:9', 'pow2:0', 'pow2:1e9', '1,,2', '0x10', '4096x4096', '8x', 'x8', '1e3'));
  fc.assert(
    fc.property(token, (s) => {
      expectCleanOutcome('parseBatchList', () => parseBatchList('--m', s), (ms) => assert.ok(ms.length > 0 && ms.every((m) => Number.isSafeInteger(m) && m >= 1)));
      expectCleanOutcome('parseShapeList', () => parseShapeList('--shapes', s), (sh) => assert.ok(sh.every((x) => x.k >= 1 && x.n >= 1)));
    }),
    FC_RUN,
  );
});

test('fuzz CLI model commands: any flag values exit 0 with JSON or exit 2 naming the flag; never 1', async () => {
  const flagValue = fc.oneof(str, fc.constantFrom('1', '8', '0', '-1', '1e308', '0x10', 'NaN', 'llama-3.1-8b', 'h200', 'deepseek-v3', 'bf16', 'fp8'));
  const cmd = fc.oneof(
    fc.tuple(fc.constant(['roofline']), fc.constantFrom('--model', '--hardware', '--dtype', '--batch', '--context'), flagValue),
    fc.tuple(fc.constant(['moe']), fc.constantFrom('--experts', '--top-k', '--tokens', '--seed'), flagValue),
    fc.tuple(fc.constant(['pipeline']), fc.constantFrom('--stages', '--micro-batches', '--chunks', '--layers'), flagValue),
    fc.tuple(fc.constant(['simulate']), fc.constantFrom('--requests', '--rate', '--max-batch', '--window-ms', '--policy', '--step-ms', '--seed'), flagValue),
  );
  await fc.assert(
    fc.asyncProperty(cmd, async ([words, flag, value]) => {
      const t = tallies.get('cli') ?? { inputs: 0, ok: 0, inputErrors: 0, slowestMs: 0 };
      tallies.set('cli', t);
      t.inputs++;
      const out: string[] = [];
      const err: string[] = [];
      const t0 = performance.now();
      const code = await runBatchlabCli(['--json', ...words, flag, value], { out: (s) => out.push(s), err: (s) => err.push(s), progress: false });
      t.slowestMs = Math.max(t.slowestMs, performance.now() - t0);
      if (code === 0) {
        assertAllFinite(JSON.parse(out.join('\n')));
        t.ok++;
      } else {
        assert.equal(code, 2, err.join('\n'));
        assert.match(err.join('\n'), / must be /);
        t.inputErrors++;
      }
    }),
    { ...FC_RUN, numRuns: 200 },
  );
});

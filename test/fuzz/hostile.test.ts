// Property-based fuzzing of hostile files and paths (issue list "Hostile input" 1–4 and 6):
// devices, FIFOs and folders as outputs, endless or binary inputs, tampered sweep
// shards, traces around the row cap, and the low-severity numeric and flag cases. Each
// generated input must end in a sensible result or an InputError naming the field or
// flag: never a write through a device, a hang, unbounded memory, a TypeError or a NaN.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { runBatchlabCli } from '../../bin/cli.js';
import { constantStepCost, parseServingTrace, simulateServing } from '../../lib/batching/index.js';
import { loadLocalSetup, localDecode } from '../../lib/deployment/local.js';
import { loadModel, loadModelConfig } from '../../lib/models/index.js';
import { pipelineTickClosedForm } from '../../lib/pipeline/index.js';
import { mergeSweepShards, runSweepShard, sweepResultText, writeSweepShard } from '../../lib/sweep/run.js';
import type { SweepDefinition } from '../../lib/sweep/run.js';
import { checkWritableFile, readJsonCapped, readTextCapped, writeFileSafe } from '../../lib/util/files.js';
import { InputError } from '../../lib/util/errors.js';
import { assertAllFinite, expectCleanOutcome, FC_RUN, HOSTILE_NUMBERS, reportTallies, tallies, withOneMutation } from './harness.js';

after(() => reportTallies('hostile'));

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'batchlab-hostile-'));
const paths = {
  fifo: join(dir, 'fifo'),
  folder: join(dir, 'folder'),
  file: join(dir, 'file.txt'),
  linkToNull: join(dir, 'link-to-null'),
  linkToFifo: join(dir, 'link-to-fifo'),
};
let haveFifo = false;

before(() => {
  mkdirSync(paths.folder);
  writeFileSync(paths.file, 'x');
  symlinkSync('/dev/null', paths.linkToNull);
  try {
    execFileSync('mkfifo', [paths.fifo]);
    symlinkSync(paths.fifo, paths.linkToFifo);
    haveFifo = true;
  } catch {
    haveFifo = false;
  }
});

/** Paths no writer may write: devices, FIFOs (also through links), folders, paths under a file or a missing folder, /proc. */
function hostileOutPaths(): string[] {
  return [
    ...['/dev/null', '/dev/zero', '/dev/full'].filter((p) => existsSync(p)),
    paths.linkToNull,
    ...(haveFifo ? [paths.fifo, paths.linkToFifo] : []),
    paths.folder,
    join(paths.file, 'under-a-file'),
    join(dir, 'missing', 'x.json'),
    '/proc/batchlab-x',
    '',
  ];
}

/** Each must stay what it was after every attempt to write it. */
function assertUntouched(): void {
  for (const dev of ['/dev/null', '/dev/zero', '/dev/full']) if (existsSync(dev)) assert.ok(statSync(dev).isCharacterDevice(), `${dev} is no longer a device`);
  if (haveFifo) assert.ok(statSync(paths.fifo).isFIFO(), 'the FIFO was replaced');
  assert.ok(statSync(paths.folder).isDirectory());
}

test('fuzz writers: a hostile output path is an InputError naming the field; devices and FIFOs stay what they were', () => {
  // Devices are only checked (a failing write would replace them, as root); temporary FIFOs and folders are written.
  const writable = (p: string): boolean => !p.startsWith('/dev/') && p !== paths.linkToNull;
  fc.assert(
    fc.property(fc.constantFrom(...hostileOutPaths()), fc.constantFrom('--out', '--records', 'path'), fc.string({ maxLength: 40 }), (p, field, data) => {
      // Every one is refused by the up-front check, /proc included (its folder accepts no new file).
      expectCleanOutcome('checkWritableFile (hostile path)', () => checkWritableFile(field, p), () => assert.fail(`accepted ${p}`));
      if (writable(p)) expectCleanOutcome('writeFileSafe (hostile path)', () => writeFileSafe(field, p, data), () => assert.fail(`wrote ${p}`));
      assertUntouched();
    }),
    { ...FC_RUN, numRuns: 200 },
  );
});

/** Paths no reader may read: devices, FIFOs (also through a link), a folder. */
function hostileInPaths(): string[] {
  return [...['/dev/zero', '/dev/urandom', '/dev/null', '/dev/full'].filter((p) => existsSync(p)), paths.linkToNull, ...(haveFifo ? [paths.fifo, paths.linkToFifo] : []), paths.folder];
}

test('fuzz readers: any bytes read as text of at most the cap or an InputError naming the field; devices, FIFOs and folders are refused at once', () => {
  const sources = fc.oneof(
    fc.uint8Array({ maxLength: 3000 }).map((b) => ({ bytes: b })),
    fc.constantFrom(...[...hostileInPaths(), join(dir, 'none'), ''].map((p) => ({ path: p }))),
  );
  let n = 0;
  fc.assert(
    fc.property(sources, fc.integer({ min: 1, max: 4096 }), fc.constantFrom<'text' | 'json'>('text', 'json'), (src, cap, how) => {
      const p = 'bytes' in src ? join(dir, `r${n++}.bin`) : src.path;
      if ('bytes' in src) writeFileSync(p, src.bytes);
      const read = (): unknown => (how === 'text' ? readTextCapped('--spec', p, { maxBytes: cap }) : readJsonCapped('--spec', p, { maxBytes: cap }));
      expectCleanOutcome(`read${how === 'text' ? 'Text' : 'Json'}Capped`, read, (v) => {
        // Only a regular file is read: /dev/null is not an empty file, a FIFO not a stream.
        assert.ok('bytes' in src, `read ${p}`);
        if (typeof v !== 'string') return;
        // Each byte read decodes to at most one UTF-16 unit, so the text is no longer than the cap.
        assert.ok(v.length <= cap, 'more text than the cap');
        assert.ok(!v.includes('\0'));
      });
    }),
    { ...FC_RUN, numRuns: 300 },
  );
});

const toy: SweepDefinition<{ i: number; v: number; tag: string }> = { kind: 'toy', spec: { a: 1 }, size: 9, point: (i) => ({ i, v: Math.sqrt(i) / 7, tag: `p${i}` }) };

test('fuzz mergeSweepShards: a byte changed anywhere, or a field dropped or replaced, is refused or merges to the same result', async () => {
  const shards: Array<{ path: string; text: string }> = [];
  for (let i = 0; i < 3; i++) {
    const path = join(dir, `shard-${i}.json`);
    await writeSweepShard(path, runSweepShard(toy, { index: i, count: 3 }));
    shards.push({ path, text: readFileSync(path, 'utf8') });
  }
  const good = sweepResultText(mergeSweepShards(shards.map((s) => s.path)));
  const keys = ['format', 'kind', 'specHash', 'size', 'shard', 'shard.index', 'shard.count', 'start', 'end', 'rows', 'contentHash'];
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('byte' as const), shard: fc.nat(2), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('field' as const), shard: fc.nat(2), m: fc.record({ path: fc.nat(), value: fc.nat(), mutate: fc.constant(true) }), drop: fc.boolean() }),
    fc.record({ kind: fc.constant('rows' as const), shard: fc.nat(2), how: fc.constantFrom('null', 'reverse', 'drop', 'duplicate') }),
  );
  const hostile: unknown[] = [...HOSTILE_NUMBERS, '', 'toy', 'batchlab-sweep-shard/1', null, [], {}, '0'.repeat(64)];
  fc.assert(
    fc.property(edit, (e) => {
      const target = shards[e.shard];
      let body: string | Buffer;
      if (e.kind === 'byte') {
        const b = Buffer.from(target.text);
        b[e.at % b.length] = e.byte;
        body = b;
      } else {
        const doc = JSON.parse(target.text) as Record<string, unknown> & { rows: unknown[] };
        if (e.kind === 'rows') {
          if (e.how === 'null') doc.rows[0] = null;
          else if (e.how === 'reverse') doc.rows.reverse();
          else if (e.how === 'drop') doc.rows.pop();
          else doc.rows.push(doc.rows[0]);
          body = JSON.stringify(doc);
        } else if (e.drop) {
          delete doc[keys[e.m.path % keys.length].split('.')[0]];
          body = JSON.stringify(doc);
        } else body = JSON.stringify(withOneMutation(doc, keys, hostile, e.m));
      }
      writeFileSync(target.path, body);
      try {
        expectCleanOutcome('mergeSweepShards (tampered shard)', () => sweepResultText(mergeSweepShards(shards.map((s) => s.path))), (merged) => assert.equal(merged, good, 'a tampered shard merged to a different result'));
      } finally {
        writeFileSync(target.path, target.text);
      }
    }),
    { ...FC_RUN, numRuns: 400 },
  );
});

test('fuzz parseServingTrace row cap: n rows among comments and blank lines are accepted exactly when n ≤ maxRows, refused before parsing otherwise', () => {
  const line = fc.oneof(fc.constant('row' as const), fc.constantFrom('# a comment', '', '   ', '\t# indented comment'));
  fc.assert(
    fc.property(fc.array(line, { maxLength: 60 }), fc.integer({ min: 1, max: 30 }), fc.constantFrom('\n', '\r\n'), (lines, maxRows, eol) => {
      let t = 0;
      const body = lines.map((l) => (l === 'row' ? `${(t++ * 0.1).toFixed(1)},8,4` : l));
      const text = ['# header next', 'timestamp,prompt_tokens,output_tokens', ...body].join(eol);
      const rows = lines.filter((l) => l === 'row').length;
      expectCleanOutcome('parseServingTrace (row cap)', () => {
        try {
          return parseServingTrace(text, 't', { maxRows });
        } catch (err) {
          // The cap is exact: more rows than maxRows, and only then, are refused.
          if (err instanceof InputError && /at most \d+ rows/.test(err.message)) assert.ok(rows > maxRows, `${rows} rows refused at cap ${maxRows}`);
          throw err;
        }
      }, (trace) => {
        assert.ok(rows <= maxRows && trace.timestamps.length === rows);
      });
    }),
    { ...FC_RUN, numRuns: 400 },
  );
});

test('fuzz low-severity cases: localDecode setups, pipelineTickClosedForm at 1e308, denormal step costs and MoE configs without MoE layers', () => {
  const model = loadModel('llama-3.1-8b');
  const setup = loadLocalSetup('rtx-4090-desktop');
  const setupFields = ['devices', 'hostMemoryBytes', 'hostBytesPerSecond', 'hostLinkBytesPerSecond', 'ssdBytesPerSecond', 'ssdBytes', 'hourlyCostUsd'];
  const big = fc.oneof(fc.constantFrom(...HOSTILE_NUMBERS, 5e-324, 1e308), fc.double({ min: 1e-9, max: 10, noNaN: true }));
  fc.assert(
    fc.property(fc.record({ path: fc.nat(), value: fc.nat(), mutate: fc.boolean() }), (m) =>
      expectCleanOutcome('localDecode (hostile setup)', () => localDecode(model, withOneMutation(setup, setupFields, [...HOSTILE_NUMBERS, undefined, '4'], m), { bitsPerWeight: 4.8, context: 1024 }), (r) => assertAllFinite(r)),
    ),
    { ...FC_RUN, numRuns: 200 },
  );
  fc.assert(
    fc.property(fc.array(big, { minLength: 1, maxLength: 6 }), fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(1e9, 1e12, 0)), fc.oneof(fc.constant(0), big), (stages, m, d) =>
      expectCleanOutcome('pipelineTickClosedForm', () => pipelineTickClosedForm(stages, m, d), (r) => {
        assertAllFinite(r);
        assert.ok(r.bubbleFraction >= 0 && r.bubbleFraction < 1);
      }),
    ),
    { ...FC_RUN, numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.constantFrom(5e-324, 1e-320, 1e-300, 1e-12, 1e-3), fc.constantFrom('burst', 'poisson'), fc.integer({ min: 1, max: 40 }), (step, arrivals, requests) =>
      expectCleanOutcome('simulateServing (tiny step)', () => simulateServing({
        requests, arrivals: arrivals === 'burst' ? { kind: 'burst' } : { kind: 'poisson', ratePerSecond: 10 },
        promptTokens: { kind: 'fixed', tokens: 8 }, outputTokens: { kind: 'fixed', tokens: 4 }, policy: { kind: 'continuous', maxBatch: 8 }, stepCost: constantStepCost(step), keepRequests: false,
      }, 1), (r) => assertAllFinite({ ...r, provenance: undefined })),
    ),
    { ...FC_RUN, numRuns: 100 },
  );
  const layers = fc.integer({ min: 1, max: 8 });
  fc.assert(
    fc.property(layers, fc.nat(8), fc.integer({ min: 1, max: 8 }), fc.boolean(), (n, dense, freq, qwen) => {
      const cfg = qwen
        ? { architectures: ['Qwen3MoeForCausalLM'], hidden_size: 64, num_hidden_layers: n, vocab_size: 100, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, intermediate_size: 32, moe_intermediate_size: 16, num_experts: 8, num_experts_per_tok: 2, mlp_only_layers: Array.from({ length: Math.min(dense, n) }, (_, i) => i), decoder_sparse_step: Math.min(freq, n) }
        : { architectures: ['DeepseekV3ForCausalLM'], hidden_size: 64, num_hidden_layers: n, vocab_size: 100, num_attention_heads: 4, q_lora_rank: null, kv_lora_rank: 16, qk_nope_head_dim: 8, qk_rope_head_dim: 8, v_head_dim: 8, intermediate_size: 32, moe_intermediate_size: 16, n_routed_experts: 8, num_experts_per_tok: 2, first_k_dense_replace: Math.min(dense, n), moe_layer_freq: Math.min(freq, n) };
      expectCleanOutcome('loadModelConfig (MoE without MoE layers)', () => loadModelConfig(cfg), (spec) => {
        // A spec with experts has at least one layer that uses them.
        assert.ok(spec.moe !== null && spec.moeLayers >= 1, `moe ${spec.moe === null ? 'null' : 'set'} with moeLayers ${spec.moeLayers}`);
      });
    }),
    { ...FC_RUN, numRuns: 200 },
  );
});

test('fuzz CLI paths and flags: hostile --out, --spec, --trace and flags of other policies exit 2 naming the flag, never 0 or 1', async () => {
  const spec = join(root, 'docs', 'search-spec.example.json');
  const arraySpec = join(dir, 'array-spec.json');
  writeFileSync(arraySpec, '[{"model":"llama-3.1-8b"}]');
  const shard = join(dir, 'cli-shard.json');
  await writeSweepShard(shard, runSweepShard(toy, { index: 0, count: 1 }));
  const badIn = fc.constantFrom(...hostileInPaths(), join(dir, 'none.json'), arraySpec);
  const badOut = fc.constantFrom(...hostileOutPaths().filter((p) => p !== ''));
  // A folder, or one that can be made, is a good sweep --out.
  const badDir = fc.constantFrom(...hostileOutPaths().filter((p) => p !== '' && p !== paths.folder && !p.includes('missing')));
  const missing = join(dir, 'missing-input.json');
  const badValue = fc.constantFrom('abc', 'NaN', '-1', '1e999', '0x10', '');
  // Each case: the arguments and the flag the refusal must name.
  const cmd = fc.oneof(
    badOut.map((o) => ({ args: ['merge', shard, '--out', o], flag: '--out' })),
    badDir.map((o) => ({ args: ['sweep', '--spec', spec, '--shard', '0/1000', '--out', o], flag: '--out' })),
    // Every --out is checked before any work: the input is missing, or the work would run for hours,
    // so a refusal that names --out can only come from the up-front check.
    badOut.map((o) => ({ args: ['merge', missing, '--out', o], flag: '--out' })),
    badDir.map((o) => ({ args: ['sweep', '--spec', missing, '--out', o], flag: '--out' })),
    badDir.map((o) => ({ args: ['bench', 'gemm', '--backend', 'cpu', '--m', 'pow2:4096', '--k', '16384', '--n', '16384', '--min-time-ms', '600000', '--out', o], flag: '--out' })),
    badDir.map((o) => ({ args: ['bench', 'attention', '--backend', 'cpu', '--batches', '64', '--rounds', '1000', '--trace', missing, '--out', o], flag: '--out' })),
    // No server listens on port 9 (discard): --records is refused before it is contacted.
    badOut.map((o) => ({ args: ['load', '--url', 'http://127.0.0.1:9', '--rate', '1', '--records', o], flag: '--records' })),
    badIn.map((p) => ({ args: ['search', '--spec', p], flag: '--spec' })),
    badIn.map((p) => ({ args: ['sweep', '--spec', p, '--out', join(dir, 'sweep-out')], flag: '--spec' })),
    // A readable file that is not a trace is refused by its content, naming the line.
    badIn.map((p) => ({ args: ['simulate', '--trace', p], flag: p === arraySpec ? 'trace line 1' : '--trace' })),
    badValue.map((v) => ({ args: ['simulate', '--policy', 'continuous', `--window-ms=${v}`], flag: '--window-ms' })),
    badValue.map((v) => ({ args: ['simulate', '--policy', 'window', `--token-budget=${v}`], flag: '--token-budget' })),
    badValue.map((v) => ({ args: ['deploy', `--bits=${v}`], flag: '--bits' })),
  );
  await fc.assert(
    fc.asyncProperty(cmd, async ({ args, flag }) => {
      const t = tallies.get('CLI (hostile path or flag)') ?? { inputs: 0, ok: 0, inputErrors: 0, slowestMs: 0 };
      tallies.set('CLI (hostile path or flag)', t);
      t.inputs++;
      const err: string[] = [];
      const t0 = performance.now();
      const code = await runBatchlabCli(args, { out: () => {}, err: (s) => err.push(s), progress: false });
      t.slowestMs = Math.max(t.slowestMs, performance.now() - t0);
      assert.equal(code, 2, `${args.join(' ')}: ${err.join('\n')}`);
      assert.match(err.join('\n'), new RegExp(`^batchlab: ${flag} must be `), args.join(' '));
      t.inputErrors++;
      assertUntouched();
    }),
    { ...FC_RUN, numRuns: 300 },
  );
});

test('CLI input files: a FIFO whose writer stays silent, /dev/zero and a folder are refused at once, naming the flag (regression: a silent FIFO was refused after 30 s)', async (t) => {
  if (!haveFifo) return t.skip('mkfifo unavailable');
  // The writer holds the FIFO open and sends nothing, as a stalled producer would.
  const writer = spawn('sh', ['-c', `exec sleep 60 > '${paths.fifo}'`], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  try {
    const flags: Array<[string[], string]> = [
      [['search', '--spec'], '--spec'],
      [['sweep', '--out', join(dir, 'sweep-out'), '--spec'], '--spec'],
      [['simulate', '--trace'], '--trace'],
      [['deploy', '--model'], '--model'],
      [['deploy', '--hardware'], '--hardware'],
      [['roofline', '--model'], '--model'],
      [['deploy', '--setup'], '--setup'],
    ];
    for (const input of [paths.fifo, paths.linkToFifo, ...['/dev/zero'].filter((p) => existsSync(p)), paths.folder]) {
      for (const [args, flag] of flags) {
        const err: string[] = [];
        const t0 = performance.now();
        const code = await runBatchlabCli([...args, input], { out: () => {}, err: (s) => err.push(s), progress: false });
        const ms = performance.now() - t0;
        assert.equal(code, 2, `${[...args, input].join(' ')}: ${err.join('\n')}`);
        assert.match(err.join('\n'), new RegExp(`^batchlab: ${flag} must be `), [...args, input].join(' '));
        // Refused before a read could wait: far below the 30 s the silent writer used to cost.
        assert.ok(ms < 5000, `${args.join(' ')} ${input}: ${ms.toFixed(0)} ms`);
      }
    }
  } finally {
    writer.kill();
  }
  assert.ok(statSync(paths.fifo).isFIFO());
});

#!/usr/bin/env node
// Converts NVIDIA aiconfigurator's measured kernel tables (Apache-2.0,
// github.com/ai-dynamo/aiconfigurator) into batchlab's kernel-database schema:
//   data/kernels/<device>/<framework>/<version>/<op>.csv.gz  (+ SOURCE.json)
//
//   node scripts/kernel-db-from-aiconfigurator.mjs --source <checkout or bare git dir>
//        [--commit <sha>] [--out data/kernels] [--devices all|a,b] [--frameworks all|a,b]
// Default selection (the shipped data/kernels): trtllm on a100_sxm, h100_sxm, h200_sxm and
// b200_sxm, plus sglang and vllm on h100_sxm and h200_sxm. `all` takes every device folder of the
// source, or all of trtllm, sglang and vllm.
//
// Source layout read: aic-core/src/aiconfigurator_core/systems/data/<device>/<op>/<framework>/<version>/*.parquet,
// with `reuse.yaml` pointers to a donor version. Units (aiconfigurator's Rust loader,
// aic-core/rust/aiconfigurator-core/src/perf_database/*.rs): `latency` is milliseconds;
// collective `message_size` is elements (tokens × hidden, operators/communication.rs);
// generation attention's KV length is `isl + step` (perf_database/attention.rs).
// Duplicate keys keep the first row, as aiconfigurator's loaders do.
//
// Kept: the dtypes batchlab prices (bf16, fp16, fp8, fp8_block, nvfp4); every MoE routing
// distribution (balanced and the power-law ones aiconfigurator's models ask for); full
// attention (window 0); beam width 1; MLA's absorbed decode BMMs (mla_bmm). Dropped:
// weight-only and smooth-quant GEMMs (int4_wo, int8_wo, sq, awq, gptq), power columns,
// kernel_source, sliding-window attention, non-gated MoE kernels, the per-module
// MLA/DSA/linear-attention tables, which batchlab's models do not use.
// Also kept: the FP8 activation-quantize tables (quantize/computescale_perf, scale_matrix_perf),
// and for SGLang the wide-EP MoE and DeepEP tables (WIDE_EP below).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

const DATA = 'aic-core/src/aiconfigurator_core/systems/data';
const REPO = 'https://github.com/ai-dynamo/aiconfigurator';
const DEVICES = ['a100_sxm', 'h100_sxm', 'h200_sxm', 'b200_sxm'];
// trtllm for every device; sglang and vllm for h100 and h200 so that `framework` has a choice
// there, and the published H100 cases that ran SGLang or vLLM read their own framework's tables.
const FRAMEWORKS = { a100_sxm: ['trtllm'], h100_sxm: ['trtllm', 'sglang', 'vllm'], h200_sxm: ['trtllm', 'sglang', 'vllm'], b200_sxm: ['trtllm'] };

const DTYPE = { bfloat16: 'bf16', float16: 'fp16', half: 'fp16', fp16: 'fp16', fp8: 'fp8', fp8_block: 'fp8_block', nvfp4: 'nvfp4', int8: 'int8' };
const int = (v) => Number(v);
// A routing distribution's name as aiconfigurator writes it ('balanced', 'power_law_1.01'): a plain CSV cell.
const SAFE_DISTRIBUTION = /^[A-Za-z0-9_.]+$/;
const us = (ms) => Number((Number(ms) * 1000).toPrecision(6));

/**
 * One aiconfigurator table → one batchlab op file. `row` maps a parquet row to the
 * op's columns (without time_us) or null to drop it; `key` names the columns that
 * identify a measurement (first row wins); `first`, where given, ranks rows before that
 * (lower first, file order within a rank).
 */
const TABLES = [
  {
    op: 'gemm',
    dir: 'gemm',
    file: 'gemm_perf',
    columns: ['dtype', 'm', 'n', 'k'],
    row: (r) => (DTYPE[r.gemm_dtype] ? { dtype: DTYPE[r.gemm_dtype], m: int(r.m), n: int(r.n), k: int(r.k) } : null),
  },
  {
    op: 'context_attention',
    dir: 'attention',
    file: 'context_attention_perf',
    columns: ['dtype', 'kv_dtype', 'batch', 'prompt', 'heads', 'kv_heads', 'head_dim'],
    row: (r) =>
      int(r.window_size ?? 0) !== 0 || int(r.beam_width ?? 1) !== 1 || !DTYPE[r.attn_dtype] || !DTYPE[r.kv_cache_dtype]
        ? null
        : { dtype: DTYPE[r.attn_dtype], kv_dtype: DTYPE[r.kv_cache_dtype], batch: int(r.batch_size), prompt: int(r.isl), heads: int(r.num_heads), kv_heads: int(r.num_key_value_heads), head_dim: int(r.head_dim) },
  },
  {
    op: 'generation_attention',
    dir: 'attention',
    file: 'generation_attention_perf',
    columns: ['dtype', 'kv_dtype', 'batch', 'context', 'heads', 'kv_heads', 'head_dim'],
    row: (r) =>
      int(r.window_size ?? 0) !== 0 || int(r.beam_width ?? 1) !== 1 || !DTYPE[r.attn_dtype] || !DTYPE[r.kv_cache_dtype]
        ? null
        : {
            dtype: DTYPE[r.attn_dtype],
            kv_dtype: DTYPE[r.kv_cache_dtype],
            batch: int(r.batch_size),
            context: int(r.isl) + int(r.step),
            heads: int(r.num_heads),
            kv_heads: int(r.num_key_value_heads),
            head_dim: int(r.head_dim),
          },
  },
  {
    op: 'mla_context',
    dir: 'mla',
    file: 'context_mla_perf',
    columns: ['dtype', 'kv_dtype', 'batch', 'prompt', 'heads', 'tp'],
    row: (r) =>
      !DTYPE[r.mla_dtype] || !DTYPE[r.kv_cache_dtype]
        ? null
        : { dtype: DTYPE[r.mla_dtype], kv_dtype: DTYPE[r.kv_cache_dtype], batch: int(r.batch_size), prompt: int(r.isl), heads: int(r.num_heads), tp: int(r.tp_size ?? 1) },
  },
  {
    op: 'mla_generation',
    dir: 'mla',
    file: 'generation_mla_perf',
    columns: ['dtype', 'kv_dtype', 'batch', 'context', 'heads', 'tp'],
    row: (r) =>
      !DTYPE[r.mla_dtype] || !DTYPE[r.kv_cache_dtype]
        ? null
        : { dtype: DTYPE[r.mla_dtype], kv_dtype: DTYPE[r.kv_cache_dtype], batch: int(r.batch_size), context: int(r.isl) + int(r.step), heads: int(r.num_heads), tp: int(r.tp_size ?? 1) },
  },
  {
    op: 'moe',
    dir: 'moe',
    file: 'moe_perf',
    columns: ['dtype', 'distribution', 'tokens', 'experts', 'topk', 'hidden', 'inter', 'tp', 'ep'],
    // TensorRT-LLM's small-batch NVFP4 kernel (kernel_source moe_torch_flow_min_latency):
    // aiconfigurator reads it first for gated NVFP4 layers of at most 128 tokens and its
    // default kernel otherwise (aic-core/rust/aiconfigurator-core/src/operators/moe.rs:364-405).
    // Kept for those token counts only, ahead of the default kernel's rows of the same shape.
    first: (r) => (r.kernel_source === 'moe_torch_flow_min_latency' ? 0 : 1),
    row: (r) =>
      String(r.kernel_source ?? '').includes('nongated') ||
      !DTYPE[r.moe_dtype] ||
      !SAFE_DISTRIBUTION.test(String(r.distribution ?? 'balanced')) ||
      (r.kernel_source === 'moe_torch_flow_min_latency' && (r.moe_dtype !== 'nvfp4' || int(r.num_tokens) > 128))
        ? null
        : {
            dtype: DTYPE[r.moe_dtype],
            distribution: String(r.distribution ?? 'balanced'),
            tokens: int(r.num_tokens),
            experts: int(r.num_experts),
            topk: int(r.topk),
            hidden: int(r.hidden_size),
            inter: int(r.inter_size),
            tp: int(r.moe_tp_size),
            ep: int(r.moe_ep_size),
          },
  },
  {
    // MLA's absorbed per-head matmuls of a decode step: `mla_gen_pre` (q_nope · W_UK) and
    // `mla_gen_post` (attention output · W_UV), priced by aiconfigurator's MLABmm
    // (aic-core/rust/aiconfigurator-core/src/perf_database/mla.rs, query_bmm).
    op: 'mla_bmm',
    dir: 'mla_bmm',
    file: 'mla_bmm_perf',
    columns: ['dtype', 'phase', 'heads', 'tokens'],
    row: (r) =>
      !DTYPE[r.bmm_dtype] || !/^mla_gen_(pre|post)$/.test(String(r.op_name))
        ? null
        : { dtype: DTYPE[r.bmm_dtype], phase: String(r.op_name).slice('mla_gen_'.length), heads: int(r.num_heads), tokens: int(r.num_tokens) },
  },
  {
    op: 'allreduce',
    dir: 'comm',
    file: 'custom_allreduce_perf',
    columns: ['dtype', 'ranks', 'bytes', 'scope'],
    row: (r) => (DTYPE[r.allreduce_dtype] ? { dtype: DTYPE[r.allreduce_dtype], ranks: int(r.num_gpus), bytes: int(r.message_size) * bytesOf(DTYPE[r.allreduce_dtype]), scope: 'intra' } : null),
  },
  {
    op: 'nccl',
    dir: 'comm',
    framework: 'nccl',
    file: 'nccl_perf',
    columns: ['collective', 'dtype', 'ranks', 'bytes', 'scope'],
    row: (r) =>
      DTYPE[r.nccl_dtype]
        ? { collective: String(r.op_name), dtype: DTYPE[r.nccl_dtype], ranks: int(r.num_gpus), bytes: int(r.message_size) * bytesOf(DTYPE[r.nccl_dtype]), scope: 'intra' }
        : null,
  },
  // The activation-quantize passes of an FP8 GEMM (aiconfigurator's fp8_static mode takes
  // them off the dynamic-FP8 GEMM time: aic-core/rust/aiconfigurator-core/src/operators/gemm.rs).
  {
    op: 'compute_scale',
    dir: 'quantize',
    file: 'computescale_perf',
    columns: ['dtype', 'm', 'k'],
    row: (r) => (DTYPE[r.quant_dtype] ? { dtype: DTYPE[r.quant_dtype], m: int(r.m), k: int(r.k) } : null),
  },
  {
    op: 'scale_matrix',
    dir: 'quantize',
    file: 'scale_matrix_perf',
    columns: ['dtype', 'm', 'k'],
    row: (r) => (DTYPE[r.quant_dtype] ? { dtype: DTYPE[r.quant_dtype], m: int(r.m), k: int(r.k) } : null),
  },
];

// Large expert-parallel (wide-EP) tables: aiconfigurator prices a layout that takes its
// large-EP graph (moe_comm_backend set) from these instead of the fused MoE table
// (aic-core/src/aiconfigurator_core/sdk/models/blocks/moe.py:297-312 and 520-652, commit 095f58a5).
// SGLang only: its DeepEP MoE compute (DeepEPMoE.run_moe_core with the deep_gemm runner,
// block-scaled FP8: collector/wideep/sglang/collect_deepep_moe.py:4-17 and 56-70) and DeepEP's
// normal (prefill) and low-latency (decode) all-to-all. TensorRT-LLM's wide-EP table
// (wideep_moe_perf, CUTLASS) serves backends that need SM 100 (sdk/operations/moe_comm.py:98-111)
// and is not converted.
//
// aiconfigurator reads them at a version that collected none from every earlier version that
// did, nearest first, the first row of a key winning: its shared-layer resolver's channel 3
// (aic-core/rust/aiconfigurator-core/src/perf_database/source_resolution.rs:957-1013, nearest-earlier
// same-backend siblings; the comm-family exclusion at 889-895 does not fire for a table the
// requested version lacks, whose primary path is the legacy layout, 569-590) and the keep-first
// legacy adapters (perf_database/moe_expert_compute.rs:503-596, perf_database/moe_a2a.rs:403-530).
// Each row keeps the framework version it was measured under in a `version` column, read from the
// parquet's own `version` column (the DeepEP files in comm/sglang/0.5.6.post2/ say 0.5.0 in every
// row), the folder's version only where a file has none; and the aiconfigurator device folder
// whose GPU measured it in a `measured_on` column (FILED_COPIES).
const WIDE_EP = [
  {
    // perf_database/moe_expert_compute.rs:535-596 (_adapt_legacy_sglang_wideep_moe): the phase is the
    // file's, num_slots = num_experts; only moe_tp_size 1 is queried (operators/moe_expert_compute.rs:201-224).
    op: 'wideep_moe',
    dir: 'moe',
    files: [
      ['wideep_context_moe_perf', 'context'],
      ['wideep_generation_moe_perf', 'generation'],
    ],
    columns: ['dtype', 'distribution', 'phase', 'experts', 'topk', 'hidden', 'inter', 'ep', 'tokens'],
    rows: (r, phase) =>
      !DTYPE[r.moe_dtype] || int(r.moe_tp_size ?? 1) !== 1 || !SAFE_DISTRIBUTION.test(String(r.distribution))
        ? []
        : [{ dtype: DTYPE[r.moe_dtype], distribution: String(r.distribution), phase, experts: int(r.num_experts), topk: int(r.topk), hidden: int(r.hidden_size), inter: int(r.inter_size), ep: int(r.moe_ep_size), tokens: int(r.num_tokens), time_us: us(r.latency) }],
  },
  {
    // perf_database/moe_a2a.rs:403-474 (_adapt_legacy_deepep_normal): dispatch = transmit + notify,
    // combine = transmit + notify, microseconds, keyed by dispatch_sms; ep = node_num · 8 (the tables
    // were collected on 8-GPU nodes, moe_a2a.rs:301-308).
    op: 'deepep_normal',
    dir: 'comm',
    files: [['wideep_deepep_normal_perf']],
    columns: ['phase', 'nodes', 'ep', 'hidden', 'topk', 'experts', 'sms', 'tokens'],
    rows: (r) => deepEpRows(r, (phase) => Number(r[`${phase}_transmit_us`] ?? 0) + Number(r[`${phase}_notify_us`] ?? 0), { sms: int(r.dispatch_sms) }),
  },
  {
    // perf_database/moe_a2a.rs:476-530 (_adapt_legacy_deepep_ll): the per-phase averages; no SM budget.
    op: 'deepep_ll',
    dir: 'comm',
    files: [['wideep_deepep_ll_perf']],
    columns: ['phase', 'nodes', 'ep', 'hidden', 'topk', 'experts', 'tokens'],
    rows: (r) => deepEpRows(r, (phase) => Number(r[`${phase}_avg_t_us`] ?? 0)),
  },
];
const WIDE_EP_FRAMEWORKS = new Set(['sglang']);

// Wide-EP files that aiconfigurator files under one device folder while their rows are another
// device's measurements. At commit 095f58a5, h200_sxm/comm/sglang/0.5.6.post2/wideep_deepep_{normal,ll}_perf.parquet
// hold, value for value in every column but `device`, the rows of h100_sxm's files of the same
// path (two GPUs do not time 532 kernels identically), and the single-node rows of the normal
// file say `device: "NVIDIA H100"`: they are H100 SXM measurements. The converter checks the
// identity on every run (a snapshot where it no longer holds is reported, not relabelled), and
// reports any other wide-EP file that is value-identical to another device folder's.
const FILED_COPIES = [{ device: 'h200_sxm', dir: 'comm', framework: 'sglang', version: '0.5.6.post2', measuredOn: 'h100_sxm' }];

/** A parquet row without its `device` label, as a comparable string. */
const valuesOf = (r) => JSON.stringify(Object.entries(r).filter(([k]) => k !== 'device'), (_, v) => (typeof v === 'bigint' ? String(v) : v));

/** Whether two tables hold the same rows, value for value in every column but `device`. */
function sameValues(a, b) {
  if (a.length !== b.length) return false;
  const count = new Map();
  for (const r of a) count.set(valuesOf(r), (count.get(valuesOf(r)) ?? 0) + 1);
  for (const r of b) {
    const k = valuesOf(r);
    if (!count.get(k)) return false;
    count.set(k, count.get(k) - 1);
  }
  return true;
}

/**
 * The device folder whose GPU measured the rows of wide-EP file `p` of `device`, and what the
 * converter found: its own folder, or the donor FILED_COPIES names where the identity holds.
 */
async function measuredOn(s, device, dir, framework, p, rows) {
  const version = versionOf(p);
  const other = (d) => p.replace(`${DATA}/${device}/`, `${DATA}/${d}/`);
  const same = [];
  for (const d of s.list(DATA)) {
    if (d === device || !s.list(path.dirname(other(d))).includes(path.basename(p))) continue;
    if (sameValues(rows, await readParquet(s, other(d)))) same.push(d);
  }
  const filed = FILED_COPIES.find((c) => c.device === device && c.dir === dir && c.framework === framework && c.version === version);
  if (filed && same.includes(filed.measuredOn)) return { folder: filed.measuredOn, note: `rows measured on ${filed.measuredOn}, filed under ${device} by aiconfigurator: value for value those of ${other(filed.measuredOn)}` };
  const copied = FILED_COPIES.filter((c) => c.measuredOn === device && c.dir === dir && c.framework === framework && c.version === version && same.includes(c.device));
  if (copied.length && copied.length === same.length) return { folder: device, note: `${copied.map((c) => c.device).join(', ')} files these rows too (FILED_COPIES)` };
  if (filed) console.warn(`${p}: FILED_COPIES names ${filed.measuredOn}, whose file no longer holds the same rows; labelled ${device}`);
  if (same.length) console.warn(`${p}: the same rows as ${same.map(other).join(', ')}; which device measured them is not known, labelled ${device}`);
  return { folder: device, ...(same.length ? { note: `the same rows as ${same.map(other).join(', ')}` } : {}) };
}

/** One legacy DeepEP row as a dispatch row and a combine row, `timeUs(phase)` microseconds each. */
function deepEpRows(r, timeUs, extra = {}) {
  return ['dispatch', 'combine'].map((phase) => ({
    phase,
    nodes: int(r.node_num),
    ep: int(r.node_num) * 8,
    hidden: int(r.hidden_size),
    topk: int(r.num_topk),
    experts: int(r.num_experts),
    ...extra,
    tokens: int(r.num_token),
    time_us: Number(timeUs(phase).toPrecision(6)),
  }));
}

function bytesOf(d) {
  return d === 'fp8' || d === 'int8' ? 1 : d === 'nvfp4' ? 0.5 : 2;
}

// ---------------------------------------------------------------- source access

function args() {
  const a = process.argv.slice(2);
  const get = (flag) => {
    const i = a.indexOf(flag);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const source = get('--source');
  if (!source) {
    console.error('usage: node scripts/kernel-db-from-aiconfigurator.mjs --source <aiconfigurator checkout or bare git dir> [--commit <sha>] [--out data/kernels]');
    process.exit(2);
  }
  const list = (flag) => (get(flag) === undefined ? undefined : get(flag).split(',').map((x) => x.trim()).filter(Boolean));
  return { source, commit: get('--commit'), out: get('--out') ?? 'data/kernels', devices: list('--devices'), frameworks: list('--frameworks') };
}

function openSource(src, commitArg) {
  const bare = fs.existsSync(path.join(src, 'HEAD')) && fs.existsSync(path.join(src, 'objects'));
  if (bare) {
    const git = (...x) => execFileSync('git', ['--git-dir', src, ...x], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
    const commit = git('rev-parse', `${commitArg ?? 'HEAD'}^{commit}`).toString().trim();
    const date = git('show', '-s', '--format=%cI', commit).toString().trim();
    return {
      commit,
      date,
      list: (p) => {
        try {
          return git('ls-tree', '--name-only', `${commit}:${p}`).toString().split('\n').filter(Boolean);
        } catch {
          return [];
        }
      },
      read: (p) => {
        try {
          return git('show', `${commit}:${p}`);
        } catch {
          return undefined;
        }
      },
    };
  }
  let commit = commitArg ?? 'unknown';
  let date = 'unknown';
  try {
    commit = execFileSync('git', ['-C', src, 'rev-parse', 'HEAD']).toString().trim();
    date = execFileSync('git', ['-C', src, 'show', '-s', '--format=%cI', 'HEAD']).toString().trim();
  } catch {
    // A plain copy without git metadata: the commit is what --commit says.
  }
  return {
    commit,
    date,
    list: (p) => (fs.existsSync(path.join(src, p)) ? fs.readdirSync(path.join(src, p)) : []),
    read: (p) => {
      const f = path.join(src, p);
      if (!fs.existsSync(f)) return undefined;
      // A link to a device (/dev/zero) or a runaway file would be read without end.
      const st = fs.statSync(f);
      if (!st.isFile()) throw new Error(`${f}: not a regular file`);
      if (st.size > MAX_SOURCE_BYTES) throw new Error(`${f}: ${st.size} bytes, more than the ${MAX_SOURCE_BYTES} a table of aiconfigurator's holds`);
      return fs.readFileSync(f);
    },
  };
}

/** Far above any aiconfigurator table (the largest at commit 095f58a5 is 2.3 MB). */
const MAX_SOURCE_BYTES = 256 * 2 ** 20;

/** Orders versions numerically, a release candidate before its release (1.3.0rc20 < 1.3.0). */
function versionKey(v) {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?(?:\.post(\d+))?(?:rc(\d+))?/.exec(v);
  if (!m) return [-1, 0, 0, 0, 0];
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0), m[5] === undefined ? 1e6 : Number(m[5]), Number(m[4] ?? 0)];
}
function compareVersions(a, b) {
  const x = versionKey(a);
  const y = versionKey(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}
const isRc = (v) => /rc\d+/.test(v) || /dev/.test(v);

/** The parquet path of `table` for (device, dir, framework, version), following reuse.yaml pointers. */
function resolveTable(s, device, dir, framework, version, table, depth = 0) {
  const base = `${DATA}/${device}/${dir}/${framework}/${version}`;
  const direct = `${base}/${table}.parquet`;
  if (s.list(base).includes(`${table}.parquet`)) return direct;
  const reuse = s.read(`${base}/reuse.yaml`);
  if (!reuse || depth > 4) return undefined;
  // reuse.yaml: a list of `- table: <name>\n  from_version: <version>` entries.
  const text = reuse.toString();
  const re = /-\s*table:\s*(\S+)\s*\n\s*from_version:\s*(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1] === table) return resolveTable(s, device, dir, framework, m[2], table, depth + 1);
  }
  return undefined;
}

/**
 * Newest non-rc version that collected its own GEMM table (not a reuse.yaml pointer
 * to another version's), else the newest such release candidate.
 */
function pickVersion(s, device, framework) {
  const versions = s.list(`${DATA}/${device}/gemm/${framework}`).filter((v) => s.list(`${DATA}/${device}/gemm/${framework}/${v}`).includes('gemm_perf.parquet'));
  versions.sort(compareVersions);
  const releases = versions.filter((v) => !isRc(v));
  return (releases.length ? releases : versions).at(-1);
}

/** The op's table at `version`, else at the newest version of that op at or below it. */
function tableFor(s, device, t, framework, version) {
  if (t.framework === 'nccl') {
    const vs = s.list(`${DATA}/${device}/comm/nccl`).sort(compareVersions);
    for (const v of vs.reverse()) {
      const p = resolveTable(s, device, 'comm', 'nccl', v, t.file);
      if (p) return p;
    }
    return undefined;
  }
  const exact = resolveTable(s, device, t.dir, framework, version, t.file);
  if (exact) return exact;
  const older = s
    .list(`${DATA}/${device}/${t.dir}/${framework}`)
    .filter((v) => compareVersions(v, version) <= 0)
    .sort(compareVersions)
    .reverse();
  for (const v of older) {
    const p = resolveTable(s, device, t.dir, framework, v, t.file);
    if (p) return p;
  }
  return undefined;
}

/**
 * The files aiconfigurator reads `table` from for (device, framework, version): the version's
 * own (or its reuse.yaml donor's), then every earlier version's that holds the file, nearest first.
 */
function sourcesFor(s, device, dir, framework, version, table) {
  const own = resolveTable(s, device, dir, framework, version, table);
  const earlier = s
    .list(`${DATA}/${device}/${dir}/${framework}`)
    .filter((v) => compareVersions(v, version) < 0)
    .sort(compareVersions)
    .reverse()
    .map((v) => `${DATA}/${device}/${dir}/${framework}/${v}/${table}.parquet`)
    .filter((p) => s.list(path.dirname(p)).includes(`${table}.parquet`));
  return [...new Set([...(own ? [own] : []), ...earlier])];
}

/** The version folder a source path lies in. */
const versionOf = (p) => path.basename(path.dirname(p));

/** The rows of the source's parquet file `p`; a file that is not parquet is an error naming it. */
async function readParquet(s, p) {
  const buf = s.read(p);
  if (buf === undefined) throw new Error(`${p}: not found`);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  try {
    return await parquetReadObjects({ file: ab, compressors });
  } catch (e) {
    throw new Error(`${p}: not a readable parquet file (${e.message})`);
  }
}

// ---------------------------------------------------------------- convert

async function main() {
  const { source, commit: commitArg, out, devices: devArg, frameworks: fwArg } = args();
  const s = openSource(source, commitArg);
  const devices = devArg === undefined ? DEVICES : devArg[0] === 'all' ? s.list(DATA).filter((d) => s.list(`${DATA}/${d}/gemm`).length > 0) : devArg;
  const frameworksOf = (device) => (fwArg === undefined ? (FRAMEWORKS[device] ?? ['trtllm']) : fwArg[0] === 'all' ? ['trtllm', 'sglang', 'vllm'] : fwArg);
  if (devices.length === 0) {
    console.error(`no device folders with GEMM tables under ${DATA} in ${source}`);
    process.exit(2);
  }
  const converted = new Date().toISOString().slice(0, 10);
  const index = { repo: REPO, commit: s.commit, commitDate: s.date, license: 'Apache-2.0', converted, script: 'scripts/kernel-db-from-aiconfigurator.mjs', units: { time_us: 'microseconds per call', bytes: 'message bytes (elements × dtype bytes)' }, tables: [] };
  let total = 0;
  for (const device of devices) {
    for (const framework of frameworksOf(device)) {
      const version = pickVersion(s, device, framework);
      if (!version) {
        console.log(`${device}/${framework}: no GEMM table, skipped`);
        continue;
      }
      const dirOut = path.join(out, device, framework, version);
      fs.mkdirSync(dirOut, { recursive: true });
      const tables = {};
      for (const t of TABLES) {
        const p = tableFor(s, device, t, framework, version);
        if (!p) continue;
        const read = await readParquet(s, p);
        const rows = t.first ? read.map((r, i) => [t.first(r), i, r]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]) : read;
        const seen = new Set();
        const lines = [[...t.columns, 'time_us'].join(',')];
        let dropped = 0;
        for (const r of rows) {
          const o = t.row(r);
          const time = us(r.latency);
          if (!o || !(time > 0)) {
            dropped++;
            continue;
          }
          const key = t.columns.map((c) => o[c]).join(',');
          if (seen.has(key)) {
            dropped++;
            continue;
          }
          seen.add(key);
          lines.push(`${key},${time}`);
        }
        if (lines.length === 1) {
          // Every row dropped: no file.
          console.log(`${device}/${framework}/${version}/${t.op}: no row kept of ${rows.length} in ${p}`);
          continue;
        }
        const gz = zlib.gzipSync(lines.join('\n') + '\n', { level: 9 });
        const file = path.join(dirOut, `${t.op}.csv.gz`);
        fs.writeFileSync(file, gz);
        total += gz.length;
        tables[t.op] = { path: p, rows: lines.length - 1, droppedRows: dropped };
        console.log(`${device}/${framework}/${version}/${t.op}: ${lines.length - 1} rows (${dropped} dropped) from ${p}, ${(gz.length / 1024).toFixed(0)} KiB`);
      }
      if (WIDE_EP_FRAMEWORKS.has(framework)) {
        for (const t of WIDE_EP) {
          const seen = new Set();
          const lines = [[...t.columns, 'time_us', 'version', 'measured_on'].join(',')];
          const from = [];
          let dropped = 0;
          for (const [file, phase] of t.files) {
            for (const p of sourcesFor(s, device, t.dir, framework, version, file)) {
              const read = await readParquet(s, p);
              const on = await measuredOn(s, device, t.dir, framework, p, read);
              const versions = {};
              const devices = {};
              let kept = 0;
              for (const r of read) {
                const out = t.rows(r, phase);
                if (out.length === 0) dropped++;
                // The version the row says it was measured under; the folder's where it says none.
                const measured = SAFE_DISTRIBUTION.test(String(r.version ?? '')) ? String(r.version) : versionOf(p);
                for (const o of out) {
                  const key = t.columns.map((c) => o[c]).join(',');
                  if (!(o.time_us > 0) || seen.has(key)) {
                    dropped++;
                    continue;
                  }
                  seen.add(key);
                  lines.push(`${key},${o.time_us},${measured},${on.folder}`);
                  kept++;
                  versions[measured] = (versions[measured] ?? 0) + 1;
                  devices[String(r.device ?? 'unstated')] = (devices[String(r.device ?? 'unstated')] ?? 0) + 1;
                }
              }
              from.push({ path: p, folderVersion: versionOf(p), rows: read.length, kept, measuredUnder: versions, keptDeviceColumn: devices, measuredOn: on.folder, ...(on.note ? { note: on.note } : {}) });
            }
          }
          if (lines.length === 1) continue;
          const gz = zlib.gzipSync(lines.join('\n') + '\n', { level: 9 });
          fs.writeFileSync(path.join(dirOut, `${t.op}.csv.gz`), gz);
          total += gz.length;
          const under = [...new Set(from.flatMap((f) => Object.keys(f.measuredUnder)))];
          const on = [...new Set(from.filter((f) => f.kept > 0).map((f) => f.measuredOn))];
          tables[t.op] = {
            paths: from,
            rows: lines.length - 1,
            droppedRows: dropped,
            note:
              `measured under ${framework} ${under.join(', ')} (each file's version column), read from the folders aiconfigurator reads for ${version}` +
              (on.some((d) => d !== device) ? `; rows measured on ${on.join(' and ')}, ${on.filter((d) => d !== device).join(', ')}'s filed under ${device} by aiconfigurator` : ''),
          };
          console.log(`${device}/${framework}/${version}/${t.op}: ${lines.length - 1} rows (${dropped} dropped) from ${from.map((f) => f.path).join(', ')}, ${(gz.length / 1024).toFixed(0)} KiB`);
        }
      }
      const meta = { repo: REPO, commit: s.commit, commitDate: s.date, license: 'Apache-2.0', converted, device, framework, version, tables };
      fs.writeFileSync(path.join(dirOut, 'SOURCE.json'), JSON.stringify(meta, null, 2) + '\n');
      index.tables.push({ device, framework, version, dir: path.relative(out, dirOut), tables });
    }
  }
  fs.writeFileSync(path.join(out, 'SOURCE.json'), JSON.stringify(index, null, 2) + '\n');
  const license = s.read('LICENSE');
  if (license) fs.writeFileSync(path.join(out, 'LICENSE'), license);
  fs.writeFileSync(
    path.join(out, 'NOTICE'),
    `The kernel timing tables under this directory are converted from NVIDIA aiconfigurator\n` +
      `(${REPO}, commit ${s.commit}),\n` +
      `Copyright (c) NVIDIA CORPORATION & AFFILIATES, licensed under the Apache License 2.0 (LICENSE).\n` +
      `Changes: Parquet tables converted to gzip CSV in batchlab's kernel-database schema; latency\n` +
      `converted from milliseconds to microseconds (6 significant digits); collective message sizes\n` +
      `converted from elements to bytes; columns and rows batchlab does not use dropped\n` +
      `(see scripts/kernel-db-from-aiconfigurator.mjs and SOURCE.json).\n`,
  );
  console.log(`total ${(total / 1024 / 1024).toFixed(2)} MiB`);
}

// One line on stderr, naming the file: the caller (loadKernelDb) quotes the last line.
await main().catch((e) => {
  process.stderr.write(`kernel-db-from-aiconfigurator: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

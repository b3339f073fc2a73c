"""Kernel-database rows for batchlab, measured with PyTorch on one CUDA GPU.

One prepared run fills a table in batchlab's schema (lib/kernels/schema.ts) for the GPU it
runs on, under framework 'torch':

    <out>/<device>/torch/<torch version>/gemm.csv                  dtype,m,n,k,time_us
    <out>/<device>/torch/<torch version>/compute_scale.csv         dtype,m,k,time_us
    <out>/<device>/torch/<torch version>/scale_matrix.csv          dtype,m,k,time_us
    <out>/<device>/torch/<torch version>/context_attention.csv     dtype,kv_dtype,batch,prompt,heads,kv_heads,head_dim,time_us
    <out>/<device>/torch/<torch version>/generation_attention.csv  dtype,kv_dtype,batch,context,heads,kv_heads,head_dim,time_us
    <out>/<device>/torch/<torch version>/SOURCE.json               provenance and method
    <out>/steps-<device>-torch-<version>.csv                       whole decode and prefill steps of a Llama-3.1-8B-shaped model

Every row also carries p10_us, p90_us and replays (extra columns the loader ignores).
`batchlab deploy --framework torch --kernel-db <out> --hardware h200 ...` then prices a step
from this GPU's own kernels, and the steps file checks that step model against whole
steps timed on the same GPU (test/roofline/measured-steps.test.ts, bench/measured-steps.ts).

Method (as aiconfigurator's collectors, collector/helper.py benchmark_with_power): every
point is captured once in a CUDA graph and replayed; samples of several back-to-back
replays (about 200 us each) are bracketed by CUDA events, so the host's graph launch is not
timed, and the row is the median over samples of the time per call. Unlike those
collectors, a GEMM cycles through enough copies of its weight to pass twice the L2 cache,
so that a decode-sized GEMM reads its weight from memory as it does in a served step.
FP8 GEMMs are torch._scaled_mm with per-tensor scales; the 'fp8' row is the dynamic path
(compute_scale + scale_matrix + the GEMM), as vLLM's dynamic FP8 linear runs it, and the
two quantize passes have their own tables so that static scaling is their difference.
Attention is F.scaled_dot_product_attention (the backend torch picks is recorded).

Rows are appended and flushed as they are measured, so an interrupted run keeps what it
measured, and SOURCE.json is written before the run's first row, after each kind of kernel and
on an interruption ("ended": false until the end; "complete" also needs every point reached).
Run again into the same --out, it resumes: points already in a table are not measured again
(a table with other columns is refused). --budget-s stops cleanly before an outer time limit.

Run (on a machine with a CUDA GPU and PyTorch; no Node needed):
    python bench/gpu/kernel_tables.py --out data/measured/kernels
    python bench/gpu/kernel_tables.py --out /tmp/db --ops gemm --budget-s 120
"""
import argparse
import atexit
import csv
import datetime as dt
import json
import math
import os
import platform
import signal
import socket
import statistics
import sys
import time

OPS = ("gemm", "context_attention", "generation_attention", "decode_step", "prefill_step")
COLUMNS = {
    "gemm": ["dtype", "m", "n", "k"],
    "compute_scale": ["dtype", "m", "k"],
    "scale_matrix": ["dtype", "m", "k"],
    "context_attention": ["dtype", "kv_dtype", "batch", "prompt", "heads", "kv_heads", "head_dim"],
    "generation_attention": ["dtype", "kv_dtype", "batch", "context", "heads", "kv_heads", "head_dim"],
}
STATS = ["time_us", "p10_us", "p90_us", "replays"]
# A full step's kernels by class (count, then summed device time), from one profiled eager step.
PROFILE_COLUMNS = ("gemm", "attention", "other", "gemm_us", "attention_us", "other_us")
STEP_COLUMNS = ["model", "tp", "phase", "variant", "dtype", "kv_dtype", "batch", "tokens", "context", "gemm_kernels", "attention_kernels",
                "other_kernels", "gemm_kernel_us", "attention_kernel_us", "other_kernel_us", "quantize_kernels"]
# aiconfigurator's system names for the GPUs it measured (aic-core/.../systems/*.yaml).
DEVICE_FOLDERS = {"nvidia h200": "h200_sxm", "nvidia h100 80gb hbm3": "h100_sxm", "nvidia a100-sxm4-80gb": "a100_sxm", "nvidia b200": "b200_sxm"}

# Shapes. GEMM (n, k): Llama-3.1-8B's linears at tensor parallelism 1 (q/k/v fused, output,
# gate/up fused, down, LM head), then points of aiconfigurator's own grid (its
# collector/cases/base_ops/gemm.yaml) so the two tables meet on exact rows.
LLAMA_8B = dict(hidden=4096, inter=14336, heads=32, kv_heads=8, head_dim=128, layers=32, vocab=128256)
GEMM_NK = [(6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336), (128256, 4096),
           (8192, 8192), (1024, 8192), (8192, 1024), (7168, 8192), (8192, 3584), (16384, 4096)]
GEMM_M = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]
# (heads, kv_heads, head_dim) per device: Llama-3.1-8B at TP 1, 70B at TP 1, 4 and 8.
ATTN_HEADS = [(32, 8, 128), (64, 8, 128), (16, 2, 128), (8, 1, 128)]
CTX_BATCH = [1, 2, 4, 8, 16, 32, 64]
CTX_PROMPT = [128, 512, 1024, 2048, 4096, 8192, 16384]
GEN_BATCH = [1, 4, 16, 64, 256]
GEN_CONTEXT = [128, 512, 1024, 2048, 4096, 8192, 16384, 32768]
STEP_POINTS = [(1, 1024), (8, 1024), (32, 1024), (64, 1024), (128, 1024), (256, 1024), (1, 4096), (32, 4096), (64, 4096)]
# (prompts, tokens each) of whole prefill steps.
PREFILL_POINTS = [(1, 128), (1, 512), (1, 1024), (1, 2048), (1, 4096), (1, 8192), (4, 2048), (16, 512)]


def quantile(xs, q):
    s = sorted(xs)
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


class Table:
    """One CSV, appended row by row and flushed, so an interrupted run keeps its rows. A run
    into a file that already holds rows resumes it: a point already there (its first `keys`
    columns equal) is not measured again. A file with other columns is refused. `before_add`
    runs once, before this run's first row (the provenance is written then)."""

    before_add = None
    added = 0

    def __init__(self, path, columns, keys=None):
        self.columns = list(columns) + STATS
        self.keys = keys if keys is not None else len(columns)
        self.have = set()
        if Table.check(path, self.columns):
            with open(path, newline="") as f:
                r = csv.reader(f)
                next(r)
                self.have = {tuple(row[: self.keys]) for row in r if len(row) == len(self.columns)}
            fresh = False
        else:
            fresh = True
        self.f = open(path, "w" if fresh else "a", newline="")
        self.w = csv.writer(self.f, lineterminator="\n")
        if fresh:
            self.w.writerow(self.columns)
            self.f.flush()
        self.rows = len(self.have)

    @staticmethod
    def check(path, columns):
        """Whether `path` holds rows to resume (False: absent or empty). Exits on a header other
        than `columns`; drops a last line an interrupted run left without its newline."""
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            return False
        with open(path, "rb+") as f:
            data = f.read()
            if not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)
        with open(path, newline="") as f:
            header = next(csv.reader(f), None)
        if header is None:
            return False
        if header != list(columns):
            sys.exit(f"{path}: its header {','.join(header)} is not this script's {','.join(columns)}; "
                     "write into another --out folder")
        return True

    def measured(self, values):
        return tuple(str(v) for v in list(values)[: self.keys]) in self.have

    def add(self, values, stats):
        if Table.added == 0 and Table.before_add:
            Table.before_add()
        Table.added += 1
        self.w.writerow(list(values) + [f"{stats['median']:.6g}", f"{stats['p10']:.6g}", f"{stats['p90']:.6g}", stats["replays"]])
        self.f.flush()
        self.have.add(tuple(str(v) for v in list(values)[: self.keys]))
        self.rows += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="kernel-database root to write into")
    ap.add_argument("--ops", default=",".join(OPS), help=f"comma list of {', '.join(OPS)}")
    ap.add_argument("--budget-s", type=float, default=420.0, help="stop measuring after this many seconds (default 420)")
    ap.add_argument("--min-replays", type=int, default=10)
    ap.add_argument("--min-time-ms", type=float, default=40.0, help="replay each point until this much GPU time (default 40)")
    ap.add_argument("--device-name", default=None, help="device folder (default: aiconfigurator's name for the GPU)")
    args = ap.parse_args()
    ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    for o in ops:
        if o not in OPS:
            sys.exit(f"--ops entries must be one of {', '.join(OPS)}; got {o}")
    if not (args.budget_s > 0 and math.isfinite(args.budget_s)):
        sys.exit(f"--budget-s must be a number > 0; got {args.budget_s}")
    if args.min_replays < 1:
        sys.exit(f"--min-replays must be an integer >= 1; got {args.min_replays}")
    if not (args.min_time_ms >= 0 and math.isfinite(args.min_time_ms)):
        sys.exit(f"--min-time-ms must be a number >= 0; got {args.min_time_ms}")

    import torch  # here, so that --help works without PyTorch
    import torch.nn.functional as F

    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this script measures a GPU")
    t0 = time.perf_counter()
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    folder = args.device_name or DEVICE_FOLDERS.get(props.name.lower()) or "".join(c if c.isalnum() else "_" for c in props.name.lower())
    if not folder or folder.startswith(".") or "/" in folder:
        sys.exit(f"--device-name must be a plain folder name; got {folder}")
    version = torch.__version__.split("+")[0]
    root = os.path.join(args.out, folder, "torch", version)
    os.makedirs(root, exist_ok=True)
    l2 = getattr(props, "L2_cache_size", 50 * 2**20)
    budget_hit = []

    def out_of_time():
        if time.perf_counter() - t0 > args.budget_s:
            budget_hit.append(True)
            return True
        return False
    skipped = []

    def timed(fn, calls):
        """Median, p10 and p90 seconds per call of `fn` (which makes `calls` calls), graph-replayed."""
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                fn()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            fn()
        for _ in range(3):
            g.replay()
        torch.cuda.synchronize()
        # Each sample enqueues `k` replays between its two events, enough for about 200 µs, so
        # that the host's graph launch overlaps the device's work and is not timed.
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        g.replay()
        e1.record()
        e1.synchronize()
        k = max(1, min(64, math.ceil(200e-6 / max(e0.elapsed_time(e1) / 1e3, 1e-7))))
        samples, total = [], 0.0
        while len(samples) < args.min_replays or total < args.min_time_ms / 1e3:
            e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            g.replay()  # untimed: keeps the stream busy while the timed replays are launched
            e0.record()
            for _ in range(k):
                g.replay()
            e1.record()
            e1.synchronize()
            t = e0.elapsed_time(e1) / 1e3
            samples.append(t / (k * calls))
            total += t
            if len(samples) >= 2000:
                break
        del g
        return {"median": quantile(samples, 0.5) * 1e6, "p10": quantile(samples, 0.1) * 1e6, "p90": quantile(samples, 0.9) * 1e6, "replays": len(samples)}

    def attempt(what, fn):
        try:
            return fn()
        except (RuntimeError, torch.cuda.OutOfMemoryError) as e:  # one shape a kernel refuses is skipped, not fatal
            skipped.append(f"{what}: {str(e).splitlines()[0][:160]}")
            print(f"skip {what}: {str(e).splitlines()[0][:160]}", file=sys.stderr)
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            return None

    backends = {}
    # Provenance is written before this run's first row and rewritten at the end: an interrupted
    # run's rows keep theirs ("complete": false). A resumed run that adds rows keeps the earlier
    # runs' provenance beside its own; one that adds none leaves it, noting only that it ran.
    source_path = os.path.join(root, "SOURCE.json")
    old, earlier = None, []
    if os.path.exists(source_path):
        with open(source_path) as f:
            old = json.load(f)
        earlier = old.get("earlier_runs", []) + [{k: v for k, v in old.items() if k != "earlier_runs"}]

    def write_source(final):
        source = {
            "what": "kernel times measured with PyTorch on one GPU by bench/gpu/kernel_tables.py",
            "device": props.name, "device_folder": folder, "multiprocessors": props.multi_processor_count,
            "memory_gib": round(props.total_memory / 2**30, 1), "l2_bytes": l2,
            "host": socket.gethostname(), "torch": torch.__version__, "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(), "python": platform.python_version(),
            "driver": _driver(), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "method": "CUDA graph per point, 3 warm-up replays, then samples of k back-to-back replays (k for about 200 us, at most 64) "
                      f"bracketed by CUDA events until {args.min_replays} samples and {args.min_time_ms} ms (at most 2000 samples); "
                      "time_us = median per call, p10_us/p90_us over samples, replays = samples",
            "gemm": "F.linear (bf16) and torch._scaled_mm with per-tensor scales (fp8 = amax scale + quantize + GEMM); "
                    "each graph cycles `copies` weights (at most 256) to pass twice the L2 cache",
            "attention_backends": {k: sorted(v) for k, v in backends.items()},
            "steps": "Llama-3.1-8B shapes, random weights (bf16, or fp8 with dynamic per-tensor activation scales and a bf16 LM head), "
                     "eager PyTorch ops in one CUDA graph: RMSNorm, fused QKV, rotary, KV write (decode), SDPA (over the cache in decode, "
                     "causal over the prompt in prefill), output, SwiGLU MLP, final norm and the LM head on each sequence's last token",
            "skipped": skipped, "seconds": round(time.perf_counter() - t0, 1), "stopped_by_budget": bool(budget_hit), "ended": final,
                "complete": final and not budget_hit,
        }
        if earlier:
            source["earlier_runs"] = earlier
        tmp = f"{source_path}.tmp-{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(source, f, indent=2)
        os.replace(tmp, source_path)

    Table.before_add = lambda: write_source(final=False)
    # An interrupted run (an exception, Ctrl-C, or the SIGTERM of an outer `timeout`) still
    # rewrites its provenance with what it got through; after each kind of kernel it is rewritten too.
    ended = []
    atexit.register(lambda: Table.added > 0 and not ended and write_source(final=False))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    checkpoint = lambda: Table.added > 0 and write_source(final=False)
    # Every table this run will append to is checked first, not minutes into the run.
    planned = {"gemm": [("gemm", COLUMNS["gemm"] + ["copies"]), ("compute_scale", COLUMNS["compute_scale"]), ("scale_matrix", COLUMNS["scale_matrix"])],
               "context_attention": [("context_attention", COLUMNS["context_attention"])],
               "generation_attention": [("generation_attention", COLUMNS["generation_attention"])]}
    for op in ops:
        for name, cols in planned.get(op, []):
            Table.check(os.path.join(root, f"{name}.csv"), list(cols) + STATS)
    if "decode_step" in ops or "prefill_step" in ops:
        Table.check(os.path.join(args.out, f"steps-{folder}-torch-{version}.csv"), STEP_COLUMNS + STATS)

    # --- GEMM, bf16 and dynamic FP8, and the two quantize passes -------------------------
    if "gemm" in ops:
        gemm = Table(os.path.join(root, "gemm.csv"), COLUMNS["gemm"] + ["copies"], keys=len(COLUMNS["gemm"]))
        cscale = Table(os.path.join(root, "compute_scale.csv"), COLUMNS["compute_scale"])
        smat = Table(os.path.join(root, "scale_matrix.csv"), COLUMNS["scale_matrix"])
        f8 = torch.float8_e4m3fn
        done_quant = set()
        for n, k in GEMM_NK:
            if out_of_time():
                break
            for dtype in ("bf16", "fp8"):
                b = 2 if dtype == "bf16" else 1
                copies = max(1, min(256, math.ceil(2 * l2 / (n * k * b))))
                w16 = [torch.empty(n, k, device=dev, dtype=torch.bfloat16).uniform_(-0.05, 0.05) for _ in range(copies)]
                ws = w16 if dtype == "bf16" else [w.to(f8) for w in w16]
                if dtype == "fp8":
                    del w16
                one = torch.ones((), device=dev, dtype=torch.float32)
                for m in GEMM_M:
                    if out_of_time():
                        break
                    x = torch.empty(m, k, device=dev, dtype=torch.bfloat16).uniform_(-1, 1)

                    if dtype == "bf16":
                        def fn():
                            for w in ws:
                                F.linear(x, w)
                    else:
                        def quant():
                            scale = x.abs().amax().float().clamp(min=1e-12) / 448.0
                            return (x / scale).to(f8), scale

                        def fn():
                            for w in ws:
                                x8, scale = quant()
                                torch._scaled_mm(x8, w.t(), scale_a=scale, scale_b=one, out_dtype=torch.bfloat16)
                    st = None if gemm.measured([dtype, m, n, k]) else attempt(f"gemm {dtype} m={m} n={n} k={k}", lambda: timed(fn, copies))
                    if st:
                        gemm.add([dtype, m, n, k, copies], st)
                    if dtype == "fp8" and (m, k) not in done_quant:
                        done_quant.add((m, k))
                        reps = 8

                        def cs():
                            for _ in range(reps):
                                x.abs().amax().float().clamp(min=1e-12) / 448.0
                        scale = x.abs().amax().float().clamp(min=1e-12) / 448.0

                        def sm():
                            for _ in range(reps):
                                (x / scale).to(f8)
                        a = None if cscale.measured(["fp8", m, k]) else attempt(f"compute_scale m={m} k={k}", lambda: timed(cs, reps))
                        if a:
                            cscale.add(["fp8", m, k], a)
                        a = None if smat.measured(["fp8", m, k]) else attempt(f"scale_matrix m={m} k={k}", lambda: timed(sm, reps))
                        if a:
                            smat.add(["fp8", m, k], a)
                    del x
                del ws
                torch.cuda.empty_cache()
            print(f"[{time.perf_counter() - t0:.0f}s] gemm n={n} k={k}: {gemm.rows} rows", file=sys.stderr)
        checkpoint()

    def sdpa_backend(q, k, v, causal):
        from torch.nn.attention import SDPBackend, sdpa_kernel
        for b in (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.MATH):
            try:
                with sdpa_kernel([b]):
                    F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
                return b
            except RuntimeError:
                continue
        raise RuntimeError("no SDPA backend ran this shape")

    def attention(q, k, v, causal, label):
        from torch.nn.attention import sdpa_kernel
        b = sdpa_backend(q, k, v, causal)
        backends.setdefault(label, set()).add(str(b).split(".")[-1].lower())

        def fn():
            with sdpa_kernel([b]):
                F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
        return timed(fn, 1)

    # --- attention: context (causal prefill, every prompt of one length) and generation ----
    # (one query token per sequence over its KV cache), at (batch, length) up to a token cap.
    for op, lengths, batches, cap, causal in (("context_attention", CTX_PROMPT, CTX_BATCH, 65536, True),
                                              ("generation_attention", GEN_CONTEXT, GEN_BATCH, 2**20, False)):
        if op not in ops:
            continue
        table = Table(os.path.join(root, f"{op}.csv"), COLUMNS[op])
        for h, kvh, d in ATTN_HEADS:
            for n in lengths:
                for bsz in batches:
                    if bsz * n > cap or table.measured(["bf16", "bf16", bsz, n, h, kvh, d]) or out_of_time():
                        continue

                    def run():
                        q = torch.randn(bsz, h, n if causal else 1, d, device=dev, dtype=torch.bfloat16)
                        kk = torch.randn(bsz, kvh, n, d, device=dev, dtype=torch.bfloat16)
                        vv = torch.randn(bsz, kvh, n, d, device=dev, dtype=torch.bfloat16)
                        return attention(q, kk, vv, causal, op)
                    st = attempt(f"{op} b={bsz} n={n} h={h}/{kvh}", run)
                    if st:
                        table.add(["bf16", "bf16", bsz, n, h, kvh, d], st)
            print(f"[{time.perf_counter() - t0:.0f}s] {op} heads {h}/{kvh}: {table.rows} rows", file=sys.stderr)
        checkpoint()

    def profile(fn):
        """Kernels one eager call of `fn` launches, by class, from the PyTorch profiler:
        GEMMs, attention, and the rest (count and summed device time)."""
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as tprofile
        fn()
        torch.cuda.synchronize()
        with tprofile(activities=[ProfilerActivity.CUDA]) as p:
            fn()
            torch.cuda.synchronize()
        c = {"gemm": 0, "attention": 0, "other": 0, "gemm_us": 0.0, "attention_us": 0.0, "other_us": 0.0}
        for e in p.events():
            if getattr(e, "device_type", None) is None or "CUDA" not in str(e.device_type):
                continue
            n = e.name.lower()
            # Attention first: flash-attention's template names mention cutlass too.
            kind = "attention" if any(w in n for w in ("flash", "fmha", "attention")) else \
                "gemm" if any(w in n for w in ("gemm", "gemv", "nvjet", "xmma", "cutlass", "sm90_", "splitk")) else "other"
            c[kind] += 1
            c[kind + "_us"] += e.device_time_total if hasattr(e, "device_time_total") else e.cuda_time_total
        for k in ("gemm_us", "attention_us", "other_us"):
            c[k] = round(c[k], 1)
        return {"full": c}

    # --- whole steps of a Llama-3.1-8B-shaped model (random weights) ----------------------
    step_path = os.path.join(args.out, f"steps-{folder}-torch-{version}.csv")
    if "decode_step" in ops or "prefill_step" in ops:
        steps = Table(step_path, STEP_COLUMNS, keys=9)
        cfg = LLAMA_8B
        H, I, nh, nkv, hd, L, V = (cfg[x] for x in ("hidden", "inter", "heads", "kv_heads", "head_dim", "layers", "vocab"))
        bf, f8 = torch.bfloat16, torch.float8_e4m3fn
        mk = lambda *s: torch.empty(*s, device=dev, dtype=bf).uniform_(-0.02, 0.02)
        shapes = dict(qkv=((nh + 2 * nkv) * hd, H), o=(H, nh * hd), gu=(2 * I, H), down=(H, I))
        one = torch.ones((), device=dev, dtype=torch.float32)

        def rms(x, w):
            return (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-5)).to(bf) * w

        for wdt in ("bf16", "fp8"):
            if out_of_time():
                break
            layers = []
            for _ in range(L):
                lw = {k: mk(*sh) for k, sh in shapes.items()}
                if wdt == "fp8":
                    lw = {k: w.to(f8) for k, w in lw.items()}
                lw["n1"], lw["n2"] = torch.ones(H, device=dev, dtype=bf), torch.ones(H, device=dev, dtype=bf)
                layers.append(lw)
            head, norm = mk(V, H), torch.ones(H, device=dev, dtype=bf)

            def quantize(x):
                scale = x.abs().amax().float().clamp(min=1e-12) / 448.0
                return (x / scale).to(f8), scale

            # Kernels one activation quantize launches (every FP8 linear runs one).
            probe = torch.randn(8, H, device=dev, dtype=bf)
            quant_kernels = sum(profile(lambda: quantize(probe))["full"][c] for c in ("gemm", "attention", "other"))

            def lin(x, w):
                # The LM head stays bf16; FP8 linears quantize their input per tensor (dynamic).
                if w.dtype != f8:
                    return F.linear(x, w)
                x8, scale = quantize(x)
                return torch._scaled_mm(x8, w.t(), scale_a=scale, scale_b=one, out_dtype=bf)

            points = ([("decode", b, 1, c) for b, c in STEP_POINTS] if "decode_step" in ops else []) + \
                     ([("prefill", b, t, t) for b, t in PREFILL_POINTS] if "prefill_step" in ops and wdt == "bf16" else [])
            for phase, bsz, T, c in points:
                if steps.measured(["llama-3.1-8b", 1, phase, "full", wdt, "bf16", bsz, bsz * T, c]):
                    continue
                if out_of_time():
                    break

                def run():
                    from torch.nn.attention import sdpa_kernel
                    decode = phase == "decode"
                    kv = [(torch.randn(bsz, nkv, c, hd, device=dev, dtype=bf), torch.randn(bsz, nkv, c, hd, device=dev, dtype=bf)) for _ in range(L)] if decode else None
                    x0 = torch.randn(bsz * T, H, device=dev, dtype=bf)
                    pos = torch.full((1,), c - 1, device=dev, dtype=torch.long)
                    cos = torch.randn(bsz, 1, T, hd // 2, device=dev, dtype=bf)
                    sin = torch.randn(bsz, 1, T, hd // 2, device=dev, dtype=bf)
                    qs = torch.randn(bsz, nh, T, hd, device=dev, dtype=bf)
                    ks = kv[0][0] if decode else torch.randn(bsz, nkv, T, hd, device=dev, dtype=bf)
                    b = sdpa_backend(qs, ks, ks, not decode)
                    del qs
                    backends.setdefault(f"{phase}_step", set()).add(str(b).split(".")[-1].lower())

                    def rope(t):
                        a, z = t[..., : hd // 2], t[..., hd // 2:]
                        return torch.cat((a * cos - z * sin, z * cos + a * sin), -1)

                    def step(core=False):
                        # core: the GEMMs and attention alone (no norms, rotary, KV write,
                        # residual adds or activation), to check that a step is the sum of its kernels.
                        x = x0
                        for i, lw in enumerate(layers):
                            h_ = x if core else rms(x, lw["n1"])
                            qkv = lin(h_, lw["qkv"]).view(bsz, T, -1)
                            q = qkv[..., : nh * hd].reshape(bsz, T, nh, hd).transpose(1, 2)
                            kn = qkv[..., nh * hd:(nh + nkv) * hd].reshape(bsz, T, nkv, hd).transpose(1, 2)
                            vn = qkv[..., (nh + nkv) * hd:].reshape(bsz, T, nkv, hd).transpose(1, 2)
                            if not core:
                                q, kn = rope(q), rope(kn)
                            if decode:
                                kc, vc = kv[i]
                                if not core:
                                    kc.index_copy_(2, pos, kn)
                                    vc.index_copy_(2, pos, vn)
                            else:
                                kc, vc = kn, vn
                            with sdpa_kernel([b]):
                                a = F.scaled_dot_product_attention(q, kc, vc, is_causal=not decode, enable_gqa=True)
                            o = lin(a.transpose(1, 2).reshape(bsz * T, nh * hd), lw["o"])
                            if core:
                                gu = lin(o, lw["gu"])
                                x = lin(gu[:, :I], lw["down"])
                                continue
                            x = x + o
                            h_ = rms(x, lw["n2"])
                            gu = lin(h_, lw["gu"])
                            x = x + lin(F.silu(gu[:, :I]) * gu[:, I:], lw["down"])
                        # The LM head reads each sequence's last token only.
                        return F.linear(x.view(bsz, T, H)[:, -1] if core else rms(x.view(bsz, T, H)[:, -1], norm), head)
                    out = {"full": timed(step, 1)}
                    if wdt == "bf16":
                        out["core"] = timed(lambda: step(core=True), 1)
                    out["profile"] = profile(step)
                    del kv
                    return out
                res = attempt(f"{phase}_step {wdt} b={bsz} t={T} c={c}", run)
                if res:
                    pr = res["profile"]
                    for variant in ("full", "core"):
                        if variant in res:
                            st = res[variant]
                            # The FP8 GEMM rows hold their activation's quantize kernels; say how many
                            # of the other kernels those are, so that they are not priced twice.
                            counts = [pr["full"][k] for k in PROFILE_COLUMNS] + [quant_kernels * 4 * L if wdt == "fp8" else 0] if variant == "full" else [""] * (len(PROFILE_COLUMNS) + 1)
                            steps.add(["llama-3.1-8b", 1, phase, variant, wdt, "bf16", bsz, bsz * T, c] + counts, st)
                torch.cuda.empty_cache()
                print(f"[{time.perf_counter() - t0:.0f}s] {phase} step {wdt} b={bsz} t={T} c={c}: " + (", ".join(f"{v} {round(res[v]['median'])} us" for v in ("full", "core") if v in res) + f"; kernels {res['profile']['full']}" if res else "skipped"), file=sys.stderr)
            del layers, head
            torch.cuda.empty_cache()
            checkpoint()

    ended.append(True)
    if Table.added > 0 or old is None:
        write_source(final=True)
    else:
        old.setdefault("resumed_without_rows", []).append({
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "seconds": round(time.perf_counter() - t0, 1), "skipped": skipped, "stopped_by_budget": bool(budget_hit)})
        tmp = f"{source_path}.tmp-{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(old, f, indent=2)
        os.replace(tmp, source_path)
    print(root)


def _driver():
    try:
        import subprocess
        return subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return "unknown"


if __name__ == "__main__":
    main()

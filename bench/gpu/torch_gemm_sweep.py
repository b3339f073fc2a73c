"""GPU reference sweep for batchlab: X[M×K]·W[K×N] in PyTorch on a CUDA device.

Writes a CSV in the batchlab GEMM harness format (lib/gemm/row.ts, GEMM_COLUMNS),
so the notebook notebooks/01-gemm-batching.ipynb can draw it beside this machine's
curve. Same shapes as `batchlab bench gemm` (default K = N = 4096, M = 1 … 4096,
powers of two and the 1.5x points between), in bf16, fp16 and fp32 (fp32 with TF32
off, and tf32 with it on, so the dtype column says what the tensor cores did).

Timing: per point, warm-up calls, then repetitions until both --min-reps and
--min-time-ms are reached; each repetition is bracketed by CUDA events recorded on
the current stream, and the elapsed time is read after torch.cuda.synchronize(), so
no device-to-host copy is timed. Median, p10, p90, mean and cv as the harness.

Run (on a machine with a CUDA GPU and PyTorch; no Node needed):
    python bench/gpu/torch_gemm_sweep.py --out data/measured/
    python bench/gpu/torch_gemm_sweep.py --dtypes bf16 --m 1,8,64,512,4096 --k 7168 --n 2048
Copy the CSV into data/measured/ of the batchlab checkout; the notebook picks up
every gemm-*.csv there.

Kernel-database rows (lib/kernels, the schema of data/kernels): with --kernel-db DIR the
same points are also merged into DIR/<device>/torch/<torch version>/gemm.csv as
dtype,m,n,k,time_us (median microseconds per call), so that
`batchlab deploy --hardware <id> --framework torch --kernel-db DIR` prices GEMMs from
this GPU's own table. --shapes KxN,KxN sweeps several weight shapes in one run:
    python bench/gpu/torch_gemm_sweep.py --dtypes bf16 --shapes 8192x10240,8192x8192,8192x57344,28672x8192 \
        --kernel-db data/measured/kernels --device-name h100_sxm
"""
import argparse
import csv
import datetime as dt
import os
import platform
import socket
import statistics
import sys
import time

COLUMNS = [
    "case", "variant", "m", "k", "n", "batch", "calls", "dtype", "backend", "device", "host", "versions", "timestamp",
    "sync", "warmup", "reps", "median_s", "p10_s", "p90_s", "mean_s", "cv", "flops", "bytes", "weight_bytes", "gflops",
    "weight_gbps", "detail",
]
BYTES = {"fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2}


def batch_sizes(max_m):
    out, p = [], 1
    while p <= max_m:
        out.append(p)
        mid = p + p // 2
        if p >= 2 and mid <= max_m:
            out.append(mid)
        p *= 2
    return out


def quantile(sorted_xs, q):
    # Linear interpolation at rank (n-1)q, as simple-statistics' quantileSorted in lib/gemm.
    if len(sorted_xs) == 1:
        return sorted_xs[0]
    pos = (len(sorted_xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", default="pow2:4096", help='batch sizes "1,8,64" or pow2:<max>')
    ap.add_argument("--k", type=int, default=4096)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--dtypes", default="bf16,fp16,fp32", help="comma list of bf16, fp16, fp32, tf32")
    ap.add_argument("--min-reps", type=int, default=20)
    ap.add_argument("--min-time-ms", type=float, default=200.0)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--out", default="data/measured", help="output folder")
    ap.add_argument("--shapes", default=None, help='weight shapes "KxN,KxN" (default: --k x --n)')
    ap.add_argument("--kernel-db", default=None, help="also merge the points into DIR/<device>/torch/<version>/gemm.csv")
    ap.add_argument("--device-name", default=None, help="device folder for --kernel-db (default: the GPU name, lower case)")
    args = ap.parse_args()

    import torch  # imported here so that --help works without PyTorch

    for name in ("k", "n", "min_reps", "warmup"):
        v = getattr(args, name)
        if v < (0 if name == "warmup" else 1):
            sys.exit(f"--{name.replace('_', '-')} must be a positive integer; got {v}")
    if args.m.startswith("pow2:"):
        ms = batch_sizes(int(args.m[5:]))
    else:
        ms = [int(x) for x in args.m.split(",")]
    if any(m < 1 for m in ms):
        sys.exit(f"--m must list positive integers; got {args.m}")
    shapes = [(args.k, args.n)]
    if args.shapes is not None:
        try:
            shapes = [tuple(int(v) for v in p.lower().split("x")) for p in args.shapes.split(",")]
        except ValueError:
            shapes = []
        if not shapes or any(len(sh) != 2 or min(sh) < 1 for sh in shapes):
            sys.exit(f"--shapes must be KxN pairs of positive integers, comma-separated; got {args.shapes}")
    dtypes = [d.strip() for d in args.dtypes.split(",")]
    for d in dtypes:
        if d not in BYTES:
            sys.exit(f"--dtypes entries must be one of {', '.join(BYTES)}; got {d}")
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this script measures the GPU reference")

    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    host = socket.gethostname()
    versions = f"torch={torch.__version__};cuda={torch.version.cuda};cudnn={torch.backends.cudnn.version()};python={platform.python_version()}"
    device = f"gpu: {props.name}"
    os.makedirs(args.out, exist_ok=True)
    date = dt.date.today().isoformat()
    safe = lambda s: "".join(c if c.isalnum() or c in "._-" else "-" for c in s)
    path = os.path.join(args.out, f"gemm-{safe(host)}-torch-cuda-{date}.csv")
    rows = []
    for (K, N), dtype in [(sh, d) for sh in shapes for d in dtypes]:
        torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
        tdt = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32, "tf32": torch.float32}[dtype]
        b = BYTES[dtype]
        w = torch.empty(K, N, device=dev, dtype=tdt).uniform_(-1, 1)
        for m in ms:
            need = b * (m * K + K * N + m * N)
            if need > 0.5 * torch.cuda.mem_get_info()[0]:
                print(f"skip M={m} {dtype}: {need / 2**30:.2f} GiB exceeds half of free GPU memory", file=sys.stderr)
                continue
            x = torch.empty(m, K, device=dev, dtype=tdt).uniform_(-1, 1)
            for _ in range(args.warmup):
                torch.matmul(x, w)
            torch.cuda.synchronize()
            samples, start = [], time.perf_counter()
            while True:
                e0 = torch.cuda.Event(enable_timing=True)
                e1 = torch.cuda.Event(enable_timing=True)
                e0.record()
                torch.matmul(x, w)
                e1.record()
                e1.synchronize()
                samples.append(e0.elapsed_time(e1) / 1e3)
                elapsed = time.perf_counter() - start
                if len(samples) >= args.min_reps and elapsed * 1e3 >= args.min_time_ms:
                    break
                if len(samples) >= 100_000:
                    break
            del x
            s = sorted(samples)
            med, mean = quantile(s, 0.5), statistics.fmean(s)
            sd = statistics.stdev(s) if len(s) > 1 else 0.0
            flops = 2 * m * K * N
            wbytes = b * K * N
            rows.append({
                "case": "sweep", "variant": "plain", "m": m, "k": K, "n": N, "batch": 1, "calls": 1,
                "dtype": dtype, "backend": "torch-cuda", "device": device, "host": host, "versions": versions,
                "timestamp": dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z"), "sync": "cuda-events",
                "warmup": args.warmup, "reps": len(s), "median_s": med, "p10_s": quantile(s, 0.1), "p90_s": quantile(s, 0.9),
                "mean_s": mean, "cv": sd / mean if mean > 0 else 0.0, "flops": flops, "bytes": need, "weight_bytes": wbytes,
                "gflops": flops / med / 1e9, "weight_gbps": wbytes / med / 1e9, "detail": "",
            })
            print(f"{dtype} M={m}: {med * 1e6:.1f} us, {flops / med / 1e12:.1f} TFLOP/s", file=sys.stderr)
        del w
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=COLUMNS)
        wr.writeheader()
        wr.writerows(rows)
    os.replace(tmp, path)  # atomic: a reader never sees half a file
    print(path)
    if args.kernel_db is not None:
        folder = args.device_name or safe(props.name.lower()).replace("-", "_")
        print(write_kernel_rows(args.kernel_db, folder, safe(torch.__version__.split("+")[0]), rows))


def write_kernel_rows(root, device, version, rows):
    """Merges plain sweep points into root/device/torch/version/gemm.csv in batchlab's
    kernel-database schema (lib/kernels/schema.ts: dtype,m,n,k,time_us; the loader
    checks every row). A shape measured again replaces its old row. Returns the path."""
    if not device or device.startswith(".") or "/" in device or "/" in version:
        sys.exit(f"--device-name must be a plain folder name; got {device}")
    folder = os.path.join(root, device, "torch", version)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "gemm.csv")
    merged = {}
    if os.path.exists(path):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                merged[(r["dtype"], int(r["m"]), int(r["n"]), int(r["k"]))] = float(r["time_us"])
    for r in rows:
        merged[(r["dtype"], r["m"], r["n"], r["k"])] = r["median_s"] / r["calls"] * 1e6
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["dtype", "m", "n", "k", "time_us"])
        for (d, m, n, k), t in sorted(merged.items()):
            wr.writerow([d, m, n, k, f"{t:.6g}"])
    os.replace(tmp, path)
    return path


if __name__ == "__main__":
    main()

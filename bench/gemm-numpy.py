"""numpy reference for bench/gemm-vs-reference.ts.

A small line server so that the TypeScript bench can interleave numpy and tfjs
points in one run (both see the same machine load): it reads one JSON request per
line on stdin and answers one JSON line on stdout.

  {"op": "info"}                                   -> versions, BLAS, the kernel it runs
                                                      and the OPENBLAS_* variables it sees
  {"op": "time", "m": 8, "k": 4096, "n": 4096,
   "warmup": 1, "minReps": 3, "minTimeMs": 100, "maxTimeMs": 10000}
                                                   -> {"samples": [seconds, ...]}
The weight W[K×N] (float32, row-major) is kept between requests of the same (K, N),
like the bench keeps its tfjs weight.

Which OpenBLAS kernel runs is decided when the library loads, from the CPU and from
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE in this process's environment: the bench starts
one server with them removed (the fair reference) and one with the machine's setting.
"""
import ctypes
import json
import os
import platform
import sys
import time

import numpy as np

_w = {}


def info():
    blas = {}
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
    except Exception:  # older numpy prints instead of returning a dict
        pass
    return {
        "numpy": np.__version__,
        "python": platform.python_version(),
        "blas": blas.get("name", "unknown"),
        "blasVersion": blas.get("version", "unknown"),
        "kernel": kernel(),
        "env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ},
    }


def kernel():
    """The BLAS kernel in use: threadpoolctl's view when installed, else OpenBLAS asked directly."""
    x = np.ones((64, 64), dtype=np.float32)
    x @ x  # make sure the library is loaded
    try:
        from threadpoolctl import threadpool_info, __version__ as tpc

        for lib in threadpool_info():
            if lib.get("user_api") == "blas":
                return {
                    "via": f"threadpoolctl {tpc}",
                    "internal_api": lib.get("internal_api"),
                    "architecture": lib.get("architecture"),
                    "version": lib.get("version"),
                    "threading_layer": lib.get("threading_layer"),
                    "num_threads": lib.get("num_threads"),
                }
    except ImportError:
        pass
    # What threadpoolctl does for OpenBLAS: find the loaded library and ask it.
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line})
    except OSError:
        paths = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_", ""):
            for suffix in ("64_", ""):
                core = getattr(lib, f"{prefix}openblas_get_corename{suffix}", None)
                config = getattr(lib, f"{prefix}openblas_get_config{suffix}", None)
                threads = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                if core is None or config is None:
                    continue
                core.restype = ctypes.c_char_p
                config.restype = ctypes.c_char_p
                cfg = config().decode()
                return {
                    "via": "OpenBLAS C API (threadpoolctl not installed)",
                    "internal_api": "openblas",
                    "architecture": core().decode(),
                    "version": cfg.split()[1] if cfg.startswith("OpenBLAS") and len(cfg.split()) > 1 else cfg,
                    "config": cfg,
                    "num_threads": threads() if threads else None,
                }
    return {"via": "none", "internal_api": "unknown", "architecture": "unknown"}


def timed(req):
    m, k, n = int(req["m"]), int(req["k"]), int(req["n"])
    key = (k, n)
    if key not in _w:
        _w.clear()
        _w[key] = np.random.default_rng(1).uniform(-1, 1, size=(k, n)).astype(np.float32)
    w = _w[key]
    x = np.random.default_rng(m).uniform(-1, 1, size=(m, k)).astype(np.float32)
    for _ in range(int(req.get("warmup", 1))):
        x @ w
    samples = []
    start = time.perf_counter()
    min_reps, min_s = int(req.get("minReps", 3)), float(req.get("minTimeMs", 100)) / 1e3
    max_s = float(req.get("maxTimeMs", 10_000)) / 1e3
    while True:
        t0 = time.perf_counter()
        x @ w
        t1 = time.perf_counter()
        samples.append(t1 - t0)
        if len(samples) >= min_reps and t1 - start >= min_s:
            break
        if t1 - start >= max_s and len(samples) >= min(3, min_reps):
            break
    return {"samples": samples}


for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    try:
        req = json.loads(line)
        out = info() if req.get("op") == "info" else timed(req)
    except Exception as e:  # answer, never hang the bench
        out = {"error": repr(e)}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()

"""Timing of the virtual worm: generation, writing, and loading the cached example.

Run: `python bench/bench_virtual.py [--repeats 3]`. Prints wall-clock seconds (best of `repeats`)
and ratios against same-process numpy baselines on the same data (text write with `np.savetxt`,
binary `np.save`/`np.load`), so the numbers can be compared across machines.
Targets (issue 3): default 8-animal set generated and written < 10 s, loaded from cache < 2 s.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def best_of(fn, repeats: int) -> tuple[float, object]:
    "Best wall-clock time of `repeats` calls, and the last result."
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main(repeats: int = 3):
    t = time.perf_counter()
    from wormsae import virtual as V
    from scipy.signal import lfilter  # noqa: F401  (imported on first generation; timed separately)
    t_import = time.perf_counter() - t
    tmp = Path(tempfile.mkdtemp(prefix="bench_virtual_"))
    try:
        t_gen, (col, gt) = best_of(lambda: V.virtual_worm(), repeats)
        t_write, _ = best_of(lambda: V.write_virtual_worm(tmp / "w"), repeats)
        cache = tmp / "cache"
        t_first, _ = best_of(lambda: V.example(cache_dir=cache, refresh=True), 1)
        t_load, ex = best_of(lambda: V.example(cache_dir=cache), repeats)
        folder = V.example_folder(cache)
        t_check, _ = best_of(lambda: V.cache_is_valid(folder, V.EXAMPLE_PARAMS), repeats)
        t_read, _ = best_of(lambda: V.read_virtual_worm(folder), repeats)
        # baselines on the same arrays
        arrays = [r.traces for r in col]
        t_savetxt, _ = best_of(lambda: [np.savetxt(tmp / f"b{i}.txt", a.T, fmt="%.4f", delimiter=",")
                                        for i, a in enumerate(arrays)], 1)
        t_npsave, _ = best_of(lambda: [np.save(tmp / f"b{i}.npy", a) for i, a in enumerate(arrays)], repeats)
        t_npload, _ = best_of(lambda: [np.load(tmp / f"b{i}.npy") for i in range(len(arrays))], repeats)
        mb = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n = sum(a.size for a in arrays)
    print(f"virtual worm: {len(col)} animals x {col[0].n_frames} frames, {n / 1e6:.1f} M values, {mb:.1f} MB on disk; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    rows = [("import wormsae.virtual + scipy.signal", t_import, None),
            ("generate in memory (virtual_worm)", t_gen, None),
            ("generate + write CSVs + ground truth (write_virtual_worm)", t_write, t_savetxt),
            ("example(): first call, generates the cache", t_first, t_savetxt),
            ("example(): from a valid cache", t_load, t_npload),
            ("  of which: manifest + sha256 check", t_check, None),
            ("  of which: read CSVs + ground truth", t_read, t_npload),
            ("baseline: np.savetxt of the same arrays (%.4f)", t_savetxt, None),
            ("baseline: np.save of the same arrays", t_npsave, None),
            ("baseline: np.load of the same arrays", t_npload, None)]
    for name, sec, base in rows:
        ratio = f"  ({sec / base:5.1f}x baseline)" if base else ""
        print(f"{name:62s} {sec:7.3f} s{ratio}")
    print(f"targets: write {'OK' if t_write < 10 else 'MISSED'} (< 10 s), "
          f"cached load {'OK' if t_load < 2 else 'MISSED'} (< 2 s)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    main(ap.parse_args().repeats)

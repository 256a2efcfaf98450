"""Reading worm.world CSVs: the published layout (numbered frame columns) against the '0.0s' dialect.

Run: `python bench/bench_csv.py [--repeats 7]`. The same recordings (the default virtual worm, 8 animals x 4979
frames) are written in both layouts, then read back with `wormsae.load_many`, the two layouts alternating in the
same process; prints the median wall-clock seconds of `repeats` reads of each and their ratio. A second data set
blanks the first 98 frames of every neuron, as some real files do.
Target (issue 11): reading the published layout is no slower than the '0.0s' dialect (ratio <= 1, within noise).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def timed(fn) -> float:
    "Wall-clock seconds of one call."
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def compare(col, folder: Path, repeats: int) -> dict:
    "Write `col` in both layouts, then time reading each folder `repeats` times, alternating; medians in seconds."
    from wormsae.loading import load_many
    from wormsae.virtual import _lab_sheet
    from wormsae.wormworld import write_wormworld_csv
    write = {}
    for layout in ("published", "seconds"):
        (folder / layout).mkdir(parents=True)
        write[layout] = timed(lambda: [write_wormworld_csv(r, folder / layout / f"{r.key}.csv", metadata=_lab_sheet(r),
                                                           layout=layout) for r in col])
    read = {"published": [], "seconds": []}
    for i in range(repeats):
        for layout in (("published", "seconds") if i % 2 == 0 else ("seconds", "published")):
            read[layout].append(timed(lambda: load_many(folder / layout)))
    a, b = load_many(folder / "published"), load_many(folder / "seconds")
    assert all((x.traces.tobytes() == y.traces.tobytes()) for x, y in zip(a, b))  # the same data either way
    mb = {k: sum(p.stat().st_size for p in (folder / k).iterdir()) / 1e6 for k in read}
    paired = statistics.median(a / b for a, b in zip(read["published"], read["seconds"]))  # each pair read back to back
    return {k: (statistics.median(v), min(v), max(v), write[k], mb[k]) for k, v in read.items()}, paired


def main(repeats: int = 7):
    from wormsae.virtual import virtual_worm
    tmp = Path(tempfile.mkdtemp(prefix="bench_csv_"))
    try:
        results = {}
        for name, blank in [("default virtual worm", 0), ("first 98 frames empty", 98)]:
            col, _ = virtual_worm(blank_frames=blank)
            results[name] = compare(col, tmp / str(blank), repeats)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"8 animals x 4979 frames, read with ws.load_many; median (min-max) of {repeats} reads per layout, "
          f"alternating; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for name, (r, paired) in results.items():
        for layout, (med, lo, hi, write, mb) in r.items():
            print(f"{name:22s} {layout:10s} read {med:6.3f} s ({lo:.3f}-{hi:.3f})   write {write:6.3f} s   {mb:5.1f} MB")
        ratio = r["published"][0] / r["seconds"][0]
        print(f"{name:22s} published / seconds: {ratio:.3f} (ratio of medians), {paired:.3f} (median of paired ratios) "
              f"{'OK' if max(ratio, paired) <= 1.05 else 'SLOWER'}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    main(ap.parse_args().repeats)

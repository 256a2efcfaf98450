"""Opening a community NWB file: wormsae's h5py reader against pynwb reading the same file, same process.

The file has the Yemini-lab layout (DANDI 000472) at the size of a real recording's tables: 1,000 frames,
two segmentations with one table per frame (2,000 PlaneSegmentation tables), a raw-fluorescence and a
dNMF series, NeuronIDs, and the imaging volumes in `acquisition`. It is built once with pynwb and the
community extension (tests/community_nwb.py), its per-frame tables copied with h5py up to 1,000 each.
The baseline is what a user of pynwb pays before touching the traces: `NWBHDF5IO(...).read()`.

    python bench/bench_nwb.py [--frames 1000] [--repeats 5]
"""
import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from community_nwb import ey_file, replicate_tables  # noqa: E402

import wormsae as ws  # noqa: E402
from wormsae.nwb import read_nwb  # noqa: E402


def build(folder: Path, frames: int) -> Path:
    path = ey_file(folder / "ey_like.nwb", n_frames=frames, n_tables=2)
    for group in ("CalciumSeriesSegmentation", "CalciumSeriesSegmentationdNMF"):
        replicate_tables(path, f"processing/CalciumActivity/{group}", "Seg_tpoint_1", frames)
    return path


def seconds(fn, repeats: int) -> list:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def pynwb_read(path: Path):
    from pynwb import NWBHDF5IO
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "r", load_namespaces=True) as io:
            io.read()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            path = build(Path(tmp), args.frames)
        ours = seconds(lambda: read_nwb(path), args.repeats)
        loads = seconds(lambda: ws.load(path), args.repeats)  # format detection included
        rec = read_nwb(path)
        theirs = seconds(lambda: pynwb_read(path), max(1, args.repeats // 2))
        print(f"file: {path.stat().st_size / 1e6:.1f} MB, {args.frames} frames, 2 x {args.frames} per-frame tables")
        print(f"read_nwb -> {rec.traces.shape[0]} frames x {rec.traces.shape[1]} neurons ({rec.meta['series']})")
        print(f"wormsae read_nwb: median {statistics.median(ours):.3f} s (runs {', '.join(f'{s:.3f}' for s in ours)})")
        print(f"ws.load:          median {statistics.median(loads):.3f} s")
        print(f"pynwb io.read():  median {statistics.median(theirs):.2f} s (runs {', '.join(f'{s:.2f}' for s in theirs)})")
        print(f"ratio: read_nwb is {statistics.median(theirs) / statistics.median(ours):.0f}x faster than pynwb's read")


if __name__ == "__main__":
    main()

"""Peak memory of training and interpretation as the data grow (issue 14).

Each phase runs in a fresh process, which first builds N synthetic animals of T frames x 189 neurons
(float32 traces, a stimulus every 60 s, ten stimuli in turn, one behaviour channel) and then trains the
default SAE or interprets a model saved by the training phase (`--interpret-only`: by a training on two
short animals, so that only interpretation is measured). The peak resident memory of that process (ru_maxrss) is printed
beside the memory of the data themselves, so the ratio says how many copies of the data a phase holds.

    python bench/bench_memory.py                 # 4, 8 and 16 animals of 50,000 frames
    python bench/bench_memory.py --animals 50    # the issue's target: 50 x 50,000 frames, under 8 GB
    python bench/bench_memory.py --animals 50 --train-only
    python bench/bench_memory.py --animals 50 --interpret-only
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import lfilter

N_NEURONS, FPS = 189, 1 / 0.375


def synthetic(n_animals: int, n_frames: int, seed: int = 0):
    "A Collection of AR(1) traces (float32) with a stimulus schedule."
    import wormsae as ws
    rng = np.random.default_rng(seed)
    names = [f"N{i:03d}" for i in range(N_NEURONS)]
    every = int(60 * FPS)
    onsets = np.arange(every // 2, n_frames - every, every)
    recs = []
    for a in range(n_animals):
        X = lfilter([1.0], [1.0, -0.95], rng.standard_normal((n_frames, N_NEURONS), dtype=np.float32), axis=0)
        X = X.astype(np.float32, copy=False)  # autocorrelated, as calcium traces are
        sched = [(int(o), f"stim {i % 10}", int(o + 15 * FPS)) for i, o in enumerate(onsets)]
        velocity = lfilter([1.0], [1.0, -0.9], rng.standard_normal(n_frames))
        recs.append(ws.Recording.from_array(X, names, fps=FPS, key=f"animal{a:03d}", schedule=sched,
                                            behaviour=pd.DataFrame({"velocity": velocity})))
    return ws.Collection(recs)


def phase(which: str, n_animals: int, n_frames: int, folder: str):
    "Run one phase in this process and print a JSON line: seconds and peak memory."
    import wormsae as ws
    t0 = time.perf_counter()
    col = synthetic(n_animals, n_frames)
    built = _peak_mb()
    if which in ("train", "small-train"):
        res = ws.train_sae(col, train_cfg=ws.TrainConfig(progress=False))
        res.sae.save(Path(folder) / "model")
    else:
        sae = ws.SAE.load(Path(folder) / "model")
        ws.interpret(sae, col, progress=False)
    print(json.dumps({"phase": which, "seconds": time.perf_counter() - t0, "peak_mb": _peak_mb(), "after_build_mb": built}))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def measure(n_animals: int, n_frames: int, phases=("train", "interpret")):
    data_mb = n_animals * n_frames * N_NEURONS * 4 / 2**20
    with tempfile.TemporaryDirectory() as folder:
        if "train" not in phases:  # a model to interpret, from two short animals
            subprocess.run([sys.executable, __file__, "--phase", "small-train", "--animals", "2", "--frames", "5000",
                            "--folder", folder], capture_output=True, text=True, check=True)
        for which in phases:
            out = subprocess.run([sys.executable, __file__, "--phase", which, "--animals", str(n_animals),
                                  "--frames", str(n_frames), "--folder", folder], capture_output=True, text=True)
            if out.returncode:
                print(out.stderr[-2000:])
                raise SystemExit(f"{which} failed for {n_animals} animals")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{n_animals:3d} animals x {n_frames} frames ({data_mb:7.0f} MB of float32 traces): {which:9s} "
                  f"peak {r['peak_mb']:7.0f} MB = {r['peak_mb'] / data_mb:5.1f}x the data "
                  f"(after building the data: {r['after_build_mb']:.0f} MB), {r['seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--animals", type=int, nargs="*", default=[4, 8, 16])
    p.add_argument("--frames", type=int, default=50_000)
    p.add_argument("--train-only", action="store_true", help="measure training only")
    p.add_argument("--interpret-only", action="store_true", help="measure interpretation only (of a small model)")
    p.add_argument("--phase", choices=["train", "small-train", "interpret"], help=argparse.SUPPRESS)
    p.add_argument("--folder", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.phase:
        phase(a.phase, a.animals[0], a.frames, a.folder)
    else:
        for n in a.animals:
            measure(n, a.frames, ("train",) if a.train_only else ("interpret",) if a.interpret_only else ("train", "interpret"))

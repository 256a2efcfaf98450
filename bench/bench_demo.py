"""`wormsae demo` against 10 epochs of the original training loop, timed in one process (issue 15).

The demo is the main job on the built-in data: train the default SAE (three seeds), fit the PCA baseline,
compare on held-out animals, interpret the SAE (with 20 placebo draws), single neurons and PCA, and write
the report. The baseline is the original training loop (`bench_train.reference_loop`) run for 10 epochs on
the same standardised training frames, before and after the demo; the ratio is the demo's time over the
baseline's median. Where the demo's time goes is printed beside it (the named steps, timed by wrapping them, and
the rest). `--check` then writes the last demo's report again with every figure drawn in this process (no worker
drawing ahead) and compares the two pages byte for byte.

    python bench/bench_demo.py             # one demo
    python bench/bench_demo.py --repeats 3 --check
"""
import argparse
import functools
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

import wormsae as ws
import wormsae.dictionary
import wormsae.interp
import wormsae.metrics
import wormsae.report
from bench_train import reference_loop
from wormsae.cli import run_demo
from wormsae.dictionary import NeuronBasis, prepare_inputs

STEPS = {"data": (ws, "example"), "training": (ws, "train_sae"), "PCA fit": (wormsae.dictionary.PCA, "fit"),
         "held-out baselines": (wormsae.metrics, "held_out_baselines"), "interpretations": (ws, "interpret"),
         "placebo draws": (wormsae.interp.Interpretation, "calibrate"), "report": (wormsae.report, "write_report")}


def timed_steps(spent):
    "Wrap each named step so that its time adds up in `spent`."
    for name, (owner, attr) in STEPS.items():
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def timed(*args, _fn=fn, _name=name, **kwargs):
            t = time.perf_counter()
            try:
                return _fn(*args, **kwargs)
            finally:
                spent[_name] += time.perf_counter() - t
        setattr(owner, attr, timed)


def training_frames():
    "The standardised training frames of the default data (prepared once, before the steps are wrapped)."
    train, _ = ws.example().split(n_test=2, seed=0)
    return prepare_inputs(NeuronBasis.fit(train), train)[0]


def original_10_epochs(Z) -> float:
    t = time.perf_counter()
    reference_loop(Z, epochs=10)
    return time.perf_counter() - t


def report_arguments():
    "Wrap `write_report` so that the arguments of its last call are kept."
    write = wormsae.report.write_report
    kept = {"write": write}

    @functools.wraps(write)
    def keeping(*args, **kwargs):
        kept.update(args=args, kwargs=kwargs)
        return write(*args, **kwargs)
    wormsae.report.write_report = keeping
    return kept


def check_report(kept) -> bool:
    "The last demo report against the same report with every figure drawn here."
    (interp, path, *rest), kwargs = kept["args"], dict(kept["kwargs"])
    kwargs["figures"] = wormsae.report.ReportFigures(interp, parallel=False)
    with tempfile.TemporaryDirectory() as folder:
        again = kept["write"](interp, Path(folder) / "serial.html", *rest, **kwargs)
        return again.read_bytes() == kept["page"]


def main(repeats, check):
    Z = training_frames()
    original_10_epochs(Z)  # warm-up
    base = [original_10_epochs(Z)]
    demos, spent = [], defaultdict(float)
    timed_steps(spent)
    kept = report_arguments()
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            t = time.perf_counter()
            out = run_demo(Path(folder) / "demo", say=lambda *a: None)
            demos.append(time.perf_counter() - t)
            kept["page"] = (out / "report.html").read_bytes()
    base.append(original_10_epochs(Z))
    ref, demo = float(np.median(base)), float(np.median(demos))
    print(f"load {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} cores")
    print(f"original loop, 10 epochs: {', '.join(f'{b:.1f}' for b in base)} s")
    print(f"wormsae demo: {', '.join(f'{d:.1f}' for d in demos)} s; {demo / ref:.1f}x the original's 10 epochs")
    for name, s in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name:20s} {s / repeats:5.1f} s")
    print(f"  {'the rest':20s} {(sum(demos) - sum(spent.values())) / repeats:5.1f} s")
    if check:
        print(f"report identical with every figure drawn in this process: {check_report(kept)}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--check", action="store_true", help="compare the last report with one drawn without a worker")
    a = p.parse_args()
    main(a.repeats, a.check)

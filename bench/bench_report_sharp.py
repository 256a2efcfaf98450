"""The report's figures at twice the pixels (PNG in a 256-colour palette) against the 90-dpi PNGs before (the package
at a baseline commit, taken from git history), same process, alternated: page bytes and time to write, on the demo's
objects and on the real Flavell recordings (../shared/data/flavell2023, skipped when absent). Figures are drawn in this
process for both (no worker), so the times compare the drawing and encoding alone.

    python bench/bench_report_sharp.py                  # demo: 200 null samples, 200 steps; real: 300 steps, 3 seeds
    python bench/bench_report_sharp.py --baseline eba597a --repeats 3
"""
import argparse
import glob
import os
import re
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import wormsae as ws
import wormsae.report as report
from baseline import ROOT, import_baseline
from bench_report import demo_objects

FLAVELL = ROOT.parent / "shared" / "data" / "flavell2023"


def real_objects():
    "What `wormsae train --steps 300 --seeds 3 --size default` then `wormsae interp` hand to the report."
    from wormsae.loading import load_many
    from wormsae.metrics import held_out_baselines
    from wormsae.dictionary import PCA
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        col = load_many(sorted(glob.glob(str(FLAVELL / "*-data.h5"))))
        res = ws.train_sae(col, train_cfg=ws.TrainConfig(steps=300, n_seeds=3, n_val=2, progress=False))
        held, train = ws.Collection([col[k] for k in res.val_keys]), ws.Collection([col[k] for k in res.train_keys])
        pca = PCA(max(1, round(res.metrics["l0"]))).fit(train, norm=res.sae.norm)
        interp = ws.interpret(res.sae, col, progress=False)
        interp.calibrate(n_draws=20, seed=0)
    return res, interp, None, held_out_baselines(res.sae, train, held, pca=pca)


def image_bytes(page: bytes) -> int:
    return sum(len(m) for m in re.findall(rb"base64,([A-Za-z0-9+/=]+)", page))


def compare(name, objects, base, repeats, folder):
    res, interp, comparison, baselines = objects
    modules = {"before (90 dpi)": base, "after (2x, palette)": report}
    times, pages = {k: [] for k in modules}, {}
    for _ in range(repeats):  # alternated: the machine is shared
        for label, mod in modules.items():
            t = time.perf_counter()
            path = mod.write_report(interp, folder / f"{name}.html", res, comparison, baselines=baselines,
                                    figures=mod.ReportFigures(interp, parallel=False))
            times[label].append(time.perf_counter() - t)
            pages[label] = path.read_bytes()
    (b, a) = (pages[k] for k in modules)
    tb, ta = (float(np.median(times[k])) for k in modules)
    print(f"{name}: page {len(b) / 1e6:.2f} MB before, {len(a) / 1e6:.2f} MB after ({len(a) / len(b):.2f}x; images "
          f"{image_bytes(b) / 1e6:.2f} -> {image_bytes(a) / 1e6:.2f} MB); written in {tb:.1f} s before, {ta:.1f} s after "
          f"({ta / tb:.2f}x), medians of {repeats}")


def main(baseline, repeats, n_null, steps):
    base = import_baseline(baseline, ["report"])["report"]
    folder = Path(tempfile.mkdtemp())
    print(f"load {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} cores; baseline {baseline}")
    compare("demo", demo_objects(n_null, steps), base, repeats, folder)
    if FLAVELL.exists():
        compare("real", real_objects(), base, repeats, folder)
    else:
        print(f"real: skipped ({FLAVELL} absent)")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--baseline", default="eba597a", help="the commit before the sharp figures")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--null", type=int, default=200)
    p.add_argument("--steps", type=int, default=200)
    a = p.parse_args()
    main(a.baseline, a.repeats, a.null, a.steps)

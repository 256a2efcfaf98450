"""The HTML report on the demo's data: its time with the interpretation's figures drawn ahead by a forked worker (the
default where forking is safe) and with every figure drawn in this process, and unit cards redrawn in place against a
new figure per card (the previous way). All reports must be byte-identical (figures embedded as PNG).

    python bench/bench_report.py            # the demo's interpretation (1000 null samples; takes a few minutes)
    python bench/bench_report.py --quick    # 200 null samples, 200 training steps
"""
import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

import wormsae as ws
import wormsae.report as report
from wormsae.dictionary import PCA
from wormsae.metrics import held_out_baselines
from wormsae.plots import figure_png, top_units
from wormsae.views import plot_unit_card


def demo_objects(n_null, steps):
    "What `wormsae demo` hands to the report: training result, interpretation, comparison, baselines."
    col = ws.example()
    res = ws.train_sae(col, train_cfg=ws.TrainConfig(progress=False, **({"steps": steps} if steps else {})))
    held, train = ws.Collection([col[k] for k in res.val_keys]), ws.Collection([col[k] for k in res.train_keys])
    pca = PCA(max(1, round(res.metrics["l0"]))).fit(train, norm=res.sae.norm)
    interp = ws.interpret(res.sae, col, n_null=n_null, progress=False)
    interp.calibrate(n_draws=10, seed=0)
    others = {"neurons": ws.NeuronBasis(res.sae.norm), "PCA": pca}
    comparison = ws.compare_selectivity({"SAE": interp, **{name: ws.interpret(m, col, n_null=n_null, progress=False)
                                                           for name, m in others.items()}})
    return res, interp, comparison, held_out_baselines(res.sae, train, held, pca=pca)


def card_per_figure(interp, units):
    "The previous way: a new figure for every card."
    for u in units:
        yield u, plot_unit_card(interp, u)


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def main(n_null, steps, repeats):
    res, interp, comparison, baselines = demo_objects(n_null, steps)
    folder = Path(tempfile.mkdtemp())

    def write(name, parallel):
        figures = report.ReportFigures(interp, parallel=parallel)
        return report.write_report(interp, folder / name, res, comparison, baselines=baselines,
                                   figures=figures).read_bytes()
    write("warm-up.html", False)
    in_place = report._card_figures
    ways = {"drawn ahead by a worker": (in_place, True), "all in this process": (in_place, False),
            "new figure per card": (card_per_figure, False)}
    timings, pages = {k: [] for k in ways}, {}
    for _ in range(repeats):  # interleaved: the machine is shared
        for name, (cards, parallel) in ways.items():
            report._card_figures = cards
            t = time.perf_counter()
            pages[name] = write(f"{name}.html", parallel)
            timings[name].append(time.perf_counter() - t)
    report._card_figures = in_place
    units = top_units(interp, 12)
    cards_new, png_new = timed(lambda: [figure_png(f) for _, f in in_place(interp, units)], repeats)
    cards_old, png_old = timed(lambda: [figure_png(f) for _, f in card_per_figure(interp, units)], repeats)
    ahead, here, old = (float(np.median(timings[k])) for k in ways)
    print(f"load {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} cores; medians of {repeats}")
    print(f"report: {ahead:.1f} s with the figures drawn ahead by a worker, {here:.1f} s all in this process "
          f"({here / ahead:.2f}x), {old:.1f} s with a new figure per card ({old / here:.2f}x the in-place cards)")
    print(f"{len(units)} unit cards alone: {cards_new:.1f} s in place, {cards_old:.1f} s new figures ({cards_old / cards_new:.2f}x)")
    same = len(set(pages.values())) == 1
    print(f"reports byte-identical: {same}; card PNGs identical: {png_new == png_old} "
          f"({len(png_new)} cards, {len(pages['all in this process']) / 1e6:.1f} MB report)")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="200 null samples and 200 training steps")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    main(200 if a.quick else 1000, 200 if a.quick else None, a.repeats)

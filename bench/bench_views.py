"""Figures redrawn in place (wormsae.views) against the figures before views were split from plots, in one process.

The baseline is the package at BASELINE_COMMIT (git history, imported as `wormsae_base`, as in bench_pca.py);
its plots read the Interpretation's fields, the new views its methods. Both draw the same Interpretation
(the demo's data, a briefly trained SAE), alternately, and every PNG is compared byte for byte.

    python bench/bench_views.py               # 150 training steps, 5 alternated repeats
    python bench/bench_views.py --repeats 9
"""
import argparse
import gc
import os
import statistics
import time
import warnings

import baseline
import wormsae as ws
from wormsae import plots, views

BASELINE_COMMIT = "930f373"  # the last commit before the views module (issue 16)


def import_baseline(commit: str = BASELINE_COMMIT):
    "wormsae.plots at `commit`, from the package `wormsae_base` (a temporary copy)."
    return baseline.import_baseline(commit, ["plots"])["plots"]


def cases(old, interp, units) -> dict:
    "name -> (before, after): each draws figures and returns their PNG bytes."
    png = plots.figure_png

    def cards(m):
        shown = {}
        return [png(shown.setdefault(m.card_layout(interp, u), m.UnitCardView(interp, *m.card_layout(interp, u))).show(u))
                for u in units]

    def in_place(make):
        view = make()
        return [png(view.show(u)) for u in units]

    stim = interp.stimuli[0]
    return {"unit cards, redrawn in place": (lambda: cards(old), lambda: cards(views)),
            "unit cards, a new figure each": (lambda: [png(old.plot_unit_card(interp, u)) for u in units],
                                              lambda: [png(views.plot_unit_card(interp, u)) for u in units]),
            "PsthView.show": (lambda: in_place(lambda: old.PsthView(interp)), lambda: in_place(lambda: views.PsthView(interp))),
            "ActivationView.show": (lambda: in_place(lambda: old.ActivationView(interp, 1)),
                                    lambda: in_place(lambda: views.ActivationView(interp, 1))),
            "plot_psth_grid (8 units)": (lambda: [png(old.plot_psth_grid(interp))], lambda: [png(plots.plot_psth_grid(interp))]),
            "plot_window": (lambda: [png(old.plot_window(interp, 0, stim, 0))], lambda: [png(views.plot_window(interp, 0, stim, 0))])}


def timed(draw) -> tuple[float, list]:
    "Seconds and result of `draw()`, after collecting the garbage of the previous draw (figures are cyclic garbage)."
    gc.collect()
    start = time.perf_counter()
    out = draw()
    return time.perf_counter() - start, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150, help="SAE training steps")
    ap.add_argument("--repeats", type=int, default=5, help="alternated repeats per case")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    old = import_baseline()
    col = ws.example()
    res = ws.train_sae(col, train_cfg=ws.TrainConfig(steps=args.steps, progress=False))
    interp = ws.interpret(res.sae, col, n_null=100, progress=False)
    units = plots.top_units(interp, 12)
    print(f"load {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} cores; {len(units)} units; medians of {args.repeats}")
    for name, (before, after) in cases(old, interp, units).items():
        same = before() == after()  # also warms up fonts and caches
        t_old, t_new = [], []
        for _ in range(args.repeats):
            t_old.append(timed(before)[0])
            t_new.append(timed(after)[0])
        b, a = statistics.median(t_old), statistics.median(t_new)
        print(f"  {name:32s} before {b:.3f} s  after {a:.3f} s  after/before {a / b:.2f}  PNGs identical: {same}")


if __name__ == "__main__":
    main()

"""Autointerpretation: speed of the full analysis, and its error rates against planted truth.

Speed: the full corrected analysis of the default data (`ws.example()`: 8 animals x 4979 frames, 10 stimuli x
3 repeats, 2 windows, the default 378-unit SAE, 1000 null samples), next to the original analysis (cycle-window
Cohen's d, `seed_table`) timed in the same process as the baseline.

Error rates (`--seeds N`): for N fresh virtual worms (8 animals each, seeds 0..N-1), train the default SAE,
interpret it, and count (1) planted stimulus responses found by a significant unit whose activation correlates
>= 0.8 with the planted driver in the animals that responded (the ground truth says which; a non-responder has
no response to track, so its frames are left out; the count over all animals is printed beside it), (2) significant tests on the null stimuli (Control, Fluorescein), and (3) placebo
draws (`Interpretation.calibrate`, 10 per worm) with any significant test.

    python bench/bench_interp.py              # speed only (about a minute)
    python bench/bench_interp.py --seeds 10   # plus error rates over 10 virtual worms (about 5 minutes)
"""
import argparse
import time

import numpy as np
import pandas as pd

import wormsae as ws
from wormsae.dictionary import unit_activations
from wormsae.interp import seed_table


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def speed():
    col = ws.example()
    res = ws.train_sae(col, train_cfg=ws.TrainConfig(progress=False))
    A, index = unit_activations(res.sae, col)
    acts = [A[(index.key == r.key).to_numpy()] for r in col]
    seed_table(acts, col)  # warm-up
    _, original_s = timed(lambda: seed_table(acts, col))
    it, full_s = timed(lambda: ws.interpret(res.sae, col, n_null=1000, progress=False))
    n_tests = len(it.selectivity)
    print(f"full analysis: {full_s:.1f} s for {n_tests} tests ({res.sae.n_units} units x "
          f"{it.selectivity.stimulus.nunique()} stimuli x {it.selectivity.window.nunique()} windows), 1000 null samples")
    print(f"original analysis (cycle-window d, no null): {original_s:.2f} s; ratio full/original {full_s / original_s:.0f}x")
    print(f"significant: {it.selectivity.significant.sum()} tests in {it.significant().unit.nunique()} units")
    return full_s


def planted_recovery(col, truth, sae, it, responders_only=True):
    "Per planted stimulus: the best correlation of a significant unit with its planted driver (responding animals)."
    A, index = unit_activations(sae, col)
    D = np.concatenate([truth.drivers[k].to_numpy() for k in col.keys])
    names = list(truth.drivers[col.keys[0]].columns)
    out = {}
    for s in truth.selective_stimuli:
        f = truth.primary(s)
        rows = index.key.isin(truth.responders(f) if responders_only else col.keys).to_numpy()
        d = D[rows, names.index(f)]
        units = it.significant(stimulus=s).unit.unique()
        out[s] = max((np.corrcoef(A[rows, u], d)[0, 1] for u in units), default=np.nan)
    return out


def error_rates(n_seeds):
    rows = []
    for seed in range(n_seeds):
        col, truth = ws.virtual_worm(n_animals=8, seed=seed)
        res = ws.train_sae(col, train_cfg=ws.TrainConfig(seed=seed, progress=False))
        it = ws.interpret(res.sae, col, n_null=1000, seed=seed, progress=False)
        best = planted_recovery(col, truth, res.sae, it)
        best_all = planted_recovery(col, truth, res.sae, it, responders_only=False)
        placebo = it.calibrate(n_draws=10, seed=seed)
        sel = it.selectivity
        null = sel[sel.stimulus.isin(truth.null_stimuli)]
        rows.append({"seed": seed, "planted_found": int(sum(v >= 0.8 for v in best.values())), "planted": len(best),
                     "found_all_animals": int(sum(v >= 0.8 for v in best_all.values())),
                     "missed": ", ".join(f"{s} ({v:.2f})" for s, v in best.items() if not v >= 0.8) or "-",
                     "null_tests": len(null), "null_significant": int(null.significant.sum()),
                     "significant": int(sel.significant.sum()),
                     "placebo_draws_with_a_call": f"{int((placebo.significant > 0).sum())}/{len(placebo)}"})
        print(rows[-1], flush=True)
    t = pd.DataFrame(rows)
    print(t.to_string(index=False))
    print(f"\nplanted responses found: {t.planted_found.sum()}/{t.planted.sum()} (responding animals; over all animals "
          f"{t.found_all_animals.sum()}); "
          f"null-stimulus tests called significant: {t.null_significant.sum()}/{t.null_tests.sum()} "
          f"({t.null_significant.sum() / t.null_tests.sum():.2e}); seeds with any: {(t.null_significant > 0).sum()}/{len(t)}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=0, help="also measure error rates over this many virtual worms")
    args = p.parse_args()
    speed()
    if args.seeds:
        error_rates(args.seeds)

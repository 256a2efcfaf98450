"""The PCA baseline and the sweep, against the code of the last commit before they were batched, in one process.

The baseline is the package as it was at BASELINE_COMMIT, taken from this repository's git history
(`git archive`) into a temporary folder and imported as `wormsae_base` (its imports rewritten to stay
inside it), so both versions run side by side on the same data in the same process.

    python bench/bench_pca.py                 # PCA fits on the default data: old and new, three repeats each
    python bench/bench_pca.py --sizes 4 32    # other numbers of components
    python bench/bench_pca.py --sweep         # the default 8-config sweep, old and new (several minutes)
    python bench/bench_pca.py --members       # one training step against the number of stacked members
"""
import argparse
import importlib
import time

import numpy as np

import baseline
import wormsae as ws
from wormsae.dictionary import PCA, fit_norm, fit_pcas

BASELINE_COMMIT = "b7be83d"  # issue 15 starts here: per-neuron PCA loop, one PCA fit per size in sweeps


def import_baseline(commit: str = BASELINE_COMMIT):
    "The modules of the package at `commit` that the benches compare."
    return baseline.import_baseline(commit, ["virtual", "dictionary", "sweep"])


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench_fits(sizes, repeats):
    "Old and new PCA fits, alternating, on the default data's training animals."
    base = import_baseline()
    train, _ = ws.example().split(n_test=2, seed=0)
    norm = fit_norm(train, per_recording=True)
    base_train, _ = base["virtual"].example().split(n_test=2, seed=0)  # the old code on its own objects
    base_norm = base["dictionary"].fit_norm(base_train, per_recording=True)
    print(f"PCA fits on {train.n_frames} frames x {len(norm.neurons)} neurons, medians of {repeats}")
    total_old = total_new = 0.0
    for k in sizes:
        old_t, new_t = [], []
        for _ in range(repeats):
            old, t = timed(lambda: base["dictionary"].PCA(k).fit(base_train, norm=base_norm))
            old_t.append(t)
            new, t = timed(lambda: PCA(k).fit(train, norm=norm))
            new_t.append(t)
        diff = np.abs(old.components_.astype(np.float64) - new.components_).max()
        old_m, new_m = np.median(old_t), np.median(new_t)
        total_old, total_new = total_old + old_m, total_new + new_m
        print(f"  k = {k:3d}: old {old_m:6.2f} s, new {new_m:6.2f} s ({old_m / new_m:4.1f}x faster); "
              f"largest difference in the components {diff:.1e} (stored as float32)")
    shared, t_shared = timed(lambda: fit_pcas([PCA(k) for k in sizes], train, norm))
    print(f"  all sizes: old {total_old:.2f} s, new one by one {total_new:.2f} s ({total_old / total_new:.1f}x), "
          f"new with fit_pcas {t_shared:.2f} s ({total_old / t_shared:.1f}x)")


def bench_sweep():
    "The default sweep (8 configurations, PCA at every rounded L0) on the default data, old then new."
    base = import_baseline()
    versions = {"old": (base["sweep"], base["virtual"].example()),
                "new": (importlib.import_module("wormsae.sweep"), ws.example())}
    results = {}
    for name, (module, data) in versions.items():
        parts = time_parts(module, ("_run_all", "_pca_rows"))
        res, total = timed(lambda: module.sweep(data, progress=False))
        pca = res.table[res.table.activation == "pca"]
        print(f"{name}: {total:6.1f} s: SAEs {parts['_run_all']:5.1f} s ({len(res.table) - len(pca)} configurations), "
              f"PCA rows {parts['_pca_rows']:5.1f} s (sizes {pca.k.astype(int).tolist()})")
        results[name] = res, total, parts
    (old, t_old, p_old), (new, t_new, p_new) = results["old"], results["new"]
    print(f"the new sweep is {t_old / t_new:.2f}x faster; its PCA rows {p_old['_pca_rows'] / p_new['_pca_rows']:.1f}x; "
          f"its SAEs {p_old['_run_all'] / p_new['_run_all']:.2f}x (one configuration per stack in the old, four in the "
          "new: the same arithmetic per member)")
    merged = old.table.merge(new.table, on=["activation", "k"], suffixes=("_old", "_new"))
    pca = merged[merged.activation == "pca"]
    print(f"PCA rows at the same sizes ({len(pca)}): largest held-out FVU difference "
          f"{np.abs(pca.fvu_old - pca.fvu_new).max():.1e}")


def bench_members(steps: int = 60, repeats: int = 3):
    "Seconds per member and step of the sweep's training loop (one thread), one configuration alone and four stacked."
    import torch
    from wormsae.dictionary import fit_inputs
    from wormsae.sae import SAE, SAEConfig, SAEStack
    from wormsae.train import TrainConfig, _optimise, member_seeds
    torch.set_num_threads(1)
    train, _ = ws.example().split(n_test=2, seed=0)
    norm, Z, M = fit_inputs(train, True)
    Z, M = torch.as_tensor(Z), torch.as_tensor(M)
    tc = TrainConfig(steps=steps, n_seeds=2, progress=False, threads=1)
    seeds = member_seeds(0, 2)
    print(f"training steps of the default sweep's SAEs ({len(norm.neurons)} neurons, 2 seeds per configuration, "
          f"1 thread), ms per member and step, medians of {repeats} runs of {steps} steps")
    for act, field, values in (("topk", "k", (4, 8, 16, 32)), ("relu", "l1", (0.01, 0.03, 0.1, 0.3))):
        cfgs = [SAEConfig(len(norm.neurons), expansion=2.0, activation=act, neurons=norm.neurons, **{field: v})
                for v in values]
        alone, stacked = [], []
        for _ in range(repeats):
            t = sum(timed(lambda: _optimise(SAEStack([SAE(c, norm, seed=s) for s in seeds]), Z, M, tc, seeds))[1]
                    for c in cfgs)
            alone.append(t / (steps * 2 * len(cfgs)))
            stack = SAEStack([SAE(c, norm, seed=s) for c in cfgs for s in seeds])
            stacked.append(timed(lambda: _optimise(stack, Z, M, tc, seeds * len(cfgs)))[1] / (steps * 2 * len(cfgs)))
        a, b = 1000 * np.median(alone), 1000 * np.median(stacked)
        print(f"  {act}, {field} in {values}: 2 members per stack {a:.1f} ms, {2 * len(cfgs)} members in one stack "
              f"{b:.1f} ms ({a / b:.2f}x)")


def time_parts(module, names):
    "Wrap the module's functions `names` so that each call adds its wall time to the returned dict."
    spent = dict.fromkeys(names, 0.0)
    for name in names:
        def wrapper(*args, _fn=getattr(module, name), _name=name, **kwargs):
            out, t = timed(lambda: _fn(*args, **kwargs))
            spent[_name] += t
            return out
        setattr(module, name, wrapper)
    return spent


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16, 32])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sweep", action="store_true", help="time the default sweep instead")
    parser.add_argument("--members", action="store_true", help="time training steps against stacked members instead")
    args = parser.parse_args()
    if args.members:
        bench_members(repeats=args.repeats)
    else:
        bench_sweep() if args.sweep else bench_fits(args.sizes, args.repeats)

"""SAE vs PCA on real recordings: leave-one-animal-out held-out FVU on the labelled Flavell animals.

The five labelled recordings in ../shared/data/flavell2023 are aligned by NeuroPAL name (neurons missing in
an animal are masked, not dropped). For each animal, an SAE with the default settings is trained on the other
four and evaluated on it, next to PCA with as many components as the SAE's mean L0, fitted on the same four.

Then the food-patch animal (2022-01-16-01, unlabelled): an SAE trained on it, and the units and single neurons
whose activity changes at the encounter with food (the 'on food' window, the 2 minutes after the encounter,
against the 2 minutes before it; circular-shift null within the recording).

Then placebo calibration: one placebo event per labelled animal, 20 draws, through the full tests, for single
neurons and for an SAE trained on four of the animals; how many draws earn a significant call, and how often a
placebo test's p falls below 0.001, 0.01 and 0.05 (calibrated p-values: 0.1%, 1%, 5%).

    python bench/bench_real.py                 # everything (several minutes)
    python bench/bench_real.py --part loao     # only the leave-one-animal-out baselines
"""
from pathlib import Path

import numpy as np
import pandas as pd

import wormsae as ws
from wormsae.dictionary import PCA, NeuronBasis
from wormsae.metrics import evaluate, held_out_baselines

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "flavell2023"


def main():
    files = sorted(p for p in DATA.glob("*-data.h5") if (DATA / "labels" / p.name.replace("-data.h5", ".json")).exists())
    if not files:
        raise SystemExit(f"no labelled recordings in {DATA}")
    col = ws.load_many(files)
    named = [n for n in col.neurons if not n.startswith("unlabeled_")]
    col = ws.Collection(col.recordings, neurons=named)  # align on NeuroPAL names; unlabelled ROIs are animal-specific
    rows, baselines = [], []
    for key in col.keys:
        train, test = col.split(test=[key])
        res = ws.train_sae(train, val=test, train_cfg=ws.TrainConfig(progress=False))
        k = max(1, round(res.metrics["l0"]))
        pca = evaluate(PCA(k).fit(train, norm=res.sae.norm), test)
        rows.append({"held_out": key, "sae_fvu": res.metrics["val_fvu"], "l0": res.metrics["l0"],
                     "pca_components": k, "pca_fvu": pca["fvu"], "sae_train_fvu": res.metrics["train_fvu"],
                     "dead_fraction": res.metrics["dead_fraction"]})
        base = held_out_baselines(res.sae, train, test, pca=PCA(k).fit(train, norm=res.sae.norm))
        baselines.append(base.assign(held_out=key))
        rows[-1].update(stable_units=res.metrics.get("n_stable"), units=res.sae.n_units,
                        reversal_class_weight=_reversal_class_weight(res.sae, base))
    table = pd.DataFrame(rows)
    print(f"{len(named)} named neurons in the union of {len(col)} animals; "
          f"default SAE: {res.sae!r}, {res.train_config.n_seeds} seeds")
    print(table.round(3).to_string(index=False))
    print(f"\nmean held-out FVU: SAE {table.sae_fvu.mean():.3f}, PCA {table.pca_fvu.mean():.3f} "
          f"(SAE better in {(table.sae_fvu < table.pca_fvu).sum()}/{len(table)} animals)")
    b = pd.concat(baselines)
    means = b[b.test != "reconstruction"].groupby(["test", "channel", "model"]).value.mean().unstack("model")
    print("\nbehaviour on the held-out animal, mean over the 5 leave-one-out folds (r within animal):")
    print(means.round(3).to_string())
    share = np.mean([n.startswith(REVERSAL_CLASS) for n in col.neurons])
    print(f"\nbest reversal unit: share of its positive decoder weight on AVA/AVE/AIB/RIM "
          f"{table.reversal_class_weight.mean():.2f} (their share of the {len(col.neurons)} neurons: {share:.2f})")


REVERSAL_CLASS = ("AVA", "AVE", "AIB", "RIM")


def _reversal_class_weight(sae, baselines) -> float:
    "Of the best reversal unit's positive decoder weight, the share on the reversal-class neurons."
    row = baselines[(baselines.test == "best single") & (baselines.channel == "reversal") & (baselines.model == "best unit")]
    if not len(row):
        return float("nan")
    u = int(row.detail.iloc[0].split("(")[0].split()[-1])
    w = sae.decoder_weights()[u]
    if row.detail.iloc[0].split("training r ")[1].startswith("-"):
        w = -w  # the unit was chosen for tracking reversals negatively: what it writes when reversals stop
    pos = np.clip(w, 0, None)
    return float(pos[[n.startswith(REVERSAL_CLASS) for n in sae.neurons]].sum() / max(pos.sum(), 1e-12))


def food_patch(top=8):
    "Units (and neurons) that change at the food encounter of the one animal that meets food."
    rec = ws.load(DATA / "2022-01-16-01-data.h5")  # the file's own food schedule: a state design
    res = ws.train_sae(rec, train_cfg=ws.TrainConfig(progress=False, n_val=0))
    options = dict(state_window_s=120.0, n_null=1000, progress=False)
    for name, model in (("SAE unit", res.sae), ("neuron", NeuronBasis(res.sae.norm))):
        it = ws.interpret(model, rec, **options)
        sel = it.selectivity[it.selectivity.stimulus == "on food"]
        sel = sel.reindex(sel.d.abs().sort_values(ascending=False).index).head(top)
        print(f"\n{rec.key}: {name}s that change most at the food encounter (2 min after vs 2 min before; "
              f"{len(it.selectivity[it.selectivity.stimulus == 'on food'])} tested)")
        cols = ["unit_name", "d", "on", "off", "p", "q"]
        if name == "SAE unit":
            sel = sel.assign(writes=[" ".join(w.split("(")[0] for w in it.units.loc[u].top_outputs.split()[:3])
                                     for u in sel.unit])
            cols.append("writes")
        print(sel[cols].round(4).to_string(index=False))


def placebo(draws=20, seeds=(0, 1, 2)):
    "What placebo events earn on the labelled animals, for single neurons and for an SAE."
    from wormsae.interp import InterpConfig, _selectivity, _tests, _with_placebo, activations_by_recording, window_table
    files = sorted(p for p in DATA.glob("*-data.h5") if (DATA / "labels" / p.name.replace("-data.h5", ".json")).exists())
    col = ws.load_many(files)
    col = ws.Collection(col.recordings, neurons=[n for n in col.neurons if not n.startswith("unlabeled_")])
    sae = ws.train_sae(ws.Collection(col.recordings[1:], neurons=col.neurons),
                       train_cfg=ws.TrainConfig(progress=False, n_val=0)).sae
    cfg = InterpConfig()
    print(f"\nplacebo events: one per animal, {len(col)} animals, {draws} draws x {len(seeds)} seeds")
    for name, model in (("neurons", NeuronBasis.fit(col)), ("SAE", sae)):
        acts = activations_by_recording(model, col)
        p, with_call = [], 0
        for seed in seeds:
            rng = np.random.default_rng(seed)
            for _ in range(draws):
                placed = ws.Collection([_with_placebo(r, cfg, "events", rng) for r in col], neurons=col.neurons)
                wt = window_table(placed, cfg.windows, cfg.baseline)
                sel = _selectivity(acts, placed, wt, _tests(wt, placed, cfg.windows), list(model.unit_names()),
                                   cfg, "events", rng, False)
                p.append(sel.p.to_numpy())
                with_call += int(sel.significant.any())
        p = np.concatenate(p)
        rates = ", ".join(f"P(p <= {a:g}) = {100 * np.mean(p <= a):.2f}%" for a in (0.001, 0.01, 0.05))
        print(f"  {name:>7}: {with_call} of {draws * len(seeds)} draws with a significant test; {len(p)} placebo tests: {rates}")


if __name__ == "__main__":
    import argparse
    parts = {"loao": main, "food": food_patch, "placebo": placebo}
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=[*parts, "all"], default="all")
    part = ap.parse_args().part
    for name, run in parts.items():
        if part in (name, "all"):
            run()

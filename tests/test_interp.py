"Autointerpretation against planted truth (virtual worm) and on real recordings."
import numpy as np
import pandas as pd
import pytest

import wormsae as ws
from wormsae.dictionary import NeuronBasis, unit_activations


def planted_drivers(col, truth):
    return np.concatenate([truth.drivers[k].to_numpy() for k in col.keys]), list(truth.drivers[col.keys[0]].columns)


@pytest.fixture(scope="module", params=[0, 1, 2])
def virtual_run(request):
    "A smaller virtual worm per seed (6 animals), its default SAE and interpretation."
    col, truth = ws.virtual_worm(n_animals=6, seed=request.param)
    res = ws.train_sae(col, train_cfg=ws.TrainConfig(seed=request.param, progress=False))
    return col, truth, res, ws.interpret(res.sae, col, n_null=500, seed=request.param)


def test_every_planted_response_is_found_by_a_faithful_unit(virtual_run):
    col, truth, res, it = virtual_run
    A, _ = unit_activations(res.sae, col)
    D, names = planted_drivers(col, truth)
    for s in truth.selective_stimuli:
        units = it.significant(stimulus=s).unit.unique()
        f = names.index(truth.primary(s))
        best = max((np.corrcoef(A[:, u], D[:, f])[0, 1] for u in units), default=np.nan)
        assert best >= 0.8, (s, best)


def test_controls_get_no_significant_unit(virtual_run):
    col, truth, res, it = virtual_run
    for s in truth.null_stimuli:
        assert it.significant(stimulus=s).empty, it.significant(stimulus=s)


def test_false_positive_rate_on_neurons_is_controlled(virtual_run):
    "Single neurons: the null stimuli's share of significant tests stays near the nominal level."
    col, truth, res, it = virtual_run
    neurons = ws.interpret(NeuronBasis(res.sae.norm), col, n_null=300, seed=1)
    null = neurons.selectivity[neurons.selectivity.stimulus.isin(truth.null_stimuli)]
    assert null.significant.mean() <= 0.01


def test_the_original_table_format_and_its_control_flaw(virtual_run):
    col, truth, res, it = virtual_run
    table = it.seed_table(top=2)
    lines = table.splitlines()
    assert lines[0].startswith(f"Stimulus: {col.stimuli[0]}  (n_on=") and lines[0].endswith(")")
    assert lines[1].startswith("  #01 unit ") and "  d=" in lines[1] and " on=" in lines[1] and " off=" in lines[1]
    n_on = sum((r.stimulus_labels("cycle") == col.stimuli[0]).sum() for r in col)
    assert f"n_on={n_on}, n_off={col.n_frames - n_on}" in lines[0]


def test_saved_tables_and_report(virtual_run, tmp_path):
    col, truth, res, it = virtual_run
    it.save(tmp_path / "interp")
    sel = pd.read_csv(tmp_path / "interp" / "selectivity.csv")
    assert len(sel) == len(it.selectivity) and {"d", "auroc", "p", "q", "significant"} <= set(sel.columns)
    assert (tmp_path / "interp" / "seed_table.txt").read_text().startswith("Stimulus: ")
    html = it.report(tmp_path / "report.html").read_text()
    assert "<html" in html and "significant" in html.lower()


# ---- real recordings (skipped without ../shared/data) ----

@pytest.fixture(scope="module")
def reversal_run(flavell_data):
    files = sorted(p for p in flavell_data.glob("*-data.h5") if (flavell_data / "labels" / p.name.replace("-data.h5", ".json")).exists())
    col = ws.load_many(files, schedule="reversals")
    named = [n for n in col.neurons if not n.startswith("unlabeled_")]
    col = ws.Collection(col.recordings, neurons=named)
    res = ws.train_sae(col, train_cfg=ws.TrainConfig(progress=False, n_val=1))
    return col, res, ws.interpret(res.sae, col, n_null=300, windows={"presentation": None}, baseline=(-5.0, 0.0))


def test_most_reversal_selective_unit_writes_reversal_neurons(reversal_run):
    col, res, it = reversal_run
    sel = it.selectivity[it.selectivity.stimulus == "reversal"]
    best = sel.loc[sel.d.idxmax()]
    outputs = [w.split("(")[0] for w in it.units.loc[best.unit].top_outputs.split()]
    assert any(n.startswith(("AVA", "AVE", "AIB", "RIM")) for n in outputs), outputs


def test_food_patch_units_are_reported(flavell_data):
    rec = ws.load(flavell_data / "2022-01-16-01-data.h5", schedule="food")
    assert rec.schedule.label.tolist() == ["off food", "on food"]
    res = ws.train_sae(rec, train_cfg=ws.TrainConfig(progress=False, n_val=0, steps=200))
    it = ws.interpret(res.sae, rec, n_null=200, windows={"presentation": None}, baseline=(-120.0, 0.0))
    on = it.selectivity[it.selectivity.stimulus == "on food"]
    assert len(on) == res.sae.n_units and on.p.between(0, 1).all()

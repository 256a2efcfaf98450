"Autointerpretation against planted truth (virtual worm) and on real recordings."
import warnings

import numpy as np
import pandas as pd
import pytest

import wormsae as ws
from wormsae.dictionary import NeuronBasis, unit_activations
from wormsae.interp import calibrate


def planted_drivers(col, truth):
    return np.concatenate([truth.drivers[k].to_numpy() for k in col.keys]), list(truth.drivers[col.keys[0]].columns)


@pytest.fixture(scope="module", params=[0, 1, 2])
def virtual_run(request):
    "A smaller virtual worm per seed (6 animals), its default SAE and interpretation."
    col, truth = ws.virtual_worm(n_animals=6, seed=request.param)
    res = ws.train_sae(col, train_cfg=ws.TrainConfig(seed=request.param, progress=False))
    return col, truth, res, ws.interpret(res.sae, col, n_null=500, seed=request.param)


def test_every_planted_response_is_found_by_a_faithful_unit(virtual_run):
    "Judged on the animals that responded: a non-responder has no response to track (the ground truth says which)."
    col, truth, res, it = virtual_run
    A, index = unit_activations(res.sae, col)
    D, names = planted_drivers(col, truth)
    for s in truth.selective_stimuli:
        units = it.significant(stimulus=s).unit.unique()
        f = names.index(truth.primary(s))
        rows = index.key.isin(truth.responders(truth.primary(s))).to_numpy()
        best = max((np.corrcoef(A[rows, u], D[rows, f])[0, 1] for u in units), default=np.nan)
        assert best >= 0.8, (s, best)


def test_planted_responses_are_findings_of_stable_units(virtual_run):
    "The default training is a seed ensemble: each planted response is carried by a unit the other seeds learned too."
    col, truth, res, it = virtual_run
    assert it.units.stability.between(0, 1).all() and it.units.n_seeds.eq(ws.TrainConfig.n_seeds).all()
    found = it.findings()
    assert found.stable.all() and set(found.index) <= set(it.significant().index)
    assert set(truth.selective_stimuli) <= set(found.stimulus), set(truth.selective_stimuli) - set(found.stimulus)


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
    it.save(tmp_path / "interp")  # an interpretation may replace an interpretation
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("my notes")
    with pytest.raises(FileExistsError, match="holds files that are not an interpretation"):
        it.save(tmp_path / "mine")  # but never a folder of other files
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


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
    rec = ws.load(flavell_data / "2022-01-16-01-data.h5")  # the food schedule is the file's own
    assert rec.schedule.label.tolist() == ["off food", "on food"]
    res = ws.train_sae(rec, train_cfg=ws.TrainConfig(progress=False, n_val=0, steps=200))
    it = ws.interpret(res.sae, rec, n_null=200)
    on = it.selectivity[it.selectivity.stimulus == "on food"]
    assert it.settings["design"] == "states" and len(on) == res.sae.n_units and on.p.between(0, 1).all()
    assert not it.selectivity.significant.any()  # one boundary in one animal: effects only, with the reason
    assert set(it.selectivity.reason) == {"descriptive: 1 state change in all; a p-value needs at least 2"}


def test_nsm_rises_at_the_food_encounter(flavell_data):
    "Dag et al. 2023: NSM activates when the animal meets food; one event, so it is ranked, not tested."
    rec = ws.load(flavell_data / "2022-01-16-01-data.h5")
    it = ws.interpret(NeuronBasis.fit(rec), rec)
    on = it.selectivity[it.selectivity.stimulus == "on food"].sort_values("d", ascending=False)
    rank = list(on.unit_name).index("NSM") + 1
    assert rank <= 0.1 * len(on), rank
    assert "Descriptive only" in it.units.set_index("unit_name").loc["NSM", "explanation"]


@pytest.fixture(scope="module")
def labelled(flavell_data):
    "The five labelled animals aligned by NeuroPAL name, no schedule (a placebo is anything placed in them)."
    files = sorted(p for p in flavell_data.glob("*-data.h5") if (flavell_data / "labels" / p.name.replace("-data.h5", ".json")).exists())
    col = ws.load_many(files)
    return ws.Collection(col.recordings, neurons=[n for n in col.neurons if not n.startswith("unlabeled_")])


@pytest.fixture(scope="module")
def placebo_models(labelled):
    "Single neurons, and an SAE trained on four of the animals (the fifth is the held-out one)."
    res = ws.train_sae(ws.Collection(labelled.recordings[1:], neurons=labelled.neurons),
                       train_cfg=ws.TrainConfig(progress=False, n_val=0))
    return {"neurons": NeuronBasis.fit(labelled), "SAE": res.sae}


@pytest.mark.parametrize("model", ["neurons", "SAE"])
def test_placebo_events_on_five_animals_are_almost_never_significant(labelled, placebo_models, model):
    calibration = calibrate(placebo_models[model], labelled, n_draws=20, seed=0)
    assert (calibration.events == 5).all() and (calibration.tested > 0).all()  # one placebo per animal, all testable
    assert int((calibration.significant > 0).sum()) <= 2, calibration


@pytest.mark.parametrize("model", ["neurons", "SAE"])
def test_one_placebo_in_the_held_out_animal_is_never_significant(labelled, placebo_models, model):
    held_out = ws.Collection([labelled[0]], neurons=labelled.neurons)
    calibration = calibrate(placebo_models[model], held_out, n_draws=5, seed=1)
    assert calibration.significant.sum() == 0 and (calibration.tested == 0).all()  # descriptive: one animal


def test_fewer_null_samples_never_give_more_significant_tests(labelled, placebo_models):
    rev = ws.Collection([ws.Recording.from_array(r.traces, r.neurons, fps=r.fps, key=r.key, times=r.times,
                                                 schedule=reversal_events(r)) for r in labelled], neurons=labelled.neurons)
    counts = []
    for n in (2, 50, 1000):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # few null samples: a warning says so
            counts.append(int(ws.interpret(placebo_models["neurons"], rev, n_null=n, windows={"presentation": None},
                                           baseline=(-5.0, 0.0)).selectivity.significant.sum()))
    assert counts == sorted(counts) and counts[0] == 0, counts
    assert counts[-1] > 0  # reversals are real events: the reversal neurons respond


def reversal_events(rec):
    "Reversals of a labelled animal as a schedule (the file's own reversal_vec)."
    from wormsae.flavell import reversal_schedule
    return reversal_schedule(rec.behaviour["reversal"].to_numpy())

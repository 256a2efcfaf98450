"The command line: the demo's outputs, train then interp on files a user would have, and errors that say what to fix."
import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

import wormsae as ws
from wormsae.cli import main, run_demo


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_writes_a_complete_output_folder(tmp_path, capsys):
    out = run_demo(tmp_path / "demo", n_null=100, steps=60)
    printed = capsys.readouterr().out
    assert out == tmp_path / "demo"
    assert {p.name for p in out.iterdir()} == {"model", "interpretation", "report.html", "metrics.json", "baselines.csv",
                                               "training_history.csv", "interpretation_comparison.csv"}
    calibration = pd.read_csv(out / "interpretation" / "placebo_calibration.csv")
    assert len(calibration) == 10 and (calibration.events >= 1).all()  # the demo's default: 10 placebo draws
    comparison = pd.read_csv(out / "interpretation_comparison.csv")
    assert set(comparison.model) == {"SAE", "neurons", "PCA"} and set(comparison.stimulus) == set(ws.example().stimuli)
    sae = ws.SAE.load(out / "model")
    col = ws.example()
    assert sae.neurons == col.neurons and sae.n_units == ws.SAEConfig(len(col.neurons)).d_sae
    assert sae.stability is not None and len(sae.ensemble["seeds"]) == ws.TrainConfig.n_seeds
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"fvu", "l0", "dead_fraction", "val_fvu", "pca_fvu", "mcc", "n_stable", "ensemble"} <= set(metrics)
    baselines = pd.read_csv(out / "baselines.csv")
    rec = baselines[baselines.test == "reconstruction"].set_index("model").value  # the CSVs carry no behaviour
    assert rec["SAE"] < rec[rec.index.str.startswith("PCA")].iloc[0], rec  # sparse planted structure: PCA at equal L0 loses
    assert "seed stability:" in printed and "baselines on the held-out animals" in printed
    assert pd.read_csv(out / "training_history.csv").step.iloc[-1] == 59  # the last of 60 steps is logged
    sel = pd.read_csv(out / "interpretation" / "selectivity.csv")
    assert len(sel) == sae.n_units * len(col.stimuli) * 2
    assert (out / "interpretation" / "seed_table.txt").read_text().startswith(f"Stimulus: {col.stimuli[0]}  (n_on=")
    assert "<html" in (out / "report.html").read_text()
    for expected in ("data: the virtual worm", "held-out animals", "PCA with", "significant units per stimulus",
                     "placebo calibration: ", "ground truth:", "the original analysis", "on single neurons and on PCA",
                     f"wrote {out}"):
        assert expected in printed, expected


@pytest.fixture(scope="module")
def csv_folder(tmp_path_factory):
    "Three small virtual worms written as worm.world CSVs, as a user's own files would be."
    col, _ = ws.virtual_worm(n_animals=3, seed=5, n_frames=1650, stimuli=["100mM NaCl", "10mM CuSO4", "Control"],
                             repeats=2)
    folder = tmp_path_factory.mktemp("data")
    for rec in col:
        ws.write_wormworld_csv(rec, folder / f"{rec.key}.csv")
    return folder


def test_train_then_interp_on_csv_files(csv_folder, tmp_path, capsys):
    code, out, err = run(["train", csv_folder, "--out", tmp_path / "run", "--steps", 40, "--k", 4, "--n-val", 1], capsys)
    assert code == 0, err
    assert "loaded 3 recordings" in out
    sae = ws.SAE.load(tmp_path / "run" / "model")
    assert sae.cfg.k == 4 and sae.cfg.activation == "topk"
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["val_fvu"] > 0
    code, out, err = run(["interp", tmp_path / "run" / "model", csv_folder, "--out", tmp_path / "interp",
                          "--null", 50], capsys)
    assert code == 0, err
    sel = pd.read_csv(tmp_path / "interp" / "selectivity.csv")
    assert set(sel.stimulus) == {"100mM NaCl", "10mM CuSO4", "Control"}
    assert (tmp_path / "interp" / "report.html").exists()


def test_info_summarises_files(csv_folder, capsys):
    code, out, err = run(["info", csv_folder], capsys)
    assert code == 0, err
    assert all(p.stem in out for p in csv_folder.glob("*.csv"))


def test_errors_say_what_to_fix(csv_folder, tmp_path, capsys):
    code, _, err = run(["train", tmp_path / "nothing-here", "--out", tmp_path / "run"], capsys)
    assert code == 2 and err.startswith("wormsae train: error:") and "nothing-here" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("neuron,0.0s,0.375s\nAVAL,1.0,x\n")
    code, _, err = run(["info", bad], capsys)
    assert code == 2 and str(bad) in err and "'x' is not a number" in err
    # a model folder that is not one
    (tmp_path / "notamodel").mkdir()
    code, _, err = run(["interp", tmp_path / "notamodel", csv_folder, "--out", tmp_path / "o"], capsys)
    assert code == 2 and "notamodel" in err
    assert not (tmp_path / "o").exists()  # nothing written on failure


def test_an_interrupted_train_leaves_no_partial_model(csv_folder, tmp_path, monkeypatch, capsys):
    target = tmp_path / "run"
    assert run(["train", csv_folder, "--out", target, "--steps", 20, "--n-val", 1], capsys)[0] == 0
    before = (target / "model" / "sae.safetensors").read_bytes()
    import safetensors.torch

    def crash(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        main(["train", str(csv_folder), "--out", str(target), "--steps", "20", "--n-val", "1", "--seed", "3"])
    assert (target / "model" / "sae.safetensors").read_bytes() == before
    assert sorted(p.name for p in target.iterdir()) == ["metrics.json", "model", "training_history.csv"]


@pytest.mark.skipif(shutil.which("wormsae") is None, reason="the wormsae console script is not installed")
def test_console_script_help_names_every_command():
    out = subprocess.run(["wormsae", "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("demo", "train", "interp", "info", "check"):
        assert command in out
    train_help = subprocess.run(["wormsae", "train", "--help"], capture_output=True, text=True)
    assert train_help.returncode == 0 and "--k" in train_help.stdout and "--out" in train_help.stdout


def test_train_help_states_the_library_defaults():
    "`--help` stays light (no torch), so its defaults are written out; they must be the library's."
    import argparse
    from wormsae.cli import build_parser
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in sub.choices["train"]._actions}
    for dest, value in (("k", ws.SAEConfig(1000).k), ("l1", ws.SAEConfig.l1), ("steps", ws.TrainConfig.steps),
                        ("lr", ws.TrainConfig.lr), ("seeds", ws.TrainConfig.n_seeds), ("expansion", ws.SAEConfig.expansion)):
        assert f"default {value:g})" in helps[dest], (dest, value, helps[dest])

"The command line: the demo's outputs, train then interp on files a user would have, and errors that say what to fix."
import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import wormsae as ws
from wormsae.cli import main


def run(argv, capsys):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse's errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_writes_a_complete_output_folder(demo_run):
    out, printed = demo_run.out, demo_run.printed  # run_demo(folder, n_null=100, steps=60), shared with test_report_real
    assert out.name == "demo"
    assert {p.name for p in out.iterdir()} == {"model", "interpretation", "report.html", "metrics.json", "baselines.csv",
                                               "training_history.csv", "interpretation_comparison.csv", "wormsae-run.json"}
    assert json.loads((out / "wormsae-run.json").read_text())["kind"] == "demo"
    calibration = pd.read_csv(out / "interpretation" / "placebo_calibration.csv")
    assert len(calibration) == 20 and (calibration.events >= 1).all()  # the demo's default: 20 placebo draws
    comparison = pd.read_csv(out / "interpretation_comparison.csv")
    assert set(comparison.model) == {"SAE", "neurons", "PCA"} and set(comparison.stimulus) == set(ws.example().stimuli)
    sae = ws.SAE.load(out / "model")
    col = ws.example()
    assert sae.neurons == col.neurons and sae.n_units == ws.SAEConfig(len(col.neurons)).d_sae
    assert sae.stability is not None and len(sae.ensemble["seeds"]) == ws.TrainConfig.n_seeds
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"fvu", "l0", "dead_fraction", "val_fvu", "pca_fvu", "mcc", "pca_mcc", "n_stable", "ensemble"} <= set(metrics)
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
    code, out, err = run(["train", csv_folder, "--out", tmp_path / "run", "--steps", 40, "--k", 4, "--n-val", 1,
                          "--threads", 1], capsys)
    assert code == 0, err
    assert "loaded 3 recordings" in out
    assert "CPU threads: 1 (--threads)" in out  # an explicit choice is used as given, named as the user gave it
    sae = ws.SAE.load(tmp_path / "run" / "model")
    assert sae.cfg.k == 4 and sae.cfg.activation == "topk"
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["val_fvu"] > 0 and metrics["pca_components"] == 4  # k=4: PCA with as many components
    held_line = next(line for line in out.splitlines() if line.startswith("held-out animals"))
    assert f"FVU {metrics['val_fvu']:.3f} at L0" in held_line and f"PCA with 4 components" in held_line
    assert f"FVU {metrics['pca_fvu']:.3f}" in held_line
    baselines = pd.read_csv(tmp_path / "run" / "baselines.csv").set_index("model").value
    assert baselines["PCA (4 components)"] == pytest.approx(metrics["pca_fvu"])
    code, out, err = run(["interp", tmp_path / "run" / "model", csv_folder, "--null", 50], capsys)
    assert code == 0, err
    interp = tmp_path / "run" / "interpretation"  # beside the model by default
    sel = pd.read_csv(interp / "selectivity.csv")
    assert set(sel.stimulus) == {"100mM NaCl", "10mM CuSO4", "Control"}
    assert (interp / "report.html").exists()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "baselines.csv", "interpretation", "metrics.json", "model", "training_history.csv", "wormsae-run.json"]


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
    code, _, err = run(["train", csv_folder, "--out", target, "--steps", 20, "--n-val", 1, "--seed", 3], capsys)
    assert code == 2 and err == "wormsae train: error: disk full\n"
    assert (target / "model" / "sae.safetensors").read_bytes() == before
    assert sorted(p.name for p in target.iterdir()) == ["baselines.csv", "metrics.json", "model", "training_history.csv",
                                                        "wormsae-run.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


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
    assert f"at most {ws.TrainConfig.max_epochs:g} passes over the training frames" in helps["steps"], helps["steps"]
    demo = {a.dest: a.help for a in sub.choices["demo"]._actions}
    assert f"default {ws.TrainConfig.steps:g})" in demo["steps"], demo["steps"]


def _all_parsers(parser, name="wormsae"):
    "(name, parser) for `parser` and every subcommand's parser."
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _all_parsers(sub, f"{name} {sub_name}")


def test_every_command_has_a_description_and_every_option_a_help():
    from wormsae.cli import build_parser
    parsers = dict(_all_parsers(build_parser()))
    assert set(parsers) == {"wormsae", "wormsae demo", "wormsae train", "wormsae interp", "wormsae info", "wormsae check"}
    no_description = [name for name, p in parsers.items() if not p.description]
    no_help = [f"{name} {'/'.join(a.option_strings) or a.dest}" for name, p in parsers.items() for a in p._actions
               if not isinstance(a, argparse._SubParsersAction) and not a.help]
    assert no_description == [] and no_help == []


def test_the_help_check_finds_what_is_missing():
    "The walk above fails on a parser that lacks a description or a help text."
    p = argparse.ArgumentParser(description="top")
    p.add_argument("--seed")
    p.add_subparsers(dest="command").add_parser("info", help="listed only").add_argument("data", help="files")
    parsers = dict(_all_parsers(p))
    assert [name for name, q in parsers.items() if not q.description] == ["wormsae info"]
    assert [a.dest for q in parsers.values() for a in q._actions
            if not isinstance(a, argparse._SubParsersAction) and not a.help] == ["seed"]


def test_warnings_print_one_line_without_their_source(tmp_path):
    "In a new process, as a user runs it: the loader's warning, and nothing of the file and line that raised it."
    gap = tmp_path / "gap.csv"
    gap.write_text("neuron,0,1,3\nAVAL,1.0,2.0,3.0\nAVAR,1.0,2.0,2.5\n")  # frame 2 has no column: the reader warns
    done = subprocess.run([sys.executable, "-c", "import sys; from wormsae.cli import main; sys.exit(main(sys.argv[1:]))",
                           "info", str(gap)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"wormsae info: warning: {gap}: 1 frame(s) between frames 0 and 3 have no column "
                                        "(the first is 2); they are kept as missing values so that stimulus onsets "
                                        "still count frames from 0"]
    assert "gap" in done.stdout


def test_main_puts_python_warning_printer_back(tmp_path, capsys):
    import warnings
    before = warnings.showwarning
    gap = tmp_path / "gap.csv"
    gap.write_text("neuron,0,1,3\nAVAL,1.0,2.0,3.0\n")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["info", str(gap)]) == 0
    assert warnings.showwarning is before
    assert "wormsae info: warning: " in capsys.readouterr().err


# --- what --out may replace -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained_run(csv_folder, tmp_path_factory):
    "A small training run written by the command."
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", str(csv_folder), "--out", str(out), "--steps", "20", "--k", "4", "--n-val", "1",
                 "--seeds", "2", "--size", "default"]) == 0
    return out


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def no_work(monkeypatch):
    "Any reading of recordings or of the example fails the test: refusals must come before the work."
    def forbidden(*a, **k):
        raise AssertionError("work started before the options were checked")
    monkeypatch.setattr("wormsae.cli._load_data", forbidden)
    monkeypatch.setattr("wormsae.example", forbidden)


def _one_line_error(code, err, command):
    assert code == 2 and err.startswith(f"wormsae {command}: error:") and err.count("\n") == 1, (code, err)
    assert "Traceback" not in err


def test_out_never_destroys_a_model_or_a_users_files(trained_run, csv_folder, tmp_path, capsys, no_work):
    run_before = _snapshot(trained_run)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    model = trained_run / "model"
    cases = [(["interp", model, csv_folder, "--out", trained_run], "interp", "holds the model it would interpret"),
             (["interp", model, csv_folder, "--out", trained_run, "--force"], "interp", "holds the model"),
             (["interp", model, csv_folder, "--out", model], "interp", "holds the model"),
             (["interp", model, csv_folder, "--out", mine], "interp", "files that are not a wormsae interp run"),
             (["train", csv_folder, "--out", mine], "train", "files that are not a wormsae train run"),
             (["demo", "--out", mine], "demo", "files that are not a wormsae demo run"),
             (["demo", "--out", trained_run], "demo", "already holds a wormsae train run")]
    for argv, command, words in cases:
        code, _, err = run(argv, capsys)
        _one_line_error(code, err, command)
        assert words in err and "--force" in err or "holds the model" in err, err
    assert _snapshot(trained_run) == run_before
    assert _snapshot(mine) == {Path("notes.txt"): b"my notes"}


def test_interp_with_force_replaces_only_what_was_named(trained_run, csv_folder, tmp_path, capsys):
    run_before = _snapshot(trained_run)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    code, _, err = run(["interp", trained_run / "model", csv_folder, "--out", mine, "--force", "--null", 20,
                        "--calibrate", 0], capsys)
    assert code == 0, err
    assert not (mine / "notes.txt").exists() and (mine / "selectivity.csv").exists()
    assert json.loads((mine / "wormsae-run.json").read_text())["kind"] == "interp"
    code, _, err = run(["interp", trained_run / "model", csv_folder, "--out", mine, "--null", 20, "--calibrate", 0],
                       capsys)
    assert code == 0, err  # an interpretation may replace an interpretation without --force
    assert _snapshot(trained_run) == run_before


@pytest.mark.parametrize("argv, words", [
    (["interp", "{model}", "{data}", "--null", "0"], "--null: expected a whole number >= 10"),
    (["interp", "{model}", "{data}", "--null", "1"], "--null: expected a whole number >= 10"),
    (["interp", "{model}", "{data}", "--alpha", "nan"], "--alpha: expected a false discovery rate"),
    (["interp", "{model}", "{data}", "--alpha", "2"], "--alpha: expected a false discovery rate"),
    (["train", "{data}", "--out", "{tmp}/r", "--presentation-s", "nan"], "--presentation-s: expected a positive"),
    (["train", "{data}", "--out", "{tmp}/r", "--presentation-s", "-5"], "--presentation-s: expected a positive"),
    (["train", "{data}", "--out", "{tmp}/r", "--expansion", "1e9"], "--expansion: expected a number of units"),
    (["train", "{data}", "--out", "{tmp}/r", "--k", "0"], "--k: expected a whole number >= 1"),
    (["train", "{data}", "--out", "{tmp}/r", "--lr", "inf"], "--lr: expected a positive number"),
    (["train", "{data}", "--out", "{tmp}/file.txt/r"], "is a file, so nothing can be created under it"),
    (["train", "{data}", "--out", "{tmp}/file.txt"], "is a file, not a folder"),
    (["train", "{data}", "--out", "{tmp}/r", "--device", "tpu"], "unknown device 'tpu'"),
    (["demo", "--null", "5"], "--null: expected a whole number >= 10"),
    (["demo", "--out", "{tmp}/file.txt"], "is a file, not a folder"),
])
def test_options_and_outputs_are_checked_before_any_work(argv, words, trained_run, csv_folder, tmp_path, capsys, no_work):
    (tmp_path / "file.txt").write_text("x")
    argv = [a.format(model=trained_run / "model", data=csv_folder, tmp=tmp_path) for a in argv]
    code, _, err = run(argv, capsys)
    assert code == 2 and err.count("\n") == 1 and words in err, (code, err)
    assert "Traceback" not in err and not (tmp_path / "r").exists()


def test_cuda_without_a_gpu_is_refused_before_reading(csv_folder, tmp_path, capsys, no_work, monkeypatch):
    import torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the same check on a machine with a GPU
    code, _, err = run(["train", csv_folder, "--out", tmp_path / "r", "--device", "cuda"], capsys)
    _one_line_error(code, err, "train")
    assert "no CUDA GPU" in err


def test_info_into_a_closed_pipe_prints_no_traceback(csv_folder):
    if shutil.which("wormsae") is None:
        pytest.skip("the wormsae console script is not installed")
    p = subprocess.Popen(["wormsae", "info", str(csv_folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader is gone before the first line is written, as `| head -0` would be
    err = p.stderr.read().decode()
    p.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_a_diverging_training_is_one_line_and_saves_nothing(csv_folder, tmp_path, capsys):
    code, _, err = run(["train", csv_folder, "--out", tmp_path / "r", "--lr", 1000, "--steps", 60, "--n-val", 1,
                        "--size", "default", "--seeds", 1], capsys)
    _one_line_error(code, err, "train")
    assert "times its first value" in err and "Lower the learning rate" in err
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_model_is_one_line(trained_run, csv_folder, tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(trained_run / "model", model)
    meta = json.loads((model / "cfg.json").read_text())
    meta["norm"]["neurons"] = meta["norm"]["neurons"][::-1]
    (model / "cfg.json").write_text(json.dumps(meta))
    code, _, err = run(["interp", model, csv_folder], capsys)
    _one_line_error(code, err, "interp")
    assert str(model / "cfg.json") in err and "norm.neurons" in err


# --- a run folder appears whole or not at all ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_results(csv_folder):
    col = ws.load_many([csv_folder])
    return [ws.train_sae(col, ws.SAEConfig(len(col.neurons), k=4), ws.TrainConfig(steps=10, n_val=1, n_seeds=2, seed=s))
            for s in (0, 7)]


def _save(out, res):
    from wormsae.cli import _write_run, _write_training
    return _write_run(out, "train", lambda folder: _write_training(folder, res))


def _which(out, results):
    "Which result the run folder `out` holds, whole: its model, metrics and history must all be that result's."
    sae, metrics = ws.SAE.load(out / "model"), json.loads((out / "metrics.json").read_text())
    history = pd.read_csv(out / "training_history.csv")
    for i, res in enumerate(results):
        if sae.ensemble["seeds"] == res.sae.ensemble["seeds"]:
            assert metrics["ensemble"]["seeds"] == res.sae.ensemble["seeds"]
            assert np.allclose(history.loss, res.history.loss)
            assert torch_equal(sae, res.sae)
            return i
    raise AssertionError("the run folder holds neither result")


def torch_equal(a, b):
    return np.array_equal(a.decoder_weights(), b.decoder_weights()) and np.array_equal(a.encoder_weights(), b.encoder_weights())


def test_interleaved_saves_leave_one_whole_run(two_results, tmp_path):
    "B saves completely while A is half written (what two concurrent `train`s do): one of them wins whole."
    from wormsae.cli import _write_run, _write_training
    a, b = two_results
    out = tmp_path / "run"

    def write_a(folder):
        _write_training(folder, a)
        _save(out, b)
    _write_run(out, "train", write_a)
    assert _which(out, two_results) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_fault_at_any_step_of_a_save_keeps_the_previous_run(two_results, tmp_path, monkeypatch):
    import os
    import wormsae.files as files
    a, b = two_results
    out = tmp_path / "run"
    calls = {"n": 0, "fail_at": None}
    real = {name: getattr(os, name) for name in ("rename", "replace", "fsync")}
    real_exchange = files._exchange

    def counted(f):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == calls["fail_at"]:
                raise OSError("injected fault")
            return f(*args, **kwargs)
        return wrapper
    for exchange in (real_exchange, lambda x, y: False):  # atomic exchange, and the two renames where there is none
        monkeypatch.setattr(files, "_exchange", counted(exchange))
        for name, f in real.items():
            monkeypatch.setattr(os, name, counted(f))
        _save(out, a)
        calls["n"] = 0
        _save(out, b)
        n_steps = calls["n"]
        assert n_steps >= 10, n_steps
        for i in range(1, n_steps + 1):
            _save(out, a)
            calls["n"], calls["fail_at"] = 0, i
            try:
                _save(out, b)
            except OSError as e:
                assert str(e) == "injected fault"
            calls["fail_at"] = None
            assert _which(out, two_results) in (0, 1), i  # loadable, and one result whole
            assert sorted(p.name for p in tmp_path.iterdir()) == ["run"], (i, list(tmp_path.iterdir()))


def test_a_killed_save_is_cleaned_up_by_the_next(two_results, tmp_path):
    "A process killed while writing leaves a hidden temporary; the previous run stays; the next save removes it."
    import sys
    a, b = two_results
    out = tmp_path / "run"
    _save(out, a)
    script = ("import os, sys; from wormsae.cli import _write_run; "
              "_write_run(sys.argv[1], 'train', lambda folder: ((folder / 'metrics.json').write_text('{'), os._exit(9)))")
    assert subprocess.run([sys.executable, "-c", script, str(out)]).returncode == 9
    assert len([p for p in tmp_path.iterdir() if p.name.startswith(".run.writing-")]) == 1
    assert _which(out, two_results) == 0
    _save(out, b)
    assert _which(out, two_results) == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_the_commands_null_floor_is_the_librarys_min_exceed():
    from wormsae.cli import _MIN_NULL
    from wormsae.interp import MIN_EXCEED
    assert _MIN_NULL == MIN_EXCEED


def test_an_out_folder_without_write_permission_is_refused_before_work(csv_folder, tmp_path, capsys, monkeypatch, no_work):
    monkeypatch.setattr("wormsae.cli.os.access", lambda path, mode: False)  # as for a folder of someone else's
    code, _, err = run(["train", csv_folder, "--out", tmp_path / "r"], capsys)
    _one_line_error(code, err, "train")
    assert f"no permission to write in {tmp_path}" in err


# --- what a command-line user reads: their own words, each warning once, a baseline beside each score -------------

# statistics and the model's k that the summaries print as name=value (SAE(140 neurons -> 70 units, topk, k=8));
# any other `name=` would be a Python parameter told to a CLI user
STATISTICS = {"d", "r", "on", "off", "n_on", "n_off", "k"}
COMMAND = "import sys; from wormsae.cli import main; sys.exit(main(sys.argv[1:]))"


def wormsae_process(*args, strict=False):
    "`wormsae ARGS` in a new process, as a user runs it (`strict`: numpy's RuntimeWarnings are errors); (code, out, err)."
    flags = ["-W", "error::RuntimeWarning"] if strict else []
    done = subprocess.run([sys.executable, *flags, "-c", COMMAND, *map(str, args)], capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr


def python_words(text: str) -> set:
    "The `name=` spellings in `text` that are not statistics."
    return set(re.findall(r"\b([a-z_]+)=", text)) - STATISTICS


def test_the_python_words_check_finds_them():
    assert python_words("pass neurons=... to keep them; unit 4 (d=+1.2), r=+0.3, on=1.0 off=0.2") == {"neurons"}
    assert python_words("Lower the learning rate (lr=0.024; try 0.0024)") == {"lr"}
    assert python_words("--lr 0.024 was used; decoder cosine >= 0.9") == set()


@pytest.fixture(scope="module")
def real_runs(flavell_data, tmp_path_factory):
    "`train` then `interp` on the six real recordings, in new processes; numpy's RuntimeWarnings are errors."
    out = tmp_path_factory.mktemp("real") / "run"
    files = sorted(flavell_data.glob("*.h5"))
    train = wormsae_process("train", *files, "--out", out, "--steps", 100, "--seeds", 2, "--size", "default",
                            "--threads", 1, strict=True)
    interp = wormsae_process("interp", out / "model", *files, "--null", 200, "--calibrate", 5, strict=True)
    return train, interp


def test_real_data_commands_speak_command_line_words(real_runs):
    for code, out, err in real_runs:
        assert code == 0, err
        assert python_words(out + err) == set(), (out, err)
        assert "Traceback" not in err and ".py:" not in err


def test_real_data_warnings_print_once_each(real_runs):
    (_, _, train_err), (_, _, interp_err) = real_runs
    for err in (train_err, interp_err):
        lines = err.splitlines()
        assert len(lines) == len(set(lines)) and all(line.startswith("wormsae ") for line in lines), err
    left_out = [line for line in train_err.splitlines() if "unlabelled neurons" in line]
    assert len(left_out) == 1 and "Collection of 6 recordings: left out 144 unlabelled neurons" in left_out[0]
    assert "unlabelled neurons" not in interp_err  # interp aligns the animals on the model's neurons
    assert "All-NaN" not in interp_err  # one food encounter: PSTHs without SEM are drawn without numpy warnings


def test_real_data_interp_puts_single_neurons_under_each_stimulus(real_runs):
    "The food encounter is one state change, so effects only; the neuron baseline is NSM (Dag et al. 2023)."
    _, (_, out, _) = real_runs
    lines = out.splitlines()
    on_food = next(i for i, line in enumerate(lines) if line.lstrip().startswith("on food:"))
    assert lines[on_food].lstrip().startswith("on food: not tested (1 state change in all; a p-value needs at least 2)")
    baseline = lines[on_food + 1].strip()
    assert re.fullmatch(r"single neurons: not tested either, strongest NSM \(d=\+\d\.\d\d, state\)", baseline), baseline
    assert sum(line.lstrip().startswith("single neurons: ") for line in lines) == 2  # off food and on food
    assert any(line.startswith("placebo calibration: ") and "allows (about 5% of draws" in line for line in lines)


def test_csv_commands_and_their_errors_speak_command_line_words(csv_folder, tmp_path):
    "On worm.world CSVs made here: train, interp and info, and the errors a CLI user can run into."
    run_dir = tmp_path / "run"
    outputs = [wormsae_process("train", csv_folder, "--out", run_dir, "--steps", 30, "--k", 4, "--n-val", 1,
                               "--seeds", 2, "--threads", 1, strict=True),
               wormsae_process("interp", run_dir / "model", csv_folder, "--null", 50, "--calibrate", 0, strict=True),
               wormsae_process("info", csv_folder, strict=True)]
    assert [code for code, _, _ in outputs] == [0, 0, 0], outputs
    assert "(--calibrate 20 puts placebo events through the same tests)" in outputs[1][1]
    errors = {"--schedule applies to Flavell HDF5 files only": ("info", csv_folder, "--schedule", "reversals"),
              "option(s) --labels not understood by the wormworld reader": ("info", csv_folder, "--labels", "x.json"),
              "--neurons: 1 name(s) in no recording: ['AVAX']": ("info", csv_folder, "--neurons", "AVAL,AVAX"),
              "Lower the learning rate (--lr 1000 was used; try --lr 100)": (
                  "train", csv_folder, "--out", tmp_path / "r2", "--lr", 1000, "--steps", 60, "--n-val", 1,
                  "--size", "default", "--seeds", 1)}
    for words, argv in errors.items():
        code, out, err = wormsae_process(*argv)
        assert code == 2 and words in err and err.count("\n") == 1, (argv, err)
        outputs.append((code, out, err))
    for _, out, err in outputs:
        assert python_words(out + err) == set(), (out, err)


def test_neurons_option_chooses_the_columns(csv_folder, tmp_path, capsys):
    names = tmp_path / "names.txt"
    names.write_text("AVAR\nAVAL, RIML  # reversal neurons\n")
    code, out, err = run(["train", csv_folder, "--out", tmp_path / "run", "--neurons", names, "--steps", 20, "--k", 2,
                          "--n-val", 1, "--seeds", 1, "--threads", 1], capsys)
    assert code == 0, err
    assert ws.SAE.load(tmp_path / "run" / "model").neurons == ["AVAR", "AVAL", "RIML"]  # in the order given
    assert "loaded 3 recordings, 3 neurons" in out
    code, out, err = run(["interp", tmp_path / "run" / "model", csv_folder, "--null", 20, "--calibrate", 0], capsys)
    assert code == 0, err
    units = pd.read_csv(tmp_path / "run" / "interpretation" / "units.csv")
    read = {w.split("(")[0] for text in units.top_inputs for w in text.split()}
    assert len(units) == ws.SAE.load(tmp_path / "run" / "model").n_units and read <= {"AVAR", "AVAL", "RIML"}, read


def test_a_single_presentation_interprets_without_numpy_warnings(tmp_path):
    "Each stimulus shown once in all (no SEM for its PSTH): the command must not leak numpy's All-NaN warning."
    rng = np.random.default_rng(0)
    for key, stimulus in (("w1", "A"), ("w2", "B")):
        X = rng.normal(size=(400, 3))
        X[200:220, 0] += 2.0  # a response to the one presentation
        rec = ws.Recording.from_array(X, ["AVAL", "AVAR", "RIML"], fps=2.0, key=key, schedule=[(200, stimulus)],
                                      presentation_s=10)
        ws.write_wormworld_csv(rec, tmp_path / f"{key}.csv")
    code, _, err = wormsae_process("train", tmp_path / "w1.csv", tmp_path / "w2.csv", "--out", tmp_path / "run",
                                   "--steps", 20, "--k", 2, "--seeds", 1, "--threads", 1, strict=True)
    assert code == 0, err
    code, out, err = wormsae_process("interp", tmp_path / "run" / "model", tmp_path / "w1.csv", tmp_path / "w2.csv",
                                     "--null", 20, "--calibrate", 0, strict=True)
    assert code == 0 and "Warning" not in err, err
    assert "not tested (1 presentation in all; a p-value needs at least 2)" in out

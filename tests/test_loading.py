"Tests of format detection, `load`, `load_many` and `save` across the worm.world CSV, Flavell HDF5 and NWB formats."
import json

import h5py
import numpy as np
import pandas as pd
import pytest

import wormsae as ws
from wormsae.data import Collection, DataError, Recording
from wormsae.loading import detect_format, expand_paths, load, load_many, save
from wormsae.nwb import write_nwb
from wormsae.wormworld import write_wormworld_csv


def toy(key, neurons=("AVAL", "RIML"), T=40, seed=0, schedule=((8, "OP50"), (24, "Control"))):
    x = np.random.default_rng(seed).normal(size=(T, len(neurons)))
    return Recording.from_array(x, list(neurons), fps=2.0, key=key, schedule=list(schedule), presentation_s=3)


def flavell_file(path, T=40, N=3, seed=0):
    "The smallest file in the Flavell-lab processed layout the reader accepts (frames 0.5 s apart)."
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        f["gcamp/trace_array"] = rng.normal(size=(T, N))
        f["timing/timestamp_confocal"] = 100.0 + 0.5 * np.arange(T)
        f["behavior/velocity"] = rng.normal(size=T)
    return path


@pytest.fixture
def three_formats(tmp_path):
    "One recording in each format, in one folder, plus files that must be ignored."
    d = tmp_path / "data"
    d.mkdir()
    write_wormworld_csv(toy("c_csv", neurons=("AVAL", "ASHR")), d / "c.csv")
    flavell_file(d / "2020-01-01-01-data.h5")
    write_nwb(toy("b", neurons=("RIML", "AVAL"), seed=1), d / "b.nwb")
    (d / "notes.md").write_text("not data")
    (d / ".hidden.csv").write_text("not,data\n")
    (d / "sub").mkdir()
    write_wormworld_csv(toy("nested"), d / "sub" / "nested.csv")  # folders are not searched recursively
    return d


# ---- detect_format ----

def test_detect_each_format(three_formats, tmp_path):
    d = three_formats
    assert detect_format(d / "c.csv") == "wormworld"
    assert detect_format(d / "2020-01-01-01-data.h5") == "flavell"
    assert detect_format(d / "b.nwb") == "nwb"
    assert ws.detect_format is detect_format
    # decided by content, not by suffix
    (tmp_path / "nwb_as.h5").write_bytes((d / "b.nwb").read_bytes())
    (tmp_path / "flavell_as.nwb").write_bytes((d / "2020-01-01-01-data.h5").read_bytes())
    (tmp_path / "table.dat").write_bytes((d / "c.csv").read_bytes())
    (tmp_path / "table").write_bytes((d / "c.csv").read_bytes())
    assert detect_format(tmp_path / "nwb_as.h5") == "nwb"
    assert detect_format(tmp_path / "flavell_as.nwb") == "flavell"
    assert detect_format(tmp_path / "table.dat") == "wormworld"
    assert detect_format(tmp_path / "table") == "wormworld"
    assert load(tmp_path / "nwb_as.h5").key == load(d / "b.nwb").key  # NWB keys come from session_id, not the file name


def test_detect_format_errors(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["something/else"] = np.zeros(3)
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "blob.dat").write_bytes(b"\x00\x01\x02binary")
    cases = {tmp_path / "other.h5": "neither NWB nor a Flavell-lab",
             tmp_path / "empty.csv": "the file is empty",
             tmp_path / "blob.dat": "unrecognised file format",
             tmp_path / "missing.csv": "file not found",
             tmp_path: "not a file"}
    for path, message in cases.items():
        for fn in (detect_format, load):
            with pytest.raises(DataError) as e:
                fn(path)
            assert message in str(e.value) and str(path) in str(e.value)


# ---- load ----

def test_load_each_format(three_formats):
    d = three_formats
    csv_rec, h5_rec, nwb_rec = load(d / "c.csv"), load(d / "2020-01-01-01-data.h5"), load(str(d / "b.nwb"))
    assert (csv_rec.key, csv_rec.neurons, csv_rec.traces.shape) == ("c_csv", ["AVAL", "ASHR"], (40, 2))
    assert (h5_rec.key, h5_rec.traces.shape, h5_rec.fps) == ("2020-01-01-01", (40, 3), 2.0)
    assert h5_rec.neurons == ["unlabeled_000", "unlabeled_001", "unlabeled_002"]
    assert list(h5_rec.behaviour.columns) == ["velocity"]
    assert (nwb_rec.key, nwb_rec.neurons) == ("b", ["RIML", "AVAL"])
    np.testing.assert_array_equal(nwb_rec.traces, toy("b", neurons=("RIML", "AVAL"), seed=1).traces)
    assert nwb_rec.schedule.label.tolist() == ["OP50", "Control"]


def test_options_pass_through(three_formats):
    d = three_formats
    # the CSV stores onsets only; presentation_s sets the offsets (2 Hz: 1 s = 2 frames)
    assert load(d / "c.csv").schedule.offset_frame.tolist() == [24, 40]  # default 15 s, capped
    assert load(d / "c.csv", presentation_s=1.0).schedule.offset_frame.tolist() == [10, 26]
    s = load(d / "c.csv", schedule=[(3, "X")], presentation_s=2.0).schedule
    assert s[["onset_frame", "label", "offset_frame"]].values.tolist() == [[3, "X", 7]]
    assert load(d / "2020-01-01-01-data.h5", schedule=[(0, "off food"), (30, "on food")]).schedule.offset_frame.tolist() == [30, 40]
    assert load(d / "2020-01-01-01-data.h5", labels={"1": {"label": "AVAL"}}).neurons[1] == "AVAL"
    assert len(load(d / "b.nwb", schedule=False).schedule) == 0
    write_wormworld_csv(toy("d_csv", schedule=[(30, "NaCl")]), d / "d.csv")
    col = load_many(d / "*.csv", presentation_s=1.0)
    assert [r.schedule.offset_frame.tolist() for r in col] == [[10, 26], [32]]
    col = load_many([d / "c.csv", d / "d.csv"], schedule=[(5, "X")], presentation_s=0.5)
    assert [r.schedule.offset_frame.tolist() for r in col] == [[6], [6]]
    # on a mixed folder each reader gets the options it understands; one no reader understands is an error
    with pytest.warns(UserWarning, match="left out 1 recording\\(s\\) with no observed value .*'2020-01-01-01'"):
        mixed = load_many(d, presentation_s=1.0)  # the unlabelled Flavell animal matches no other animal's neurons
    assert mixed["c_csv"].schedule.offset_frame.tolist() == [10, 26] and len(mixed) == 3
    assert mixed.left_out == ["2020-01-01-01"]
    with pytest.raises(TypeError, match="not understood by the flavell or nwb or wormworld reader"):
        load_many(d, colour="red")
    with pytest.raises(DataError, match="outside"):  # a bad option value is still the reader's DataError
        load(d / "c.csv", schedule=[(99, "X")])


def test_csv_options_in_a_mixed_folder(tmp_path):
    "fps= reaches only the CSV reader (the Flavell file keeps its own timestamps); min_confidence= reaches the CSV's conf."
    d = tmp_path / "mixed"
    d.mkdir()
    rec = Recording.from_array(np.arange(120.0).reshape(40, 3), ["AVAL", "ASHR", "RIML"], fps=1 / 0.375, key="pub",
                               schedule=[(8, "OP50")])
    write_wormworld_csv(rec, d / "pub.csv", metadata=pd.DataFrame({"conf": [0.9, 0.2, ""]}))
    flavell_file(d / "2020-01-01-01-data.h5")
    (d / "labels").mkdir()  # a label it shares with the CSV animal, so that the collection keeps both
    (d / "labels" / "2020-01-01-01.json").write_text(json.dumps({"0": {"label": "AVAL", "confidence": 5}}))
    assert (d / "pub.csv").read_text().startswith(",neuron,neuron_group,conf,stimulus,0,1,")  # the published layout
    with pytest.warns(UserWarning, match="pub.csv: min_confidence=0.5 dropped 2 of 3 neurons"):
        col = load_many(d, fps=4.0, min_confidence=0.5)
    assert col["pub"].fps == 4.0 and col["pub"].neurons == ["AVAL"]
    assert col["pub"].schedule.offset_frame.tolist() == [40]  # 15 s at 4 Hz = 60 frames, capped at the end
    assert col["2020-01-01-01"].fps == pytest.approx(2.0)  # from its timestamps, untouched by fps=
    assert load_many(d)["pub"].fps == 1 / 0.375


@pytest.mark.parametrize("name, reader", [("c.csv", "wormworld"), ("2020-01-01-01-data.h5", "flavell"),
                                          ("b.nwb", "nwb")])
def test_unknown_option_names_the_reader(three_formats, name, reader):
    with pytest.raises(TypeError) as e:
        load(three_formats / name, colour="blue")
    msg = str(e.value)
    assert f"option not understood by the {reader} reader" in msg and "colour" in msg and name in msg
    with pytest.raises(TypeError, match=f"the {reader} reader"):
        load_many([three_formats / name], colour="blue")


def test_explicit_format(three_formats):
    d = three_formats
    assert load(d / "c.csv", format="wormworld").key == "c_csv"
    with pytest.raises(DataError, match="not an NWB file"):
        load(d / "c.csv", format="nwb")
    with pytest.raises(ValueError, match="unknown format 'excel'"):
        load(d / "c.csv", format="excel")


# ---- load_many ----

def test_load_many_folder_glob_and_list(three_formats):
    d = three_formats
    with pytest.warns(UserWarning) as caught:
        col = load_many(d)
    assert [str(w.message)[:40] for w in caught] == [  # the HDF5 file's placeholders, then the animal itself
        "Collection of 3 recordings: left out 3 u", "left out 1 recording(s) with no observed"]
    assert isinstance(col, Collection)
    assert col.keys == ["b", "c_csv"]  # sorted by file name; hidden, .md and sub/ ignored
    assert col.left_out == ["2020-01-01-01"]  # unlabelled: nothing in common with the other animals
    assert col.neurons == ["RIML", "AVAL", "ASHR"]
    X, mask, index = col.stack()
    assert X.shape == (80, 3) and mask[:40, :2].all() and mask[40:, 1:].all()
    assert ws.load_many is load_many
    assert load_many(str(d / "*.csv")).keys == ["c_csv"]
    assert load_many(d / "[bc].*").keys == ["b", "c_csv"]
    assert load_many([d / "c.csv", str(d / "b.nwb"), d / "c.csv"]).keys == ["b", "c_csv"]  # de-duplicated
    assert load_many([d / "sub", d / "c.csv"]).keys == ["c_csv", "nested"]
    assert load_many(d / "sub" / "nested.csv").keys == ["nested"]


def test_expand_paths_sorted_and_deduplicated(three_formats):
    d = three_formats
    assert [p.name for p in expand_paths([d, d / "c.csv"])] == ["2020-01-01-01-data.h5", "b.nwb", "c.csv"]


def test_load_many_errors(three_formats, tmp_path):
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(DataError, match="no recordings found"):
        load_many(tmp_path / "empty_dir")
    with pytest.raises(DataError, match="no recordings found"):
        load_many(str(three_formats / "*.parquet"))
    with pytest.raises(DataError, match="no recordings found"):
        load_many([])
    (three_formats / "zz_bad.csv").write_text("neuron,0.0s\nAVAL,oops\n")
    with pytest.raises(DataError, match="zz_bad.csv: row 2 \\(neuron 'AVAL'\\), column '0.0s'"):
        load_many(three_formats)
    with pytest.raises(DataError, match="missing.csv: file not found"):
        load_many([three_formats / "c.csv", three_formats / "missing.csv"])
    d = tmp_path / "same_key"
    d.mkdir()
    write_wormworld_csv(toy("dup"), d / "a.csv")
    write_wormworld_csv(toy("dup", seed=3), d / "b.csv")
    with pytest.raises(DataError, match="must be unique; repeated: \\['dup'\\]"):
        load_many(d)


# ---- save ----

def test_save_by_suffix(tmp_path):
    rec = toy("s1")
    for name in ("s1.csv", "s1.nwb"):
        back = load(save(rec, tmp_path / name))
        assert back.key == "s1" and back.neurons == rec.neurons
        np.testing.assert_allclose(back.traces, rec.traces, atol=5e-5)
        assert back.schedule.onset_frame.tolist() == [8, 24]
    with pytest.raises(ValueError, match="cannot tell the format"):
        save(rec, tmp_path / "s1.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s1.csv", "s1.nwb"]


# ---- the real recordings (skipped when ../shared is absent) ----

def test_real_flavell_through_load(flavell_data):
    labels = flavell_data / "labels" / "2022-07-26-31.json"
    rec = ws.load(flavell_data / "2022-07-26-31-data.h5", labels=labels)
    assert (rec.n_frames, rec.n_neurons) == (800, 146)
    named = [n for n in rec.neurons if not n.startswith("unlabeled_")]
    assert len(named) == len({v["label"].rstrip("?") for v in json.loads(labels.read_text()).values()})
    assert rec.behaviour is not None and "reversal" in rec.behaviour

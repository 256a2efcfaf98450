"Tests of the Flavell-lab processed HDF5 reader (synthetic files, plus the real recordings when present)."
import json
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

from wormsae.data import DataError
from wormsae.flavell import is_flavell_h5, read_flavell_h5, recording_key
from wormsae.loading import load

LABELLED = ["2022-07-26-31", "2022-07-26-38", "2022-07-27-31", "2022-07-27-38", "2022-07-27-45"]


def write_toy(path, T=30, N=4, drop=(), extra=None, seed=0):
    "A small file in the Flavell layout; returns (path, the arrays written)."
    rng = np.random.default_rng(seed)
    rev = np.zeros(T, int)
    rev[3:6] = 1
    rev[10:12] = 1
    data = {"gcamp/trace_array": rng.normal(size=(T, N)),
            "timing/timestamp_confocal": 500.0 + 0.25 * np.arange(T),
            "behavior/velocity": rng.normal(size=T), "behavior/head_angle": rng.normal(size=T),
            "behavior/reversal_vec": rev, "behavior/reversal_events": np.array([[3, 10], [6, 12]]),
            "behavior/body_angle": rng.normal(size=(T, 3))}
    data.update(extra or {})
    with h5py.File(path, "w") as f:
        for k, v in data.items():
            if k not in drop:
                f[k] = v
    return Path(path), data


def read_quiet(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_flavell_h5(*args, **kw)


def test_reads_what_was_written(tmp_path):
    p, d = write_toy(tmp_path / "2020-01-01-01-data.h5", T=30, N=4)
    rec = read_flavell_h5(p)
    assert rec.key == "2020-01-01-01"
    assert rec.traces.dtype == np.float32
    np.testing.assert_array_equal(rec.traces, d["gcamp/trace_array"].astype(np.float32))
    np.testing.assert_allclose(rec.times, 0.25 * np.arange(30))
    assert rec.meta["t0"] == 500.0
    assert rec.fps == pytest.approx(4.0)
    assert rec.neurons == ["unlabeled_000", "unlabeled_001", "unlabeled_002", "unlabeled_003"]
    assert sorted(rec.behaviour.columns) == ["head_angle", "reversal", "velocity"]  # 2-D body_angle left out
    assert rec.behaviour["reversal"].dtype == np.float64
    np.testing.assert_array_equal(rec.behaviour["velocity"], d["behavior/velocity"])
    assert len(rec.schedule) == 0
    assert rec.meta["labels_path"] is None


def test_other_trace_and_key():
    assert recording_key("a/2022-07-26-31-data.h5") == "2022-07-26-31"
    assert recording_key("x.h5") == "x"


def test_is_flavell_h5(tmp_path):
    p, _ = write_toy(tmp_path / "a.h5")
    q, _ = write_toy(tmp_path / "b.h5", drop=["gcamp/trace_array"])
    (tmp_path / "c.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)  # signature, then garbage
    (tmp_path / "d.csv").write_text("neuron,0.0s\nAVAL,1\n")
    assert is_flavell_h5(p)
    assert not any(is_flavell_h5(x) for x in [q, tmp_path / "c.h5", tmp_path / "d.csv", tmp_path / "none.h5", tmp_path, None, 3])


def test_loading_a_file_walks_its_links_once(tmp_path, monkeypatch):
    "Telling the format follows no link and walks nothing; the reader walks the file's links once."
    p, _ = write_toy(tmp_path / "a-data.h5")
    walks = []
    for name in ("visit", "visititems", "visit_links", "visititems_links"):
        real = getattr(h5py.Group, name)
        monkeypatch.setattr(h5py.Group, name, lambda self, fn, _real=real, _name=name: walks.append(_name) or _real(self, fn))
    assert is_flavell_h5(p) and walks == []
    assert load(p, labels=None).traces.shape == (30, 4)  # detection, then reading
    assert walks == ["visititems_links"]


def test_labels_auto_uncertain_and_confidence(tmp_path):
    p, _ = write_toy(tmp_path / "k-data.h5", N=5)
    (tmp_path / "labels").mkdir()
    labels = {"0": {"label": "AVAL", "confidence": 5, "neuron_class": "AVA", "note": "sure"},
              "2": {"label": "RIML?", "confidence": 4}, "4": {"label": "ASHR", "confidence": 2}}
    (tmp_path / "labels" / "k.json").write_text(json.dumps(labels))
    rec = read_flavell_h5(p)
    assert rec.neurons == ["AVAL", "unlabeled_001", "RIML", "unlabeled_003", "ASHR"]
    info = rec.meta["neuron_info"]
    assert list(info.columns[:8]) == ["column", "name", "label_raw", "neuron_class", "confidence",
                                      "roi_match_confidence", "uncertain", "note"]
    assert info.loc[2, "label_raw"] == "RIML?" and bool(info.loc[2, "uncertain"])
    assert (info.loc[0, "neuron_class"], info.loc[0, "note"]) == ("AVA", "sure")
    assert np.isnan(info.loc[1, "confidence"])
    rec = read_flavell_h5(p, keep_uncertain=False, min_confidence=3)
    assert rec.neurons == ["AVAL", "unlabeled_001", "unlabeled_002", "unlabeled_003", "unlabeled_004"]
    assert read_flavell_h5(p, labels=None).meta["n_labelled"] == 0
    assert read_flavell_h5(p, labels={"1": {"label": "AIBL"}}).neurons[1] == "AIBL"
    # <key>.json next to the file is found too, when there is no labels/ folder
    (tmp_path / "sub").mkdir()
    q, _ = write_toy(tmp_path / "sub" / "m-data.h5", N=5)
    (tmp_path / "sub" / "m.json").write_text(json.dumps({"3": {"label": "RIS"}}))
    assert read_flavell_h5(q).neurons[3] == "RIS"


def test_label_conflicts_resolved_by_confidence(tmp_path):
    p, _ = write_toy(tmp_path / "c-data.h5", N=6)
    labels = {"0": {"label": "AVAL", "confidence": 3, "roi_match_confidence": 90.0},
              "3": {"label": "AVAL", "confidence": 5, "roi_match_confidence": 1.0},   # higher confidence wins
              "1": {"label": "SAAD?", "confidence": 2, "roi_match_confidence": 10.0},
              "5": {"label": "SAAD?", "confidence": 2, "roi_match_confidence": 20.0}}  # tie -> registration
    with pytest.warns(UserWarning, match="2 label") as rec_w:
        rec = read_flavell_h5(p, labels=labels)
    assert len(rec_w) == 1
    assert rec.neurons == ["unlabeled_000", "unlabeled_001", "unlabeled_002", "AVAL", "unlabeled_004", "SAAD"]
    got = {c["label"]: (c["kept"], c["dropped"]) for c in rec.meta["label_conflicts"]}
    assert got == {"AVAL": (3, [0]), "SAAD": (5, [1])}
    assert rec.meta["neuron_info"].status.tolist()[:2] == ["duplicate", "duplicate"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # without the uncertain labels there is one conflict left
        with pytest.raises(UserWarning, match="1 label"):
            read_flavell_h5(p, labels=labels, keep_uncertain=False)


def test_schedules(tmp_path):
    p, _ = write_toy(tmp_path / "s-data.h5", T=30)
    rec = read_flavell_h5(p, schedule="reversals")
    assert rec.schedule[["onset_frame", "offset_frame"]].values.tolist() == [[3, 6], [10, 12]]
    assert set(rec.schedule.label) == {"reversal"}
    np.testing.assert_array_equal(rec.stimulus_labels() == "reversal", rec.behaviour.reversal.to_numpy() == 1)
    q, _ = write_toy(tmp_path / "e-data.h5", T=30, drop=["behavior/reversal_vec"])
    assert read_flavell_h5(q, schedule="reversals").schedule[["onset_frame", "offset_frame"]].values.tolist() == [[3, 6], [10, 12]]
    f, _ = write_toy(tmp_path / "f-data.h5", T=30, extra={"timing/time_food_encounter": 8})
    s = read_flavell_h5(f, schedule="food").schedule
    assert s[["onset_frame", "label", "offset_frame"]].values.tolist() == [[0, "off food", 7], [7, "on food", 30]]
    s = read_flavell_h5(p, schedule=[(0, "off food"), (7, "on food")]).schedule
    assert s.offset_frame.tolist() == [7, 30]


def _labels_file(tmp_path, obj, name="l.json"):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


@pytest.mark.parametrize("change, message", [
    (dict(drop=["gcamp/trace_array"]), "'gcamp/trace_array' is missing"),
    (dict(drop=["timing/timestamp_confocal"]), "'timing/timestamp_confocal' is missing"),
    (dict(extra={"timing/timestamp_confocal": np.arange(29.0)}), "one timestamp per frame"),
    (dict(extra={"timing/timestamp_confocal": np.ones(30)}), "strictly increasing"),
    (dict(extra={"behavior/head_angle": np.zeros(31)}), "'behavior/head_angle' has 31 values; expected 30"),
    (dict(extra={"gcamp/trace_array": np.zeros(30)}), "expected frames x neurons"),
])
def test_file_errors(tmp_path, change, message):
    p, _ = write_toy(tmp_path / "bad-data.h5", **change)
    with pytest.raises(DataError, match=message) as e:
        read_flavell_h5(p, labels=None)
    assert "bad-data.h5" in str(e.value)


def test_not_hdf5(tmp_path):
    (tmp_path / "x.h5").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="x.h5: not an HDF5 file"):
        read_flavell_h5(tmp_path / "x.h5")
    (tmp_path / "y.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(DataError, match="y.h5: cannot open the HDF5 file"):
        read_flavell_h5(tmp_path / "y.h5")
    with pytest.raises(DataError, match="file not found"):
        read_flavell_h5(tmp_path / "z.h5")


@pytest.mark.parametrize("labels, message", [
    ("[1, 2, 3]", "expected a JSON object"),
    ("{not json", "not a valid JSON"),
    ({"a": {"label": "AVAL"}}, "key 'a' is not an integer column index"),
    ({"1.5": {"label": "AVAL"}}, "key '1.5' is not an integer column index"),
    ({"4": {"label": "AVAL"}}, "has 4 columns"),
    ({"-1": {"label": "AVAL"}}, "not an integer column index"),
    ({"1": {"confidence": 5}}, "entry '1' has no 'label'"),
    ({"1": "AVAL"}, "entry '1' has no 'label'"),
    ({"1": {"label": 7}}, "expected a neuron name"),
    ({"1": {"label": "AVAL", "confidence": "5"}}, "expected a number"),
])
def test_label_errors(tmp_path, labels, message):
    p, _ = write_toy(tmp_path / "t-data.h5", N=4)
    lf = _labels_file(tmp_path, labels)
    with pytest.raises(DataError, match=message) as e:
        read_flavell_h5(p, labels=lf)
    assert "l.json" in str(e.value)
    if not isinstance(labels, str):  # the same problems in an already parsed dict
        with pytest.raises(DataError, match=message):
            read_flavell_h5(p, labels=labels)


def test_schedule_errors(tmp_path):
    p, _ = write_toy(tmp_path / "t-data.h5", drop=["behavior/reversal_vec", "behavior/reversal_events"])
    with pytest.raises(DataError, match="'behavior/reversal_events' is missing"):
        read_flavell_h5(p, schedule="reversals")
    with pytest.raises(DataError, match="time_food_encounter"):
        read_flavell_h5(p, schedule="food")
    with pytest.raises(DataError, match="unknown schedule"):
        read_flavell_h5(p, schedule="odour")
    with pytest.raises(DataError, match="outside"):
        read_flavell_h5(p, schedule=[(0, "a"), (99, "b")])
    with pytest.raises(DataError, match="missing; 2-D traces in the file"):
        read_flavell_h5(p, trace="dff")


# ---- the real recordings (skipped when the shared data folder is absent) ----

@pytest.fixture(scope="module")
def real(flavell_data):  # conftest.py: ../shared/data/flavell2023, skipped when absent
    return flavell_data


def _expected_resolution(labels: dict) -> dict:
    "From the JSON alone: label (without '?') -> the column that should keep it."
    best = {}
    for k, v in labels.items():
        name, col = v["label"].rstrip("?"), int(k)
        key = (v["confidence"], v["roi_match_confidence"], -col)
        if name not in best or key > best[name][0]:
            best[name] = (key, col)
    return {name: col for name, (_, col) in best.items()}


def test_real_acceptance(real):
    labels_path = real / "labels" / "2022-07-26-31.json"
    rec = read_flavell_h5(real / "2022-07-26-31-data.h5", labels=labels_path)
    assert (rec.n_frames, rec.n_neurons) == (800, 146)
    named = [n for n in rec.neurons if not n.startswith("unlabeled_")]
    expected = _expected_resolution(json.loads(labels_path.read_text()))
    assert 80 <= len(named) <= 146
    assert len(named) == len(expected)
    assert {rec.neurons[c] for c in expected.values()} == set(expected)
    assert {"velocity", "head_angle", "angular_velocity", "reversal"} <= set(rec.behaviour.columns)
    assert 1.5 < rec.fps < 1.8
    assert rec.times[0] == 0 and rec.meta["t0"] > 0


@pytest.mark.parametrize("key", LABELLED)
def test_real_reversal_neurons_correlate(real, key):
    rec = read_quiet(real / f"{key}-data.h5", labels=real / "labels" / f"{key}.json")
    rev = rec.behaviour["reversal"].to_numpy()
    rs = [np.corrcoef(rec.traces[:, j], rev)[0, 1] for j, n in enumerate(rec.neurons) if n[:3] in ("AVA", "AIB", "RIM")]
    assert len(rs) >= 3
    assert np.mean(rs) > 0


def test_real_duplicates_resolved(real):
    labels_path = real / "labels" / "2022-07-27-38.json"
    raw = json.loads(labels_path.read_text())
    expected = _expected_resolution(raw)
    counts = {}
    for v in raw.values():
        counts[v["label"].rstrip("?")] = counts.get(v["label"].rstrip("?"), 0) + 1
    dup = sorted(n for n, c in counts.items() if c > 1)
    assert "URADL" in dup
    with pytest.warns(UserWarning, match="URADL"):
        rec = read_flavell_h5(real / "2022-07-27-38-data.h5", labels=labels_path)
    got = {c["label"]: c["kept"] for c in rec.meta["label_conflicts"]}
    assert got == {n: expected[n] for n in dup}
    for n in dup:
        assert rec.neurons[expected[n]] == n
        assert rec.neurons.count(n) == 1


def test_real_reversal_schedule_matches_vector(real):
    for h5 in sorted(real.glob("*-data.h5")):
        rec = read_quiet(h5, labels=None, schedule="reversals")
        assert len(rec.schedule) > 5
        np.testing.assert_array_equal(rec.stimulus_labels() == "reversal", rec.behaviour.reversal.to_numpy() == 1)
        with h5py.File(h5) as f:  # Julia's event table: (last frame before, last frame of) each reversal, 1-based
            ev = f["behavior/reversal_events"][()]
        marked = np.zeros(rec.n_frames, bool)
        for s, e in ev.T:
            marked[s:e] = True
        assert (marked != (rec.behaviour.reversal.to_numpy() == 1)).sum() <= 1


def test_real_food_patch(real):
    rec = read_flavell_h5(real / "2022-01-16-01-data.h5", schedule="food")
    assert rec.meta["labels_path"] is None and rec.meta["n_labelled"] == 0
    assert rec.n_frames == 799
    assert rec.schedule[["onset_frame", "label"]].values.tolist() == [[0, "off food"], [324, "on food"]]
    assert (rec.stimulus_labels() == "on food").sum() == 799 - 324


# ---- the marks the files carry: NSM, food encounter, segments, NeuroPAL registration ----

def caught_warnings(*args, **kw):
    "The recording and the texts of the warnings it raised."
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = read_flavell_h5(*args, **kw)
    return rec, [str(w.message) for w in caught]


def test_food_schedule_by_default(tmp_path):
    p, _ = write_toy(tmp_path / "f-data.h5", T=30, extra={"timing/time_food_encounter": 8})
    rec = read_flavell_h5(p)  # no option: the file's encounter gives the schedule
    # 1-based frame 8 -> on food from 0-based frame 7; off food ends there, on food at the end
    assert rec.schedule[["onset_frame", "label", "offset_frame"]].values.tolist() == [[0, "off food", 7], [7, "on food", 30]]
    assert (rec.stimulus_labels() == "off food").sum() == 7 and (rec.stimulus_labels() == "on food").sum() == 23
    assert (rec.meta["schedule"], rec.meta["time_food_encounter"]) == ("food", 8)
    assert read_flavell_h5(p, schedule="food").schedule.equals(rec.schedule)
    for none in (None, "none"):
        r = read_flavell_h5(p, schedule=none)
        assert len(r.schedule) == 0 and r.meta["schedule"] is None and r.meta["time_food_encounter"] == 8
    assert read_flavell_h5(p, schedule="reversals").meta["schedule"] == "reversals"
    assert read_flavell_h5(p, schedule=[(0, "a"), (5, "b")]).meta["schedule"] == "given"
    q, _ = write_toy(tmp_path / "g-data.h5", T=30, extra={"timing/time_food_encounter": np.array([1.0])})
    assert read_flavell_h5(q).schedule[["label", "offset_frame"]].values.tolist() == [["on food", 30]]
    plain, _ = write_toy(tmp_path / "p-data.h5", T=30)
    r = read_flavell_h5(plain)  # no encounter: no schedule, and no warning
    assert len(r.schedule) == 0 and "time_food_encounter" not in r.meta


@pytest.mark.parametrize("value, message", [
    (np.nan, "holds nan"), (np.zeros(0), "is empty"), (np.bytes_(b"325"), "holds bytes"), ("soon", "holds bytes"),
    (0, "holds 0"), (31, "holds 31"), (3.5, "holds 3.5"), (np.array([3, 4]), "holds 2 values"), (True, "holds booleans"),
])
def test_bad_food_encounter(tmp_path, value, message):
    p, _ = write_toy(tmp_path / "bad-data.h5", T=30, extra={"timing/time_food_encounter": value})
    for schedule in ("auto", "food"):  # used: an error naming the file and the dataset
        with pytest.raises(DataError, match=message) as e:
            read_flavell_h5(p, schedule=schedule)
        assert "bad-data.h5: dataset 'timing/time_food_encounter'" in str(e.value) and "schedule=None" in str(e.value)
    for schedule in (None, "reversals"):  # not used: the file loads, with a warning naming the dataset
        rec, texts = caught_warnings(p, schedule=schedule)
        assert "time_food_encounter" not in rec.meta
        assert len(texts) == 1 and "'timing/time_food_encounter'" in texts[0] and "ignored" in texts[0]


def test_nsm_columns_named(tmp_path):
    p, _ = write_toy(tmp_path / "n-data.h5", N=6, extra={"gcamp/idx_nsm": np.array([5, 2])})
    rec = read_flavell_h5(p, labels=None)
    assert (rec.neurons[4], rec.neurons[1]) == ("NSM", "NSM_2")  # 1-based 5 and 2, in the file's order
    assert rec.meta["nsm_columns"] == [4, 1]
    info = rec.meta["neuron_info"]
    assert info.source.tolist() == ["", "idx_nsm", "", "", "idx_nsm", ""] and rec.meta["n_labelled"] == 0
    assert read_flavell_h5(p, labels=None, nsm=False).neurons[4] == "unlabeled_004"
    # labels win; the other NSM column still gets its name
    rec, texts = caught_warnings(p, labels={"4": {"label": "NSMR"}, "0": {"label": "AVAL"}})
    assert rec.neurons[:5] == ["AVAL", "NSM_2", "unlabeled_002", "unlabeled_003", "NSMR"] and texts == []
    # labels calling the NSM column something else: the label stays, a warning names the column
    rec, texts = caught_warnings(p, labels={"4": {"label": "AIBL"}})
    assert rec.neurons[4] == "AIBL" and any("column 4 'AIBL'" in t and "idx_nsm" in t for t in texts)
    # an NSM label on another column: a warning naming both columns
    q, _ = write_toy(tmp_path / "m-data.h5", N=6, extra={"gcamp/idx_nsm": np.array([2])})
    rec, texts = caught_warnings(q, labels={"3": {"label": "NSML"}})
    assert rec.neurons[1] == "NSM" and rec.neurons[3] == "NSML"
    assert texts == [f"{q}: the labels put 'NSML' on column 3, but 'gcamp/idx_nsm' lists column 1 as NSM"]


@pytest.mark.parametrize("value, message", [
    (np.array([7]), "holds 7; expected 1-based trace columns in 1..6"), (np.array([0]), "holds 0"),
    (np.array([1, 2, 3]), "lists 3 columns"), (np.array([2, 2]), "lists column 2 twice"),
    (np.array([np.nan]), "holds nan"), (np.array([1.5]), "holds 1.5"), (np.array([b"NSM"]), "holds bytes"),
    (np.zeros(0, int), "is empty"),
])
def test_bad_idx_nsm(tmp_path, value, message):
    p, _ = write_toy(tmp_path / "bad-data.h5", N=6, extra={"gcamp/idx_nsm": value})
    with pytest.raises(DataError, match=message) as e:
        read_flavell_h5(p)
    assert "bad-data.h5: dataset 'gcamp/idx_nsm'" in str(e.value) and "nsm=False" in str(e.value)
    rec, texts = caught_warnings(p, nsm=False)
    assert rec.meta["nsm_columns"] == [] and len(texts) == 1 and "'gcamp/idx_nsm'" in texts[0]


def test_more_timestamps_than_frames(tmp_path):
    T = 30
    stamps = 500.0 + 0.25 * np.arange(50)
    # idx_splits (2 x K as h5py reads Julia's K x 2) takes timestamps 1..20 and 31..40: ten volumes skipped
    p, _ = write_toy(tmp_path / "s-data.h5", T=T, extra={"timing/timestamp_confocal": stamps,
                                                          "gcamp/idx_splits": np.array([[1, 31], [20, 40]])})
    rec, texts = caught_warnings(p, labels=None)
    np.testing.assert_allclose(rec.times, np.r_[stamps[:20], stamps[30:40]] - 500.0)
    assert rec.meta["t0"] == 500.0 and rec.fps == pytest.approx(4.0)
    assert len(texts) == 1
    assert "has 50 timestamps but 'gcamp/trace_array' has 30 frames" in texts[0] and "1..20, 31..40" in texts[0]
    assert "1 gap(s) in time (2.5 s missing before frame 20)" in texts[0]  # 11 steps of 0.25 s, one of them expected
    assert [(s["frames"], s["timestamps"], s["gap"]) for s in rec.meta["segments"]] == \
        [([0, 20], [0, 20], False), ([20, 30], [30, 40], True)]
    assert (rec.meta["n_timestamps"], rec.meta["timestamp_rule"]) == (50, "idx_splits")
    # without idx_splits, or with one that does not fit: the first T, frame i the i-th
    q, _ = write_toy(tmp_path / "q-data.h5", T=T, extra={"timing/timestamp_confocal": stamps})
    rec, texts = caught_warnings(q, labels=None)
    np.testing.assert_allclose(rec.times, stamps[:T] - 500.0)
    assert rec.meta["timestamp_rule"] == "first" and "no usable 'gcamp/idx_splits'" in texts[0]
    assert rec.meta["segments"] == [{"frames": [0, T], "timestamps": [0, T], "gap_before_s": 0.0, "gap": False}]
    r, _ = write_toy(tmp_path / "r-data.h5", T=T, extra={"timing/timestamp_confocal": stamps,
                                                          "gcamp/idx_splits": np.array([[1], [25]])})
    rec, texts = caught_warnings(r, labels=None)
    np.testing.assert_allclose(rec.times, stamps[:T] - 500.0)
    assert "does not fit: its ranges cover 25 frames, the traces have 30" in texts[0]


def test_behaviour_per_timestamp_is_cut(tmp_path):
    stamps = 0.5 * np.arange(40)
    vel = np.arange(40.0)
    p, _ = write_toy(tmp_path / "b-data.h5", T=30, extra={"timing/timestamp_confocal": stamps, "behavior/velocity": vel,
                                                          "gcamp/idx_splits": np.array([[1, 21], [10, 40]])})
    rec, texts = caught_warnings(p, labels=None)
    np.testing.assert_array_equal(rec.behaviour.velocity, np.r_[vel[:10], vel[20:40]])
    assert "(velocity) was cut the same way" in texts[0]


def test_timing_errors(tmp_path):
    bad_splits = {"gcamp/idx_splits": np.array([[1.0], [np.nan]])}
    # used (more timestamps than frames): malformed idx_splits is an error naming it
    p, _ = write_toy(tmp_path / "a-data.h5", T=30, extra={"timing/timestamp_confocal": np.arange(40.0), **bad_splits})
    with pytest.raises(DataError, match="a-data.h5: dataset 'gcamp/idx_splits' holds nan"):
        read_flavell_h5(p)
    # not used (one timestamp per frame): a warning
    q, _ = write_toy(tmp_path / "b-data.h5", T=30, extra=bad_splits)
    rec, texts = caught_warnings(q)
    assert len(texts) == 1 and "'gcamp/idx_splits' holds nan" in texts[0] and rec.meta["timestamp_rule"] == "one per frame"
    r, _ = write_toy(tmp_path / "c-data.h5", T=30, extra={"timing/timestamp_confocal": np.arange(40.0),
                                                          "gcamp/idx_splits": np.array([[1, 5], [10, 3]])})
    with pytest.raises(DataError, match="range 1 is 5..3"):
        read_flavell_h5(r)
    # the frames' own timestamps must increase; the unused ones are not looked at
    s, _ = write_toy(tmp_path / "d-data.h5", T=30, extra={"timing/timestamp_confocal": np.r_[np.arange(30.0), np.zeros(5)]})
    assert caught_warnings(s)[0].n_frames == 30
    s, _ = write_toy(tmp_path / "e-data.h5", T=30, extra={"timing/timestamp_confocal": np.r_[np.zeros(30), np.arange(5.0)]})
    with pytest.raises(DataError, match="strictly increasing over the frames' timestamps"):
        read_flavell_h5(s)
    # an encounter after the last frame is not moved onto the timestamp timeline
    t, _ = write_toy(tmp_path / "f-data.h5", T=30, extra={"timing/timestamp_confocal": np.arange(40.0),
                                                          "timing/time_food_encounter": 35})
    with pytest.raises(DataError, match="the 40 timestamps are not its timeline"):
        read_flavell_h5(t)


def _registered(tmp_path, name="r-data.h5", N=6):
    "A toy file whose ROI 1 -> column 4, ROI 2 -> none, ROI 3 -> column 0, ROI 4 -> column 2 (1-based columns 5, 0, 1, 3)."
    return write_toy(tmp_path / name, N=N, extra={"neuropal_registration/roi_match": np.array([5, 0, 1, 3]),
                                                  "neuropal_registration/roi_match_confidence": np.array([7.5, 0, 3.25, 9.0])})[0]


RIGHT = {"4": {"label": "AVAL", "neuropal_roi": 1, "roi_match_confidence": 7.5},
         "0": {"label": "RIML", "neuropal_roi": 3, "roi_match_confidence": 3.25},
         "2": {"label": "AIBL", "neuropal_roi": 4, "roi_match_confidence": 9.0}}


def test_labels_checked_against_registration(tmp_path):
    p = _registered(tmp_path)
    rec, texts = caught_warnings(p, labels=RIGHT)
    assert texts == [] and rec.meta["label_check"] == {"checked": 3, "agree": 3, "disagree": [], "status": "agree"}
    assert rec.neurons[4] == "AVAL"
    wrong = {"1": dict(RIGHT["4"]), "3": dict(RIGHT["0"]), "5": dict(RIGHT["2"])}  # same ROIs on other columns
    lf = tmp_path / "other.json"
    lf.write_text(json.dumps(wrong))
    with pytest.raises(DataError, match="look like another recording's: only 0 of 3 entries agree") as e:
        read_flavell_h5(p, labels=lf)
    assert "other.json" in str(e.value) and "column 1 (AVAL): ROI 1 is matched to column 4" in str(e.value)
    assert "check_labels=False" in str(e.value)
    rec = read_flavell_h5(p, labels=lf, check_labels=False)  # the user overrides: used as given
    assert rec.neurons[1] == "AVAL" and rec.meta["label_check"]["status"] == "not checked (check_labels=False)"
    # one of three disagrees (a different confidence on the right ROI): kept, with a warning naming it
    partly = {k: dict(v) for k, v in RIGHT.items()}
    partly["2"]["roi_match_confidence"] = 8.0
    rec, texts = caught_warnings(p, labels=partly)
    assert rec.neurons[2] == "AIBL" and rec.meta["label_check"]["status"] == "mostly agree"
    assert len(texts) == 1 and "1 of 3 labels disagree" in texts[0] and "another confidence" in texts[0]
    # an ROI beyond the file's, or matched to no trace
    far = {"4": dict(RIGHT["4"], neuropal_roi=9), "0": dict(RIGHT["0"], neuropal_roi=2)}
    with pytest.raises(DataError, match="ROI 9 is beyond the file's 4 ROIs"):
        read_flavell_h5(p, labels=far)
    with pytest.raises(DataError, match="ROI 2 is matched to no column"):
        read_flavell_h5(p, labels=far)


def test_labels_registration_missing_or_malformed(tmp_path):
    plain, _ = write_toy(tmp_path / "p-data.h5", N=6)
    rec, texts = caught_warnings(plain, labels=RIGHT)  # nothing to check against: said so
    assert rec.meta["label_check"]["status"] == "not possible: no roi_match in the file"
    assert len(texts) == 1 and "cannot check that these labels belong" in texts[0]
    assert caught_warnings(plain, labels={"1": {"label": "AVAL"}})[0].meta["label_check"]["status"] == \
        "not possible: the labels have no neuropal_roi"
    for bad, message in [(np.array([5, 0, 9, 3]), "holds 9; expected 1-based trace columns \\(0 for none\\) in 0..6"),
                         (np.array([5.0, np.nan]), "holds nan"), (np.array([[1, 2], [3, 4]]), "expected one entry per")]:
        p, _ = write_toy(tmp_path / "m-data.h5", N=6, extra={"neuropal_registration/roi_match": bad})
        with pytest.raises(DataError, match=message):
            read_flavell_h5(p, labels=RIGHT)
        rec, texts = caught_warnings(p, labels=None)  # no labels: not used, a warning
        assert any("'neuropal_registration/roi_match'" in t and "ignored" in t for t in texts)
    p, _ = write_toy(tmp_path / "c-data.h5", N=6, extra={"neuropal_registration/roi_match": np.array([5, 0, 1, 3]),
                                                          "neuropal_registration/roi_match_confidence": np.ones(3)})
    with pytest.raises(DataError, match="roi_match_confidence' has shape \\(3,\\)"):
        read_flavell_h5(p, labels=RIGHT)


def test_labels_from_another_recording_by_columns(tmp_path):
    p, _ = write_toy(tmp_path / "t-data.h5", N=4)
    with pytest.raises(DataError, match="has 4 columns \\(0..3\\); these labels look like another recording's"):
        read_flavell_h5(p, labels={"9": {"label": "AVAL"}})


# ---- the marks on the real recordings ----

@pytest.mark.parametrize("name", ["2022-01-16-01", *LABELLED])
def test_real_every_file_loads_with_no_option(real, name):
    rec, texts = caught_warnings(real / f"{name}-data.h5")
    assert rec.meta["timestamp_rule"] == "one per frame" and len(rec.meta["segments"]) == 1
    assert all("claimed by several columns" in t for t in texts)  # nothing else to report on these files
    if name in LABELLED:
        assert rec.meta["labels_path"].endswith(f"{name}.json")
        assert rec.meta["label_check"]["status"] == "agree"
        raw = json.loads((real / "labels" / f"{name}.json").read_text())
        assert rec.meta["label_check"]["checked"] == len(raw)  # every entry has an ROI, and all agree
        assert rec.meta["n_labelled"] == len(_expected_resolution(raw))


def test_real_food_and_nsm_by_default(real):
    path = real / "2022-01-16-01-data.h5"
    rec = read_flavell_h5(path)
    with h5py.File(path) as f:
        idx_nsm = f["gcamp/idx_nsm"][()]
    assert len(idx_nsm) == 1
    assert rec.neurons.index("NSM") == int(idx_nsm[0]) - 1 and rec.meta["nsm_columns"] == [int(idx_nsm[0]) - 1]
    # README: the encounter at frame 325, 1-based: off food before, on food from 0-based 324 to the end
    assert rec.schedule[["onset_frame", "label", "offset_frame"]].values.tolist() == \
        [[0, "off food", 324], [324, "on food", 799]]
    assert rec.meta["schedule"] == "food" and rec.meta["time_food_encounter"] == 325
    # Dag et al. 2023: NSM activates and the animal slows down on food
    on = rec.stimulus_labels() == "on food"
    nsm = rec.traces[:, rec.neurons.index("NSM")]
    speed = np.abs(rec.behaviour.velocity.to_numpy())
    assert nsm[on].mean() > nsm[~on].mean() and np.nanmean(speed[on]) < np.nanmean(speed[~on])


@pytest.mark.parametrize("h5_key", LABELLED)
@pytest.mark.parametrize("labels_key", LABELLED)
def test_real_cross_paired_labels_are_rejected(real, h5_key, labels_key):
    labels = real / "labels" / f"{labels_key}.json"
    if h5_key == labels_key:
        assert read_quiet(real / f"{h5_key}-data.h5", labels=labels).meta["label_check"]["status"] == "agree"
        return
    with pytest.raises(DataError, match="these labels look like another recording's") as e:
        read_quiet(real / f"{h5_key}-data.h5", labels=labels)
    assert f"{labels_key}.json" in str(e.value)


def _copy_real(src, dst, stamps, splits=None):
    "A copy of a real file's traces, marks and velocity, with other timestamps (and idx_splits)."
    with h5py.File(src) as f, h5py.File(dst, "w") as g:
        for name in ["gcamp/trace_array", "gcamp/idx_nsm", "timing/time_food_encounter", "behavior/velocity"]:
            g[name] = f[name][()]
        g["gcamp/idx_splits"] = f["gcamp/idx_splits"][()] if splits is None else splits
        g["timing/timestamp_confocal"] = stamps
    return dst


def test_real_copy_with_extra_timestamps(real, tmp_path):
    src = real / "2022-01-16-01-data.h5"
    with h5py.File(src) as f:
        stamps = f["timing/timestamp_confocal"][()]
    step = np.median(np.diff(stamps))
    # 300 more volumes after the last frame; the file's own idx_splits (1..799) fits
    extra = np.r_[stamps, stamps[-1] + step * np.arange(1, 301)]
    rec, texts = caught_warnings(_copy_real(src, tmp_path / "a-data.h5", extra))
    np.testing.assert_allclose(rec.times, stamps - stamps[0])
    assert rec.meta["t0"] == stamps[0] and rec.meta["timestamp_rule"] == "idx_splits"
    assert len(texts) == 1 and "has 1099 timestamps but 'gcamp/trace_array' has 799 frames" in texts[0]
    assert "the food encounter (frame 325) counts the trace's frames" in texts[0]
    assert rec.schedule.onset_frame.tolist() == [0, 324] and rec.neurons.index("NSM") == rec.meta["nsm_columns"][0]
    # 100 volumes missing after frame 500 (0-based 499): idx_splits 1..500 and 601..899 of the 899 timestamps
    gapped = np.r_[stamps[:500], stamps[499] + step * np.arange(1, 101), stamps[500:] + 100 * step]
    rec, texts = caught_warnings(_copy_real(src, tmp_path / "b-data.h5", gapped, np.array([[1, 601], [500, 899]])))
    np.testing.assert_allclose(rec.times, np.r_[stamps[:500], stamps[500:] + 100 * step] - stamps[0])
    assert [(s["frames"], s["timestamps"], s["gap"]) for s in rec.meta["segments"]] == \
        [([0, 500], [0, 500], False), ([500, 799], [600, 899], True)]
    assert rec.meta["segments"][1]["gap_before_s"] == pytest.approx(stamps[500] - stamps[499] + 99 * step, rel=1e-6)
    assert "1 gap(s) in time" in texts[0] and "missing before frame 500" in texts[0]

"Tests of the Flavell-lab processed HDF5 reader (synthetic files, plus the real recordings when present)."
import json
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

from wormsae.data import DataError
from wormsae.flavell import is_flavell_h5, read_flavell_h5, recording_key

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

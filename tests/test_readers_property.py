"""Property-based tests of every reader (worm.world CSV, Flavell HDF5 and its labels JSON, NWB, `load`):
random valid files load exactly (values, names, rates, schedules); random corruptions of them (truncation, byte
flips, wrong types, missing keys, huge declared sizes, links out of the file) raise `DataError` and nothing else,
each example within a deadline. Derandomized, so a CI failure reproduces."""
import json
import shutil
import tempfile
import warnings
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wormsae as ws
from wormsae.data import DataError, Recording
from wormsae.flavell import read_flavell_h5, read_labels
from wormsae.wormworld import read_wormworld_csv, write_wormworld_csv

FAST = settings(max_examples=25, derandomize=True, database=None, deadline=timedelta(seconds=3),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@contextmanager
def folder():
    "A fresh temporary folder per example (hypothesis reuses a test's fixtures across examples)."
    d = tempfile.mkdtemp(prefix="wormsae-prop-")
    try:
        yield Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def load_or_data_error(read, path):
    "The recording, or None when `read` raised a DataError naming the file; any other exception fails the test."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return read(path)
    except DataError as e:
        assert str(path) in str(e) or path.name in str(e), str(e)
        return None
    except Exception as e:
        raise AssertionError(f"{type(e).__name__} instead of DataError for {path}: {e}") from e


# ---- random recordings -------------------------------------------------------------------------------------

names = st.lists(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=5).map(lambda s: "N" + s),
                 min_size=1, max_size=5, unique=True)
RATES = [0.5, 1.0, 2.0, 2.5, 4.0, 10.0]


@st.composite
def recordings(draw, max_frames=12):
    "A small Recording: values on a 1/16 grid (exact through 4 decimals), some NaN, a valid schedule."
    neurons = draw(names)
    T = draw(st.integers(2, max_frames))
    grid = draw(st.lists(st.integers(-800, 800) | st.none(), min_size=T * len(neurons), max_size=T * len(neurons)))
    traces = np.array([np.nan if v is None else v / 16 for v in grid], np.float64).reshape(T, len(neurons))
    onsets = draw(st.lists(st.integers(0, T - 1), unique=True, max_size=3).map(sorted))
    labels = draw(st.lists(st.sampled_from(["OP50", "CuSO4", "light", "Control"]), min_size=len(onsets),
                           max_size=len(onsets)))
    return Recording.from_array(traces, neurons, fps=draw(st.sampled_from(RATES)), key="prop",
                                schedule=list(zip(onsets, labels)))


def corrupt(data: bytes, draw) -> bytes:
    "The bytes truncated, or with a few bytes overwritten."
    if draw(st.booleans()):
        return data[:draw(st.integers(0, len(data) - 1))]
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    return bytes(out)


# ---- worm.world CSV ----------------------------------------------------------------------------------------

@FAST
@given(rec=recordings(), layout=st.sampled_from(["auto", "seconds"]))
def test_csv_round_trip_is_exact(rec, layout):
    with folder() as d:
        path = write_wormworld_csv(rec, d / "prop.csv", layout=layout)
        back = read_wormworld_csv(path, fps=None if layout == "seconds" else rec.fps)
    assert back.neurons == rec.neurons and back.fps == pytest.approx(rec.fps, rel=1e-9)
    np.testing.assert_array_equal(back.traces, rec.traces)
    np.testing.assert_allclose(back.times, rec.times, atol=1e-6)
    assert back.schedule[["onset_frame", "label"]].values.tolist() == rec.schedule[["onset_frame", "label"]].values.tolist()


@FAST
@given(rec=recordings(), data=st.data())
def test_csv_corruptions_raise_only_data_error(rec, data):
    with folder() as d:
        path = write_wormworld_csv(rec, d / "prop.csv", layout="seconds")
        path.write_bytes(corrupt(path.read_bytes(), data.draw))
        load_or_data_error(read_wormworld_csv, path)
        load_or_data_error(ws.load, path)


@FAST
@given(rec=recordings(), digits=st.integers(400, 4200))
def test_csv_huge_onset_is_a_data_error(rec, digits):
    one = Recording.from_array(rec.traces, rec.neurons, rec.fps, key="prop", schedule=[(0, "X")])
    with folder() as d:
        path = write_wormworld_csv(one, d / "prop.csv", layout="seconds")
        path.write_text(path.read_text().replace("[(0, 'X')]", f"[({'7' * digits}, 'X')]"))
        assert load_or_data_error(read_wormworld_csv, path) is None


# ---- Flavell HDF5 and labels -------------------------------------------------------------------------------

@st.composite
def flavell_files(draw):
    "(arrays to write, labels dict): random traces, timestamps at a plausible rate, some labelled columns."
    T, N = draw(st.integers(3, 30)), draw(st.integers(1, 6))
    traces = np.asarray(draw(st.lists(st.floats(-1e3, 1e3, allow_nan=False, width=32), min_size=T * N,
                                      max_size=T * N)), np.float64).reshape(T, N)
    fps, t0 = draw(st.sampled_from(RATES)), draw(st.floats(0, 1e4))
    cols = draw(st.lists(st.integers(0, N - 1), unique=True, max_size=N))
    labels = {str(c): {"label": f"L{c}", "confidence": draw(st.integers(1, 5))} for c in cols}
    arrays = {"gcamp/trace_array": traces, "timing/timestamp_confocal": t0 + np.arange(T) / fps}
    return arrays, labels


def write_h5(path, arrays):
    with h5py.File(path, "w") as f:
        for k, v in arrays.items():
            f[k] = v
    return path


@FAST
@given(case=flavell_files())
def test_flavell_round_trip_is_exact(case):
    arrays, labels = case
    with folder() as d:
        path = write_h5(d / "2020-01-01-01-data.h5", arrays)
        (d / "2020-01-01-01.json").write_text(json.dumps(labels))
        rec = read_flavell_h5(path)
    T, N = arrays["gcamp/trace_array"].shape
    np.testing.assert_array_equal(rec.traces, arrays["gcamp/trace_array"].astype(np.float32))
    stamps = arrays["timing/timestamp_confocal"]
    np.testing.assert_allclose(rec.times, stamps - stamps[0])
    assert rec.fps == pytest.approx(1 / np.median(np.diff(stamps)), rel=1e-9)  # T >= 3 frames
    assert rec.neurons == [f"L{c}" if str(c) in labels else f"unlabeled_{c:03d}" for c in range(N)]


def flavell_corruption(draw, arrays):
    "A function that damages an open Flavell file in one of the ways real files go wrong, and its name."
    name = draw(st.sampled_from(sorted(arrays)))
    kinds = {
        "missing": lambda f: f.__delitem__(name),
        "text": lambda f: (f.__delitem__(name), f.__setitem__(name, np.array([b"x" * 40] * 3))),
        "3-D": lambda f: (f.__delitem__(name), f.__setitem__(name, np.zeros((2, 2, 2)))),
        "empty": lambda f: (f.__delitem__(name), f.__setitem__(name, np.zeros(0))),
        "huge": lambda f: (f.__delitem__(name), f.create_dataset(name, shape=(200_000, 3_000), dtype="<f8")),
        "external link": lambda f: (f.__delitem__(name), f.__setitem__(name, h5py.ExternalLink("/etc/hostname", "/x"))),
        "external storage": lambda f: (f.__delitem__(name), f.create_dataset(
            name, shape=(8,), dtype="<f8", external=[("/dev/zero", 0, 64)])),
        "bad rate": lambda f: (f.__delitem__("timing/timestamp_confocal"), f.__setitem__(
            "timing/timestamp_confocal", 1e300 * np.arange(len(arrays["timing/timestamp_confocal"])))),
        "food NaN": lambda f: f.__setitem__("timing/time_food_encounter", np.nan),
    }
    kind = draw(st.sampled_from(sorted(kinds)))
    return kind, kinds[kind]


@FAST
@given(case=flavell_files(), data=st.data())
def test_flavell_damaged_files_raise_data_error(case, data):
    arrays, _ = case
    kind, damage = flavell_corruption(data.draw, arrays)
    with folder() as d:
        path = write_h5(d / "x-data.h5", arrays)
        with h5py.File(path, "r+") as f:
            damage(f)
        assert load_or_data_error(lambda p: read_flavell_h5(p, labels=None), path) is None, kind
        assert load_or_data_error(ws.load, path) is None, kind


@FAST
@given(case=flavell_files(), data=st.data())
def test_flavell_corrupted_bytes_raise_only_data_error(case, data):
    arrays, _ = case
    with folder() as d:
        path = write_h5(d / "x-data.h5", arrays)
        path.write_bytes(corrupt(path.read_bytes(), data.draw))
        load_or_data_error(lambda p: read_flavell_h5(p, labels=None), path)


@FAST
@given(case=flavell_files())
def test_labels_json_round_trip(case):
    _, labels = case
    with folder() as d:
        (d / "l.json").write_text(json.dumps(labels))
        got = read_labels(d / "l.json", 6)
    assert {str(c): (e["label"], e["confidence"]) for c, e in got.items()} == \
        {k: (v["label"], float(v["confidence"])) for k, v in labels.items()}


HOSTILE = st.sampled_from(['{"\u00b2": {"label": "A"}}', '{"' + "9" * 5000 + '": {"label": "A"}}',
                           '{"0": {"label": "A", "confidence": 1' + "0" * 400 + '}}', "[" * 100_000,
                           '{"0": {"label": "A", "neuropal_roi": ' + "9" * 5000 + '}}', '{"0": Infinity}',
                           '{"0": {"label": ["A"]}}', '"just text"', "{" * 50 + "}" * 50, "\ufeff{}"])


@FAST
@given(case=flavell_files(), data=st.data())
def test_labels_json_corruptions_raise_only_data_error(case, data):
    _, labels = case
    text = json.dumps(labels)
    if data.draw(st.booleans()):
        text = data.draw(HOSTILE)
    else:
        text = corrupt(text.encode(), data.draw).decode("utf-8", "replace")
    with folder() as d:
        (d / "l.json").write_text(text)
        load_or_data_error(lambda p: read_labels(p, 6), d / "l.json")


# ---- NWB ---------------------------------------------------------------------------------------------------

NWB = settings(FAST, max_examples=8, deadline=timedelta(seconds=10))


@NWB
@given(rec=recordings(max_frames=20))
def test_nwb_round_trip_is_exact(rec):
    with folder() as d:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            path = ws.save(rec, d / "prop.nwb")
            back = ws.load(path)
    assert back.neurons == rec.neurons and back.fps == pytest.approx(rec.fps, rel=1e-9)
    np.testing.assert_array_equal(back.traces, rec.traces.astype(np.float32))
    np.testing.assert_allclose(back.times, rec.times)
    assert back.schedule[["onset_frame", "label", "offset_frame"]].values.tolist() == \
        rec.schedule[["onset_frame", "label", "offset_frame"]].values.tolist()


@pytest.fixture(scope="module")
def nwb_bytes():
    "One small NWB file, written once (pynwb is slow); examples damage copies of it."
    rec = Recording.from_array(np.arange(24, dtype=float).reshape(8, 3), ["AVAL", "AVAR", "ASHL"], fps=2.0,
                               key="base", schedule=[(1, "a"), (4, "b")])
    with folder() as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ws.save(rec, d / "base.nwb").read_bytes()


NWB_DATASETS = ["processing/CalciumActivity/SignalRawFluor/SignalCalciumImResponseSeries/data",
                "processing/CalciumActivity/SignalRawFluor/SignalCalciumImResponseSeries/rois",
                "intervals/stimuli/start_time", "intervals/stimuli/stimulus"]


@settings(FAST, max_examples=30)
@given(data=st.data())
def test_nwb_damaged_files_raise_only_data_error(nwb_bytes, data):
    with folder() as d:
        path = d / "prop.nwb"
        path.write_bytes(nwb_bytes)
        kind = data.draw(st.sampled_from(["bytes", "missing", "huge", "external link", "long text"]))
        if kind == "bytes":
            path.write_bytes(corrupt(nwb_bytes, data.draw))
        else:
            name = data.draw(st.sampled_from(NWB_DATASETS))
            with h5py.File(path, "r+") as f:
                del f[name]
                if kind == "huge":
                    f.create_dataset(name, shape=(100_000, 4_000), dtype="<f8")
                elif kind == "external link":
                    f[name] = h5py.ExternalLink("/etc/hostname", "/x")
                elif kind == "long text":
                    f[name] = np.array(["x" * 200_000], dtype=object).astype(h5py.string_dtype())
        got = load_or_data_error(ws.load, path)
        if kind != "bytes":
            assert got is None or (kind == "missing" and name.startswith("intervals")), kind

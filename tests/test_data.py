"Tests of the data model: schedules, window labels, Recording checks, Collection alignment and splits, NormStats."
import numpy as np
import pandas as pd
import pytest

import wormsae as ws
from wormsae.data import (Collection, DataError, NormStats, Recording, SCHEDULE_COLUMNS, make_schedule,
                          stimulus_labels)


def test_dataerror_is_a_valueerror_and_public():
    assert issubclass(DataError, ValueError)
    assert ws.DataError is DataError


# ---- schedules and per-frame labels ----

def original_cycle_rule(pairs, n_frames):
    "The original analysis, written naively: each frame carries the label of the latest onset at or before it."
    out = []
    for t in range(n_frames):
        current = ""
        for onset, label in pairs:
            if onset <= t:
                current = label
        out.append(current)
    return out


def test_cycle_labels_hand_computed():
    # 12 frames, onsets 3 (A), 5 (B), 9 (A again): frames 0-2 unlabelled, the last cycle runs to the end
    s = make_schedule([(3, "A"), (5, "B"), (9, "A")], n_frames=12)
    expected = ["", "", "", "A", "A", "B", "B", "B", "B", "A", "A", "A"]
    assert stimulus_labels(s, 12, "cycle").tolist() == expected
    assert original_cycle_rule([(3, "A"), (5, "B"), (9, "A")], 12) == expected
    assert s.repeat.tolist() == [0, 0, 1]


def test_cycle_labels_match_the_original_rule_on_random_schedules():
    rng = np.random.default_rng(7)
    for _ in range(50):
        n = int(rng.integers(1, 60))
        k = int(rng.integers(0, min(n, 6) + 1))
        onsets = sorted(rng.choice(n, size=k, replace=False).tolist())
        pairs = [(o, str(rng.choice(["OP50", "Control", "10mM CuSO4"]))) for o in onsets]
        fps, pres = float(rng.choice([1.0, 2.0, 2.667])), float(rng.choice([1.0, 3.0, 15.0]))
        s = make_schedule(pairs, n_frames=n, fps=fps, presentation_s=pres)
        assert stimulus_labels(s, n, "cycle").tolist() == original_cycle_rule(pairs, n)


def test_presentation_is_onset_plus_15s_capped_at_next_onset():
    # fps 2 -> 15 s = 30 frames; onsets 0, 20 (cap: next onset 20), 60 (30 frames -> 90), 100 (cap: end 110)
    s = make_schedule([(0, "a"), (20, "b"), (60, "c"), (100, "d")], n_frames=110, fps=2.0, presentation_s=15)
    assert list(s.columns) == SCHEDULE_COLUMNS
    assert s.offset_frame.tolist() == [20, 50, 90, 110]
    lab = stimulus_labels(s, 110, "presentation")
    expected = np.array([""] * 110, dtype=object)
    expected[0:20], expected[20:50], expected[60:90], expected[100:110] = "a", "b", "c", "d"
    assert lab.tolist() == expected.tolist()
    # 15 s at 2.667 Hz is 40.005 frames -> 40
    s = make_schedule([(10, "x")], n_frames=100, fps=2.667, presentation_s=15)
    assert s.offset_frame.tolist() == [50]


def test_presentation_shorter_than_a_frame_lasts_one_frame():
    s = make_schedule([(2, "a"), (5, "b")], n_frames=8, fps=1.0, presentation_s=0.4)
    assert s.offset_frame.tolist() == [3, 6]


def test_explicit_offsets_and_no_presentation_length():
    s = make_schedule(pd.DataFrame({"onset_frame": [1, 6], "label": ["a", "b"], "offset_frame": [3, 8]}), 10)
    assert stimulus_labels(s, 10).tolist() == ["", "a", "a", "", "", "", "b", "b", "", ""]
    s = make_schedule([(1, "a"), (6, "b")], 10)  # no fps or length: presentation = cycle
    assert stimulus_labels(s, 10).tolist() == stimulus_labels(s, 10, "cycle").tolist()


def test_empty_schedule_labels():
    for spec in (None, []):
        s = make_schedule(spec, 5)
        assert len(s) == 0 and list(s.columns) == SCHEDULE_COLUMNS
        assert stimulus_labels(s, 5, "cycle").tolist() == [""] * 5


@pytest.mark.parametrize("spec, message", [
    ([(5, "a"), (5, "b")], "must increase"),
    ([(5, "a"), (2, "b")], "must increase"),
    ([(-1, "a")], "outside"),
    ([(10, "a")], "outside"),
    ([(1.5, "a")], "whole frame"),
    ([("x", "a")], "not a frame number"),
    ([(True, "a")], "not a frame number"),
    ([(float("nan"), "a")], "whole frame"),
    ([(1, "")], "non-empty string"),
    ([(1, None)], "non-empty string"),
    ([(1,)], "expected a pair"),
    ("[(1, 'a')]", "must be a list"),
    ([(1, "a", 1)], "offset_frame 1"),
    ([(1, "a", 11)], "offset_frame 11"),
    (pd.DataFrame({"onset": [1], "label": ["a"]}), "missing ['onset_frame']"),
])
def test_bad_schedules(spec, message):
    with pytest.raises(DataError) as e:
        make_schedule(spec, n_frames=10, source="f.csv")
    assert type(e.value) is DataError
    assert message in str(e.value) and str(e.value).startswith("f.csv: ")


def test_unknown_window():
    with pytest.raises(ValueError, match="window must be one of"):
        stimulus_labels(make_schedule(None, 3), 3, "late")


# ---- Recording ----

def toy(key="a", neurons=("A", "B"), T=6, seed=0, **kw):
    x = np.random.default_rng(seed).normal(size=(T, len(neurons)))
    return Recording.from_array(x, list(neurons), fps=2.0, key=key, **kw)


def test_recording_basics():
    x = np.arange(12, dtype=np.float64).reshape(6, 2)
    x[2, 1] = np.nan
    r = Recording.from_array(x, [" AVAL", "RIML "], fps=2, key=7, schedule=[(1, "a")], presentation_s=1)
    assert (r.key, r.neurons, r.fps, r.n_frames, r.n_neurons) == ("7", ["AVAL", "RIML"], 2.0, 6, 2)
    assert r.traces.dtype == np.float32
    np.testing.assert_array_equal(r.times, np.arange(6) / 2)
    np.testing.assert_array_equal(r.observed, ~np.isnan(x))
    assert r.stimulus_labels().tolist() == ["", "a", "a", "", "", ""]
    assert r.stimulus_labels("cycle").tolist() == ["", "a", "a", "a", "a", "a"]
    assert "6 frames x 2 neurons" in repr(r)


@pytest.mark.parametrize("kwargs, message", [
    (dict(traces=np.zeros((3, 2)), neurons=["A", "A"]), "duplicated neuron names ['A']"),
    (dict(traces=np.zeros((3, 2)), neurons=["A", " A"]), "duplicated neuron names ['A']"),
    (dict(traces=np.zeros((3, 2)), neurons=["A", ""]), "neuron name missing at column 1"),
    (dict(traces=np.zeros((3, 2)), neurons=["A"]), "1 neuron names for 2 trace columns"),
    (dict(traces=np.zeros(3), neurons=["A"]), "must be 2-D"),
    (dict(traces=np.zeros((0, 2)), neurons=["A", "B"]), "empty"),
    (dict(traces=[["a", "b"]], neurons=["A", "B"]), "must be numeric"),
    (dict(traces=np.array([[1.0, np.inf]]), neurons=["A", "B"]), "infinite value (frame 0, column 1)"),
    (dict(traces=np.zeros((3, 1)), neurons=["A"], fps=float("nan")), "fps must be a positive"),
    (dict(traces=np.zeros((3, 1)), neurons=["A"], fps=-1), "fps must be a positive"),
    (dict(traces=np.zeros((3, 1)), neurons=["A"], times=[0, 1]), "times has shape (2,)"),
    (dict(traces=np.zeros((3, 1)), neurons=["A"], times=[0, 2, 1]), "strictly increasing"),
    (dict(traces=np.zeros((3, 1)), neurons=["A"], behaviour=pd.DataFrame({"v": [1.0, 2.0]})), "behaviour has 2 rows"),
])
def test_recording_rejects(kwargs, message):
    kw = dict(fps=1.0, key="r")
    kw.update(kwargs)
    traces, neurons = kw.pop("traces"), kw.pop("neurons")
    with pytest.raises(DataError) as e:
        Recording.from_array(traces, neurons, **kw)
    assert message in str(e.value) and "'r'" in str(e.value)  # names the recording


# ---- Collection ----

def planted_collection():
    "Three animals with overlapping neuron sets; values encode (animal, frame, neuron) so every cell is checkable."
    specs = {"w1": (["AVAL", "RIML"], 3), "w2": (["ASHR", "AVAL"], 2), "w3": (["RIML", "AIBL", "ASHR"], 4)}
    recs = []
    for a, (key, (names, T)) in enumerate(specs.items(), start=1):
        x = np.array([[100 * a + 10 * t + j for j in range(len(names))] for t in range(T)], dtype=float)
        recs.append(Recording.from_array(x, names, fps=a, key=key))
    recs[1].traces[1, 0] = np.nan  # w2, frame 1, ASHR missing
    return Collection(recs)


def test_union_in_first_appearance_order():
    c = planted_collection()
    assert c.neurons == ["AVAL", "RIML", "ASHR", "AIBL"]
    assert c.keys == ["w1", "w2", "w3"] and len(c) == 3 and c.n_frames == 9
    assert c["w2"].key == "w2" and c[2].key == "w3"
    with pytest.raises(KeyError, match="no recording with key 'w9'"):
        c["w9"]


def test_stack_keeps_all_frames_and_masks_missing():
    c = planted_collection()
    X, mask, index = c.stack()
    nan = np.nan
    expected = np.array([  # columns AVAL, RIML, ASHR, AIBL
        [100, 101, nan, nan], [110, 111, nan, nan], [120, 121, nan, nan],          # w1: AVAL=0, RIML=1
        [201, nan, 200, nan], [211, nan, nan, nan],                                # w2: ASHR=0 (one NaN), AVAL=1
        [nan, 300, 302, 301], [nan, 310, 312, 311], [nan, 320, 322, 321], [nan, 330, 332, 331]])  # w3
    assert X.dtype == np.float32 and mask.dtype == bool
    np.testing.assert_array_equal(mask, ~np.isnan(expected))
    np.testing.assert_array_equal(X, np.nan_to_num(expected, nan=0.0))
    X5, _, _ = c.stack(fill=-5.0)
    assert (X5[~mask] == -5).all()
    assert list(index.columns) == ["key", "recording", "frame", "time"]
    assert index.key.tolist() == ["w1"] * 3 + ["w2"] * 2 + ["w3"] * 4
    assert index.recording.tolist() == [0] * 3 + [1] * 2 + [2] * 4
    assert index.frame.tolist() == [0, 1, 2, 0, 1, 0, 1, 2, 3]
    np.testing.assert_allclose(index.time, [0, 1, 2, 0, 0.5, 0, 1 / 3, 2 / 3, 1])
    Xs, ms, _ = c.stack(neurons=["AIBL", "NOPE", "AVAL"])
    np.testing.assert_array_equal(ms, ~np.isnan(expected[:, [3, 3, 0]]) & np.array([True, False, True]))
    np.testing.assert_array_equal(Xs[:, 2], np.nan_to_num(expected[:, 0]))


def test_collection_summary_and_stimuli():
    a = toy("a", schedule=[(1, "OP50"), (3, "Control")])
    b = toy("b", neurons=("B", "C"), schedule=[(0, "NaCl"), (2, "OP50")])
    c = Collection([a, b])
    assert c.stimuli == ["OP50", "Control", "NaCl"]
    s = c.summary()
    assert s.key.tolist() == ["a", "b"] and s.frames.tolist() == [6, 6] and s.neurons.tolist() == [2, 2]
    np.testing.assert_allclose(s.coverage, [2 / 3, 2 / 3])
    assert s.presentations.tolist() == [2, 2]


def test_collection_rejects_duplicates_and_empty():
    with pytest.raises(DataError, match="must be unique; repeated: \\['a'\\]"):
        Collection([toy("a"), toy("b"), toy("a")])
    with pytest.raises(DataError, match="at least one recording"):
        Collection([])


def six_animals():
    return Collection([toy(f"w{i}", neurons=("AVAL", f"N{i}"), seed=i) for i in range(6)])


def test_split_by_keys():
    c = six_animals()
    train, test = c.split(test=["w4", "w1"])
    assert train.keys == ["w0", "w2", "w3", "w5"] and test.keys == ["w1", "w4"]
    assert train.neurons == test.neurons == c.neurons  # same columns on both sides
    assert train.recordings[0] is c.recordings[0]  # whole animals, not copies or frame subsets
    with pytest.raises(KeyError, match="unknown recording keys \\['w9'\\]"):
        c.split(test=["w9"])
    with pytest.raises(ValueError, match="no recording for training"):
        c.split(test=c.keys)
    with pytest.raises(ValueError, match="exactly one of"):
        c.split()
    with pytest.raises(ValueError, match="exactly one of"):
        c.split(test=["w1"], n_test=1)


def test_split_with_a_single_key_string():
    c = Collection([toy(k) for k in ["a", "b", "ab"]])
    try:
        train, test = c.split(test="ab")
    except (TypeError, ValueError):
        return
    assert test.keys == ["ab"] and train.keys == ["a", "b"]


def test_split_n_test_is_seeded_and_disjoint():
    c = six_animals()
    seen = set()
    for seed in range(20):
        train, test = c.split(n_test=2, seed=seed)
        again_train, again_test = c.split(n_test=2, seed=seed)
        assert (train.keys, test.keys) == (again_train.keys, again_test.keys)
        assert len(test) == 2 and not set(train.keys) & set(test.keys)
        assert sorted(train.keys + test.keys) == sorted(c.keys)
        assert train.n_frames + test.n_frames == c.n_frames
        seen.add(tuple(test.keys))
    assert len(seen) > 3  # the seed matters
    for bad in (0, 6, 7):
        with pytest.raises(ValueError, match="n_test must be between 1 and 5"):
            c.split(n_test=bad)


# ---- NormStats ----

def test_normstats_hand_computed():
    X = np.array([[1.0, 10, 5], [3, 0, 5], [5, 30, 5], [7, 0, 5]], dtype=np.float32)
    m = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1], [1, 0, 1]], dtype=bool)
    ns = NormStats.fit(X, m, neurons=["A", "B", "C"])
    np.testing.assert_allclose(ns.mean, [4, 20, 5])
    np.testing.assert_allclose(ns.std, [np.sqrt(20 / 3), np.sqrt(200), 1.0], rtol=1e-6)  # constant column -> 1
    Z = ns.transform(X, m)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z[:, 0], (X[:, 0] - 4) / np.sqrt(20 / 3), rtol=1e-6)
    assert Z[1, 1] == 0 and Z[3, 1] == 0  # unobserved -> 0
    back = NormStats.from_dict(ns.to_dict())
    assert back.neurons == ns.neurons and back.per_recording is False
    np.testing.assert_array_equal(back.mean, ns.mean)
    with pytest.raises(ValueError, match="covers 3 neurons|cover 3 neurons"):
        ns.transform(X[:, :2], m[:, :2])


def fit_on_training(c: Collection, test_keys, per_recording=False):
    train, _ = c.split(test=test_keys)
    X, M, idx = train.stack()
    return NormStats.fit(X, M, groups=idx["recording"].to_numpy(), neurons=train.neurons, per_recording=per_recording)


def test_normstats_from_training_animals_only():
    c = six_animals()
    ns = fit_on_training(c, ["w2", "w5"])
    assert ns.neurons == c.neurons
    train_aval = np.concatenate([c[k].traces[:, 0] for k in ["w0", "w1", "w3", "w4"]])
    np.testing.assert_allclose(ns.mean[0], train_aval.mean(), rtol=1e-5)
    np.testing.assert_allclose(ns.std[0], train_aval.std(ddof=1), rtol=1e-5)
    j2, j5 = c.neurons.index("N2"), c.neurons.index("N5")
    assert (ns.mean[j2], ns.std[j2], ns.mean[j5], ns.std[j5]) == (0, 1, 0, 1)  # only in held-out animals
    # change the held-out animals' data wildly: the statistics do not move
    c["w2"].traces[:] = 1e6
    c["w5"].traces[:] = -3e5
    again = fit_on_training(c, ["w2", "w5"])
    np.testing.assert_array_equal(again.mean, ns.mean)
    np.testing.assert_array_equal(again.std, ns.std)
    # ... while changing a training animal does move them (the test can fail)
    c["w0"].traces[:, 0] += 100
    assert fit_on_training(c, ["w2", "w5"]).mean[0] != ns.mean[0]


def test_per_recording_normalisation_removes_planted_gain_and_offset():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(40, 3))
    gain, offset = np.array([[5.0, 0.1, 30.0]]), np.array([[100.0, -7.0, 2.0]])
    x2 = base * gain + offset
    x2[[3, 17], [0, 2]] = np.nan  # missing values in the second animal only
    x1 = base.copy()
    x1[[3, 17], [0, 2]] = np.nan  # the same entries missing, so both animals see the same observed frames
    c = Collection([Recording.from_array(x1, ["A", "B", "C"], 1.0, key="a"),
                    Recording.from_array(x2, ["A", "B", "C"], 1.0, key="b")])
    X, M, idx = c.stack()
    g = idx["recording"].to_numpy()
    ns = NormStats.fit(X, M, groups=g, neurons=c.neurons, per_recording=True)
    Z = ns.transform(X, M, groups=g)
    np.testing.assert_allclose(Z[:40], Z[40:], atol=1e-4)
    assert np.abs(Z[:40][M[:40]]).max() > 1  # not trivially zero
    # without per-recording scaling the animals differ
    plain = NormStats.fit(X, M, neurons=c.neurons).transform(X, M)
    assert np.abs(plain[:40] - plain[40:]).max() > 1
    with pytest.raises(ValueError, match="needs `groups`"):
        NormStats.fit(X, M, per_recording=True)
    with pytest.raises(ValueError, match="one frame"):
        NormStats.fit(X[:3], M[:3], groups=[0, 0, 1], per_recording=True)

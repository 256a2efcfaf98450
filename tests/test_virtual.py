"Tests of the virtual worm: planted biology, ground truth, CSV round trip and the example cache."
import ast
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from wormsae.data import DataError
from wormsae.loading import load_many
from wormsae.virtual import (DATA_VERSION, EXAMPLE_PARAMS, NEURONS, PANEL, SENSORY, GroundTruth, cache_is_valid,
                             ensure_virtual_worm, example, example_ground_truth, load_ground_truth, panel_schedule,
                             planted_features, read_virtual_worm, virtual_worm, write_virtual_worm)

REPELLENTS = [s for s, v in PANEL.items() if v == "repellent"]
ATTRACTANTS = [s for s, v in PANEL.items() if v == "attractant"]


@pytest.fixture(scope="module")
def vw():
    "The default 8-animal set, in memory (about a second)."
    return virtual_worm()


def zscore(rec, neuron):
    "A neuron's trace z-scored within its recording (NaN kept)."
    x = rec.traces[:, rec.neurons.index(neuron)].astype(float)
    return (x - np.nanmean(x)) / np.nanstd(x)


def aligned(col, neuron, stim, at="onset_frame", pre=16, post=40):
    "Per-presentation z-scored segments (presentations x frames) around onsets (or offsets) of `stim`."
    out = []
    for r in col:
        if neuron in r.neurons:
            x = zscore(r, neuron)
            out += [x[t - pre:t + post] for t in r.schedule.loc[r.schedule.label == stim, at]]
    return np.array(out)


def rise_time(seg, pre, fps, frac=0.2):
    "Seconds after the event when the mean response first exceeds `frac` of its peak above baseline."
    m = np.nanmean(seg, 0)
    base = m[:pre].mean()
    i = np.argmax(m[pre:] > base + frac * (m[pre:].max() - base))
    return i / fps


# ---------------------------------------------------------------- structure, neurons, panel, schedule

def test_neurons_and_panel():
    assert len(NEURONS) == 189 == len(set(NEURONS))
    assert {"AVAL", "AVAR", "ASHL", "ASHR", "ASEL", "ASER", "AWCL", "AWCR", "AIBL", "RIML", "AVEL", "AVBL",
            "RIBL", "RID", "SMDVL", "SMDDR", "RIVL", "ADLL", "ASKL", "AWBL", "AWAL", "URXL", "BAGL", "RIS"} <= set(NEURONS)
    assert list(PANEL) == ["100mM NaCl", "e-2 IAA", "e-6 IAA", "OP50", "450mM NaCl", "1uM ascr#3", "10mM CuSO4",
                           "800mM Sorbitol", "Control", "Fluorescein"]


def test_schedule_arithmetic():
    rng = np.random.default_rng(5)
    pairs = panel_schedule(rng)
    onsets = np.array([o for o, _ in pairs])
    fps = 1 / 0.375
    assert len(pairs) == 30 and np.all(np.diff(onsets) == round(60 * fps))
    assert onsets[-1] + round(15 * fps) + round(30 * fps) <= 4979  # last presentation plus a 30 s late window fit
    for block in range(3):
        assert sorted(l for _, l in pairs[10 * block:10 * block + 10]) == sorted(PANEL)
    with pytest.raises(ValueError, match="need"):
        panel_schedule(rng, n_frames=4000)


def test_shapes_coverage_and_missingness(vw):
    col, gt = vw
    assert col.keys == [f"vw_{i:02d}" for i in range(8)]
    for r in col:
        assert r.traces.shape == (4979, r.n_neurons) and r.traces.dtype == np.float32
        assert 0.85 <= r.n_neurons / 189 + 0.5 / 189 and r.n_neurons <= 189
        observed_missing = np.isnan(r.traces).mean()
        sd = np.sqrt(0.01 * 0.99 / r.traces.size)
        assert abs(observed_missing - 0.01) < 6 * sd
        assert np.nanmin(r.traces) > 0  # fluorescence-like, positive
        assert len(r.schedule) == 30 and (r.schedule.offset_frame - r.schedule.onset_frame == 40).all()
    orders = {tuple(r.schedule.label) for r in col}
    assert len(orders) == len(col)  # randomised per animal


def test_coverage_and_missing_knobs():
    col, _ = virtual_worm(n_animals=4, coverage=(0.5, 0.6), missing=0.05, n_frames=2500, repeats=1)
    for r in col:
        assert 0.5 * 189 - 0.5 <= r.n_neurons <= 0.6 * 189 + 0.5
        assert abs(np.isnan(r.traces).mean() - 0.05) < 6 * np.sqrt(0.05 * 0.95 / r.traces.size)
    with pytest.raises(ValueError, match="missing must be"):
        virtual_worm(missing=1.5)


def test_determinism_in_memory():
    a, ga = virtual_worm(n_animals=2, seed=3)
    b, gb = virtual_worm(n_animals=2, seed=3)
    c, _ = virtual_worm(n_animals=2, seed=4)
    for x, y, z in zip(a, b, c):
        assert np.array_equal(x.traces, y.traces, equal_nan=True)
        assert x.neurons == y.neurons and x.schedule.equals(y.schedule)
        assert not (x.traces.shape == z.traces.shape and np.array_equal(x.traces, z.traces, equal_nan=True))
    for k in ga.keys:
        assert ga.drivers[k].equals(gb.drivers[k])


# ---------------------------------------------------------------- ground truth design

def test_planted_features_are_distinct_and_stimulus_specific():
    feats, L = planted_features()
    assert 20 <= len(feats) <= 35 and L.shape == (len(feats), 189) and list(L.columns) == NEURONS
    assert feats.name.is_unique
    chemicals = [s for s, v in PANEL.items() if v != "control"]
    assert sorted(feats.query("primary").stimulus) == sorted(chemicals)
    mentioned = set(";".join(feats.stimuli).split(";")) - {""}
    assert mentioned == set(chemicals)  # nothing planted for Control / Fluorescein
    U = L.to_numpy() / np.linalg.norm(L.to_numpy(), axis=1, keepdims=True)
    assert (U @ U.T - np.eye(len(U))).max() < 0.9  # no two features share a loading pattern
    assert set(feats.kind) >= {"sensory", "interneuron", "motor", "artefact", "spontaneous"}


def test_drivers_nonnegative_and_locked_to_their_stimuli(vw):
    col, gt = vw
    for r in col:
        D = gt.drivers[r.key]
        assert (D.to_numpy() >= 0).all()
        labels = gt.windows[r.key]
        assert np.array_equal(labels, r.stimulus_labels())
        for stim in gt.selective_stimuli:
            d = D[gt.primary(stim)].to_numpy()
            inside = np.zeros(len(d), bool)
            for on in r.schedule.onset_frame[r.schedule.label == stim]:
                inside[on:on + 80] = True  # presentation, latency and calcium decay fit in 30 s
            assert d[~inside].max() <= 0.01 * d.max()  # all zero in an animal that did not respond
    assert gt.null_stimuli == ["Control", "Fluorescein"]
    with pytest.raises(KeyError, match="no primary feature for 'Control'"):
        gt.primary("Control")


QUIET = dict(private=0, slow=0, noise=0, drift=0, bleach=(0, 0), gain_cv=0, brightness_cv=0, missing=0, coverage=(1, 1),
             swap_rate=0)


def test_activity_is_linear_in_the_drivers():
    "With measurement effects and private fluctuations off, fluorescence = baseline + drivers @ the animal's loadings exactly."
    col, gt = virtual_worm(n_animals=3, **QUIET)
    for r in col:
        assert r.neurons == NEURONS
        L = gt.animal_loadings(r.key).to_numpy()
        F0 = gt.neurons["baseline"].to_numpy()
        pred = np.maximum(F0 + gt.drivers[r.key].to_numpy() @ L, 0.02 * F0)  # clipped at 2% of the baseline
        assert np.abs(r.traces - pred).max() < 1e-5 * np.abs(pred).max()
        ok = pred > 0.02 * F0
        dff = r.traces / F0 - 1  # and in dF/F, the planted weights
        assert np.abs(dff - gt.drivers[r.key].to_numpy() @ (L / F0))[ok].max() < 1e-4
        shared = gt.drivers[r.key].to_numpy() @ gt.loadings.to_numpy()
        assert np.abs(r.traces - gt.neurons["baseline"].to_numpy() - shared).max() > 1e-3  # the animal's own weights matter


def test_animals_differ_as_the_ground_truth_says():
    "Non-responders at the configured rate, their drivers zero, gains and neuron factors recorded; knobs at zero: none."
    col, gt = virtual_worm(n_animals=12, seed=5, nonresponse=0.3, neuron_dropout=0.5, n_frames=1800, repeats=1)
    r = gt.responses
    assert set(r.feature) == set(gt.features.name[gt.features.stimuli != ""]) and len(r) == 12 * r.feature.nunique()
    assert abs((~r.responds).mean() - 0.3) < 3 * np.sqrt(0.3 * 0.7 / len(r))
    for key, feature, responds in r[["key", "feature", "responds"]].itertuples(index=False):
        assert (gt.drivers[key][feature].max() > 0) == responds
    assert (r.gain > 0).all() and r.gain.std() > 0
    w = gt.weights
    assert set(zip(w.feature, w.neuron)) == {(f, n) for f in r.feature.unique()
                                            for n in gt.loadings.columns[gt.loadings.loc[f] != 0]}
    sensory = w.neuron.str[:3].isin(SENSORY)
    assert sensory.any() and (w.factor[sensory] == 1).all()  # the sensory neurons always carry their feature, as planted
    assert 0.4 < w.factor[~sensory].eq(0).mean() < 0.6  # downstream neurons silent at about the dropout rate
    assert w.factor[~sensory & (w.factor > 0)].std() > 0.1  # and the others' weights vary
    _, plain = virtual_worm(n_animals=3, seed=5, nonresponse=0, neuron_dropout=0, weight_cv=0, n_frames=1800, repeats=1)
    assert plain.responses.responds.all() and (plain.weights.factor == 1).all()
    assert all(plain.animal_loadings(k).equals(plain.loadings) for k in plain.keys)


def test_swapped_labels_carry_the_other_neurons_trace():
    col, gt = virtual_worm(n_animals=4, seed=6, swap_rate=0.1, n_frames=1800, repeats=1)
    right, _ = virtual_worm(n_animals=4, seed=6, swap_rate=0, n_frames=1800, repeats=1)
    assert len(gt.swaps) > 0 and set(gt.swaps.key) <= set(col.keys)
    for a, b in zip(col, right):
        assert a.neurons == b.neurons
        sw = dict(zip(gt.swaps.label[gt.swaps.key == a.key], gt.swaps.neuron[gt.swaps.key == a.key]))
        for j, n in enumerate(a.neurons):
            expected = b.traces[:, b.neurons.index(sw.get(n, n))]
            np.testing.assert_array_equal(a.traces[:, j], expected)
        assert all(sw[sw[n]] == n for n in sw)  # exchanged in pairs
    assert 0.05 < len(gt.swaps) / sum(r.n_neurons for r in col) < 0.15


def test_sensory_neurons_track_their_drivers(vw):
    "ASEL, driven by the 100mM and 450mM NaCl ON features, follows them in the animals that responded to both."
    col, gt = vw
    wrong = set(zip(gt.swaps.key, gt.swaps.label))
    both = set(gt.responders("100mM NaCl on")) & set(gt.responders("450mM NaCl on"))
    assert len(both) >= len(col) // 2
    for r in col:
        if "ASEL" in r.neurons and (r.key, "ASEL") not in wrong and r.key in both:
            x = zscore(r, "ASEL")
            pred = gt.drivers[r.key].to_numpy() @ gt.animal_loadings(r.key)["ASEL"].to_numpy()  # raw units
            ok = ~np.isnan(x)
            assert np.corrcoef(x[ok], pred[ok])[0, 1] > 0.5


def test_z_loadings(vw):
    col, gt = vw
    Lz = gt.z_loadings(col)
    assert Lz.shape == (len(gt.features), len(col.neurons))
    nz = gt.loadings.reindex(columns=col.neurons) != 0
    assert ((Lz != 0) == nz).all().all()  # same support, rescaled per neuron
    feats, dff = planted_features()
    assert np.allclose(gt.dff_loadings.to_numpy(), dff.to_numpy())
    assert np.allclose(gt.loadings.to_numpy(), dff.to_numpy() * gt.neurons["baseline"].to_numpy())
    assert gt.z_loadings(col, per_recording=True).shape == Lz.shape


# ---------------------------------------------------------------- planted biology, measured on the data

@pytest.mark.parametrize("stim", ["10mM CuSO4", "450mM NaCl"])
def test_ash_rises_1_to_3_s_after_repellent_onset(vw, stim):
    col, _ = vw
    fps = col[0].fps
    for ash in ("ASHL", "ASHR"):
        seg = aligned(col, ash, stim)
        m = np.nanmean(seg, 0)
        base, peak = m[:16].mean(), m[16:].max()
        assert peak - base > 1.0  # a clear response, in SDs of the neuron's whole trace
        assert np.all(m[16:16 + int(1.0 * fps)] < base + 0.1 * (peak - base))  # nothing in the first second
        assert 1.0 <= rise_time(seg, 16, fps) <= 3.0


def test_awc_fires_after_iaa_removal(vw):
    col, _ = vw
    fps = col[0].fps
    for stim in ("e-2 IAA", "e-6 IAA"):
        for awc in ("AWCL", "AWCR"):
            on = np.nanmean(aligned(col, awc, stim), 0)
            off = np.nanmean(aligned(col, awc, stim, at="offset_frame"), 0)
            during = on[16 + int(8 * fps):16 + 40].mean()  # late in the presentation: inhibited
            after = off[16 + int(1 * fps):16 + int(10 * fps)].mean()
            assert during < on[:16].mean()  # odour inhibits AWC
            assert after > on[:16].mean() + 0.5 and after > during + 1.0  # and it fires at removal


def test_asel_on_aser_off(vw):
    col, _ = vw
    fps = col[0].fps
    w = slice(16 + int(1 * fps), 16 + int(10 * fps))
    resp = {}
    for n in ("ASEL", "ASER"):
        for at in ("onset_frame", "offset_frame"):
            m = np.nanmean(aligned(col, n, "100mM NaCl", at=at), 0)
            resp[n, at] = m[w].mean() - m[:16].mean()
    assert resp["ASEL", "onset_frame"] > 1.0 and resp["ASEL", "onset_frame"] > 3 * abs(resp["ASER", "onset_frame"])
    assert resp["ASER", "offset_frame"] > 1.0 and resp["ASEL", "offset_frame"] < 0  # ASEL only falls back at removal


def presentation_changes(col, gt, stim, remove_artefact=True):
    "Per presentation and neuron: mean z over the 15 s presentation minus the 10 s before (artefact removed)."
    rows = []
    j = gt.features.index[gt.features.name == "flow artefact"][0]
    for r in col:
        X = np.column_stack([zscore(r, n) for n in r.neurons])
        if remove_artefact:  # regress the planted artefact driver out of the neurons it loads (animal gains differ)
            d = gt.drivers[r.key].iloc[:, j].to_numpy()
            d = d - d.mean()
            loaded = (gt.loadings.loc["flow artefact"].reindex(r.neurons).fillna(0) != 0).to_numpy()
            beta = np.where(loaded, np.nansum(X * d[:, None], 0) / (d ** 2).sum(), 0.0)
            X = X - np.outer(d, beta)
        for on in r.schedule.onset_frame[r.schedule.label == stim]:
            change = np.nanmean(X[on:on + 40], 0) - np.nanmean(X[on - 27:on], 0)
            rows.append(pd.Series(change, index=r.neurons))
    return pd.DataFrame(rows)


def test_null_stimuli_have_no_locked_response_beyond_the_artefact(vw):
    col, gt = vw
    alpha = 0.01 / len(col.neurons)  # Bonferroni over neurons
    for stim in gt.null_stimuli:
        ch = presentation_changes(col, gt, stim)
        p = stats.ttest_1samp(ch, 0.0, nan_policy="omit").pvalue
        assert np.nanmin(p) > alpha, (stim, ch.columns[np.nanargmin(p)])
    # the same test does detect a chemical (it can fail)
    ch = presentation_changes(col, gt, "10mM CuSO4")
    assert (stats.ttest_1samp(ch, 0.0, nan_policy="omit").pvalue < alpha).sum() >= 4


def test_artefact_is_common_to_all_switches(vw):
    "The artefact neurons respond to Control as to any stimulus, and only with the artefact's pattern."
    col, gt = vw
    art = gt.loadings.columns[gt.loadings.loc["flow artefact"] > 0]
    raw = {s: presentation_changes(col, gt, s, remove_artefact=False)[[n for n in art if n in col.neurons]].mean()
           for s in ("Control", "Fluorescein")}
    assert raw["Control"].mean() > 0.1 and raw["Fluorescein"].mean() > 0.1
    for k in gt.keys:
        d = gt.drivers[k]["flow artefact"].to_numpy()
        sched = col[k].schedule
        peaks = {lab: d[on:on + 8].max() for on, lab in zip(sched.onset_frame, sched.label)}
        assert np.ptp(list(peaks.values())) < 0.05 * max(peaks.values())  # identical for every stimulus


def test_reversal_neurons_follow_the_motor_state(vw):
    col, gt = vw
    wrong = set(zip(gt.swaps.key, gt.swaps.label))  # a wrong label is a measurement error, tested on its own
    for r in col:
        rev = gt.behaviour[r.key]["reversal"].to_numpy()
        for n, low in [("AVAL", 0.3), ("AVAR", 0.3), ("AVEL", 0.3), ("RIML", 0.3), ("AVBL", None), ("RIBL", None)]:
            if n in r.neurons and (r.key, n) not in wrong:
                x = zscore(r, n)
                ok = ~np.isnan(x)
                c = np.corrcoef(x[ok], rev[ok])[0, 1]
                assert (c > low) if low is not None else (c < 0), (r.key, n, c)  # forward neurons fall


def reversal_starts_after(col, gt, stims, window_s=10.0):
    "For each presentation of `stims`: did a reversal start within `window_s` after onset?"
    out = []
    for r in col:
        rev = gt.behaviour[r.key]["reversal"].to_numpy()
        start = np.r_[False, (rev[1:] == 1) & (rev[:-1] == 0)]
        w = int(window_s * r.fps)
        out += [start[on:on + w].any() for on in r.schedule.onset_frame[r.schedule.label.isin(stims)]]
    return np.array(out)


def test_repellents_raise_and_attractants_lower_reversal_probability(vw):
    col, gt = vw
    rep = reversal_starts_after(col, gt, REPELLENTS)
    att = reversal_starts_after(col, gt, ATTRACTANTS)
    null = reversal_starts_after(col, gt, gt.null_stimuli)
    assert rep.mean() > null.mean() > att.mean()
    assert stats.fisher_exact([[rep.sum(), len(rep) - rep.sum()], [null.sum(), len(null) - null.sum()]])[1] < 1e-3
    rate = np.mean([np.sum(np.diff(gt.behaviour[k]["reversal"].to_numpy()) == 1) / (col[k].duration / 60)
                    for k in gt.keys])
    assert 1.0 < rate < 3.0  # about two reversal bouts per minute


def test_integrators_separate_valence_late(vw):
    "Attractant and repellent responses separate 15-30 s after onset, not at onset."
    col, gt = vw
    fps = col[0].fps
    def mean_driver(name, stims, a, b):
        vals = []
        for r in col:
            d = gt.drivers[r.key][name].to_numpy()
            vals += [d[on + int(a * fps):on + int(b * fps)].mean()
                     for on in r.schedule.onset_frame[r.schedule.label.isin(stims)]]
        return np.mean(vals)
    for name, own, other in [("repellent integration", REPELLENTS, ATTRACTANTS),
                             ("attractant integration", ATTRACTANTS, REPELLENTS)]:
        early = mean_driver(name, own, 0, 3) - mean_driver(name, other, 0, 3)
        late = mean_driver(name, own, 15, 30) - mean_driver(name, other, 15, 30)
        assert late > 0.3 and late > 4 * abs(early)


# ---------------------------------------------------------------- on disk

def test_files_deterministic_and_seed_dependent(tmp_path):
    a = write_virtual_worm(tmp_path / "a", n_animals=2, seed=7)
    b = write_virtual_worm(tmp_path / "b", n_animals=2, seed=7)
    c = write_virtual_worm(tmp_path / "c", n_animals=2, seed=8)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (a / "vw_00.csv").read_bytes() != (c / "vw_00.csv").read_bytes()


def test_csv_round_trip(tmp_path):
    mem, gt = virtual_worm(n_animals=2, seed=1)
    write_virtual_worm(tmp_path, n_animals=2, seed=1)
    back, gt_back = read_virtual_worm(tmp_path)
    assert back.keys == mem.keys and back.neurons == mem.neurons
    for a, b in zip(mem, back):
        assert a.neurons == b.neurons and a.fps == b.fps
        np.testing.assert_array_equal(a.times, b.times)  # numbered frames at the panel's rate, as generated
        assert a.schedule[["onset_frame", "label", "offset_frame", "repeat"]].equals(
            b.schedule[["onset_frame", "label", "offset_frame", "repeat"]])
        assert np.array_equal(np.isnan(a.traces), np.isnan(b.traces))
        err = np.nanmax(np.abs(a.traces.astype(float) - b.traces))
        assert err <= 0.5e-4 + 1e-6  # 4 decimals in the CSV, float32 in memory
        assert b.source.endswith(f"{a.key}.csv")  # came through the file reader
        assert b.meta["frame_header"] == "frame number" and b.meta["fps_source"] == "default"
        pd.testing.assert_frame_equal(b.meta["neuron_info"].drop(columns="row"), a.meta["neuron_info"])
    for k in gt.keys:
        assert np.array_equal(gt.drivers[k].to_numpy(), gt_back.drivers[k].to_numpy())
        assert np.array_equal(gt.windows[k], gt_back.windows[k])
        assert gt.behaviour[k].equals(gt_back.behaviour[k])
    assert gt.features.equals(gt_back.features) and gt.loadings.equals(gt_back.loadings)
    for name in ("responses", "weights", "swaps"):
        pd.testing.assert_frame_equal(getattr(gt_back, name), getattr(gt, name))
    pd.testing.assert_frame_equal(gt_back.neurons, gt.neurons)
    assert gt_back.selective_stimuli == gt.selective_stimuli and gt_back.null_stimuli == ["Control", "Fluorescein"]


def test_ground_truth_files_are_not_pickles(tmp_path):
    _, gt = virtual_worm(n_animals=1, n_frames=2000, repeats=1)
    gt.save(tmp_path / "gt")
    for f in (tmp_path / "gt").glob("*.npz"):
        with np.load(f, allow_pickle=False) as z:
            assert all(z[k].dtype != object for k in z.files)
    back = GroundTruth.load(tmp_path / "gt")
    assert back.features.equals(gt.features)
    (tmp_path / "gt" / "drivers.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="drivers.npz"):
        load_ground_truth(tmp_path / "gt")
    (tmp_path / "gt" / "meta.json").unlink()
    with pytest.raises(DataError, match="missing \\['meta.json'\\]"):
        load_ground_truth(tmp_path / "gt")


# ---------------------------------------------------------------- the cache

SMALL = {"n_animals": 2, "seed": 0}


def test_cache_regenerates_when_missing_or_corrupt(tmp_path):
    folder = ensure_virtual_worm(tmp_path / "vw", **SMALL)
    assert cache_is_valid(folder, SMALL)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["data_version"] == DATA_VERSION and manifest["params"] == SMALL
    assert set(manifest["files"]) >= {"vw_00.csv", "vw_01.csv", "ground_truth/drivers.npz"}
    stamp = (folder / "vw_00.csv").stat().st_mtime_ns
    ensure_virtual_worm(folder, **SMALL)
    assert (folder / "vw_00.csv").stat().st_mtime_ns == stamp  # a valid cache is reused
    original = (folder / "vw_00.csv").read_bytes()
    damage = [lambda: (folder / "vw_01.csv").unlink(),
              lambda: (folder / "ground_truth" / "loadings.csv").unlink(),
              lambda: (folder / "vw_00.csv").write_bytes(original[:-100]),
              lambda: (folder / "vw_00.csv").write_bytes(original.replace(b"0.", b"1.", 1)),
              lambda: (folder / "manifest.json").write_text("{not json"),
              lambda: (folder / "stray.csv").write_text("neuron,0.0s\nAVAL,1\n")]
    for hurt in damage:
        hurt()
        assert not cache_is_valid(folder, SMALL)
        ensure_virtual_worm(folder, **SMALL)
        assert cache_is_valid(folder, SMALL)
        assert (folder / "vw_00.csv").read_bytes() == original
    assert not cache_is_valid(folder, {"n_animals": 2, "seed": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["vw"]  # no temporary folders left


def test_example_uses_env_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WORMSAE_CACHE", str(tmp_path))
    monkeypatch.setattr("wormsae.virtual.EXAMPLE_PARAMS", SMALL)
    col = example()
    gt = example_ground_truth()
    folder = tmp_path / f"virtual_worm-v{DATA_VERSION}"
    assert cache_is_valid(folder, SMALL)
    mem, _ = virtual_worm(**SMALL)
    assert col.keys == mem.keys and col.neurons == mem.neurons
    assert gt.keys == col.keys
    (folder / "vw_00.csv").write_text("garbage")
    again = example()  # regenerated, not crashed on
    assert np.array_equal(np.isnan(again[0].traces), np.isnan(col[0].traces))
    assert example(refresh=True).keys == col.keys


def test_default_example_parameters():
    assert EXAMPLE_PARAMS == {"n_animals": 8, "seed": 0}


def test_non_default_timing_round_trips(tmp_path):
    "A shorter presentation and period survive the CSV round trip (the reader is told the presentation length)."
    write_virtual_worm(tmp_path, n_animals=1, presentation_s=10.0, period_s=45.0, n_frames=4000)
    col, gt = read_virtual_worm(tmp_path)
    sched = col[0].schedule
    assert (sched.offset_frame - sched.onset_frame == round(10.0 * col[0].fps)).all()
    assert (np.diff(sched.onset_frame) == round(45.0 * col[0].fps)).all()
    assert np.array_equal(gt.windows[col.keys[0]], col[0].stimulus_labels())


# ---------------------------------------------------------------- the published layout on disk

def test_files_in_the_published_layout(tmp_path):
    "Nine metadata columns (index, neuron, neuron_group, conf, four generic, stimulus), frames 0..4978, key last."
    write_virtual_worm(tmp_path, n_animals=1, seed=2)
    mem, _ = virtual_worm(n_animals=1, seed=2)
    df = pd.read_csv(tmp_path / "vw_00.csv")  # as third-party readers of the real files do
    assert list(df.columns[:9]) == ["Unnamed: 0", "neuron", "neuron_group", "conf", "roi", "sex", "strain", "notes",
                                    "stimulus"]
    assert list(df.columns[9:-1].astype(float)) == list(range(4979)) and df.columns[-1] == "key"
    onsets = [(int(float(o)), lab) for o, lab in ast.literal_eval(df.iloc[0]["stimulus"])]
    assert onsets == list(zip(mem[0].schedule.onset_frame, mem[0].schedule.label))
    assert "180.0" in df.iloc[0]["stimulus"]  # float onsets, as in the real files
    assert df["stimulus"].iloc[1:].isna().all() and (df["key"] == "vw_00").all()
    assert df["neuron"].tolist() == mem[0].neurons
    np.testing.assert_allclose(df.iloc[:, 9:-1].to_numpy(float).T, mem[0].traces, atol=0.5e-4 + 1e-6)


def test_identification_confidence(vw):
    col, _ = vw
    for r in col:
        info = r.meta["neuron_info"]
        assert info.name.tolist() == r.neurons
        assert info.confidence.between(0, 1).all() and 0.5 < info.confidence.median() < 0.9
        assert (info.neuron_group == [n[:-1] if n[-1] in "LR" and n[:-1] + {"L": "R", "R": "L"}[n[-1]] in NEURONS
                                      else n for n in r.neurons]).all()
    a, b = (col[k].meta["neuron_info"].set_index("name").confidence for k in (0, 1))
    shared = a.index.intersection(b.index)
    assert not np.array_equal(a[shared], b[shared])  # animal-to-animal scatter
    assert np.corrcoef(a[shared], b[shared])[0, 1] > 0.3  # around a per-neuron identifiability


def test_min_confidence_on_virtual_files(tmp_path):
    write_virtual_worm(tmp_path, n_animals=2, seed=3)
    mem, _ = virtual_worm(n_animals=2, seed=3)
    with pytest.warns(UserWarning, match="min_confidence=0.7 dropped"):
        col = load_many(tmp_path, min_confidence=0.7)
    for a, b in zip(mem, col):
        info = a.meta["neuron_info"]
        assert b.neurons == info.name[info.confidence >= 0.7].tolist()
        assert b.meta["low_confidence"].name.tolist() == info.name[info.confidence < 0.7].tolist()


def test_blank_frames_knob(tmp_path):
    "blank_frames=98 empties the first 98 frames of every neuron, as in some real files, and changes nothing else."
    plain, _ = virtual_worm(n_animals=1, seed=4)
    blank, _ = virtual_worm(n_animals=1, seed=4, blank_frames=98)
    assert np.isnan(blank[0].traces[:98]).all()
    np.testing.assert_array_equal(blank[0].traces[98:], plain[0].traces[98:])
    write_virtual_worm(tmp_path, n_animals=1, seed=4, blank_frames=98)
    back, _ = read_virtual_worm(tmp_path)
    assert back[0].n_frames == 4979 and np.isnan(back[0].traces[:98]).all()
    assert back[0].schedule.onset_frame.tolist() == plain[0].schedule.onset_frame.tolist()
    with pytest.raises(ValueError, match="blank_frames must be in 0..n_frames - 1"):
        virtual_worm(n_animals=1, blank_frames=5000)


def test_custom_rate_is_written_with_its_times(tmp_path):
    "A virtual worm at another rate cannot be carried by numbered frames: it is written in the '0.0s' dialect."
    write_virtual_worm(tmp_path, n_animals=1, fps=2.0, n_frames=4000)
    col, _ = read_virtual_worm(tmp_path)
    assert col[0].meta["frame_header"] == "seconds" and col[0].fps == pytest.approx(2.0)


def test_slow_state_makes_the_autocorrelation_tail():
    "The neurons with a slow fluctuation stay correlated longer; a high slow state means faster forward runs."
    col, gt = virtual_worm(n_animals=3, seed=8)
    slow = set(gt.neurons.index[gt.neurons.slow_tau_s > 0])
    assert slow and gt.neurons.slow_tau_s[list(slow)].between(30, 120).all()

    def acf_time(x, dt):
        x = x - x.mean()
        ac = np.fft.irfft(np.abs(np.fft.rfft(x, 2 * len(x))) ** 2)[:len(x)]
        return np.flatnonzero(ac / ac[0] < 1 / np.e)[0] * dt

    wrong = set(zip(gt.swaps.key, gt.swaps.label))
    n = int(8 * 60 * col[0].fps)  # 8-minute pieces, as the realism notebook measures
    taus = {True: [], False: []}
    for r in col:
        for j, name in enumerate(r.neurons):
            if (r.key, name) in wrong:
                continue
            x = r.traces[:, j].astype(float)
            x = np.where(np.isnan(x), np.nanmean(x), x)
            taus[name in slow] += [acf_time(x[i:i + n], 1 / r.fps) for i in range(0, len(x) - n + 1, n)]
    assert np.median(taus[True]) > 1.5 * np.median(taus[False]), (np.median(taus[True]), np.median(taus[False]))
    for k in gt.keys:
        state = gt.drivers[k]["slow state"].to_numpy()
        beh = gt.behaviour[k]
        fwd = (beh.state == 0).to_numpy()
        assert np.corrcoef(state[fwd], beh.velocity[fwd])[0, 1] > 0.2  # forward speed follows the state

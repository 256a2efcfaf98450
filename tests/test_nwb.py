"Tests of the NWB reader and writer: round trip, the community layouts on DANDI, a foreign layout, every error path."
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from wormsae.data import DataError, Recording
from wormsae.nwb import SPECIES, is_nwb, nwb_series, read_nwb, write_nwb

from community_nwb import (EY_LABELS, FLAVELL_LABELS, KIMURA_LABELS, KIMURA_ROWS, SK2_LABELS, ey_file, flavell_file,
                           kimura_file, sk2_file)

START = datetime(2022, 3, 27, 9, 30, tzinfo=timezone.utc)


def toy_recording(T=150, fps=2.667, times="worm.world", seed=0):
    "Frame times 0.375 s apart with fps stated as 2.667, as in worm.world files (1 / 0.375 is not 2.667)."
    times = np.arange(T) * 0.375 if isinstance(times, str) else times
    rng = np.random.default_rng(seed)
    tr = (5 + rng.normal(size=(T, 5))).astype(np.float32)
    tr[[0, 7, 8, T - 1], [1, 3, 3, 4]] = np.nan
    beh = pd.DataFrame({"velocity": rng.normal(size=T), "pumping": np.full(T, np.nan),
                        "reversal": (rng.random(T) < 0.1).astype(float), "steps": np.arange(T, dtype=np.int64)})
    return Recording.from_array(tr, ["AVAL", "unlabeled_001", "ASHR", "AWCL", "unlabeled_004"], fps=fps,
                                key="20220327_herm_2", times=times, behaviour=beh,
                                schedule=[(12, "OP50"), (60, "10mM CuSO4"), (140, "Control")], presentation_s=15)


def assert_same(a: Recording, b: Recording):
    assert a.key == b.key
    assert a.neurons == b.neurons
    np.testing.assert_array_equal(np.isnan(a.traces), np.isnan(b.traces))
    np.testing.assert_array_equal(a.traces, b.traces)  # NaN == NaN for assert_array_equal
    assert a.traces.dtype == b.traces.dtype == np.float32
    np.testing.assert_allclose(a.times, b.times, rtol=0, atol=1e-9)  # evenly spaced frames go as starting_time + rate
    assert a.fps == b.fps
    pd.testing.assert_frame_equal(a.schedule, b.schedule)
    if a.behaviour is None:
        assert b.behaviour is None
    else:
        pd.testing.assert_frame_equal(a.behaviour, b.behaviour, check_like=True)


def test_round_trip(tmp_path):
    rec = toy_recording()
    assert rec.schedule.offset_frame.tolist() == [52, 100, 150]  # the last one runs to the end
    out = write_nwb(rec, tmp_path / f"{rec.key}.nwb", session_start_time=START)
    assert out == tmp_path / f"{rec.key}.nwb"
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left
    assert is_nwb(out)
    back = read_nwb(out)
    assert_same(rec, back)
    assert back.meta["session_start_time"] == START
    assert back.meta["session_id"] == rec.key
    assert back.meta["name_source"] == "processing/CalciumActivity/NeuronIDs"
    assert back.meta["schedule_table"] == "stimuli"
    assert nwb_series(out) == ["processing/CalciumActivity/SignalRawFluor/SignalCalciumImResponseSeries"]


def test_round_trip_irregular_times_and_no_extras(tmp_path):
    rng = np.random.default_rng(3)
    times = np.cumsum(0.6 + 0.01 * rng.random(80))
    rec = Recording.from_array(rng.normal(size=(80, 2)), ["A", "B"], fps=1 / np.median(np.diff(times)),
                               key="irregular", times=times)
    back = read_nwb(write_nwb(rec, tmp_path / "irregular.nwb"))
    assert_same(rec, back)
    assert len(back.schedule) == 0 and back.behaviour is None


def dandi_problems(path) -> list:
    "What nwbinspector's DANDI configuration finds CRITICAL or a best-practice violation (pynwb validation included)."
    from nwbinspector import Importance, inspect_nwbfile, load_config
    bad = {Importance.CRITICAL, Importance.BEST_PRACTICE_VIOLATION, Importance.PYNWB_VALIDATION, Importance.ERROR}
    return [f"{m.importance.name} {m.check_function_name} {m.location}: {m.message}"
            for m in inspect_nwbfile(nwbfile_path=str(path), config=load_config("dandi")) if m.importance in bad]


@pytest.mark.parametrize("times", ["worm.world", "irregular"])
def test_written_file_passes_the_dandi_inspection(tmp_path, times):
    irregular = np.cumsum(0.6 + 0.01 * np.random.default_rng(3).random(150))
    out = write_nwb(toy_recording(times=irregular if times == "irregular" else times), tmp_path / "v.nwb")
    assert dandi_problems(out) == []


def test_written_file_reads_like_a_community_file(tmp_path):
    "NWBelegans-style access: pynwb with the extension, processing['CalciumActivity'], NeuronIDs."
    from pynwb import NWBHDF5IO
    rec = toy_recording()
    rec.meta["neuron_info"] = pd.DataFrame({"name": rec.neurons, "uncertain": [False, False, True, False, False]})
    out = write_nwb(rec, tmp_path / "c.nwb", subject={"age": "P3D", "strain": "OH16230"})
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        calcium = nwb.processing["CalciumActivity"]
        labels = [x.decode() if isinstance(x, bytes) else x for x in calcium["NeuronIDs"].labels[:]]
        assert labels == ["AVAL", "", "ASHR?", "AWCL", ""]  # "" unidentified, "?" uncertain
        series = calcium["SignalRawFluor"]["SignalCalciumImResponseSeries"]
        np.testing.assert_array_equal(series.data[:], rec.traces)
        assert list(series.rois.table["ID_labels"][:]) == labels
        assert (nwb.subject.species, nwb.subject.sex, nwb.subject.age, nwb.subject.subject_id) == (
            SPECIES, "O", "P3D", rec.key)
        assert nwb.subject.strain == "OH16230"
    back = read_nwb(out)
    assert back.meta["neuron_info"]["uncertain"].tolist() == [False, False, True, False, False]
    assert back.meta["subject"]["age"] == "P3D"


def test_without_the_extension_names_stay_in_the_roi_table(tmp_path, monkeypatch):
    import wormsae.nwb as nwb_module
    monkeypatch.setattr(nwb_module, "_segmentation_labels_class", lambda: None)
    with pytest.warns(UserWarning, match="NeuronIDs not written: install ndx-multichannel-volume"):
        out = write_nwb(toy_recording(), tmp_path / "plain.nwb")
    back = read_nwb(out)
    assert back.neurons == toy_recording().neurons
    assert back.meta["name_source"] == "processing/CalciumActivity/CalciumSeriesSegmentation/Neurons/ID_labels"
    assert dandi_problems(out) == []


def test_write_replaces_atomically(tmp_path, monkeypatch):
    import pynwb
    out = tmp_path / "a.nwb"
    write_nwb(toy_recording(seed=1), out)
    write_nwb(toy_recording(seed=2), out)  # overwrite
    np.testing.assert_array_equal(read_nwb(out).traces, toy_recording(seed=2).traces)

    def broken(self, *a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(pynwb.NWBHDF5IO, "write", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_nwb(toy_recording(seed=3), out)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.nwb"]
    np.testing.assert_array_equal(read_nwb(out).traces, toy_recording(seed=2).traces)  # the old file is intact


def test_write_rejects_unwritable_behaviour(tmp_path):
    rec = toy_recording()
    rec.behaviour["state"] = "forward"
    with pytest.raises(DataError, match="behaviour column 'state' is not numeric"):
        write_nwb(rec, tmp_path / "b.nwb")
    rec.behaviour = rec.behaviour.drop(columns="state").rename(columns={"velocity": "v/s"})
    with pytest.raises(DataError, match="cannot be an NWB name"):
        write_nwb(rec, tmp_path / "b.nwb")
    assert list(tmp_path.iterdir()) == []


# ---- a file written directly with pynwb, in a layout unlike ours ----

def foreign_nwb(path, labels=("AVAL", "", "RIML", "AIBR"), rois=(2, 0, 3, 1), extra_series=False,
                series_width=None, stimuli=True):
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.behavior import BehavioralTimeSeries, Position
    from pynwb.ophys import DfOverF, Fluorescence, ImageSegmentation, OpticalChannel
    nwb = NWBFile(session_description="foreign", identifier="f-1", session_start_time=START)
    dev = nwb.create_device(name="spinning disk")
    plane = nwb.create_imaging_plane(
        name="NeuroPALImVol", optical_channel=OpticalChannel(name="green", description="GCaMP", emission_lambda=520.0),
        description="head", device=dev, excitation_lambda=488.0, indicator="GCaMP6s", location="head")
    mod = nwb.create_processing_module(name="CalciumActivity", description="calcium")
    seg = mod.add(ImageSegmentation(name="CalciumSeriesSegmentation"))
    table = seg.create_plane_segmentation(name="NeuronSegmentation", description="tracked", imaging_plane=plane)
    table.add_column(name="ID_labels", description="NeuroPAL ID")
    for i, lab in enumerate(labels):
        table.add_roi(voxel_mask=[(i, i, 0, 1.0)], ID_labels=lab)
    region = table.create_roi_table_region(region=list(rois), description="tracked neurons")
    width = series_width or len(rois)
    data = np.arange(30 * width, dtype=float).reshape(30, width)
    dff = mod.add(DfOverF(name="SignalDFoF"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pynwb warns when data and rois disagree
        dff.create_roi_response_series(name="Signal", data=data, rois=region, unit="dF/F", rate=2.0,
                                       starting_time=10.0, conversion=0.5)
    if extra_series:
        fl = mod.add(Fluorescence(name="SignalRawFluor"))
        fl.create_roi_response_series(name="Signal", data=data * 3, rois=region, unit="a.u.", rate=2.0, starting_time=10.0)
    if stimuli:
        nwb.add_trial_column(name="stim_name", description="stimulus")
        for start, stop, name in [(9.0, 11.2, "butanone"), (15.5, 17.0, "buffer"), (20.0, 99.0, "NaCl"),
                                  (100.0, 105.0, "late")]:
            nwb.add_trial(start_time=start, stop_time=stop, stim_name=name)
    beh = nwb.create_processing_module(name="behavior", description="behaviour")
    bts = beh.add(BehavioralTimeSeries(name="Locomotion"))
    bts.add_timeseries(TimeSeries(name="speed", data=np.linspace(0, 1, 30), unit="mm/s", rate=2.0, starting_time=10.0))
    bts.add_timeseries(TimeSeries(name="body", data=np.ones((30, 2)), unit="rad", rate=2.0, starting_time=10.0))
    pos = beh.add(Position(name="Position"))
    pos.create_spatial_series(name="head", data=np.zeros((300, 2)), reference_frame="stage", rate=20.0)
    nwb.add_acquisition(TimeSeries(name="temperature", data=np.ones(30), unit="C", rate=2.0))
    with NWBHDF5IO(path, "w") as io:
        io.write(nwb)
    return Path(path)


def test_reads_a_foreign_layout(tmp_path):
    p = foreign_nwb(tmp_path / "sub-1_ses-1_ophys.nwb")
    with pytest.warns(UserWarning, match="1 of 4 interval\\(s\\) outside the imaged period dropped \\(the intervals "
                      "span 9.000-105.000 s, the frames 10.000-24.500 s\\)"):
        rec = read_nwb(p)
    assert rec.key == "sub-1_ses-1_ophys"
    assert rec.neurons == ["RIML", "AVAL", "AIBR", "unlabeled_003"]  # table rows 2, 0, 3, 1; row 1 unnamed
    assert rec.meta["name_source"] == "processing/CalciumActivity/CalciumSeriesSegmentation/NeuronSegmentation/ID_labels"
    assert rec.meta["series"] == "processing/CalciumActivity/SignalDFoF/Signal"
    np.testing.assert_allclose(rec.traces[2], 0.5 * np.array([8, 9, 10, 11]))  # conversion applied
    np.testing.assert_allclose(rec.times[:3], [10.0, 10.5, 11.0])
    assert rec.fps == 2.0
    # frames at 10.0 + 0.5 k s; onset = first frame at or after start, offset = first at or after stop
    assert rec.schedule[["onset_frame", "label", "offset_frame"]].values.tolist() == [
        [0, "butanone", 3],   # started before imaging; 11.2 s -> frame 3 (11.5 s)
        [11, "buffer", 14],   # 15.5 s is frame 11, 17.0 s frame 14
        [20, "NaCl", 30]]     # runs past the end ("late" starts after it and is dropped)
    assert rec.meta["schedule_table"] == "trials"
    assert sorted(rec.behaviour.columns) == ["body_0", "body_1", "speed"]
    np.testing.assert_allclose(rec.behaviour["speed"], np.linspace(0, 1, 30))
    assert rec.meta["behaviour_skipped"] == ["head"]


def test_schedule_options(tmp_path):
    p = foreign_nwb(tmp_path / "f.nwb", stimuli=True)
    assert len(read_nwb(p, schedule=False).schedule) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert read_nwb(p, schedule="trials").schedule.label.tolist() == ["butanone", "buffer", "NaCl"]
    assert read_nwb(p, schedule=[(5, "x")]).schedule[["onset_frame", "offset_frame"]].values.tolist() == [[5, 30]]
    with pytest.raises(DataError, match="no interval table 'stimuli'; tables in the file: \\['trials'\\]"):
        read_nwb(p, schedule="stimuli")
    q = foreign_nwb(tmp_path / "g.nwb", stimuli=False)
    assert len(read_nwb(q).schedule) == 0


def test_duplicate_names_become_placeholders(tmp_path):
    p = foreign_nwb(tmp_path / "d.nwb", labels=("AVAL", "AVAL", "RIML", "unlabeled_009"), stimuli=False)
    with pytest.warns(UserWarning, match="repeat a name"):
        rec = read_nwb(p)
    assert rec.neurons == ["RIML", "AVAL", "unlabeled_002", "unlabeled_003"]
    assert [(c["label"], c["kept"], c["dropped"]) for c in rec.meta["label_conflicts"]] == [("AVAL", 1, [3])]


# ---- errors ----

def test_no_roi_response_series(tmp_path):
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    nwb = NWBFile(session_description="x", identifier="x", session_start_time=START)
    nwb.add_acquisition(TimeSeries(name="temperature", data=np.ones(10), unit="C", rate=1.0))
    with NWBHDF5IO(tmp_path / "empty.nwb", "w") as io:
        io.write(nwb)
    with pytest.raises(DataError, match="empty.nwb: no RoiResponseSeries in the file"):
        read_nwb(tmp_path / "empty.nwb")


def test_several_series_follow_the_documented_rule(tmp_path):
    p = foreign_nwb(tmp_path / "two.nwb", extra_series=True, stimuli=False)
    a, b = "processing/CalciumActivity/SignalDFoF/Signal", "processing/CalciumActivity/SignalRawFluor/Signal"
    rec = read_nwb(p)
    assert rec.meta["series"] == a  # same name: DfOverF before Fluorescence
    assert rec.meta["series_rule"].startswith("first of 2 by name")
    with pytest.raises(DataError, match="'Signal' matches several"):
        read_nwb(p, series="Signal")
    with pytest.raises(DataError, match="no RoiResponseSeries matches 'Raw'"):
        read_nwb(p, series="Raw")
    assert read_nwb(p, series="SignalRawFluor").meta["series"] == b
    assert read_nwb(p, series=a).meta["series"] == a
    assert nwb_series(p) == [a, b]


def test_a_tie_the_rule_cannot_break_asks(tmp_path):
    p = foreign_nwb(tmp_path / "tie.nwb", stimuli=False)
    with h5py.File(p, "r+") as f:  # a second DfOverF with another series of the same role
        f.copy(f["processing/CalciumActivity/SignalDFoF"], "processing/CalciumActivity/SignalDFoF2")
    with pytest.raises(DataError, match="several RoiResponseSeries and no rule to choose among") as e:
        read_nwb(p)
    assert "tie.nwb" in str(e.value) and "SignalDFoF2/Signal" in str(e.value)


def test_names_column_length_mismatch(tmp_path, monkeypatch):
    import wormsae.nwb as nwb_module
    monkeypatch.setattr(nwb_module, "_segmentation_labels_class", lambda: None)
    with pytest.warns(UserWarning, match="NeuronIDs not written"):
        out = write_nwb(toy_recording(), tmp_path / "short.nwb")
    col = "processing/CalciumActivity/CalciumSeriesSegmentation/Neurons/ID_labels"
    with h5py.File(out, "r+") as f:
        data, attrs = f[col][()], dict(f[col].attrs)
        del f[col]
        f.create_dataset(col, data=data[:4]).attrs.update(attrs)
    with pytest.raises(DataError, match="short.nwb: name column 'ID_labels' of table .*Neurons' has 4 entries for 5 ROIs"):
        read_nwb(out)


@pytest.mark.filterwarnings("ignore:.*second dimension of data does not match")
def test_series_width_differs_from_rois(tmp_path):
    p = foreign_nwb(tmp_path / "w.nwb", series_width=3, stimuli=False)
    with pytest.raises(DataError, match="series 'Signal' has 3 columns but its rois refer to 4 ROIs"):
        read_nwb(p)


def test_not_nwb(tmp_path):
    (tmp_path / "a.nwb").write_text("hello")
    with h5py.File(tmp_path / "b.nwb", "w") as f:
        f["gcamp/trace_array"] = np.zeros((3, 2))
    (tmp_path / "c.nwb").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 50)
    for name in ["a.nwb", "b.nwb", "c.nwb"]:
        assert not is_nwb(tmp_path / name)
        with pytest.raises(DataError, match=f"{name}: not an NWB file"):
            read_nwb(tmp_path / name)
    with pytest.raises(DataError, match="file not found"):
        read_nwb(tmp_path / "none.nwb")
    assert not any(is_nwb(x) for x in [None, 1, tmp_path])


def test_real_flavell_recording_round_trips(tmp_path, flavell_data):
    from wormsae.flavell import read_flavell_h5
    rec = read_flavell_h5(flavell_data / "2022-07-26-31-data.h5", schedule="reversals")
    back = read_nwb(write_nwb(rec, tmp_path / f"{rec.key}.nwb"))
    assert_same(rec, back)
    assert sum(not n.startswith("unlabeled_") for n in back.neurons) == 100
    assert dandi_problems(tmp_path / f"{rec.key}.nwb") == []


# ---- the community layouts on DANDI (files written with pynwb and ndx-multichannel-volume) ----

def expected_names(labels, rows=None) -> list:
    "What the names must be, worked out from the planted labels: '?' dropped, '' a placeholder by column."
    rows = range(len(labels)) if rows is None else rows
    return [labels[r].rstrip("?") or f"unlabeled_{j:03d}" for j, r in enumerate(rows)]


COMMUNITY = {  # builder, planted labels, table rows of the columns, series the rule must choose
    "EY (000472)": (ey_file, EY_LABELS, None, "processing/CalciumActivity/SignalRawFluor/SignalCalciumImResponseSeries"),
    "SK2 (000565)": (sk2_file, SK2_LABELS, None, "processing/CalciumActivity/SignalDFoF/SignalCalciumImResponseSeries"),
    "Flavell (000776)": (flavell_file, FLAVELL_LABELS, None,
                         "processing/CalciumActivity/SignalRawFluor/SignalCalciumImResponseSeries"),
    "Kimura (000692)": (kimura_file, KIMURA_LABELS, KIMURA_ROWS,
                        "processing/CalciumActivity/SignalRawFluor/SignalCalciumImResponseSeries"),
}


@pytest.mark.parametrize("shape", list(COMMUNITY))
@pytest.mark.filterwarnings("ignore:The linked table")
def test_community_layouts_load_with_no_option(tmp_path, shape):
    build, labels, rows, series = COMMUNITY[shape]
    path = build(tmp_path / "sub-1_ses-1_ophys.nwb")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean community file reads without a warning
        rec = read_nwb(path)
    assert rec.neurons == expected_names(labels, rows)
    # the right trace on the right column: the planted value of column j at frame t is 1000 j + t
    n = len(rec.neurons)
    np.testing.assert_array_equal(rec.traces[:3], 1000.0 * np.arange(n)[None, :] + np.arange(3)[:, None])
    info = rec.meta["neuron_info"]
    planted = [labels[r] for r in (rows or range(len(labels)))]
    assert info["uncertain"].tolist() == [x.endswith("?") for x in planted]
    assert info["label_raw"].tolist() == planted
    assert rec.meta["series"] == series
    assert rec.meta["name_source"] == "processing/CalciumActivity/NeuronIDs"
    assert rec.key == "sub-1_ses-1_ophys"


@pytest.mark.filterwarnings("ignore:The linked table")
def test_uncertain_names_can_be_left_unlabelled(tmp_path):
    rec = read_nwb(flavell_file(tmp_path / "f.nwb"), keep_uncertain=False)
    assert rec.neurons[3] == "unlabeled_003"  # 'RIBR?'
    assert rec.meta["neuron_info"].loc[3, "status"] == "uncertain"


@pytest.mark.filterwarnings("ignore:The linked table")
def test_a_series_reached_twice_counts_once(tmp_path):
    path = flavell_file(tmp_path / "f.nwb")
    with h5py.File(path, "r") as f:  # the file does reach it twice, once through a link
        link = f["processing/CalciumActivity"].get("SignalCalciumImResponseSeries", getlink=True)
        assert isinstance(link, h5py.SoftLink)
    assert nwb_series(path) == ["processing/CalciumActivity/SignalRawFluor/SignalCalciumImResponseSeries"]
    rec = read_nwb(path, series="SignalCalciumImResponseSeries")  # either path names the one series
    assert rec.meta["series_aliases"] == ["processing/CalciumActivity/SignalCalciumImResponseSeries"]
    assert rec.meta["series_rule"] == "series='SignalCalciumImResponseSeries'"
    assert read_nwb(path).meta["series_rule"] == "the only RoiResponseSeries"


@pytest.mark.filterwarnings("ignore:The linked table")
def test_community_behaviour_and_timestamps(tmp_path):
    rec = read_nwb(flavell_file(tmp_path / "f.nwb", n_frames=25))
    np.testing.assert_allclose(rec.times, 100.0 + 0.6 * np.arange(25) + 0.01 * np.sin(np.arange(25)))
    assert sorted(rec.behaviour.columns) == ["head_curvature", "velocity"]
    np.testing.assert_allclose(rec.behaviour["velocity"], np.linspace(-0.1, 0.2, 25))
    assert rec.meta["behaviour_skipped"] == ["nir_frames"]  # a camera-rate series is not forced onto the frames
    assert rec.meta["subject"]["species"] == SPECIES and rec.meta["subject"]["growth_stage"] == "YA"


@pytest.mark.filterwarnings("ignore:The linked table")
def test_names_come_from_id_labels_split_into_characters(tmp_path):
    path = sk2_file(tmp_path / "s.nwb", neuron_ids=False)
    with h5py.File(path, "r") as f:  # the file does store each name as a list of characters
        assert f["processing/CalciumActivity/CalciumSeriesSegmentation/Seg_tpoint_0/ID_labels"][:4].tolist() == [
            b"A", b"V", b"A", b"R"]
    rec = read_nwb(path)
    assert rec.neurons == expected_names(SK2_LABELS)
    assert rec.meta["name_source"] == "processing/CalciumActivity/CalciumSeriesSegmentation/Seg_tpoint_0/ID_labels"


@pytest.mark.filterwarnings("ignore:The linked table")
def test_another_tables_labels_are_never_the_traces_names(tmp_path):
    "Kimura: the NeuroPAL image's own segmentation has names for other ROIs; the traces use NeuronIDs or nothing."
    path = kimura_file(tmp_path / "k.nwb")
    with h5py.File(path, "r+") as f:
        del f["processing/CalciumActivity/NeuronIDs"]
    rec = read_nwb(path)
    assert rec.neurons == [f"unlabeled_{j:03d}" for j in range(len(KIMURA_LABELS))]
    assert rec.meta["name_source"] is None


@pytest.mark.filterwarnings("ignore:The linked table")
def test_neuron_ids_of_the_wrong_length_are_left_out_with_a_warning(tmp_path):
    path = ey_file(tmp_path / "e.nwb")
    with h5py.File(path, "r+") as f:
        ids = f["processing/CalciumActivity/NeuronIDs/labels"]
        values, attrs = ids[()][:4], dict(ids.attrs)
        del f["processing/CalciumActivity/NeuronIDs/labels"]
        f["processing/CalciumActivity/NeuronIDs"].create_dataset("labels", data=values).attrs.update(attrs)
    with pytest.warns(UserWarning, match="NeuronIDs \\(4 labels\\) not used: the traces' ROI table .* has 6 rows"):
        rec = read_nwb(path)
    assert rec.neurons == [f"unlabeled_{j:03d}" for j in range(6)]


@pytest.mark.filterwarnings("ignore:The linked table")
def test_imaging_volumes_are_never_read(tmp_path):
    "A volume declared as 1.5 TB, stored in a file that does not exist: reading it would fail; opening must not."
    path = ey_file(tmp_path / "e.nwb")
    with h5py.File(path, "r+") as f:
        series = f["acquisition/CalciumImageSeries"]
        attrs = dict(series["data"].attrs)
        del series["data"]
        shape = (20000, 512, 512, 140)
        series.create_dataset("data", shape=shape, dtype=np.uint16,
                              external=[(str(tmp_path / "absent.raw"), 0, h5py.h5f.UNLIMITED)]).attrs.update(attrs)
    with h5py.File(path, "r") as f, pytest.raises(OSError):
        f["acquisition/CalciumImageSeries/data"][0, 0, 0, 0]  # the volume really is unreadable
    assert read_nwb(path).neurons == expected_names(EY_LABELS)


@pytest.mark.filterwarnings("ignore:The linked table")
def test_many_per_frame_tables(tmp_path):
    from community_nwb import replicate_tables
    path = ey_file(tmp_path / "e.nwb", n_frames=300, n_tables=2)
    replicate_tables(path, "processing/CalciumActivity/CalciumSeriesSegmentation", "Seg_tpoint_1", 300)
    with h5py.File(path, "r") as f:
        assert len(f["processing/CalciumActivity/CalciumSeriesSegmentation"]) == 300
    rec = read_nwb(path)
    assert rec.traces.shape == (300, len(EY_LABELS)) and rec.neurons == expected_names(EY_LABELS)


@pytest.mark.filterwarnings("ignore:The linked table")
def test_stimuli_on_another_clock_are_reported(tmp_path):
    path = ey_file(tmp_path / "e.nwb")  # 20 frames at 4 Hz: 0-4.75 s
    with h5py.File(path, "r+") as f:
        start = f["intervals/chemical_stimuli/start_time"]
        start[...] = start[()] + 600.0
        f["intervals/chemical_stimuli/stop_time"][...] = f["intervals/chemical_stimuli/stop_time"][()] + 600.0
    with pytest.warns(UserWarning, match="none of the 3 stimulus interval\\(s\\) lies on the frame clock \\(the "
                      "intervals span 601.000-604.500 s, the frames 0.000-4.750 s\\)"):
        rec = read_nwb(path)
    assert len(rec.schedule) == 0


@pytest.mark.filterwarnings("ignore:The linked table")
def test_community_schedule(tmp_path):
    rec = read_nwb(ey_file(tmp_path / "e.nwb"))  # 4 Hz; stimuli at 1.0-2.0, 2.5-3.0, 4.0-4.5 s
    assert rec.meta["schedule_table"] == "chemical_stimuli"
    assert rec.schedule[["onset_frame", "label", "offset_frame"]].values.tolist() == [
        [4, "butanone", 8], [10, "pentanedione", 12], [16, "nacl", 18]]


# ---- bad community files ----

def _edit(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f)
    return path


SERIES = "processing/CalciumActivity/SignalRawFluor/SignalCalciumImResponseSeries"


def _replace(f, name, data):
    attrs = dict(f[name].attrs)
    del f[name]
    f.create_dataset(name, data=data).attrs.update(attrs)


@pytest.mark.filterwarnings("ignore:The linked table")
@pytest.mark.parametrize("edit, message", [
    (lambda f: _replace(f, f"{SERIES}/rois", np.array([0, 1, 2, 3, 4, 9])), "refers to ROI rows up to 9, but table"),
    (lambda f: f[SERIES].__delitem__("rois"), "has no 'rois' region pointing into a ROI table"),
    (lambda f: f[SERIES]["starting_time"].attrs.__setitem__("rate", 0.0), "has neither timestamps nor a positive rate"),
    (lambda f: _replace(f, "intervals/chemical_stimuli/stop_time", np.array([2.0, 3.0])),
     "interval table 'chemical_stimuli' has columns of different lengths (start_time 3, stop_time 2, stimulus 3)"),
    (lambda f: _replace(f, f"{SERIES}/data", np.zeros((20, 2, 6))), "has data of shape (20, 2, 6); expected (frames, ROIs)"),
])
def test_bad_community_files_name_the_problem(tmp_path, edit, message):
    path = _edit(ey_file(tmp_path / "bad.nwb"), edit)
    with pytest.raises(DataError) as e:
        read_nwb(path)
    assert "bad.nwb" in str(e.value) and message in str(e.value)


def _add_light(path, start_s: float, stop_s: float):
    "Append a third row, 'light' from start_s to stop_s, to the file's two-row stimulus table."
    with h5py.File(path, "r+") as f:
        table = f["intervals/stimuli"]
        start, stop, label = table["start_time"][()], table["stop_time"][()], table["stimulus"].asstr()[()]
        for name, values in (("start_time", np.append(start, start_s)), ("stop_time", np.append(stop, stop_s)),
                             ("id", np.arange(3))):
            del table[name]
            table[name] = values
        del table["stimulus"]
        table.create_dataset("stimulus", data=np.append(label, "light").astype(object), dtype=h5py.string_dtype())


def test_stimuli_starting_together_load_as_one_compound_presentation(tmp_path):
    "A valid NWB file may start two stimuli at once: one presentation per onset, labels sorted and joined by ' + '."
    rec = Recording.from_array(np.ones((40, 2)), ["AVAL", "AVAR"], 2.0, key="two",
                               schedule=[(4, "odour", 10), (20, "odour", 24)])
    path = write_nwb(rec, tmp_path / "two.nwb", session_start_time=START)
    _add_light(path, 2.0, 7.0)  # a second stimulus, light, from the same 2.0 s as the first odour, until 7.0 s
    with pytest.warns(UserWarning, match="two.nwb.*same frame are one presentation of the compound stimulus: 'light \\+ odour'"):
        back = read_nwb(path)
    assert back.schedule[["onset_frame", "label", "offset_frame", "repeat"]].values.tolist() == \
        [[4, "light + odour", 14, 0], [20, "odour", 24, 0]]


def test_a_stimulus_named_with_a_plus_keeps_its_name_alone_and_its_parts_together(tmp_path):
    "'NaCl + quinine' is one stimulus: alone it is that label; with light at the same time its two parts stay whole."
    rec = Recording.from_array(np.ones((40, 2)), ["AVAL", "AVAR"], 2.0, key="mix",
                               schedule=[(4, "NaCl + quinine", 10), (20, "NaCl + quinine", 24)])
    path = write_nwb(rec, tmp_path / "mix.nwb", session_start_time=START)
    _add_light(path, 10.0, 13.0)  # light from 10.0 s (frame 20, the second presentation's onset) until 13.0 s
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        back = read_nwb(path)
    assert back.schedule[["onset_frame", "label", "offset_frame"]].values.tolist() == \
        [[4, "NaCl + quinine", 10], [20, '"NaCl + quinine" + light', 26]]
    compound = [str(w.message) for w in caught if "compound stimulus" in str(w.message)]
    assert len(compound) == 1 and compound[0].endswith("""compound stimulus: '"NaCl + quinine" + light'"""), compound

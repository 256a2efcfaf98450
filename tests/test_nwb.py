"Tests of the NWB reader and writer: round trip, a foreign layout, and every error path."
import warnings
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from wormsae.data import DataError, Recording
from wormsae.nwb import is_nwb, nwb_series, read_nwb, write_nwb

START = datetime(2022, 3, 27, 9, 30, tzinfo=timezone.utc)


def toy_recording(T=150, fps=2.667, times="worm.world", seed=0):
    "Frame times 0.375 s apart with fps stated as 2.667, as in worm.world files (1 / 0.375 is not 2.667)."
    times = np.arange(T) * 0.375 if times == "worm.world" else times
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
    np.testing.assert_array_equal(a.times, b.times)
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
    assert back.meta["name_column"] == "neuron_name"
    assert back.meta["schedule_table"] == "stimuli"
    assert nwb_series(out) == ["processing/ophys/Fluorescence/RoiResponseSeries"]


def test_round_trip_irregular_times_and_no_extras(tmp_path):
    rng = np.random.default_rng(3)
    times = np.cumsum(0.6 + 0.01 * rng.random(80))
    rec = Recording.from_array(rng.normal(size=(80, 2)), ["A", "B"], fps=1 / np.median(np.diff(times)),
                               key="irregular", times=times)
    back = read_nwb(write_nwb(rec, tmp_path / "irregular.nwb"))
    assert_same(rec, back)
    assert len(back.schedule) == 0 and back.behaviour is None


def test_written_file_is_valid_nwb(tmp_path):
    import pynwb
    out = write_nwb(toy_recording(), tmp_path / "v.nwb")
    assert pynwb.validate(path=str(out)) == []


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
    with pytest.warns(UserWarning, match="1 interval"):
        rec = read_nwb(p)
    assert rec.key == "sub-1_ses-1_ophys"
    assert rec.neurons == ["RIML", "AVAL", "AIBR", "unlabeled_003"]  # table rows 2, 0, 3, 1; row 1 unnamed
    assert rec.meta["name_column"] == "ID_labels"
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
    assert rec.meta["label_conflicts"] == [{"label": "AVAL", "kept": 1, "dropped": [3]}]


# ---- errors ----

def test_no_roi_response_series(tmp_path):
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    nwb = NWBFile(session_description="x", identifier="x", session_start_time=START)
    nwb.add_acquisition(TimeSeries(name="temperature", data=np.ones(10), unit="C", rate=1.0))
    with NWBHDF5IO(tmp_path / "empty.nwb", "w") as io:
        io.write(nwb)
    with pytest.raises(DataError, match="empty.nwb: no RoiResponseSeries in the file"):
        read_nwb(tmp_path / "empty.nwb")


def test_ambiguous_series(tmp_path):
    p = foreign_nwb(tmp_path / "two.nwb", extra_series=True, stimuli=False)
    a, b = "processing/CalciumActivity/SignalDFoF/Signal", "processing/CalciumActivity/SignalRawFluor/Signal"
    with pytest.raises(DataError, match="several RoiResponseSeries") as e:
        read_nwb(p)
    assert a in str(e.value) and b in str(e.value) and "two.nwb" in str(e.value)
    with pytest.raises(DataError, match="'Signal' matches several"):
        read_nwb(p, series="Signal")
    with pytest.raises(DataError, match="no RoiResponseSeries matches 'Raw'"):
        read_nwb(p, series="Raw")
    assert read_nwb(p, series="SignalRawFluor").meta["series"] == b
    assert read_nwb(p, series=a).meta["series"] == a
    assert nwb_series(p) == [a, b]


def test_names_column_length_mismatch(tmp_path):
    out = write_nwb(toy_recording(), tmp_path / "short.nwb")
    col = "processing/ophys/ImageSegmentation/PlaneSegmentation/neuron_name"
    with h5py.File(out, "r+") as f:
        data, attrs = f[col][()], dict(f[col].attrs)
        del f[col]
        f.create_dataset(col, data=data[:4]).attrs.update(attrs)
    with pytest.raises(DataError, match="short.nwb: cannot read") as e:
        read_nwb(out)
    assert "id: 5 entries" in str(e.value) and "neuron_name: 4 entries" in str(e.value)


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

"""Tests of the worm.world chemosensory CSV reader and writer: bad files, a hand-written file, the round trip,
atomic writes, and a property-based test that random small CSVs either load exactly or raise `DataError`."""
import csv
import io
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

import wormsae as ws
import wormsae.wormworld as wwmod
from wormsae.data import DataError, Recording
from wormsae.wormworld import parse_stimulus_cell, read_wormworld_csv, time_of_header, write_wormworld_csv


def write(tmp_path, text, name="bad.csv"):
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8", newline="")
    return p


def assert_data_error(path, *fragments, reader=read_wormworld_csv):
    "The reader raises a DataError (not KeyError, IndexError, a pandas error...) naming the file and the problem."
    with pytest.raises(Exception) as e:
        reader(path)
    assert isinstance(e.value, DataError), f"{type(e.value).__name__}: {e.value}"
    msg = str(e.value)
    assert str(path) in msg, msg
    for f in fragments:
        assert f in msg, msg
    return msg


# ---- bad input: every case of issue 2, each a DataError naming the file and the problem ----

BAD = {
    "empty": ("", ["the file is empty"]),
    "header_only": ("neuron,0.0s,0.5s,stimulus,key\n", ["header but no neuron rows"]),
    "blank_lines_only": ("\n\n\n", ["no header row"]),
    "no_neuron_column": ("name,0.0s,0.5s\nAVAL,1,2\n", ["no 'neuron' column"]),
    "no_frame_columns": ("neuron,t0,t1,time\nAVAL,1,2,3\n", ["no frame columns", "'0'", "'0.0s'"]),
    "duplicated_neurons": ("neuron,0.0s\nAVAL,1\nRIML,2\nAVAL,3\n", ["duplicated neuron names", "'AVAL': [2, 4]"]),
    "duplicated_after_strip": ("neuron,0.0s\nAVAL,1\n\" AVAL \",3\n", ["duplicated neuron names", "'AVAL'"]),
    "empty_neuron_name": ("neuron,0.0s\nAVAL,1\n,2\n", ["row 3 has no neuron name"]),
    "nan_neuron_name": ("neuron,0.0s\nnan,1\n", ["neuron name missing"]),
    "non_numeric_cell": ("neuron,0.0s,0.5s\nAVAL,1,2\nRIML,3,oops\n",
                         ["row 3 (neuron 'RIML'), column '0.5s': 'oops' is not a number"]),
    "non_numeric_first_row": ("neuron,0.0s,0.5s\nAVAL,1 2,2\nRIML,3,4\n",
                              ["row 2 (neuron 'AVAL'), column '0.0s': '1 2' is not a number"]),
    "NA_is_not_missing": ("neuron,0.0s,0.5s\nAVAL,NA,2\n", ["row 2 (neuron 'AVAL'), column '0.0s': 'NA'"]),
    "infinite_cell": ("neuron,0.0s,0.5s\nAVAL,1,inf\n", ["infinite value"]),
    "stimulus_not_literal": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,CuSO4 at 0\n", ["not a Python-literal list"]),
    "stimulus_syntax_error": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,\"[(0, 'a')\"\n", ["not a Python-literal list"]),
    "stimulus_dict": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,\"{'a': 1}\"\n", ["holds a dict"]),
    "stimulus_string": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,'OP50'\n", ["holds a str"]),
    "stimulus_number": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,5\n", ["holds a"]),
    "stimulus_not_pairs": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,\"[0, 1]\"\n", ["stimulus entry 0 is '0'"]),
    "stimulus_short_pair": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,\"[(0, 'a'), (1,)]\"\n", ["stimulus entry 1"]),
    "stimulus_triple": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,\"[(0, 'a', 1)]\"\n", ["stimulus entry 0"]),
    "stimulus_label_not_str": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,\"[(0, 7)]\"\n", ["stimulus entry 0"]),
    "stimulus_label_empty": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,\"[(0, ' ')]\"\n", ["non-empty string"]),
    "stimulus_fractional_onset": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,\"[(0.5, 'a')]\"\n", ["whole frame"]),
    "stimulus_text_onset": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,\"[('soon', 'a')]\"\n", ["not a frame number"]),
    "stimulus_bool_onset": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,\"[(True, 'a')]\"\n", ["not a frame number"]),
    "stimulus_inf_onset": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,\"[(1e400, 'a')]\"\n", ["whole frame"]),
    "stimulus_deep_nesting": ("neuron,0.0s,stimulus\nAVAL,1,\"" + "[" * 5000 + "]" * 5000 + "\"\n",
                              ["not a Python-literal list"]),
    "onset_past_end": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,\"[(0, 'X'), (2, 'Y')]\"\n",
                       ["onset 2", "outside the recording's frames 0..1"]),
    "onset_negative": ("neuron,0.0s,0.5s,stimulus\nAVAL,1,2,\"[(-1, 'X')]\"\n", ["onset -1", "outside"]),
    "onsets_decreasing": ("neuron,0.0s,0.5s,1.0s,stimulus\nAVAL,1,2,3,\"[(2, 'X'), (1, 'Y')]\"\n",
                          ["onsets must increase", "entry 1 (1) follows entry 0 (2)"]),
    "onsets_repeated": ("neuron,0.0s,0.5s,1.0s,stimulus\nAVAL,1,2,3,\"[(1, 'X'), (1, 'Y')]\"\n", ["must increase"]),
    "two_keys": ("neuron,0.0s,key\nAVAL,1,rec_a\nRIML,2,rec_b\n", ["key column names several recordings",
                                                                  "'rec_a'", "'rec_b'"]),
    "duplicated_time_headers": ("neuron,0.0s,0.5s,0.0s\nAVAL,1,2,3\n", ["duplicated column headers ['0.0s']"]),
    "same_time_two_spellings": ("neuron,0s,0.5s,0.0s\nAVAL,1,2,3\n", ["duplicated column headers"]),
    "duplicated_neuron_header": ("neuron,neuron,0.0s\nAVAL,RIML,1\n", ["duplicated column headers ['neuron']"]),
    "unbalanced_quote": ("neuron,0.0s\n\"AVAL,1\n", ["not a readable CSV table"]),
    "too_many_fields": ("neuron,0.0s,0.5s\nAVAL,1,2\nRIML,1,2,3,4\n", ["row 3 has 5 fields but the header has 3"]),
    "latin1": ("neuron,0.0s\n\xe9AVAL,1\n".encode("latin-1"), ["not a text CSV file"]),
    "binary_garbage": (np.random.default_rng(0).integers(0, 256, 512, dtype=np.uint8).tobytes(),
                       ["not a text CSV file"]),
    "binary_with_nul": (b"\x00\x01\x02,\x03\n\x00\xfe\xff", []),
    "png_bytes": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(200)), []),
    # the published layout (frame columns named by frame number)
    "mixed_frame_headers": ("neuron,0,1,2,3,1.5s,2.0s\nAVAL,1,2,3,4,5,6\n",
                            ["named by frame number ('0', '1', '2', ...)", "by time in seconds ('1.5s', '2.0s')"]),
    "fractional_frame_number": (",neuron,0,1,98.5\n0,AVAL,1,2,3\n", ["frame column '98.5' is not a whole frame number"]),
    "negative_frame_number": (",neuron,-1,0,1\n0,AVAL,1,2,3\n", ["frame column '-1' has a negative frame number"]),
    "duplicated_frame_number": (",neuron,0,1,1.0,2\n0,AVAL,1,2,3,4\n", ["duplicated column headers ['1', '1.0']"]),
    "duplicated_frame_header": (",neuron,0,1,1\n0,AVAL,1,2,3\n", ["duplicated column headers ['1']"]),
    "absurd_frame_number": (",neuron,0,1,1e12\n0,AVAL,1,2,3\n", ["numbered up to 1000000000000 but there are only 3"]),
    "infinite_frame_number": (",neuron,0,1,1e400\n0,AVAL,1,2,3\n", ["frame column '1e400' is not a whole frame number"]),
    "published_non_numeric_cell": (",neuron,conf,0,1,key\n0,AVAL,0.9,1,2,k\n1,RIML,0.8,3,O.4,k\n",
                                   ["row 3 (neuron 'RIML'), column '1': 'O.4' is not a number"]),
    "published_onset_past_end": (",neuron,stimulus,0,1,key\n0,AVAL,\"[(2.0, 'OP50')]\",1,2,k\n", ["onset 2", "outside"]),
    "published_fractional_onset": (",neuron,stimulus,0,1,key\n0,AVAL,\"[(0.5, 'OP50')]\",1,2,k\n", ["whole frame"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_file_gives_data_error(tmp_path, case):
    text, fragments = BAD[case]
    p = write(tmp_path, text, f"{case}.csv")
    assert_data_error(p, *fragments)
    assert_data_error(p, *fragments, reader=ws.load)  # the same through format detection


def test_missing_file(tmp_path):
    assert_data_error(tmp_path / "absent.csv", "file not found")


def test_errors_are_valueerrors(tmp_path):
    p = write(tmp_path, "neuron,0.0s\nAVAL,x\n")
    with pytest.raises(ValueError):
        read_wormworld_csv(p)


@pytest.mark.parametrize("payload", [
    "__import__('os').system('touch {marker}')",
    "[(0, __import__('os').system('touch {marker}'))]",
    "(lambda: __import__('os').system('touch {marker}'))()",
    "[(0, 'a')] if __import__('os').system('touch {marker}') else []",
    "[(0, f'{{__import__(\"os\").system(\"touch {marker}\")}}')]",
    "[(0, 'a'), (exec('open(\"{marker}\", \"w\").close()'), 'b')]",
])
def test_stimulus_cell_never_executes_code(tmp_path, payload):
    marker = tmp_path / "pwned"
    cell = payload.format(marker=marker)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([["neuron", "0.0s", "0.5s", "stimulus"], ["AVAL", 1, 2, cell]])
    p = write(tmp_path, buf.getvalue(), "evil.csv")
    assert_data_error(p, "stimulus")
    assert_data_error(p, "stimulus", reader=ws.load)
    with pytest.raises(DataError):
        parse_stimulus_cell(cell, "evil.csv")
    assert not marker.exists()


# ---- regressions: inputs that once broke the reader ----

def test_trailing_comma_on_every_row(tmp_path):
    p = write(tmp_path, "neuron,0.0s,0.5s\nAVAL,1,2,\nRIML,3,4,\n")
    try:
        rec = read_wormworld_csv(p)
    except DataError:
        return  # refusing the file is acceptable too
    assert rec.neurons == ["AVAL", "RIML"]
    np.testing.assert_array_equal(rec.traces, [[1, 3], [2, 4]])


def test_one_row_with_an_extra_field(tmp_path):
    assert_data_error(write(tmp_path, "neuron,0s,1s\nAVAL,1,2,3\nRIML,1,2\n"))


def test_boolean_trace_cells_are_not_numbers(tmp_path):
    assert_data_error(write(tmp_path, "neuron,0.0s,0.5s\nAVAL,True,2\nRIML,False,4\n"), "'True'")


def test_boolean_and_blank_cells(tmp_path):
    assert_data_error(write(tmp_path, "neuron,0.0s,0.5s\nAVAL,True,2\nRIML,,4\n"))


def test_huge_integer_cell(tmp_path):
    p = write(tmp_path, "neuron,0.0s,0.5s\nAVAL,99999999999999999999999,2\nRIML,1,4\n")
    try:
        rec = read_wormworld_csv(p)
    except DataError:
        return  # refusing it is fine; crashing is not
    np.testing.assert_allclose(rec.traces[0, 0], 1e23, rtol=1e-6)


def test_duplicated_time_header_with_leading_space(tmp_path):
    assert_data_error(write(tmp_path, "neuron,0.0s, 0.0s,0.5s\nAVAL,1,2,3\n"))


def test_duplicated_time_header_after_blank_line(tmp_path):
    assert_data_error(write(tmp_path, "\nneuron,0.0s,0.0s\nAVAL,1,2\n"))


def test_absurd_frame_rate_with_schedule(tmp_path):
    assert_data_error(write(tmp_path, "neuron,0s,1e-300s,stimulus\nAVAL,1,2,\"[(0, 'a')]\"\n"))


def test_huge_header_field(tmp_path):
    assert_data_error(write(tmp_path, "neuron," + "x" * 200_000 + ",0s\nAVAL,1,2\n"))


def test_key_column_with_leading_space_header_keeps_text(tmp_path):
    assert read_wormworld_csv(write(tmp_path, "neuron, 0.0s, key\nAVAL,1,007\n")).key == "007"


def test_written_times_keep_their_precision(tmp_path):
    times = 10000 + np.arange(6) / 20
    rec = Recording.from_array(np.ones((6, 1)), ["AVAL"], fps=20.0, key="late", times=times)
    back = read_wormworld_csv(write_wormworld_csv(rec, tmp_path / "late.csv"))
    np.testing.assert_allclose(back.times, times, rtol=0, atol=1e-6)


# ---- a worm.world file written by hand ----

# Columns in an unusual order: stimulus first, frame columns out of time order and interleaved with metadata
# (one with a comma and quotes in its name), the neuron column in the middle, no key column (-> file stem).
# Frame k is at 0.5 k s (2 Hz); values are base + k/10 per neuron so every cell is checkable.
HAND = '''stimulus,1.5s,notes,0.0s,"quality, ""score""",Neuron,0.5s,1.0s,2.0s,2.5s,3.0s,3.5s
,1.3,"said ""hi"", twice",1.0,0.9,AVAL,1.1,1.2,,1.5,1.6,1.7
"[(1.0, 'NaCl'), ('4', 'OP50'), (6.0, '10mM CuSO4')]",2.3,,2.0,,ASHR,,2.2,2.4,2.5,2.6,2.7
,-3.3,"multi
line, note",-3.0,0.1, RIML ,-3.1,-3.2,-3.4,-3.5,-3.6,
'''


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_hand_written_file(tmp_path, newline):
    p = write(tmp_path, HAND.replace("\n", newline), "20220327_herm_9.csv")
    rec = read_wormworld_csv(p)
    assert rec.key == "20220327_herm_9"
    assert rec.neurons == ["AVAL", "ASHR", "RIML"]
    assert rec.traces.shape == (8, 3) and rec.traces.dtype == np.float32
    assert rec.fps == 2.0
    np.testing.assert_array_equal(rec.times, 0.5 * np.arange(8))
    nan = np.nan
    expected = np.array([[1.0, 1.1, 1.2, 1.3, nan, 1.5, 1.6, 1.7],
                         [2.0, nan, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7],
                         [-3.0, -3.1, -3.2, -3.3, -3.4, -3.5, -3.6, nan]], dtype=np.float32).T
    np.testing.assert_array_equal(np.argwhere(np.isnan(rec.traces)).tolist(), [[1, 1], [4, 0], [7, 2]])
    np.testing.assert_array_equal(rec.traces, expected)
    s = rec.schedule
    assert s.onset_frame.tolist() == [1, 4, 6] and s.label.tolist() == ["NaCl", "OP50", "10mM CuSO4"]
    N, O, C = "NaCl", "OP50", "10mM CuSO4"
    # default 15 s presentation = 30 frames, capped at the next onset and at the end: the same as the cycle here
    assert rec.stimulus_labels("presentation").tolist() == ["", N, N, N, O, O, C, C]
    assert rec.stimulus_labels("cycle").tolist() == ["", N, N, N, O, O, C, C]
    meta = rec.meta["neuron_metadata"]
    assert list(meta.columns) == ["notes", 'quality, "score"', "Neuron"]
    if newline == "\n":
        assert meta["notes"].iloc[0] == 'said "hi", twice' and meta["notes"].iloc[2] == "multi\nline, note"
        assert pd.isna(meta["notes"].iloc[1])


@pytest.mark.parametrize("presentation_s, expected", [
    (1.0, ["", "N", "N", "", "O", "O", "C", "C"]),   # 2 frames each
    (0.5, ["", "N", "", "", "O", "", "C", ""]),      # 1 frame each
    (1.5, ["", "N", "N", "N", "O", "O", "C", "C"]),  # 3 frames, OP50 capped at the next onset, CuSO4 at the end
])
def test_hand_written_file_presentation_windows(tmp_path, presentation_s, expected):
    rec = read_wormworld_csv(write(tmp_path, HAND, "h.csv"), presentation_s=presentation_s)
    names = {"N": "NaCl", "O": "OP50", "C": "10mM CuSO4", "": ""}
    assert rec.stimulus_labels("presentation").tolist() == [names[x] for x in expected]
    assert rec.stimulus_labels("cycle").tolist() == [names[x] for x in ["", "N", "N", "N", "O", "O", "C", "C"]]
    offsets = {1.0: [3, 6, 8], 0.5: [2, 5, 7], 1.5: [4, 6, 8]}[presentation_s]
    assert rec.schedule.offset_frame.tolist() == offsets


def test_real_panel_timing(tmp_path):
    "0.375 s frames (2.667 Hz), onsets 60 s = 160 frames apart: a 15 s presentation is 40 frames."
    T = 400
    header = ["neuron"] + [f"{0.375 * k:g}s" for k in range(T)] + ["stimulus", "key"]
    rows = [["AVAL"] + ["1.5"] * T + ["[(20, 'OP50'), (180.0, '10mM CuSO4'), ('340', 'OP50')]", "20220327_herm_2"],
            ["AVAR"] + [""] * T + ["", "20220327_herm_2"]]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header] + rows)
    rec = read_wormworld_csv(write(tmp_path, buf.getvalue(), "whatever.csv"))
    assert rec.key == "20220327_herm_2"  # the key column wins over the stem
    assert rec.fps == pytest.approx(1 / 0.375)
    assert np.isnan(rec.traces[:, 1]).all() and (rec.traces[:, 0] == 1.5).all()
    assert rec.schedule.offset_frame.tolist() == [60, 220, 380]
    assert rec.schedule.repeat.tolist() == [0, 0, 1]
    lab = rec.stimulus_labels()
    assert (lab == "OP50").sum() == 80 and (lab == "10mM CuSO4").sum() == 40 and (lab == "").sum() == T - 120
    cyc = rec.stimulus_labels("cycle")
    assert (cyc[:20] == "").all() and (cyc[20:180] == "OP50").all() and (cyc[180:340] == "10mM CuSO4").all()
    assert (cyc[340:] == "OP50").all()


def test_schedule_option_overrides_the_file(tmp_path):
    rec = read_wormworld_csv(write(tmp_path, HAND, "h.csv"), schedule=[(0, "X")], presentation_s=1.0)
    assert rec.schedule[["onset_frame", "label", "offset_frame"]].values.tolist() == [[0, "X", 2]]
    p = write(tmp_path, "neuron,0.0s,0.5s,stimulus\nAVAL,1,2,not a list\n", "bad_stim.csv")
    assert len(read_wormworld_csv(p, schedule=[]).schedule) == 0  # the bad cell is not even parsed


def test_short_rows_and_blank_stimulus(tmp_path):
    rec = read_wormworld_csv(write(tmp_path, "neuron,0s,1s,2s,stimulus\nAVAL,1\nRIML,1,2,3,  \n", "s.csv"))
    np.testing.assert_array_equal(np.isnan(rec.traces), [[False, False], [True, False], [True, False]])
    assert len(rec.schedule) == 0


# ---- the published layout: numbered frame columns, 9 metadata columns, 98 empty leading frames ----

PANEL_FRAMES, BLANK = 4979, 98
PUB_NEURONS = ["AIBL", "ASHR", "AVAL", "RIML"]
PUB_CONF = ["0.95", "0.4", "", "0.7"]  # AVAL has no confidence
PUB_STIM = "[(180.0, 'OP50'), (340.0, '10mM CuSO4'), (500.0, 'OP50'), (4800.0, 'Control')]"


def planted(j, i):
    "The value planted for neuron j at frame i (exact in 4 decimals)."
    return j + i / 10000


def published_file(tmp_path, name="20220327_herm_2.csv", index_header="Unnamed: 0", frames=None, float_headers=False,
                   conf=PUB_CONF, holes=((1, 1000), (3, 4978))):
    """A file laid out as the published ones: 9 metadata columns (pandas index first), one column per frame named by
    its number, the first 98 frames empty for every neuron, float onsets in the first row, a trailing key."""
    frames = range(PANEL_FRAMES) if frames is None else frames
    header = [index_header, "neuron", "neuron_group", "conf", "cell_id", "x", "y", "z", "stimulus"]
    header += [f"{i}.0" if float_headers else str(i) for i in frames] + ["key"]
    rows = []
    for j, n in enumerate(PUB_NEURONS):
        cells = ["" if i < BLANK or (j, i) in holes else f"{planted(j, i):.4f}" for i in frames]
        rows.append([j, n, n[:3], conf[j], f"roi_{j:03d}", 1.5 * j, 2.0, -0.5, PUB_STIM if j == 0 else ""]
                    + cells + ["20220327_herm_2"])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header] + rows)
    return write(tmp_path, buf.getvalue(), name)


def expected_traces(frames=range(PANEL_FRAMES), holes=((1, 1000), (3, 4978))):
    "The traces the published file must read as: planted values, NaN in the empty leading frames, holes and absent frames."
    out = np.full((PANEL_FRAMES, len(PUB_NEURONS)), np.nan, np.float32)
    for i in frames:
        if i >= BLANK:
            out[i] = [planted(j, i) for j in range(len(PUB_NEURONS))]
    for j, i in holes:
        out[i, j] = np.nan
    return out


@pytest.mark.parametrize("index_header", ["Unnamed: 0", ""])
def test_published_layout(tmp_path, index_header):
    rec = read_wormworld_csv(published_file(tmp_path, index_header=index_header))
    assert rec.key == "20220327_herm_2" and rec.neurons == PUB_NEURONS
    assert rec.traces.shape == (4979, 4) and rec.traces.dtype == np.float32
    assert np.isnan(rec.traces).sum() == 98 * 4 + 2  # the empty leading frames are kept, plus two empty cells
    assert np.isnan(rec.traces[:98]).all() and not np.isnan(rec.traces[98]).any()
    np.testing.assert_allclose(rec.traces, expected_traces(), rtol=0, atol=1e-6)
    assert rec.fps == pytest.approx(2.667, abs=1e-3) and rec.fps == 1 / 0.375
    np.testing.assert_allclose(rec.times[[0, 1, 4978]], [0, 0.375, 4978 * 0.375])
    assert rec.duration == pytest.approx(1867.125)  # 4979 frames of 0.375 s
    assert (rec.meta["frame_header"], rec.meta["fps_source"], rec.meta["absent_frames"]) == ("frame number", "default", [])
    s = rec.schedule
    assert s.onset_frame.tolist() == [180, 340, 500, 4800]  # float onsets, frames counted from 0 incl. the empty ones
    assert s.label.tolist() == ["OP50", "10mM CuSO4", "OP50", "Control"]
    assert (s.offset_frame - s.onset_frame).tolist() == [40, 40, 40, 40]  # 15 s presentations = 40 frames
    assert s.repeat.tolist() == [0, 0, 1, 0]
    labels = rec.stimulus_labels()
    assert (labels == "OP50").sum() == 80 and (labels[180:220] == "OP50").all() and labels[220] == ""
    info = rec.meta["neuron_info"]
    assert info.name.tolist() == PUB_NEURONS and info.neuron_group.tolist() == ["AIB", "ASH", "AVA", "RIM"]
    np.testing.assert_array_equal(info.confidence.to_numpy(), [0.95, 0.4, np.nan, 0.7])
    assert info.row.tolist() == [2, 3, 4, 5]
    meta = rec.meta["neuron_metadata"]
    assert list(meta.columns) == [index_header, "neuron", "neuron_group", "conf", "cell_id", "x", "y", "z"]
    assert meta[index_header].tolist() == ["0", "1", "2", "3"]  # the pandas index is metadata, never a frame
    assert meta["cell_id"].tolist() == ["roi_000", "roi_001", "roi_002", "roi_003"]


def test_published_layout_fps_option(tmp_path):
    p = published_file(tmp_path)
    rec = read_wormworld_csv(p, fps=3.0)
    assert rec.fps == 3.0 and rec.meta["fps_source"] == "fps option"
    np.testing.assert_allclose(rec.times[[1, 4978]], [1 / 3, 4978 / 3])
    # the presentation length in frames follows the rate: 15 s at 3 Hz = 45 frames
    assert (rec.schedule.offset_frame - rec.schedule.onset_frame).tolist() == [45, 45, 45, 45]
    assert ws.load(p, fps=3.0).fps == 3.0
    col = ws.load_many([p], fps=3.0, min_confidence=0.5)
    assert col[0].fps == 3.0 and col[0].neurons == ["AIBL", "RIML"]


@pytest.mark.parametrize("fps", [0, -2.667, float("nan"), float("inf"), "2.667", True, 1e6])
def test_bad_fps_option(tmp_path, fps):
    p = published_file(tmp_path)
    with pytest.raises(DataError, match="is not a usable frame rate") as e:
        read_wormworld_csv(p, fps=fps)
    assert str(p) in str(e.value)
    with pytest.raises(DataError, match="is not a usable frame rate"):
        ws.load(p, fps=fps)


def test_fps_option_against_seconds_headers(tmp_path):
    p = write(tmp_path, "neuron,0.0s,0.375s,0.75s,1.125s\nAVAL,1,2,3,4\n", "secs.csv")
    assert read_wormworld_csv(p).meta["fps_source"] == "headers"
    agree = read_wormworld_csv(p, fps=2.667)  # the nominal rate, within 1% of the headers'
    assert agree.fps == pytest.approx(1 / 0.375) and agree.meta["fps_source"] == "headers"
    msg = assert_data_error_with(p, dict(fps=2.0), "fps=2 contradicts the frame times in the headers", "2.667")
    assert "'0.0s', '0.375s'" in msg


def assert_data_error_with(path, options, *fragments):
    "Like assert_data_error, with reader options."
    return assert_data_error(path, *fragments, reader=lambda p: read_wormworld_csv(p, **options))


@pytest.mark.parametrize("float_headers", [False, True])
def test_file_starting_at_frame_98(tmp_path, float_headers):
    "A file without the 98 empty columns ('98.0', '99.0', ...): the frames before come back as NaN, without a warning."
    p = published_file(tmp_path, frames=range(98, PANEL_FRAMES), float_headers=float_headers)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = read_wormworld_csv(p)
    assert rec.traces.shape == (4979, 4)
    np.testing.assert_allclose(rec.traces, expected_traces(), rtol=0, atol=1e-6)
    assert rec.meta["absent_frames"] == list(range(98))
    assert rec.schedule.onset_frame.tolist() == [180, 340, 500, 4800]  # onsets still count from frame 0
    assert (rec.stimulus_labels()[180:220] == "OP50").all() and rec.stimulus_labels()[179] == ""


def test_float_headers_with_empty_leading_columns(tmp_path):
    rec = read_wormworld_csv(published_file(tmp_path, float_headers=True))
    np.testing.assert_allclose(rec.traces, expected_traces(), rtol=0, atol=1e-6)
    assert rec.meta["absent_frames"] == []


def test_interior_gap_warns_once_and_keeps_onsets(tmp_path):
    frames = [i for i in range(PANEL_FRAMES) if not 2000 <= i < 2003 and i != 3000]
    p = published_file(tmp_path, frames=frames)
    with pytest.warns(UserWarning) as caught:
        rec = read_wormworld_csv(p)
    gap = [w for w in caught if "have no column" in str(w.message)]
    assert len(gap) == 1
    assert str(p) in str(gap[0].message) and "4 frame(s)" in str(gap[0].message) and "the first is 2000" in str(gap[0].message)
    assert rec.traces.shape == (4979, 4) and rec.meta["absent_frames"] == [2000, 2001, 2002, 3000]
    np.testing.assert_allclose(rec.traces, expected_traces(frames), rtol=0, atol=1e-6)
    assert np.isnan(rec.traces[[2000, 2001, 2002, 3000]]).all()
    assert rec.traces[2003, 0] == np.float32(planted(0, 2003))  # frames after the gap stay where their numbers say
    assert rec.schedule.onset_frame.tolist() == [180, 340, 500, 4800]


def test_min_confidence(tmp_path):
    p = published_file(tmp_path)
    with pytest.warns(UserWarning, match="min_confidence=0.5 dropped 2 of 4 neurons") as caught:
        rec = read_wormworld_csv(p, min_confidence=0.5)
    assert "'ASHR', 'AVAL'" in str(caught[0].message) and str(p) in str(caught[0].message)
    assert rec.neurons == ["AIBL", "RIML"]  # 0.4 is below, a missing confidence counts as below
    np.testing.assert_allclose(rec.traces, expected_traces()[:, [0, 3]], rtol=0, atol=1e-6)
    assert rec.meta["neuron_info"].name.tolist() == ["AIBL", "RIML"]
    assert rec.meta["neuron_metadata"].neuron.tolist() == ["AIBL", "RIML"]
    low = rec.meta["low_confidence"]
    assert low.name.tolist() == ["ASHR", "AVAL"] and low.row.tolist() == [3, 4]
    assert low.confidence.iloc[0] == 0.4 and np.isnan(low.confidence.iloc[1])
    assert rec.schedule.onset_frame.tolist() == [180, 340, 500, 4800]  # the schedule is in the first row, even if dropped
    with pytest.warns(UserWarning, match="dropped 1 of 4 neurons whose confidence is lower or missing: 'AVAL'$"):
        assert read_wormworld_csv(p, min_confidence=0.4).neurons == ["AIBL", "ASHR", "RIML"]  # equal to it is kept
    assert ws.load(p, min_confidence=0.9).neurons == ["AIBL"]
    assert read_wormworld_csv(p).meta["low_confidence"].empty


def test_min_confidence_errors(tmp_path):
    p = published_file(tmp_path)
    assert_data_error_with(p, dict(min_confidence=0.99), "min_confidence=0.99 leaves no neuron", "0.95")
    for bad in ("0.5", float("nan"), True):
        assert_data_error_with(p, dict(min_confidence=bad), "is not a number")
    no_conf = write(tmp_path, "neuron,0,1\nAVAL,1,2\n", "no_conf.csv")
    assert_data_error_with(no_conf, dict(min_confidence=0.5), "needs a 'conf' column")
    words = published_file(tmp_path, name="words.csv", conf=["0.95", "high", "", "0.7"])
    assert_data_error_with(words, dict(min_confidence=0.5), "row 3 (neuron 'ASHR'), column 'conf': 'high' is not a number")
    with pytest.warns(UserWarning, match="row 3 \\(neuron 'ASHR'\\), column 'conf': 'high' is not a number; its "
                                         "confidence is taken as missing"):
        rec = read_wormworld_csv(words)  # unused, so not an error: but never a silent number
    assert np.isnan(rec.meta["neuron_info"].confidence.iloc[1])


def test_the_two_layouts_read_the_same(tmp_path):
    "The same recording written in the published layout and in the '0.0s' dialect reads back identically."
    rec = ws.read_wormworld_csv(published_file(tmp_path))
    meta = rec.meta["neuron_metadata"].drop(columns=["Unnamed: 0", "neuron"])
    a = read_wormworld_csv(write_wormworld_csv(rec, tmp_path / "a.csv", metadata=meta, layout="published"))
    b = read_wormworld_csv(write_wormworld_csv(rec, tmp_path / "b.csv", metadata=meta, layout="seconds"))
    assert (a.meta["frame_header"], b.meta["frame_header"]) == ("frame number", "seconds")
    np.testing.assert_array_equal(a.traces, b.traces)
    np.testing.assert_array_equal(a.traces, rec.traces)
    assert a.fps == rec.fps and b.fps == pytest.approx(rec.fps, rel=1e-6)
    pd.testing.assert_frame_equal(a.schedule, b.schedule)
    pd.testing.assert_frame_equal(a.meta["neuron_info"].drop(columns="row"), rec.meta["neuron_info"].drop(columns="row"))
    pd.testing.assert_frame_equal(b.meta["neuron_info"], a.meta["neuron_info"])


def test_writer_published_layout(tmp_path):
    rec = read_wormworld_csv(published_file(tmp_path))
    meta = pd.DataFrame({"neuron_group": ["AIB", "ASH", "AVA", "RIM"], "conf": [0.95, 0.4, np.nan, 0.7],
                         "roi": [1, 2, 3, 4], "sex": "herm", "strain": "s", "notes": ""})
    out = write_wormworld_csv(rec, tmp_path / "w.csv", metadata=meta)  # auto: the published layout
    with open(out, newline="") as f:
        header, first, second = [next(csv.reader(f)) for _ in range(3)]
    assert header[:9] == ["", "neuron", "neuron_group", "conf", "roi", "sex", "strain", "notes", "stimulus"]
    assert header[9:-1] == [str(i) for i in range(4979)] and header[-1] == "key"
    assert first[:4] == ["0", "AIBL", "AIB", "0.95"] and second[3] == "0.4"
    assert first[8] == PUB_STIM and second[8] == ""  # float onsets, in the first row only
    assert first[9:9 + 98] == [""] * 98 and first[9 + 98] == "0.0098" and first[-1] == "20220327_herm_2"
    # third-party readers of the real files skip 9 metadata columns and stop before the trailing key
    df = pd.read_csv(out)
    assert list(df.columns[9:-1].astype(float)) == list(range(4979))
    np.testing.assert_allclose(df.iloc[:, 9:-1].to_numpy(float).T, rec.traces, atol=1e-6)


def test_writer_layout_errors(tmp_path):
    slow = Recording.from_array(np.ones((5, 1)), ["AVAL"], fps=2.0, key="slow")
    with pytest.raises(ValueError, match="runs at 2 Hz from 0 s: write it with layout='seconds'"):
        write_wormworld_csv(slow, tmp_path / "slow.csv", layout="published")
    late = Recording.from_array(np.ones((5, 1)), ["AVAL"], fps=1 / 0.375, key="late", times=10 + 0.375 * np.arange(5))
    with pytest.raises(ValueError, match="from 10 s"):
        write_wormworld_csv(late, tmp_path / "late.csv", layout="published")
    assert read_wormworld_csv(write_wormworld_csv(late, tmp_path / "late.csv")).times[0] == 10  # auto keeps the times
    with pytest.raises(ValueError, match="layout must be 'auto', 'published' or 'seconds'"):
        write_wormworld_csv(slow, tmp_path / "x.csv", layout="excel")
    for clash in ("key", "Stimulus", "", "12", "0.5s"):
        with pytest.raises(ValueError, match="clash with the columns the file needs itself"):
            write_wormworld_csv(slow, tmp_path / "x.csv", metadata=pd.DataFrame({clash: ["a"]}))
    assert list(tmp_path.iterdir()) == [tmp_path / "late.csv"]


# ---- written by the package: round trip and atomic writes ----

def toy_recording(key="20220327_herm_2", seed=0, T=300):
    rng = np.random.default_rng(seed)
    tr = (rng.normal(size=(T, 4)) * 3 + 5).astype(np.float32)
    tr[[0, 10, 11, T - 1], [1, 3, 3, 0]] = np.nan
    tr[5, 2] = -0.00004  # rounds to -0.0000
    return Recording.from_array(tr, ["AVAL", "odd, \"name\"", "ASHR", "unlabeled_003"], fps=2.667, key=key,
                                schedule=[(12, "10mM CuSO4"), (172, "e-2 IAA"), (250, "1uM ascr#3")],
                                presentation_s=15)


@pytest.mark.parametrize("layout", ["published", "seconds"])
def test_round_trip(tmp_path, layout):
    rec = toy_recording()  # 2.667 Hz: the panel's rate to 0.1%, so the published layout can carry it
    meta = pd.DataFrame({"class": ["inter, command", 'say "x"', "sensory\nnew line", ""], "score": [1, 2, 3, 4]})
    out = write_wormworld_csv(rec, tmp_path / "file_stem.csv", metadata=meta, layout=layout)
    assert out == tmp_path / "file_stem.csv" and os.listdir(tmp_path) == ["file_stem.csv"]
    back = read_wormworld_csv(out)
    assert back.key == rec.key  # from the key column, not the stem
    assert back.neurons == rec.neurons
    assert back.traces.shape == rec.traces.shape
    np.testing.assert_array_equal(np.isnan(back.traces), np.isnan(rec.traces))
    want = np.array([[np.nan if v != v else float(f"{v:.4f}") for v in row] for row in rec.traces.tolist()],
                    dtype=np.float32)
    np.testing.assert_allclose(back.traces, want, rtol=1e-7, atol=0)
    assert np.nanmax(np.abs(back.traces - rec.traces)) <= 5e-5 + 1e-6
    if layout == "seconds":
        np.testing.assert_allclose(back.times, rec.times, rtol=1e-5)
        assert back.fps == pytest.approx(rec.fps, rel=1e-3)  # re-estimated from headers with 6 significant digits
        assert back.meta["fps_source"] == "headers"
    else:  # numbered frames at the panel's nominal rate: 2.667 Hz reads back as 1 / 0.375 s
        assert back.fps == 1 / 0.375 and back.meta["fps_source"] == "default"
        np.testing.assert_allclose(back.times, 0.375 * np.arange(rec.n_frames))
    pd.testing.assert_frame_equal(back.schedule, rec.schedule)
    for w in ("presentation", "cycle"):
        np.testing.assert_array_equal(back.stimulus_labels(w), rec.stimulus_labels(w))
    got = back.meta["neuron_metadata"]
    own = {"published": ["", "neuron", "neuron_group", "conf"], "seconds": ["neuron"]}[layout]
    assert list(got.columns) == own + ["class", "score"]
    assert got["class"].fillna("").tolist() == meta["class"].tolist()
    assert got["score"].tolist() == ["1", "2", "3", "4"]  # metadata stays text
    assert back.meta["neuron_info"].name.tolist() == rec.neurons
    assert back.meta["neuron_info"].confidence.isna().all()  # no conf given
    # the same through the public entry points
    again = ws.load(ws.save(rec, tmp_path / "x.csv", layout=layout))
    np.testing.assert_array_equal(again.traces, back.traces)


def test_round_trip_fewer_decimals_and_no_schedule(tmp_path):
    rec = Recording.from_array(np.array([[1.23456, np.nan], [-2.5, 1e4 / 3]]), ["A", "B"], fps=1.0, key="k")
    back = read_wormworld_csv(write_wormworld_csv(rec, tmp_path / "k.csv", decimals=2))
    np.testing.assert_array_equal(back.traces, np.array([[1.23, np.nan], [-2.5, 3333.33]], dtype=np.float32))
    assert len(back.schedule) == 0


def test_write_rejects_bad_metadata(tmp_path):
    with pytest.raises(ValueError, match="metadata has 1 rows for 4 neurons"):
        write_wormworld_csv(toy_recording(), tmp_path / "m.csv", metadata=pd.DataFrame({"a": [1]}))
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "rec.csv"
    write_wormworld_csv(toy_recording(seed=1), path)
    before = path.read_bytes()
    real_quote, during = wwmod._quote, []

    def flaky(x):  # fails at the third neuron's row, after the header and two rows went to a temporary file
        if x == "ASHR":
            during.append(sorted(os.listdir(tmp_path)))
            raise OSError("disk full")
        return real_quote(x)
    monkeypatch.setattr(wwmod, "_quote", flaky)
    with pytest.raises(OSError, match="disk full"):
        write_wormworld_csv(toy_recording(seed=2), path)
    assert len(during) == 1 and len(during[0]) == 2  # it failed mid-write, with a temporary file beside rec.csv
    assert os.listdir(tmp_path) == ["rec.csv"]  # no temporary file left
    assert path.read_bytes() == before
    # a failed first write leaves nothing at all
    with pytest.raises(OSError, match="disk full"):
        write_wormworld_csv(toy_recording(seed=2), tmp_path / "new.csv")
    assert os.listdir(tmp_path) == ["rec.csv"]


def test_time_headers():
    assert time_of_header("0.375s") == 0.375 and time_of_header(" 12 s ") == 12.0 and time_of_header("1e2s") == 100
    assert time_of_header("-1.5s") == -1.5 and time_of_header(".5s") == 0.5
    assert [time_of_header(x) for x in ["neuron", "s", "12", "12.5 sec", "t12s", "12ss", "nans", "", None]] == [None] * 9


# ---- property: random small CSVs load exactly as written, or raise DataError; nothing else ----

GOOD_NAMES = ["AVAL", "AVAR", "ASHL", "RIML", "AIBL", " AIBR", "AWCL ", "unlabeled_001", "1", "a,b", 'q"uote',
              "new\nline", "ÄSHR", "NA", "None"]
BAD_NAMES = ["", " ", "nan", "NaN", " nan "]
LABELS = ["OP50", "10mM CuSO4", "e-2 IAA", "1uM ascr#3", "Control", "a, b", "it's", 'say "x"']
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=6)
KNOWN_BUG_CELLS = ["True", "False", "TRUE", "true", "99999999999999999999999"]


def _is_junk(s: str) -> bool:
    "Not empty and not a number by Python's rules (True/False and friends are exercised by the extended strategy)."
    if not s.strip() or s.strip().lower() in {"true", "false"}:
        return False
    try:
        float(s)
        return False
    except ValueError:
        return True


JUNK = TEXT.map(lambda s: s if _is_junk(s) else "x" + s)  # a trace cell that is neither a number nor empty
NAME = st.one_of(st.sampled_from(GOOD_NAMES), TEXT.filter(lambda n: n.strip() and n.strip().lower() != "nan"))


@st.composite
def number(draw) -> tuple[str, float]:
    "A number as text, in one of the spellings files use."
    kind = draw(st.sampled_from(["int", "repr", "fixed", "exp"]))
    if kind == "int":
        v = draw(st.integers(-10**6, 10**6))
        return str(v), float(v)
    v = draw(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
    text = {"repr": repr(v), "fixed": f"{v:.4f}", "exp": f"{v:.3e}"}[kind]
    return text, float(text)


def bad_stimulus(draw, n_frames: int) -> str:
    "A stimulus cell that is wrong for any recording of n_frames >= 1 frames."
    fixed = ["{'a': 1}", "'OP50'", "42", "[(1,)]", "[(1, 2)]", "[1, 2]", "[(0.5, 'a')]", "[('x', 'a')]",
             "[(0, '')]", f"[({n_frames}, 'a')]", "[(-1, 'a')]", "[(0, 'a'), (0, 'b')]", "[(0, 'a')",
             "[(1e400, 'a')]", "[(True, 'a')]", "__import__('os').system('true')", "None", "[None]",
             "[(0, 'a', 'b', 'c')]", "{(0, 'a')}", "b'[(0, 1)]'", "[(0, b'a')]"]
    if n_frames >= 2:
        fixed.append("[(1, 'a'), (0, 'b')]")
    return draw(st.one_of(st.sampled_from(fixed), TEXT.map(lambda s: "x" + s)))


def one_in(draw, n: int) -> bool:
    return draw(st.integers(0, n - 1)) == 0


@st.composite
def random_csv(draw, extended=False):
    """CSV text, the reasons a correct reader must refuse it (empty: it must load), and what it must return.
    Most files are valid; each kind of fault is planted in a minority of them, so both paths are exercised."""
    bad = []
    n_rows = 0 if one_in(draw, 10) else draw(st.integers(1, 4))
    if n_rows == 0:
        bad.append("no rows")
    numbered = draw(st.booleans())  # frame columns named by frame number (published layout) or by time ('0.0s')
    if numbered:
        # frame numbers, possibly starting above 0 or with gaps: the missing frames must come back as NaN rows
        top = 1500 if extended else 12
        times = [] if one_in(draw, 10) else sorted(draw(st.sets(st.integers(0, top), min_size=1, max_size=5)))
        spell = [str, lambda k: f"{k}.0", lambda k: f"{k:.2f}", lambda k: f"{k}e0", lambda k: f" {k} "]
        n_frames = times[-1] + 1 if times else 0
        if times and n_frames - len(times) > max(len(times), 1000):
            bad.append("frame numbers too sparse")
    else:
        # frame times: multiples of 1/8 s, up to 20 s apart (1000 s in the extended test: presentations < 1 frame)
        max_t = 1000 if extended else 20
        times = [] if one_in(draw, 10) else sorted(draw(st.sets(st.integers(0, max_t * 8), min_size=1, max_size=5)))
        times = [t / 8 for t in times]
        spell = [lambda t: f"{t}s", lambda t: f"{t:g}s", lambda t: f"{t:.3f}s", lambda t: f"{t} s"]
        n_frames = len(times)
    if not times:
        bad.append("no frame columns")
    headers = [draw(st.sampled_from(spell))(t) for t in times]
    if times and one_in(draw, 8):  # the same frame or time again, same or other spelling
        h = draw(st.sampled_from(spell))(draw(st.sampled_from(times)))
        headers.append(" " + h if extended and draw(st.booleans()) else h)
        bad.append("repeated frame")
    names = draw(st.lists(NAME, min_size=n_rows, max_size=n_rows, unique_by=lambda n: n.strip()))
    if n_rows and one_in(draw, 5):
        i = draw(st.integers(0, n_rows - 1))
        names[i] = draw(st.sampled_from(BAD_NAMES + [" " + names[0] + " "] * (n_rows > 1 and i != 0)))
        bad.append("bad names")
    cells, values = [], []
    for _ in range(n_rows):
        row = [("", np.nan) if one_in(draw, 5) else draw(number()) for _ in headers]
        if extended and row and one_in(draw, 3):
            cell = draw(st.sampled_from(KNOWN_BUG_CELLS))
            big = cell.isdigit()
            row[draw(st.integers(0, len(row) - 1))] = (cell, float(cell) if big else np.nan)
            bad.append("?huge integer" if big else "boolean cell")  # '?': refusing is allowed, not required
        cells.append([c for c, _ in row])
        values.append([v for _, v in row])
    for i, name in enumerate(names):  # a row of only empty fields is a blank line, not a nameless neuron
        if not name.strip() and headers and cells[i][0] == "":
            cells[i][0], values[i][0] = "1.0", 1.0
    if n_rows and headers and one_in(draw, 5):
        i, j = draw(st.integers(0, n_rows - 1)), draw(st.integers(0, len(headers) - 1))
        cells[i][j] = draw(JUNK)
        bad.append("junk cell")
    columns = []  # (header, cells); headers may repeat
    if one_in(draw, 20):
        bad.append("no neuron column")
    else:
        columns.append((draw(st.sampled_from(["neuron", "Neuron", "NEURON "])), names))
    for j, h in enumerate(headers):
        columns.append((h, [r[j] for r in cells]))
    metadata = ["cell class", 'quality, "score"', "notes", "s", "t0", "", "Unnamed: 0", "neuron_group", "conf"]
    metadata = draw(st.sets(st.sampled_from(metadata), max_size=4)) | ({"0.5"} if one_in(draw, 10) else set())
    for m in sorted(metadata):
        columns.append((m, [draw(st.one_of(TEXT, st.just(""), number().map(lambda x: x[0]))) for _ in range(n_rows)]))
        if m == "0.5":  # a bare number is a frame header: mixed with times, or a fractional frame number
            bad.append("number as a metadata header")
    schedule = []
    if n_rows and draw(st.booleans()):
        stim = [draw(st.sampled_from(["", " "])) for _ in range(n_rows)]
        row = draw(st.integers(0, n_rows - 1))
        if n_frames and not one_in(draw, 4):
            onsets = sorted(draw(st.sets(st.integers(0, n_frames - 1), min_size=int(not one_in(draw, 4)), max_size=4)))
            schedule = [(o, draw(st.sampled_from(LABELS))) for o in onsets]
            spelled = [draw(st.sampled_from([str(o), f"{o}.0", f"'{o}'", f"{o}e0"])) for o in onsets]
            items = [f"({o}, {lab!r})" for o, (_, lab) in zip(spelled, schedule)]
            shapes = ["[{}]", "({},)", " [ {} ] "] if items else ["[]", "()", " [ ] "]
            stim[row] = draw(st.sampled_from(shapes)).format(", ".join(items))
        else:
            stim[row] = bad_stimulus(draw, max(n_frames, 1))
            bad.append("bad stimulus")
        columns.append(("stimulus", stim))
    key = None
    if n_rows and draw(st.booleans()):
        key = draw(st.sampled_from(["rec1", "20220327_herm_2", "007", "a b"]))
        keys = [draw(st.sampled_from([key, key, ""])) for _ in range(n_rows)]
        if one_in(draw, 5):
            keys[0] = "other"
            key = "other"
            if len({k for k in keys if k}) > 1:
                bad.append("two keys")
        if not any(keys):
            key = None
        columns.append(("key", keys))
    columns = draw(st.permutations(columns))
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    if any("\r" in str(c) for _, col in columns for c in col) or any("\r" in h for h, _ in columns):
        # Python's csv module quotes only the characters of its own line terminator, and an unquoted
        # carriage return ends a record by the CSV rules: such a file is not the valid file planned here
        terminator = "\r\n"
    trailing = [""] if extended and n_rows and one_in(draw, 4) else []  # a trailing comma (Excel style)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=terminator)
    w.writerow([h for h, _ in columns])
    for i in range(n_rows):
        w.writerow([c[i] for _, c in columns] + trailing)
    text = buf.getvalue()
    order = sorted(range(len(times)), key=lambda j: times[j])
    traces = np.array([[row[j] for row in values] for j in order], dtype=np.float32).reshape(len(times), n_rows)
    if numbered:  # frame number k is row k; frames without a column are NaN rows
        padded = np.full((n_frames, n_rows), np.nan, dtype=np.float32)
        padded[[times[j] for j in order]] = traces
        traces, frame_times = padded, np.arange(n_frames) / (1 / 0.375)
    else:
        frame_times = [times[j] for j in order]
    expected = dict(names=[n.strip() for n in names], times=frame_times, traces=traces, schedule=schedule, key=key)
    return text, bad, expected


PROPERTY = settings(max_examples=200, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def check_random_csv(folder: Path, case):
    text, bad, expected = case
    path = folder / "prop.csv"
    path.write_text(text, encoding="utf-8", newline="")
    try:
        rec = read_wormworld_csv(path)
    except DataError as e:
        assert str(path) in str(e)
        assert bad, f"a valid file was refused: {e}\n{text}"
        event(f"refused ({bad[0]})")
        return
    except Exception as e:  # anything but a DataError is a failure of the property (not an error of the test)
        raise AssertionError(f"{type(e).__name__} instead of DataError: {e}\n{text!r}") from e
    assert not [b for b in bad if not b.startswith("?")], f"loaded although {bad}\n{text}"
    n_rows, n_time = len(expected["names"]), len(expected["times"])
    assert rec.traces.shape == (n_time, n_rows)
    assert rec.neurons == expected["names"]
    np.testing.assert_array_equal(rec.times, expected["times"])
    np.testing.assert_array_equal(np.isnan(rec.traces), np.isnan(expected["traces"]))
    np.testing.assert_allclose(rec.traces, expected["traces"], rtol=1e-6)
    assert rec.key == (expected["key"] or "prop")
    assert list(zip(rec.schedule.onset_frame, rec.schedule.label)) == expected["schedule"]
    event(f"loaded ({rec.meta['frame_header']} headers, {'with' if len(rec.schedule) else 'no'} schedule)")


@PROPERTY
@given(case=random_csv())
def test_random_csvs_load_exactly_or_raise_data_error(tmp_path, case):
    check_random_csv(tmp_path, case)


@settings(PROPERTY, max_examples=150, phases=[Phase.generate])
@given(case=random_csv(extended=True))
def test_random_csvs_with_former_bug_triggers(tmp_path, case):
    check_random_csv(tmp_path, case)


def test_the_fast_read_of_plain_files_gives_the_wide_reads_recordings(monkeypatch):
    import wormsae.wormworld as ww
    from wormsae.virtual import example_folder
    paths = sorted(example_folder().glob("*.csv"))[:3]
    names = ww._column_names(paths[0])
    assert ww._plain_frames(paths[0], names, ww._frame_columns(names, paths[0])[1], None) is not None  # fast road taken
    fast = [read_wormworld_csv(p) for p in paths]
    monkeypatch.setattr(ww, "_plain_frames", lambda *a: None)
    for a, b in zip(fast, [read_wormworld_csv(p) for p in paths]):
        assert (a.key, a.neurons, a.fps, a.traces.dtype) == (b.key, b.neurons, b.fps, b.traces.dtype)
        assert np.array_equal(a.traces, b.traces, equal_nan=True) and np.isnan(a.traces).any()
        pd.testing.assert_frame_equal(a.schedule, b.schedule)
        for k in ("neuron_info", "neuron_metadata", "low_confidence"):
            pd.testing.assert_frame_equal(a.meta[k], b.meta[k])

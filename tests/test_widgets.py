"""The explorers (wormsae.widgets), driven through their callbacks: what they show after each control change.

Recordings are planted animals (`wormsae.testing.planted_animal`) with a known answer, and read from the real
Flavell-lab files (reversals as the schedule) when ../shared/data/flavell2023 is present.
"""
import subprocess
import sys
import warnings
from functools import partial

import numpy as np
import pandas as pd
import pytest

from wormsae.data import Collection
from wormsae.dictionary import PCA, NeuronBasis
from wormsae.interp import interpret
from wormsae import widgets as wg
from wormsae.testing import planted_animal

EVIL = "<img src=x onerror=alert(1)>"


# neuron R responds to the first label only, F to every valve switch, D drifts, the rest is noise; a velocity channel
_animal = partial(planted_animal, behaviour="velocity")


@pytest.fixture(scope="module")
def interp():
    "Five animals: p2 has no schedule, p3 never saw C."
    col = Collection([_animal(0), _animal(1), _animal(2, schedule=False), _animal(3, labels=("A", "B")), _animal(4)])
    return interpret(NeuronBasis.fit(col, per_recording=True), col, n_null=200, progress=False)


def test_unit_list_is_ordered_by_selectivity(interp):
    "The planted responder comes first, starred; the rest follow by decreasing |d| of their strongest test."
    opts = wg.unit_options(interp)
    assert opts[0] == (opts[0][0], 0) and opts[0][0].startswith("★ R (stability not measured): A, presentation")
    strongest = interp.selectivity.assign(a=interp.selectivity.d.abs()).groupby("unit").a.max()
    rest = [u for _, u in opts[1:]]
    assert list(strongest.loc[rest]) == sorted(strongest.loc[rest], reverse=True)
    assert all("★" not in label for label, _ in opts[1:])


def test_stimulus_filter_ranks_by_that_stimulus(interp):
    opts = wg.unit_options(interp, stimulus="C")
    assert all(": C, " in label for label, _ in opts)
    d_c = interp.selectivity.query("stimulus == 'C'").assign(a=lambda s: s.d.abs()).groupby("unit").a.max()
    assert [u for _, u in opts] == list(d_c.sort_values(ascending=False, kind="stable").index)
    assert wg.unit_options(interp, stimulus="C", significant_only=True) == []


def test_neuron_filter_matches_top_weights_by_prefix():
    "On PCA every component reads every neuron; with n=1 only the largest loading counts."
    col = Collection([_animal(s) for s in range(3)])
    it = interpret(PCA(3).fit(col), col, n_null=20, progress=False)
    enc = np.abs(it.model.encoder_weights())
    first = [it.model.neurons[i] for i in enc.argmax(1)]
    for name in set(first):
        assert wg.units_with_neuron(it, name.lower(), "reads", n=1) == [u for u, f in enumerate(first) if f == name]
    assert wg.units_with_neuron(it, "n", "reads", n=6) == [0, 1, 2]
    ex = wg.UnitExplorer(it)
    ex.neuron_filter.value = first[1]
    ex.which.value = "reads"
    assert 1 in [u for _, u in ex.options]


def test_unit_explorer_follows_its_controls(interp):
    ex = wg.UnitExplorer(interp, recording="p1")
    assert (ex.unit, ex.shown["unit_name"], ex.shown["recording"]) == (0, "R", "p1")
    before = (ex.card.value, ex.psth_image.value, ex.activation_image.value)
    ex.unit_select.value = 1  # the browser changes the dropdown
    assert (ex.unit, ex.shown["unit_name"], ex.shown["inputs"], ex.shown["outputs"]) == (1, "F", ["F"], ["F"])
    assert "<b>F: best:" in ex.card.value
    assert ex.card.value != before[0] and ex.psth_image.value != before[1] and ex.activation_image.value != before[2]
    psth = ex.psth_image.value
    ex.animal.value = 4
    assert ex.shown["recording"] == "p4" and ex.psth_image.value == psth  # only the activation is redrawn
    ex.stimulus_filter.value = "B"
    assert all(": B, " in label for label, _ in ex.options) and ex.unit == 1  # F is still listed, still shown
    ex.significant_only.value = True
    assert ex.options == [] and ex.unit == 1
    assert ex.shown["messages"] == ["No unit matches stimulus 'B', significant only: loosen a filter to see units."]
    assert ex.shown["unit"] is None  # nothing outside the (empty) list is shown; F comes back when a filter loosens
    ex.filter(stimulus="", significant_only=False)
    assert len(ex.options) == 6


def test_explorer_shows_png_images(interp):
    ex = wg.UnitExplorer(interp)
    for img in (ex.psth_image, ex.activation_image):
        assert img.value[:8] == b"\x89PNG\r\n\x1a\n"
    wx = wg.WindowExplorer(interp)
    assert wx.image.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_degrades_with_messages_not_exceptions(interp):
    ex = wg.UnitExplorer(interp)
    ex.animal.value = 2
    assert ex.shown["messages"] == ["Recording 'p2' has no stimulus schedule: its activation is shown without presentations."]
    assert ex.activation_image.layout.display is None  # the activation is still shown
    wx = wg.WindowExplorer(interp, recording="p3", stimulus="C")
    assert wx.shown["messages"] == ["Recording 'p3' has no presentation of 'C' with repeat 0; it has stimuli ['A', 'B']."]
    assert (wx.image.layout.display, wx.repeat_select.options, wx.shown["frames"]) == ("none", (), None)
    wx.animal.value = 2
    assert wx.shown["messages"] == ["Recording 'p2' has no stimulus schedule, so it has no stimulus windows."]
    wx.animal.value = 0  # p0 saw C: back to a figure
    assert wx.shown["messages"] == [] and wx.image.layout.display is None and wx.shown["stimulus"] == "C"


def test_window_explorer_plots_the_chosen_window(interp):
    rec = interp.recording(4)
    wx = wg.WindowExplorer(interp, recording="p4", stimulus="A", context_s=(-10, 30))
    onsets = rec.schedule.query("label == 'A'").sort_values("repeat").onset_frame.tolist()
    lag = (round(-10 * rec.fps), round(30 * rec.fps))
    assert wx.shown["frames"] == (onsets[0] + lag[0], onsets[0] + lag[1])
    wd = interp.window("p4", "A", 0, context_s=(-10, 30))
    assert wx.shown["neurons"] == wd.neurons and wx.shown["units"] == wd.unit_names
    assert wx.shown["trace_neurons"] == wd.neurons[:3]
    assert [label for label, _ in wx.repeat_select.options] == ["0", "1", "2"]
    wx.repeat_select.value = 2
    assert (wx.shown["repeat"], wx.shown["frames"]) == (2, (onsets[2] + lag[0], onsets[2] + lag[1]))
    wx.context.value = [-20, 20]
    assert wx.shown["frames"] == (onsets[2] + round(-20 * rec.fps), onsets[2] + round(20 * rec.fps))
    png = wx.image.value
    wx.trace_select.value = ("D", "F")
    assert wx.shown["trace_neurons"] == ["D", "F"] and wx.image.value != png
    wx.stimulus_select.value = "B"  # D and F are kept for the next window
    assert wx.shown["stimulus"] == "B" and wx.shown["trace_neurons"] == ["D", "F"]


def test_window_data_is_cached_and_traces_reuse_it(interp, monkeypatch):
    calls = []
    real = type(interp).window
    monkeypatch.setattr(type(interp), "window", lambda self, *a, **k: calls.append(a[:3]) or real(self, *a, **k))
    wx = wg.WindowExplorer(interp, recording=0, stimulus="A")
    wx.trace_select.value = ("F",)
    wx.repeat_select.value = 1
    wx.repeat_select.value = 0  # back: from the cache
    assert calls == [(0, "A", 0), (0, "A", 1)]


def test_data_text_is_escaped():
    col = Collection([_animal(s, labels=("A", EVIL, "C"), names=("R", EVIL, "D", "n3", "n4", "n5")) for s in range(3)])
    it = interpret(NeuronBasis.fit(col), col, n_null=50, progress=False)
    ex = wg.UnitExplorer(it, unit=EVIL)
    html_out = ex.card.value + ex.weights.value
    assert EVIL not in html_out and "&lt;img src=x onerror=alert(1)&gt;" in html_out
    wx = wg.WindowExplorer(it, recording=0, stimulus="C")
    wx.animal.value = 1
    assert EVIL not in wx.message.value


def test_interpretation_without_any_schedule():
    col = Collection([_animal(s, schedule=False) for s in range(2)])
    it = interpret(NeuronBasis.fit(col), col, n_null=20, progress=False)
    ex = wg.UnitExplorer(it)
    assert ex.psth_image.layout.display == "none" and ex.activation_image.layout.display is None
    assert ex.shown["messages"] == ["These recordings have no stimulus schedule: no peri-stimulus responses or tests to show."]
    ex.unit_select.value = 3
    assert ex.shown["unit_name"] == "n3"
    wx = wg.WindowExplorer(it)
    assert wx.shown["messages"] == ["These recordings have no stimulus schedule, so there are no stimulus windows to show."]


def test_widgets_are_imported_by_nothing():
    code = ("import sys, wormsae as ws; ws.interpret; ws.Recording; import wormsae.plots, wormsae.views, wormsae.report, wormsae.cli; "
            "print('wormsae.widgets' in sys.modules, 'ipywidgets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


@pytest.fixture(scope="module")
def flavell_interp(request):
    from conftest import FLAVELL_DATA
    files = sorted(FLAVELL_DATA.glob("2022-07-2*-data.h5"))[:3]
    if len(files) < 2:
        pytest.skip(f"real Flavell-lab data absent ({FLAVELL_DATA})")
    import wormsae as ws
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        col = ws.load_many(files, schedule="reversals")
        return interpret(NeuronBasis.fit(col, per_recording=True), col, n_null=100, progress=False)


def test_explorers_on_real_recordings(flavell_interp):
    "Real Flavell-lab recordings with reversals as the schedule: units are neurons, the windows are reversals."
    it = flavell_interp
    ex = wg.UnitExplorer(it)
    assert ex.shown["psth_stimuli"] == ["reversal"] and ex.shown["messages"] == []
    ava = [u for u, name in enumerate(it.units.unit_name) if name.startswith("AVA")]
    assert ava, "the labelled files name AVAL/AVAR"
    ex.neuron_filter.value = "ava"
    assert sorted(u for _, u in ex.options) == ava  # each neuron unit reads only itself
    assert ex.shown["unit_name"].startswith("AVA")
    ex.animal.value = 2
    assert ex.shown["recording"] == it.keys[2]
    wx = wg.WindowExplorer(it, recording=1)
    rec = it.recording(1)
    assert wx.shown["stimulus"] == "reversal" and wx.shown["messages"] == []
    assert [v for _, v in wx.repeat_select.options] == list(range(len(rec.schedule)))
    wx.repeat_select.value = 5
    onset = int(rec.schedule.onset_frame.iloc[5])
    assert wx.shown["onset"] == onset and wx.shown["frames"][0] == max(0, onset + round(-30 * rec.fps))
    assert set(wx.shown["neurons"]) <= set(rec.neurons) | set(it.model.neurons)


def test_on_a_trained_sae():
    "A small SAE on the virtual worm: the neuron filter agrees with the card's weights, the explorers follow."
    from wormsae.sae import SAEConfig
    from wormsae.train import TrainConfig, train_sae
    from wormsae.virtual import virtual_worm
    col, _ = virtual_worm(n_animals=3, seed=1, n_frames=1650, stimuli=["100mM NaCl", "10mM CuSO4", "Control", "OP50"],
                          repeats=2)
    sae = train_sae(col, SAEConfig(d_in=len(col.neurons), d_sae=48, activation="topk", k=6),
                    TrainConfig(steps=60, n_val=0, progress=False)).sae
    it = interpret(sae, col, n_null=50, progress=False)
    reads = it.top_neuron_names("reads", 5)
    assert all(reads[u] == it.top_weights(u, "encoder", 5).neuron.tolist() for u in range(48))
    name = reads[7][0]
    ex = wg.UnitExplorer(it).filter(neuron=name, which="reads")
    assert 7 in [u for _, u in ex.options]
    assert all(any(n.upper().startswith(name.upper()) for n in reads[u]) for _, u in ex.options)
    ex.unit_select.value = 7
    assert ex.shown["unit_name"] == "unit 7" and ex.shown["inputs"][0] == name
    wx = wg.WindowExplorer(it, stimulus="OP50", max_units=10)
    assert len(wx.shown["units"]) == 10 and all(u.startswith("unit ") for u in wx.shown["units"])

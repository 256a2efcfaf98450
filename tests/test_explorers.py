"""The explorers' filters and interactive figures, driven as a browser would (widget values set from Python, or the
state a browser sends with `set_state`).

Every check reads what the explorer says it shows (`shown`, the options, the message) and compares it with
an expectation computed independently from the interpretation (`unit_options`, the planted answer).
"""
import re

import numpy as np
import pytest

from wormsae.dictionary import NeuronBasis
from wormsae.interp import interpret
from wormsae.testing import planted_panel
from wormsae import widgets as wg


@pytest.fixture(scope="module")
def interp():
    "Four planted animals (R answers A, F every presentation); NeuronBasis: unit i reads and writes neuron i only."
    col = planted_panel(4)
    return interpret(NeuronBasis.fit(col, per_recording=True), col, n_null=200, progress=False)


def _label_shown(ex) -> str:
    "The label the unit list shows for its selected unit."
    return ex.unit_select.label


def _named(label: str) -> str:
    "The unit a label names: '★ R (stability not measured): A, ...' -> 'R'."
    return re.sub(r" \((unstable|stability not measured)\)$", "", label.replace("★ ", "").split(":")[0])


def _assert_consistent(ex):
    "What is shown belongs to the list, and the list's label names it (or nothing is shown, nothing listed)."
    listed = [v for _, v in ex.options]
    if not listed:
        assert ex.shown["unit"] is None and ex.unit_select.value is None
        assert ex.psth_image.layout.display == "none" and ex.card.value == ""
        assert ex.shown["messages"][0].startswith("No unit matches")
    else:
        assert ex.shown["unit"] in listed and ex.unit_select.value == ex.shown["unit"]
        assert _named(_label_shown(ex)) == ex.shown["unit_name"]
        assert ex.psth_image.layout.display is None and f"<b>{ex.shown['unit_name']}: " in ex.card.value


def test_neuron_filter_acts_on_every_keystroke(interp):
    ex = wg.UnitExplorer(interp)
    assert ex.neuron_filter.continuous_update  # the browser sends each keystroke, not only Enter
    seen = []
    for typed in ["n", "n4", "n4x", "n4", "", "F"]:  # typing, a typo, a backspace, clearing, another name
        ex.neuron_filter.value = typed
        _assert_consistent(ex)
        seen.append(ex.shown["unit_name"])
    first_n = interp.unit_name(wg.unit_options(interp, neuron="n")[0][1])  # R drops out: the first listed is shown
    assert first_n in ("n3", "n4", "n5")
    assert seen == [first_n, "n4", None, "n4", "n4", "F"]  # after a no-match the last unit comes back, and stays


def test_stimulus_picked_while_neuron_typed_never_shows_another_unit(interp):
    "The issue's case: a neuron typed, then a stimulus picked; the unit and its label follow both filters."
    ex = wg.UnitExplorer(interp)
    ex.neuron_filter.value = "F"
    ex.stimulus_filter.value = "B"
    _assert_consistent(ex)
    assert [v for _, v in ex.options] == [interp.unit_index("F")]
    assert re.match(r"F( \(stability not measured\))?: B, ", ex.unit_select.label)  # its test for B, the stimulus ranked by
    ex.significant_only.value = True
    expected = [u for _, u in wg.unit_options(interp, "B", "F", significant_only=True)]
    assert [v for _, v in ex.options] == expected
    _assert_consistent(ex)


def test_nothing_matches_then_a_match_again(interp):
    ex = wg.UnitExplorer(interp, unit="D")
    ex.neuron_filter.value = "ASH"
    _assert_consistent(ex)
    assert ex.shown["messages"][0] == "No unit matches neuron 'ASH' (either): loosen a filter to see units."
    ex.animal.value = 2  # changing the animal while nothing matches draws nothing and does not fail
    assert ex.shown["unit"] is None and ex.activation_image.layout.display == "none"
    ex.neuron_filter.value = ""  # the unit shown before comes back
    _assert_consistent(ex)
    assert ex.shown["unit_name"] == "D" and ex.shown["recording"] == "p2"


def test_filters_in_any_order_keep_shown_and_listed_in_step(interp):
    "Random sequences of filter changes: after each, the shown unit is listed and labelled (an invariant)."
    g = np.random.default_rng(0)
    ex = wg.UnitExplorer(interp)
    values = {"stimulus_filter": ["", "A", "B", "C"], "neuron_filter": ["", "n", "n5", "R", "zz", "D"],
              "which": ["either", "reads", "writes"], "significant_only": [False, True]}
    for _ in range(40):
        name = list(values)[g.integers(len(values))]
        getattr(ex, name).value = values[name][g.integers(len(values[name]))]
        _assert_consistent(ex)
        expected = wg.unit_options(interp, ex.stimulus_filter.value or None, ex.neuron_filter.value or None,
                                   ex.which.value, ex.significant_only.value, ex.n_match)
        assert ex.options == expected


# --- the interactive explorers (plotly FigureWidgets) ---

def _click(trace, row_name, point=(0, 0)):
    "A click on a heatmap row or a line, as plotly's FigureWidget reports it from the browser."
    from plotly.callbacks import Points
    trace._dispatch_on_click(Points(point_inds=[list(point)], xs=[0.0], ys=[row_name], trace_name=trace.name or "",
                                    trace_index=0), None)


def test_raster_rows_are_every_presentation_and_average_to_the_psth(interp):
    from wormsae.interactive import InteractiveUnitExplorer
    ex = InteractiveUnitExplorer(interp, unit="F")
    ex.raster_stimulus.value = "B"
    z = np.asarray(ex.unit_plot.raster.heatmap.z, float)
    expected_rows = [f"{k} · repeat {r}" for k in interp.keys for r in interp.repeats(k, "B")]
    assert ex.shown["raster_rows"] == expected_rows == list(ex.unit_plot.raster.heatmap.y)
    np.testing.assert_allclose(np.nanmean(z, 0), interp.unit_psth("F", ["B"]).mean[0], atol=1e-3)  # 4 digits sent
    # each row is the activation read straight from the recording at onset + lag
    rec, t = interp.recording(0), interp.unit_psth("F").times
    onset = int(rec.schedule.query("label == 'B'").onset_frame.iloc[0])
    frames = onset + np.round(t * rec.fps).astype(int)
    np.testing.assert_allclose(z[0], interp.activation("F", 0)[frames], rtol=1e-3, atol=1e-6)


def test_interactive_filters_keep_the_same_promise(interp):
    from wormsae.interactive import InteractiveUnitExplorer
    ex = InteractiveUnitExplorer(interp)
    for typed in ["n", "n5", "n5!", ""]:
        ex.neuron_filter.value = typed
        shown = ex.shown["unit"]
        assert shown is None or shown in [v for _, v in ex.options]
        assert ex.figures.layout.display == ("none" if shown is None else None)
        if shown is not None:
            assert ex.unit_plot.psth.title.startswith(ex.shown["unit_name"] + ":")
            assert ex.unit_plot.raster.title.startswith(ex.shown["unit_name"] + " · ")


def test_click_on_a_unit_row_opens_that_unit(interp):
    from wormsae.interactive import explore
    box = explore(interp, recording="p1", stimulus="A", context_s=(-20, 40))
    wx, ux = box.window_explorer, box.unit_explorer
    w = interp.window("p1", "A", 0, context_s=(-20, 40))
    assert list(wx.plot.data[1].y) == list(w.unit_names) and list(wx.plot.data[0].y) == list(w.neurons)
    for row in (len(w.units) - 1, 0):
        _click(wx.plot.data[1], w.unit_names[row], (row, 5))
        assert ux.shown["unit"] == w.units[row] == wx.shown["clicked_unit"]
        assert ux.unit_plot.psth.title.startswith(w.unit_names[row] + ":")


def test_click_opens_a_unit_hidden_by_the_filters(interp):
    "Opening a unit the filters hide clears them, so the unit shown is still one the list holds."
    from wormsae.interactive import InteractiveUnitExplorer, InteractiveWindowExplorer
    ux = InteractiveUnitExplorer(interp)
    ux.neuron_filter.value = "R"
    wx = InteractiveWindowExplorer(interp, "p0", "A", unit_explorer=ux)
    target = next(n for n in wx.shown["units"] if n != "R")
    _click(wx.plot.data[1], target)
    assert ux.shown["unit_name"] == target and ux.neuron_filter.value == "" and ux.unit_select.value == ux.shown["unit"]


# --- a pick made in a list the kernel has replaced since (the browser sends the unit picked, not its position) ---

def _browser_picks(ex, unit: int, listed: list):
    "What the unit list's browser side sends when `unit` is picked in the list `listed` it shows: the unit (a plain dropdown would send its position)."
    ex.unit_select.set_state({"index": listed.index(unit)} if "index" in ex.unit_select.keys else {"value": unit})


@pytest.mark.parametrize("interactive", [False, True])
def test_a_pick_made_just_after_clearing_a_filter_wins(interp, interactive):
    "Type a filter, clear it, pick a unit at once in the list still shown: the kernel has its new list first."
    from wormsae.interactive import InteractiveUnitExplorer
    ex = (InteractiveUnitExplorer if interactive else wg.UnitExplorer)(interp)
    for i in range(20):
        ex.neuron_filter.value = "n"
        stale = [u for _, u in ex.options]  # what the browser shows
        ex.neuron_filter.value = ""  # the kernel lists every unit again and restores the last one shown ...
        picked = stale[(1 + i) % len(stale)]
        assert ex.unit != picked or i  # (the restored unit is the first one matching, not the one picked)
        _browser_picks(ex, picked, stale)  # ... then the pick arrives
        assert ex.shown["unit"] == ex.unit_select.value == picked
        _assert_consistent(ex)
        if interactive:
            assert ex.unit_plot.psth.title.startswith(interp.unit_name(picked) + ":")


def test_a_pick_the_new_filter_leaves_out_still_wins(interp):
    "A unit picked in the full list, arriving after a filter that leaves it out: shown, and the filters cleared."
    ex = wg.UnitExplorer(interp)
    listed = [u for _, u in ex.options]
    ex.neuron_filter.value = "n"  # n3, n4, n5
    _browser_picks(ex, interp.unit_index("R"), listed)
    assert ex.shown["unit_name"] == "R" and ex.neuron_filter.value == ""
    _assert_consistent(ex)


def test_the_list_and_its_selection_travel_in_one_message(interp):
    "A filter that leaves the unit shown out sends the new list and the unit now selected in one message."
    ex = wg.UnitExplorer(interp, unit="R")
    sent = []
    ex.unit_select._send = lambda msg, buffers=None: sent.append(msg["state"])
    ex.neuron_filter.value = "n"  # R drops out: another unit is selected
    lists = [m for m in sent if "options" in m]
    assert len(lists) == 1 and [u for _, u in lists[0]["options"]] == [u for _, u in ex.options]
    assert lists[0]["value"] == ex.unit != interp.unit_index("R")
    assert not [m for m in sent if "value" in m and "options" not in m]  # no selection sent apart from its list


# --- stable units first ---

@pytest.fixture(scope="module")
def measured():
    "The planted neurons with a hand-set seed stability: D, n3, n4 learned by both other seeds, R and n5 by neither; F not measured."
    col = planted_panel(4)
    basis = NeuronBasis.fit(col, per_recording=True)
    known = {"R": 0.0, "F": np.nan, "D": 1.0, "n3": 1.0, "n4": 1.0, "n5": 0.5}
    basis.stability, basis.ensemble = np.array([known[n] for n in basis.neurons]), {"seeds": [0, 1, 2]}
    return interpret(basis, col, n_null=200, progress=False)


def test_units_measured_stable_come_first_then_not_measured_then_unstable(measured):
    rank = wg.unit_ranking(measured)
    assert rank.stability.tolist() == ["stable"] * 3 + ["not measured"] + ["unstable"] * 2
    assert set(rank.unit_name[:3]) == {"D", "n3", "n4"} and rank.unit_name.tolist()[3:] == ["F", "R", "n5"]
    assert bool(rank.set_index("unit_name").significant["R"])  # R's test stays significant: first of the unstable
    labels = dict((measured.unit_name(u), label) for label, u in wg.unit_options(measured))
    assert labels["R"].startswith("R (unstable): A, ") and labels["F"].startswith("F (stability not measured): ")
    assert not any("(" in labels[n].split(":")[0] for n in ("D", "n3", "n4"))  # measured and stable: nothing to say
    ex = wg.UnitExplorer(measured)
    assert [measured.unit_name(u) for _, u in ex.options][:3] == rank.unit_name.tolist()[:3]
    assert "seed stability not measured" in wg.unit_card_html(measured, "F")
    assert "seed stability not measured" not in wg.unit_card_html(measured, "D")


def test_without_any_measure_every_label_says_so(interp):
    "Neurons have no seeds: every unit is 'not measured', in the order of selectivity, and no label implies stable."
    rank = wg.unit_ranking(interp)
    assert set(rank.stability) == {"not measured"}
    assert all(label.split(":")[0].endswith(" (stability not measured)") for label, _ in wg.unit_options(interp))

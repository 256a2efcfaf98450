"""Figures (wormsae.plots) and the HTML report (wormsae.report), against planted data with known answers."""
import re
import subprocess
import sys
from functools import partial
from html.parser import HTMLParser

import matplotlib
import numpy as np
import pandas as pd
import pytest

from wormsae.data import Collection, Recording
from wormsae.dictionary import NeuronBasis, PCA, prepare_inputs
from wormsae.interp import compare_selectivity, interpret
from wormsae import plots, views
from wormsae.testing import planted_animal
from wormsae.report import SECTIONS, write_report

EVIL = "<script>alert('x')</script>"


# neuron R responds to the first label only, F to every switch, D drifts, the rest is noise; a reversal channel
_animal = partial(planted_animal, behaviour="reversal")


@pytest.fixture(scope="module")
def planted():
    return Collection([_animal(s) for s in range(4)])


@pytest.fixture(scope="module")
def interp(planted):
    return interpret(NeuronBasis.fit(planted, per_recording=True), planted, n_null=200)


@pytest.fixture(scope="module")
def evil_interp():
    col = Collection([_animal(s, labels=("A", "B", EVIL)) for s in range(4)])
    return interpret(NeuronBasis.fit(col, per_recording=True), col, n_null=100)


def test_planted_answer(interp):
    "The fixture's premise: only (R, A) is significant."
    sig = interp.significant()
    assert set(zip(sig.unit_name, sig.stimulus)) == {("R", "A")}


def test_an_unstable_unit_keeps_its_test_but_is_not_a_finding(planted, tmp_path):
    "Neurons with a made-up seed stability: R, the one that answers A, is marked unstable (1 of 2 other seeds)."
    basis = NeuronBasis.fit(planted, per_recording=True)
    basis.stability = np.where(np.array(basis.neurons) == "R", 0.5, 1.0)
    basis.ensemble = {"seeds": [0, 1, 2]}
    it = interpret(basis, planted, n_null=200)
    assert set(it.significant().unit_name) == {"R"} and it.findings().empty
    assert it.units.set_index("unit_name").stable.to_dict() == {n: n != "R" for n in basis.neurons}
    assert "A: no stable unit (+1 unstable unit, not counted)" in " ".join(it.summary().split())
    assert "Unstable: only 1 of the 2 other seeds learned it" in it.units.set_index("unit_name").explanation["R"]
    assert "1 of them unstable across seeds" in repr(it)
    table = compare_selectivity({"n": it})
    assert table.set_index("stimulus").loc["A", ["n_significant", "n_unstable"]].tolist() == [0, 1]


def test_psth_draws_one_line_per_stimulus_and_highlights_significant(interp):
    ax = views.plot_psth(interp, "R").axes[0]
    lines = [l for l in ax.lines if not l.get_label().startswith("_")]
    assert [l.get_label() for l in lines] == interp.stimuli
    for line in lines:
        assert (line.get_linewidth() > 1.5) == (line.get_label() == "A")
    np.testing.assert_allclose(lines[0].get_ydata(), interp.psth.mean[0, :, 0])
    assert len([l for l in views.plot_psth(interp, "R", stimuli=["C"]).axes[0].lines
                if not l.get_label().startswith("_")]) == 1


@pytest.mark.parametrize("units", [None, ["n5", "R", "F"], list(range(6))])
def test_selectivity_heatmap_rows_and_markers_match_the_table(interp, units):
    fig = plots.plot_selectivity(interp, "presentation", units=units)
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_yticklabels()]
    expected_rows = ["R"] if units is None else [interp.units.unit_name[interp.unit_index(u)] for u in units]
    assert names == expected_rows
    assert ax.images[0].get_array().shape == (len(expected_rows), 3)
    sel = interp.selectivity.query("window == 'presentation'")
    truth = {(interp.stimuli.index(s), names.index(n)) for n, s, sig in
             zip(sel.unit_name, sel.stimulus, sel.significant) if sig and n in names}
    stars = {tuple(int(v) for v in xy) for xy in np.asarray(ax.collections[0].get_offsets())}
    assert stars == truth


def test_selectivity_falls_back_to_strongest_when_nothing_is_significant(interp):
    fig = plots.plot_selectivity(interp, "late", max_units=4)
    ax = fig.axes[0]
    assert ax.images[0].get_array().shape[0] == 4
    assert "none significant" in ax.get_title(loc="left")
    assert len(ax.collections[0].get_offsets()) == 0


def test_window_data_hand_computed_frames():
    T = 400
    X = np.random.default_rng(1).normal(0, 0.1, (T, 2))
    X[100:130, 0] += 3
    rec = Recording.from_array(X, ["up", "flat"], fps=2.0, key="hand", schedule=[(100, "X"), (200, "Y"), (300, "X")],
                               presentation_s=15)
    col = Collection([rec])
    it = interpret(NeuronBasis.fit(col), col, n_null=10)
    wd = it.window("hand", "X", repeat=0, context_s=(-10, 20))
    np.testing.assert_array_equal(wd.frames, np.arange(80, 140))  # 100 - 10 s * 2 fps ... 100 + 20 s * 2 fps
    np.testing.assert_allclose(wd.times[[0, 1, -1]], [-10.0, -9.5, 19.5])
    assert (wd.onset, wd.offset) == (100, 130)
    assert wd.neurons == ["up", "flat"]
    wd = it.window(0, "X", repeat=1, context_s=(-60, 60))
    assert (wd.frames[0], wd.frames[-1]) == (180, 399)  # clipped at the end of the recording
    assert wd.presentations[["label", "start", "end"]].values.tolist() == [["Y", -50.0, -35.0], ["X", 0.0, 15.0]]
    with pytest.raises(ValueError, match="no presentation of 'X' with repeat 2; it has repeats \\[0, 1\\]"):
        it.window(0, "X", repeat=2)


def test_window_without_schedule_says_so():
    rec = Recording.from_array(np.random.default_rng(0).normal(size=(300, 2)), ["a", "b"], fps=2.0, key="plain")
    other = _animal(0)
    col = Collection([other, rec])
    it = interpret(NeuronBasis.fit(col), col, n_null=10)
    with pytest.raises(ValueError, match="recording 'plain' has no stimulus schedule"):
        it.window("plain", "A")
    views.plot_activation(it, 0, recording="plain")  # no presentations to shade: still draws


def test_window_reconstruction_is_decode_of_encode(planted):
    torch = pytest.importorskip("torch")
    from wormsae.sae import SAE, SAEConfig
    from wormsae.dictionary import fit_norm
    norm = fit_norm(planted, per_recording=True)
    sae = SAE(SAEConfig(d_in=6, d_sae=12, activation="topk", k=3, neurons=list(norm.neurons)), norm, seed=0)
    it = interpret(sae, planted, n_null=20)
    wd = it.window(2, "A", repeat=1)
    Z, M, _ = prepare_inputs(sae, planted[2])
    expected = sae.decode_z(sae.encode_z(Z[wd.frames], M[wd.frames]))
    cols = [sae.neurons.index(n) for n in wd.neurons]
    np.testing.assert_allclose(wd.recon, expected[:, cols].T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(wd.neuron_z, np.where(M, Z, np.nan)[wd.frames][:, cols].T, rtol=1e-6)
    fig = views.plot_window(it, 2, "A", repeat=1, data=wd)
    assert fig.axes[0].get_xlabel() == "time from the onset of A (s)"


def test_unit_card_and_top_weights(interp):
    fig = views.plot_unit_card(interp, "R", recording=1)
    assert fig.texts[0].get_text().startswith("R: best: A (presentation")
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["R"]  # a neuron reads only itself
    pca = interpret(PCA(3).fit(interp.collection), interp.collection, n_null=20)
    w = pca.top_weights("PC2", "encoder", n=6)
    np.testing.assert_allclose(np.abs(w.weight), np.sort(np.abs(pca.model.encoder_weights()[1]))[::-1], rtol=1e-6)


def test_frontier_and_comparison(interp):
    table = pd.DataFrame({"activation": ["topk", "topk", "relu", "pca", "pca"], "l0": [4, 16, 8, 4, 16],
                          "fvu": [0.5, 0.3, 0.6, 0.7, 0.4]})
    ax = plots.plot_frontier(table).axes[0]
    lines = {l.get_label(): l for l in ax.lines}
    assert lines["Pareto frontier"].get_xdata().tolist() == [4, 16]  # relu (8, 0.6) is dominated by topk (4, 0.5)
    assert lines["PCA"].get_ydata().tolist() == [0.7, 0.4]
    cmp = compare_selectivity({"neurons": interp})
    fig = plots.plot_comparison(cmp)
    assert max(p.get_width() for p in fig.axes[1].patches) == cmp.n_significant.max()


def test_training_plot_panels():
    h = pd.DataFrame({"step": [0, 10], "mse": [1.0, 0.5], "loss": [1.1, 0.6], "l0": [9, 8], "dead_fraction": [0, 0.1]})
    fig = plots.plot_training(h)
    assert [a.get_title(loc="left") for a in fig.axes] == ["loss", "L0", "dead fraction"]


def test_figures_are_not_registered_with_pyplot_and_show_in_jupyter(interp):
    import matplotlib.pyplot as plt
    before = plt.get_fignums()
    fig = views.plot_psth(interp, 0)
    assert plt.get_fignums() == before
    assert fig._repr_png_().startswith(b"\x89PNG")


def test_dollar_signs_are_literal():
    rec = Recording.from_array(np.random.default_rng(0).normal(size=(200, 2)), ["a$", "b"], fps=1.0, key="k$1$",
                               schedule=[(20, "$x$"), (100, "1 $ 2")], presentation_s=10)
    fig = plots.plot_recording(rec)
    plots.figure_png(fig)  # renders without a maths error
    assert "$x$" in [t.get_text().replace("\\$", "$") for t in fig.axes[0].get_legend().get_texts()]


def _check_html(text):
    "Every non-void tag closed in order; returns the (tag, attrs) list."
    class Checker(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack, self.errors, self.tags = [], [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))
            if tag not in {"meta", "img", "br", "hr", "link", "input"}:
                self.stack.append(tag)

        def handle_endtag(self, tag):
            if not self.stack or self.stack.pop() != tag:
                self.errors.append(tag)
    c = Checker()
    c.feed(text)
    c.close()
    assert not c.errors and not c.stack, (c.errors, c.stack)
    return c.tags


def test_report_sections_seed_table_and_escaping(evil_interp, tmp_path):
    pca = interpret(PCA(3).fit(evil_interp.collection), evil_interp.collection, n_null=50)
    path = write_report(evil_interp, tmp_path / "r.html", comparison={"PCA": pca}, title=EVIL, max_cards=2)
    text = path.read_text()
    tags = _check_html(text)
    assert text.startswith("<!DOCTYPE html>")
    assert re.findall(r"<h2>(.*?)</h2>", text) == [v for _, v in SECTIONS]
    assert text.lower().count("<script") == 1  # the unit index's own, inline
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    seed = evil_interp.seed_table()
    assert seed.splitlines()[0].startswith("Stimulus: ")
    import html
    assert html.escape(seed) in text
    assert all(a["src"].startswith("data:image/png;base64,") for t, a in tags if t == "img")
    assert not any(t in ("link", "iframe") for t, _ in tags)
    assert [a for t, a in tags if t == "script"] == [{}]  # inline: no src, nothing fetched
    assert "R (d=+" in text  # the summary names the planted unit


def test_report_is_atomic(interp, tmp_path, monkeypatch):
    import wormsae.report as report
    path = tmp_path / "r.html"
    path.write_text("previous report")

    def boom(*a, **k):
        raise RuntimeError("plotting failed")
    monkeypatch.setattr(report, "UnitCardView", boom)
    with pytest.raises(RuntimeError, match="plotting failed"):
        write_report(interp, path)
    with pytest.raises(RuntimeError, match="plotting failed"):
        write_report(interp, tmp_path / "new.html")
    assert path.read_text() == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_figures_drawn_ahead_give_the_same_page(interp, tmp_path):
    from wormsae.report import ReportFigures, _fork_usable
    ahead = ReportFigures(interp, parallel=True)
    assert ahead.in_worker == _fork_usable()
    forked = write_report(interp, tmp_path / "ahead.html", figures=ahead).read_bytes()
    here = write_report(interp, tmp_path / "here.html", figures=ReportFigures(interp, parallel=False)).read_bytes()
    assert forked == here and b"data:image/png;base64," in here
    assert not ahead.in_worker  # the worker was read and stopped


def test_interpretation_report_delegates(interp, tmp_path):
    p = interp.report(tmp_path / "x.html", max_cards=1)
    assert p.exists() and "Unit cards" in p.read_text()


def test_modules_do_not_import_torch():
    code = "import sys, wormsae.plots, wormsae.report; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_window_bars_stay_inside_the_psth_axes():
    "Presentations of 100 s, PSTH from -15 to 45 s: every window bar and its label stay within the PSTH's x range."
    rng = np.random.default_rng(3)
    recs = [Recording.from_array(rng.normal(size=(1200, 3)), ["a", "b", "c"], fps=2.0, key=f"w{i}",
                                 schedule=[(200, "X"), (700, "Y")], presentation_s=100) for i in range(2)]
    col = Collection(recs)
    it = interpret(NeuronBasis.fit(col), col, n_null=20)
    assert it.window_spans()["presentation"][1] == pytest.approx(100)  # the premise: a window longer than the plot
    fig = views.plot_unit_card(it, "a")
    ax = fig.axes[0]  # the PSTH's axes
    lo, hi = ax.get_xlim()
    bars = [line for line in ax.lines if line.get_label() == "_window"]
    assert len(bars) == 3 and hi < 100
    for line in bars:
        assert lo <= min(line.get_xdata()) and max(line.get_xdata()) <= hi, line.get_xdata()
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    labels = [t for t in ax.texts if t.get_text()]
    assert "presentation (to 100 s)" in [t.get_text() for t in labels]
    for t in labels:
        ext = t.get_window_extent(renderer)
        assert box.x0 - 1 <= ext.x0 and ext.x1 <= box.x1 + 1, t.get_text()

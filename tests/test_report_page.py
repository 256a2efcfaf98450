"""The report as a reader gets it: written from a run folder as the command line leaves it, it shows the run's
metrics and curves, says the data are simulated, explains its curves and shadings, and never asks for a Python
argument; opened in Debian's chromium at 1366 px it has no horizontal scroll. Screenshots go to
test-artifacts/report/ at the repo root. The browser test skips when /usr/bin/chromium or playwright is missing.
"""
import html
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_browser import chromium_page  # noqa: E402
from wormsae.cli import _write_training
from wormsae.data import Collection
from wormsae.dictionary import NeuronBasis
from wormsae.interp import interpret
from wormsae.report import write_report
from wormsae.sae import SAEConfig
from wormsae.testing import planted_animal
from wormsae.train import TrainConfig, train_sae
from wormsae.virtual import virtual_worm

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "report"
EVIL = "<script>alert('x')</script> a long hostile label that makes the tests table wide"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    "Two reports: an SAE on a small virtual worm, from its run folder as `wormsae train` writes it; and the planted panel."
    tmp = tmp_path_factory.mktemp("report")
    col, _ = virtual_worm(n_animals=3, seed=0, n_frames=1650, stimuli=["100mM NaCl", "10mM CuSO4", "Control"], repeats=2)
    res = train_sae(col, SAEConfig(d_in=len(col.neurons), d_sae=64, activation="topk", k=8),
                    TrainConfig(steps=100, n_val=1, n_seeds=1, progress=False, threads=1))
    _write_training(tmp / "run", res)  # the command line's own writer: model/, metrics.json, training_history.csv
    sae = interpret(res.sae, col, n_null=100, progress=False)
    planted = Collection([planted_animal(s, labels=("A", "B", EVIL)) for s in range(4)])
    neurons = interpret(NeuronBasis.fit(planted, per_recording=True), planted, n_null=200, progress=False)
    return {"sae": write_report(sae, tmp / "sae.html", run=tmp / "run" / "model", tool="cli", max_cards=2),
            "planted": write_report(neurons, tmp / "planted.html", max_cards=2)}


def _notes(text):
    return [html.unescape(n) for n in re.findall(r"<p class=note>(.*?)</p>", text, flags=re.S)]


def test_a_cli_report_stands_alone(pages):
    text = pages["sae"].read_text()
    assert "Training metrics and curves as the run left them in" in text
    assert "held-out: FVU (fraction of variance unexplained)" in text and "training: frames" in text
    assert re.search(r"<td>held-out: FVU \(fraction of variance unexplained\)</td>\s*<td>0\.\d+</td>", text)
    assert "val_fvu" not in text and "train_n_frames" not in text  # no raw keys
    assert "<p class=sim>Simulated data. All 3 recordings come from wormsae&#x27;s virtual worm" in text
    assert "Interpretation(" not in text  # the subtitle is a sentence, not a repr
    assert "L0 is flat: a TopK SAE keeps exactly k = 8 units active in every frame" in text
    assert "a yellow background marks a significant test" in text
    notes = _notes(text)
    assert notes and not [n for n in notes if re.search(r"\b[a-z_]+=", n)]  # never a Python argument
    assert any("`wormsae demo` computes these baselines" in n for n in notes)
    model = re.search(r'<section id="model">(.*?)</section>', text, flags=re.S).group(1)
    assert "Train with `wormsae train --seeds 3` (or more) to find out." in model and "n_seeds" not in model
    assert "n_seeds" not in text  # nor anywhere else on the page (the summary's stability line included)


def test_a_library_report_says_how_to_get_what_it_lacks(pages):
    text = pages["planted"].read_text()
    assert "<p class=sim>" not in text  # the planted panel is not the virtual worm
    notes = _notes(text)
    assert any("`Interpretation.compare`" in n for n in notes) and any("`Interpretation.calibrate()`" in n for n in notes)
    assert not [n for n in notes if re.search(r"\b[a-z_]+=", n)]


def test_no_horizontal_scroll_at_1366_px(pages):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium_page(1366, 900) as page:
        for name, path in pages.items():
            page.goto(path.as_uri())
            widths = page.evaluate("""() => ({page: document.documentElement.scrollWidth,
                view: document.documentElement.clientWidth,
                tests: document.querySelector('#tests table')?.scrollWidth ?? 0,
                box: document.querySelector('#tests .wide')?.clientWidth ?? 0})""")
            page.screenshot(path=str(ARTIFACTS / f"{name}-top.png"))
            page.locator("#model").screenshot(path=str(ARTIFACTS / f"{name}-model.png"))
            page.locator("#psth").screenshot(path=str(ARTIFACTS / f"{name}-psth.png"))
            page.locator("#tests").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"{name}-tests.png"))
            page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"), full_page=True)
            assert widths["page"] <= widths["view"], (name, widths)
            assert widths["box"] <= 1180, (name, widths)  # the tests table scrolls inside its column
            if name == "planted":
                assert widths["tests"] > widths["box"] > 0, widths  # the table is wider than its box: the premise


def test_unit_index_sorts_filters_and_links(pages):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    rows_js = "() => Array.from(document.querySelectorAll('#unit-index tbody tr')).map(r => [r.hidden, r.textContent])"
    with chromium_page(1366, 900) as page:
        page.goto(pages["sae"].as_uri())
        links = page.evaluate("() => Array.from(document.querySelectorAll('#unit-index a')).map(a => "
                              "[a.getAttribute('href'), !!document.getElementById(a.getAttribute('href').slice(1))])")
        assert links and all(found for _, found in links)  # every stable unit's link reaches its section
        page.type("#unit-filter", "unit 1")  # key by key: the filter acts as you type
        rows = page.evaluate(rows_js)
        shown = [text for hidden, text in rows if not hidden]
        assert shown and all("unit 1" in t.lower() for t in shown)
        assert all("unit 1" not in t.lower() for hidden, t in rows if hidden)
        page.locator("#index").screenshot(path=str(ARTIFACTS / "sae-index-filtered.png"))
        page.fill("#unit-filter", "")
        page.evaluate("() => document.getElementById('unit-filter').dispatchEvent(new Event('input'))")
        assert not any(hidden for hidden, _ in page.evaluate(rows_js))
        col = page.evaluate("() => Array.from(document.querySelectorAll('#unit-index th')).findIndex(th => "
                            "th.textContent === 'best d')")
        values_js = f"() => Array.from(document.querySelectorAll('#unit-index tbody tr')).map(r => " \
                    f"parseFloat(r.cells[{col}].dataset.v))"
        page.locator("#unit-index th", has_text="best d").click()
        up = [v for v in page.evaluate(values_js) if v == v]
        page.locator("#unit-index th", has_text="best d").click()
        down = [v for v in page.evaluate(values_js) if v == v]
        assert up == sorted(up) and down == sorted(down, reverse=True) and len(up) > 1
        page.locator("section.unit").first.screenshot(path=str(ARTIFACTS / "sae-unit.png"))

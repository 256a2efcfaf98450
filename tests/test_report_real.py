"""Acceptance: the reports a user gets from the command line, as a reader opens them. `wormsae train` and
`wormsae interp` run in-process on the real Flavell recordings (../shared/data/flavell2023; skipped when absent), and
`wormsae demo` with its smallest settings (the session's `demo_run`). Each page, in Debian's chromium at 1366 px (skipped
without it): no horizontal scroll; every stable unit in the index links to its section (or the page says none is
stable); training metrics and held-out baselines present; no Python argument or call to run, only commands; no raw nan,
True or False; every figure embedded with at least twice the pixels it is shown at. Full-page screenshots go to
test-artifacts/report/ (real-full.png, demo-full.png).
"""
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import binom

sys.path.insert(0, str(Path(__file__).parent))
from test_browser import chromium_page  # noqa: E402
from wormsae.cli import main

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "report"


@pytest.fixture(scope="module")
def real_run(flavell_data, tmp_path_factory):
    "`wormsae train` (60 steps, 3 seeds, default size) then `wormsae interp` on the six real recordings: the run folder."
    files = [str(p) for p in sorted(flavell_data.glob("*-data.h5"))]
    run = tmp_path_factory.mktemp("real") / "run"
    assert main(["train", *files, "--out", str(run), "--steps", "60", "--seeds", "3", "--size", "default",
                 "--threads", "1"]) == 0
    assert main(["interp", str(run / "model"), *files]) == 0
    return run


@pytest.fixture(scope="module")
def pages(real_run, demo_run):
    return {"real": real_run / "interpretation" / "report.html", "demo": demo_run.out / "report.html"}


def _prose(html_text: str) -> str:
    "The page's words outside <pre> blocks (which quote program output verbatim), scripts and styles."
    text = re.sub(r"<(pre|script|style)\b.*?</\1>", " ", html_text, flags=re.S)
    return re.sub(r"<[^>]+>", " ", text).replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&")


def test_the_real_report_names_its_weak_design(real_run):
    "The food schedule: one animal, one presentation of each state; the page says that no significance is possible."
    text = (real_run / "interpretation" / "report.html").read_text()
    prose = _prose(text)
    assert "No significance is possible for off food, on food (1 presentation in 1 animal each)" in prose
    assert "Few animals: 1 of the 6 recordings has stimulus presentations" in prose
    calibration = pd.read_csv(real_run / "interpretation" / "placebo_calibration.csv")
    n, hit = len(calibration), int((calibration.significant > 0).sum())
    chance = binom.sf(hit - 1, n, 0.05)  # P(hit or more draws with a call) if the tests hold alpha = 0.05
    assert ("The placebo calibration found more false calls than alpha allows" in prose) == (hit > 0.05 * n and chance < 0.05)
    assert ("too few draws to tell an excess of false calls from chance" in prose) == (hit > 0.05 * n and chance >= 0.05)
    assert "state window" in prose and "No tests were run" not in prose  # the state comparison has its heatmap


@pytest.mark.parametrize("name", ["real", "demo"])
def test_reports_speak_in_words_and_commands(pages, name):
    text = pages[name].read_text()
    prose = _prose(text)
    assert not re.search(r"\b[a-z_]{2,}=", prose), re.search(r".{60}\b[a-z_]{2,}=.{20}", prose)  # no Python argument
    quoted = re.findall(r"`([^`]+)`", prose)
    assert all(q.startswith(("wormsae ", "--")) for q in quoted), quoted  # commands to run, nothing else
    if name == "real":  # `wormsae interp` compares with neither neurons nor PCA: the page says which command does
        assert any(q.startswith("wormsae demo") for q in quoted), quoted
    assert "calibrate()" not in text and "Interpretation." not in text and "n_seeds" not in text
    for raw in ("median_length_s", "missing_pct", "fdr_level", "on_response", "min_q", "best_d"):
        assert raw not in prose, raw
    assert not re.search(r"\b(nan|NaN|True|False)\b", prose), re.search(r".{40}\b(nan|NaN|True|False)\b.{20}", prose)
    assert "q=nan" not in text



_INDEX_JS = """() => {
  const heads = Array.from(document.querySelectorAll('#unit-index th')).map(th => th.textContent);
  const col = heads.indexOf('stable');
  return Array.from(document.querySelectorAll('#unit-index tbody tr')).map(r => {
    const a = r.cells[0].querySelector('a');
    return {stable: r.cells[col].textContent, href: a ? a.getAttribute('href') : null,
            target: a ? !!document.getElementById(a.getAttribute('href').slice(1)) : false};
  });
}"""


def test_reports_in_chromium(pages):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium_page(1366, 900) as page:
        for name, path in pages.items():
            page.goto(path.as_uri())
            page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
            page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"), full_page=True)
            width = page.evaluate("() => [document.scrollingElement.scrollWidth, innerWidth]")
            assert width[0] <= width[1], (name, width)
            rows = page.evaluate(_INDEX_JS)
            stable = [r for r in rows if r["stable"] in ("yes", "not measured")]
            assert rows and all(r["href"] and r["target"] for r in stable), name
            assert not any(r["href"] for r in rows if r["stable"] == "no"), name  # no link to a section not there
            if not stable:
                assert "No unit is stable across seeds" in page.inner_text("#units")
            for r in stable[:3]:  # a click lands on the section
                page.click(f'#unit-index a[href="{r["href"]}"]')
                top = page.evaluate(f"() => document.getElementById('{r['href'][1:]}').getBoundingClientRect().top")
                assert abs(top) < 2, (name, r, top)
            model, baselines = page.inner_text("#model"), page.inner_text("#baselines")
            assert "held-out: FVU (fraction of variance unexplained)" in model and "training: FVU" in model
            assert "PCA (" in baselines  # the PCA baseline at equal L0, on the held-out animals
            neurons = baselines if name == "real" else page.inner_text("#comparison")  # the demo has no behaviour
            assert re.search(r"\bneurons\b", neurons), name
            images = page.evaluate("() => Array.from(document.images).map(i => [i.alt, i.naturalWidth, "
                                   "i.getBoundingClientRect().width, i.src.slice(0, 22)])")
            assert images, name
            for alt, natural, shown, src in images:
                assert src.startswith("data:image/svg") or natural >= 2 * shown - 1, (name, alt, natural, shown)
            if name == "real":
                page.locator("#cards .card").first.screenshot(path=str(ARTIFACTS / "real-card.png"))
                page.locator("#psth").screenshot(path=str(ARTIFACTS / "real-psth.png"))

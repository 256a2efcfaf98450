"""The interactive explorers (wormsae.interactive) in a real browser: JupyterLab on loopback with temporary config,
Debian's chromium driven by Playwright (never a downloaded browser), as in test_browser.py, whose helpers it uses.

Checks: hovering the PSTH, the raster and the window's heatmaps shows names in the tooltip; a click on a unit row
opens that unit below; typing a neuron filter never leaves a unit shown that is not the one listed (and shows
nothing when nothing matches). Screenshots go to test-artifacts/explorers/. `run_in_browser(..., timings=True)`
also times first visits of new units and windows (bench/bench_explorers_browser.py prints them).
"""
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_browser import ARTIFACTS, CHROMIUM, SETUP, _run_all_cells, in_jupyterlab  # noqa: E402

SHOTS = ARTIFACTS / "explorers"
CELLS = [SETUP, "from wormsae.interactive import explore\nbox = explore(it, context_s=(-20, 40))\nbox"]
EX, UX = ".wormsae-window-explorer", ".wormsae-unit-explorer"


def _notebook(path: Path):
    import json
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": src, "outputs": [],
                     "execution_count": None} for i, src in enumerate(CELLS)]}
    path.write_text(json.dumps(nb, indent=1))


def test_interactive_explorers_in_jupyterlab(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} absent (CI installs Debian's chromium with apt)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed")
    pytest.importorskip("plotly", reason="plotly is not installed")
    run_in_browser(tmp_path, sync_api)


def run_in_browser(tmp_path: Path, sync_api, timings: bool = False):
    "Serve, open and drive the explorers; with `timings`, also time first visits (bench/bench_explorers_browser.py)."
    SHOTS.mkdir(parents=True, exist_ok=True)
    (tmp_path / "root").mkdir(parents=True, exist_ok=True)
    _notebook(tmp_path / "root" / "interactive.ipynb")
    return in_jupyterlab(tmp_path, sync_api, "interactive.ipynb", lambda page, url: _drive(page, url, sync_api, timings),
                         2000, SHOTS)


def _hover_text(page, plot: str, fx: float, fy: float, subplot: str = "xy") -> str:
    "Move the mouse to a fraction (fx, fy) of a plot's drawing area (plotly's subplot 'xy', 'xy2', ...); the tooltip's text."
    area = page.locator(f"{plot} .nsewdrag[data-subplot='{subplot}']").first
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    tip = page.locator(f"{plot} .hoverlayer .hovertext").first
    tip.wait_for(timeout=10_000)
    return tip.evaluate("el => { const lines = Array.from(el.querySelectorAll('tspan.line'));"
                        " return lines.length ? lines.map(t => t.textContent).join('\\n') : el.textContent }")


def _drive(page, url, sync_api, timings: bool = False):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    _run_all_cells(page)
    psth, raster, window = f"{UX} .wormsae-psth-plot", f"{UX} .wormsae-raster-plot", f"{EX} .wormsae-window-plot"
    for plot in (psth, raster, window):
        page.locator(f"{plot} .main-svg").first.wait_for(timeout=180_000)
    assert not page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']").count()
    page.locator(EX).screenshot(path=str(SHOTS / "window_explorer.png"))
    page.locator(UX).screenshot(path=str(SHOTS / "unit_explorer.png"))

    # hover: the window's unit heatmap names the unit; the neuron heatmap the neuron; the raster animal and repeat
    unit_tip = _hover_text(page, window, 0.5, 0.3, "x2y2")
    assert re.search(r"s from onset", unit_tip) and "s.d." in unit_tip, unit_tip
    neuron_tip = _hover_text(page, window, 0.5, 0.5)
    assert neuron_tip.startswith("neuron "), neuron_tip
    page.locator(EX).screenshot(path=str(SHOTS / "window_hover.png"))
    raster_tip = _hover_text(page, raster, 0.5, 0.5)
    assert re.search(r"· repeat \d", raster_tip) and "activation" in raster_tip, raster_tip
    psth_tip = _hover_text(page, psth, 0.5, 0.5)
    assert "s from onset" in psth_tip and "mean" in psth_tip, psth_tip
    page.locator(UX).screenshot(path=str(SHOTS / "psth_hover.png"))

    # the overview: hover names the unit, the stimulus and d; a click on a cell opens that unit and stimulus below
    overview = ".wormsae-overview-plot"
    cell_tip = _hover_text(page, overview, 0.5, 0.5 / 40)
    assert re.search(r" · .+\nd [+-]\d", cell_tip) and "click to open" in cell_tip, cell_tip
    cell_unit, cell_stimulus = (x.strip().removeprefix("★ ").replace(" (unstable)", "") for x in
                                cell_tip.splitlines()[0].split(" · "))
    page.mouse.down()
    page.mouse.up()
    sync_api.expect(page.locator(f"{UX} .wormsae-card")).to_contain_text(f"{cell_unit}: ", timeout=30_000)
    sync_api.expect(page.locator(f"{UX} .wormsae-raster-plot .gtitle")).to_contain_text(
        f"{cell_unit} · {cell_stimulus}", timeout=30_000)
    page.locator(overview).screenshot(path=str(SHOTS / "overview_hover.png"))

    # click: the unit row under the mouse opens in the unit explorer
    unit_tip = _hover_text(page, window, 0.5, 0.8, "x2y2")
    name = unit_tip.splitlines()[0].strip()
    page.mouse.down()
    page.mouse.up()
    sync_api.expect(page.locator(f"{UX} .wormsae-card")).to_contain_text(f"{name}: ", timeout=30_000)
    page.wait_for_function("([p, n]) => document.querySelector(p + ' .gtitle').textContent.startsWith(n + ':')",
                           arg=[psth, name], timeout=30_000)
    page.locator(UX).screenshot(path=str(SHOTS / "unit_opened_by_click.png"))
    # timed here, before the filters: a filter cleared just before a pick brings the last unit back a moment later,
    # and that late restore can undo a pick made in between (seen in bench runs; noted as a weakness of the explorer)
    visits = (_time_unit_visits(page, psth, raster, n=6), _time_window_visits(page, window, n=4)) if timings else None

    # typing a filter: after every keystroke the unit shown is the one selected in the list, or none
    box = page.locator(f"{UX} .wormsae-neuron-filter input")
    box.click()
    for key, typed in zip(["A", "V", "Q", "Backspace", "Backspace", "Backspace"], ["A", "AV", "AVQ", "AV", "A", ""]):
        box.press(key)  # one keystroke, no Enter
        page.wait_for_function("([s, v]) => document.querySelector(s).value === v", arg=[
            f"{UX} .wormsae-neuron-filter input", typed])
        page.wait_for_function(_CONSISTENT, arg=[UX, psth], timeout=30_000)
        if typed == "AVQ":
            sync_api.expect(page.locator(f"{UX} .wormsae-message")).to_contain_text("No unit matches", timeout=30_000)
            page.locator(UX).screenshot(path=str(SHOTS / "filter_no_match.png"))

    page.wait_for_function("s => document.querySelector(s).options.length > 10", arg=f"{UX} .wormsae-unit-select select",
                           timeout=30_000)  # every unit listed again
    assert not errors, errors
    return visits  # performance is measured in bench/, not asserted in a test


# the unit shown (card title, PSTH title) is the unit selected in the list, or nothing is shown and nothing listed
_CONSISTENT = """([ux, psth]) => {
    const plain = s => s.replace(/\u00a0/g, ' ');  // widgets write spaces in labels as non-breaking spaces
    const sel = document.querySelector(ux + ' .wormsae-unit-select select');
    const card = plain(document.querySelector(ux + ' .wormsae-card').innerText.trim());
    if (sel.options.length === 0 || sel.selectedIndex < 0)
        return card === '' && document.querySelector(ux + ' .wormsae-message').innerText.includes('No unit matches');
    const name = plain(sel.options[sel.selectedIndex].text).replace(/^★ /, '').split(':')[0].replace(' (unstable)', '');
    const title = document.querySelector(psth + ' .gtitle');
    return card.startsWith(name + ':') && title && plain(title.textContent).startsWith(name + ':');
}"""


def _time_unit_visits(page, psth, raster, n: int) -> list:
    "Milliseconds from picking a unit not yet shown to both figures titled with it, for n units."
    sel = page.locator(f"{UX} .wormsae-unit-select select")
    labels = sel.evaluate("s => Array.from(s.options).map(o => o.text)")
    out = []
    for label in labels[5:5 + n]:
        name = label.replace("\u00a0", " ").replace("★ ", "").split(":")[0].replace(" (unstable)", "")
        t0 = time.perf_counter()
        sel.select_option(label=label)
        try:
            page.wait_for_function("([p, r, n]) => [p, r].every(s => { const t = document.querySelector(s + ' .gtitle');"
                                   " const x = t ? t.textContent.replace(/\u00a0/g, ' ') : '';"
                                   " return x.startsWith(n + ' ') || x.startsWith(n + ':') })",
                                   arg=[psth, raster, name], timeout=30_000, polling=10)
        except Exception:
            titles = page.evaluate("ss => ss.map(s => { const t = document.querySelector(s + ' .gtitle'); return t ? t.textContent : null })", [psth, raster])
            raise AssertionError(f"picking {label!r} left the figures titled {titles}")
        out.append(1000 * (time.perf_counter() - t0))
    return out


def _time_window_visits(page, window, n: int) -> list:
    "Milliseconds from picking another stimulus or repeat to the heatmaps redrawn (their images change)."
    sign = f"() => Array.from(document.querySelectorAll('{window} .hm image')).map(i => i.getAttribute('href').slice(-64)).join()"
    out = []
    for k in range(n):
        control = page.locator(f"{EX} .wormsae-{'repeat' if k % 2 else 'stimulus'} select")
        options = control.evaluate("s => Array.from(s.options).map(o => o.text)")
        current = control.evaluate("s => s.options[s.selectedIndex].text")
        choice = next(o for o in options if o != current)
        before = page.evaluate(sign)
        t0 = time.perf_counter()
        control.select_option(label=choice)
        page.wait_for_function(f"b => ({sign})() !== b", arg=before, timeout=30_000, polling=10)
        out.append(1000 * (time.perf_counter() - t0))
    return out

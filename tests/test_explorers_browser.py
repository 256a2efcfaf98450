"""The interactive explorers (wormsae.interactive) in a real browser: JupyterLab on loopback with temporary config,
Debian's chromium driven by Playwright (never a downloaded browser), as in test_browser.py, whose helpers it uses.

Checks: hovering the PSTH, the raster and the window's heatmaps shows names in the tooltip, and times from onset
with one decimal ("+2.5 s"), in the PSTH's hover header too; a click on a unit row opens that unit below; typing
a neuron filter never leaves a unit shown that is not the one listed (and shows nothing when nothing matches); a
unit picked in the list at once after a filter is cleared is the unit shown, every time. Screenshots go to
test-artifacts/explorers/. `run_in_browser(..., timings=True)` also times first visits of new units and windows
(bench/bench_explorers_browser.py prints them).
"""
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_browser import ARTIFACTS, CHROMIUM, SETUP, _run_all_cells, in_jupyterlab  # noqa: E402

SHOTS = ARTIFACTS / "explorers"
EXPLORE = "from wormsae.interactive import explore\nbox = explore(it, context_s=(-20, 40))\nbox"
CELLS = [SETUP, EXPLORE]
EX, UX = ".wormsae-window-explorer", ".wormsae-unit-explorer"
TIME = re.compile(r"[+-]\d+\.\d s")  # a time from onset as the explorers write it: sign, one decimal, seconds


def _notebook(path: Path, cells=None):
    import json
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": src, "outputs": [],
                     "execution_count": None} for i, src in enumerate(CELLS if cells is None else cells)]}
    path.write_text(json.dumps(nb, indent=1))


def test_interactive_explorers_in_jupyterlab(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} absent (CI installs Debian's chromium with apt)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed")
    pytest.importorskip("plotly", reason="plotly is not installed")
    run_in_browser(tmp_path, sync_api)


def run_in_browser(tmp_path: Path, sync_api, timings: bool = False, cells=None, checks: bool = True, scopes=("",)):
    "Serve, open and drive the explorers; with `timings`, also time first visits. `checks=False` times only, in each of `scopes` (CSS prefixes of explorer pairs), taking turns (bench/bench_explorers_browser.py)."
    SHOTS.mkdir(parents=True, exist_ok=True)
    (tmp_path / "root").mkdir(parents=True, exist_ok=True)
    _notebook(tmp_path / "root" / "interactive.ipynb", cells)
    return in_jupyterlab(tmp_path, sync_api, "interactive.ipynb",
                         lambda page, url: _drive(page, url, sync_api, timings, checks, scopes), 2000, SHOTS)


def unit_name(label: str) -> str:
    "The unit a list label names: '★ unit 3 (unstable): A, late, d=+1.20' -> 'unit 3'."
    name = label.replace("\u00a0", " ").split(":")[0].replace("★ ", "").strip()
    return re.sub(r" \((unstable|stability not measured)\)$", "", name)


def _hover(page, plot: str, fx: float, fy: float, subplot: str = "xy") -> tuple[str, list]:
    "Move the mouse to a fraction (fx, fy) of a plot's drawing area (plotly's subplot 'xy', 'x2y2', ...): the hover header and the tooltips' texts."
    area = page.locator(f"{plot} .nsewdrag[data-subplot='{subplot}']").first
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    page.locator(f"{plot} .hoverlayer .hovertext").first.wait_for(timeout=10_000)
    return page.evaluate("""p => {
        const text = el => { const lines = Array.from(el.querySelectorAll('tspan.line'));
                             return (lines.length ? lines.map(t => t.textContent).join('\\n') : el.textContent).replace(/\\u00a0/g, ' '); };
        const root = document.querySelector(p + ' .hoverlayer');
        const header = root.querySelector('.axistext');
        return [header ? text(header) : null, Array.from(root.querySelectorAll('.hovertext')).map(text)];
    }""", plot)


def _drive(page, url, sync_api, timings: bool = False, checks: bool = True, scopes=("",)):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    _run_all_cells(page)
    for sc in scopes:
        for p in (f"{UX} [class*='wormsae-'][class*='-plot']", f"{EX} .wormsae-window-plot"):
            page.locator(f"{sc} {p} .main-svg").first.wait_for(timeout=180_000)
    window = f"{EX} .wormsae-window-plot"
    assert not page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']").count()
    if not checks:
        page.wait_for_timeout(2000)  # the kernel done with what it rendered ahead
        return time_visits(page, scopes=scopes)
    page.locator(EX).screenshot(path=str(SHOTS / "window_explorer.png"))
    page.locator(UX).screenshot(path=str(SHOTS / "unit_explorer.png"))
    plot = f"{UX} .wormsae-unit-plot"

    # hover: the window's unit heatmap names the unit; the neuron heatmap the neuron; the raster animal and repeat;
    # every time from onset has one decimal, the PSTH's hover header (the time hovered) too
    _, (unit_tip,) = _hover(page, window, 0.5, 0.3, "x2y2")
    assert TIME.search(unit_tip) and "s from onset" in unit_tip and "s.d." in unit_tip, unit_tip
    _, (neuron_tip,) = _hover(page, window, 0.5, 0.5)
    assert neuron_tip.startswith("neuron ") and TIME.search(neuron_tip), neuron_tip
    page.locator(EX).screenshot(path=str(SHOTS / "window_hover.png"))
    _, (raster_tip,) = _hover(page, plot, 0.5, 0.5, "x2y2")
    assert re.search(r"· repeat \d", raster_tip) and "activation" in raster_tip and TIME.search(raster_tip), raster_tip
    header, psth_tips = _hover(page, plot, 0.5, 0.5)
    assert header is not None and TIME.fullmatch(header.strip()), header  # e.g. '+2.5 s', not '2.4999998'
    assert psth_tips and all(TIME.search(t) and "s from onset" in t and "mean" in t for t in psth_tips), psth_tips
    page.locator(UX).screenshot(path=str(SHOTS / "psth_hover.png"))

    # the overview: hover names the unit, the stimulus and d; a click on a cell opens that unit and stimulus below
    overview = ".wormsae-overview-plot"
    _, (cell_tip,) = _hover(page, overview, 0.5, 0.5 / 40)
    assert re.search(r" · .+\nd [+-]\d", cell_tip) and "click to open" in cell_tip, cell_tip
    cell_unit, cell_stimulus = (x.strip().removeprefix("★ ").replace(" (unstable)", "") for x in
                                cell_tip.splitlines()[0].split(" · "))
    page.mouse.down()
    page.mouse.up()
    sync_api.expect(page.locator(f"{UX} .wormsae-card")).to_contain_text(f"{cell_unit}: ", timeout=30_000)
    sync_api.expect(page.locator(f"{plot} .wormsae-title").nth(1)).to_contain_text(  # the raster's title
        f"{cell_unit} · {cell_stimulus}", timeout=30_000)
    page.locator(overview).screenshot(path=str(SHOTS / "overview_hover.png"))

    # click: the unit row under the mouse opens in the unit explorer
    _, (unit_tip,) = _hover(page, window, 0.5, 0.8, "x2y2")
    name = unit_tip.splitlines()[0].strip()
    page.mouse.down()
    page.mouse.up()
    sync_api.expect(page.locator(f"{UX} .wormsae-card")).to_contain_text(f"{name}: ", timeout=30_000)
    page.wait_for_function(_TITLED, arg=[UX, name], timeout=30_000)
    page.locator(UX).screenshot(path=str(SHOTS / "unit_opened_by_click.png"))
    visits = time_visits(page)[""] if timings else None

    # typing a filter: after every keystroke the unit shown is the one selected in the list, or none
    box = page.locator(f"{UX} .wormsae-neuron-filter input")
    box.click()
    for key, typed in zip(["A", "V", "Q", "Backspace", "Backspace", "Backspace"], ["A", "AV", "AVQ", "AV", "A", ""]):
        box.press(key)  # one keystroke, no Enter
        page.wait_for_function("([s, v]) => document.querySelector(s).value === v", arg=[
            f"{UX} .wormsae-neuron-filter input", typed])
        page.wait_for_function(_CONSISTENT, arg=UX, timeout=30_000)
        if typed == "AVQ":
            sync_api.expect(page.locator(f"{UX} .wormsae-message")).to_contain_text("No unit matches", timeout=30_000)
            page.locator(UX).screenshot(path=str(SHOTS / "filter_no_match.png"))
    page.wait_for_function("s => document.querySelector(s).options.length > 10", arg=f"{UX} .wormsae-unit-select select",
                           timeout=30_000)  # every unit listed again
    _picks_after_clearing_a_filter_win(page, n=20)
    assert not errors, errors
    return visits  # performance is measured in bench/, not asserted in a test


def _picks_after_clearing_a_filter_win(page, n: int):
    "n times: type a neuron filter, clear it and at once pick a unit of the list still shown; the unit picked is shown."
    sel, box = page.locator(f"{UX} .wormsae-unit-select select"), page.locator(f"{UX} .wormsae-neuron-filter input")
    every = sel.evaluate("s => s.options.length")
    for i in range(n):
        box.fill("AV")
        page.wait_for_function("([s, n]) => document.querySelector(s).options.length < n",
                               arg=[f"{UX} .wormsae-unit-select select", every], timeout=30_000)
        page.wait_for_function(_CONSISTENT, arg=UX, timeout=30_000)
        listed = sel.evaluate("s => Array.from(s.options).map(o => o.text)")
        label = listed[(1 + i) % len(listed)]
        box.fill("")  # the kernel lists every unit again: the pick below is made in the list still shown
        sel.select_option(label=label)
        try:
            page.wait_for_function(_TITLED, arg=[UX, unit_name(label)], timeout=15_000)
            page.wait_for_timeout(300)  # nothing late undoes it
            page.wait_for_function(_TITLED, arg=[UX, unit_name(label)], timeout=1_000)
            page.wait_for_function(_CONSISTENT, arg=UX, timeout=15_000)
        except Exception:
            shown = page.evaluate("ux => document.querySelector(ux + ' .wormsae-card').innerText.slice(0, 40)", UX)
            raise AssertionError(f"pick {i}: picked {label!r} after clearing the filter, the card shows {shown!r}")


# the figure's titles (the PSTH's and the raster's, HTML above it) and the card name unit n
_TITLED = """([ux, n]) => {
    const plain = s => s.replace(/\\u00a0/g, ' ');
    const titles = Array.from(document.querySelectorAll(ux + ' .wormsae-unit-plot .wormsae-title')).map(t => plain(t.textContent));
    const card = plain(document.querySelector(ux + ' .wormsae-card').innerText.trim());
    return titles.length === 2 && titles.every(t => t.startsWith(n + ':') || t.startsWith(n + ' ·')) && card.startsWith(n + ':');
}"""

# the unit shown (card title, figure titles) is the unit selected in the list, or nothing is shown and nothing listed
_CONSISTENT = """ux => {
    const plain = s => s.replace(/\\u00a0/g, ' ');
    const sel = document.querySelector(ux + ' .wormsae-unit-select select');
    const card = plain(document.querySelector(ux + ' .wormsae-card').innerText.trim());
    if (sel.options.length === 0 || sel.selectedIndex < 0)
        return card === '' && document.querySelector(ux + ' .wormsae-message').innerText.includes('No unit matches');
    const name = plain(sel.options[sel.selectedIndex].text).replace('★ ', '').split(':')[0]
        .replace(/ \\((unstable|stability not measured)\\)$/, '');
    const titles = Array.from(document.querySelectorAll(ux + ' .wormsae-unit-plot .wormsae-title')).map(t => plain(t.textContent));
    return card.startsWith(name + ':') && titles.length === 2 && titles.every(t => t.startsWith(name + ':') || t.startsWith(name + ' ·'));
}"""

# Timing in the page: from the `change` event of a control to the end of the first frame painted after the figure
# shows what was picked: every plotly figure of the explorer has replotted since the change (`plotly_afterplot`)
# and, for a unit, their titles name it (checked at each animation frame; the time is taken by a task queued from
# that frame's callback at the highest priority, which runs once the frame has been laid out and painted, before
# other queued work such as the card's message); and to the end of the frame at
# which everything else has followed too (the card, and the activation image: a PNG the kernel sends after the
# figure). Works for the figures of earlier versions too (separate PSTH and raster figures titled by `.gtitle`),
# for the bench's baseline.
_WATCH = """([control, what, root]) => {
    const plain = s => s.replace(/\\u00a0/g, ' ');
    const v = window.__visit = {change: null, figure: null, all: null};
    const plots = Array.from(document.querySelectorAll(root + ' .js-plotly-plot'));
    const replotted = new Set();
    const listeners = plots.map(gd => { const f = () => { if (v.change !== null) replotted.add(gd); }; gd.on('plotly_afterplot', f); return f; });
    const img = document.querySelector(root + ' img.wormsae-activation');
    const before = img ? img.getAttribute('src') : null;
    const titled = n => {  // plotly titles (earlier versions) or HTML ones (.wormsae-title)
        const ts = plots.flatMap(p => Array.from(p.querySelectorAll('.gtitle, .annotation-text')).slice(0, 2))
            .concat(Array.from(document.querySelectorAll(root + ' .wormsae-title'))).map(t => plain(t.textContent));
        return ts.length > 0 && ts.every(t => t.startsWith(n + ':') || t.startsWith(n + ' ·'));
    };
    const figure = () => replotted.size === plots.length && (what.kind !== 'unit' || titled(what.name));
    const rest = () => what.kind !== 'unit' || (
        plain(document.querySelector(root + ' .wormsae-card').innerText.trim()).startsWith(what.name + ':') &&
        (!img || (img.getAttribute('src') !== before && img.complete && img.naturalWidth > 0)));
    const after = f => window.scheduler && scheduler.postTask ? scheduler.postTask(f, {priority: 'user-blocking'}) : setTimeout(f, 0);
    const painted = key => after(() => { v[key] = performance.now(); });  // once this frame is painted, before other tasks
    let fig = false;
    const frame = () => {
        if (!fig && figure()) { fig = true; painted('figure'); }
        if (fig && rest()) {
            painted('all');
            plots.forEach((gd, i) => gd.removeListener('plotly_afterplot', listeners[i]));
            return;
        }
        if (performance.now() - v.change < 20000) requestAnimationFrame(frame);
    };
    document.querySelector(control).addEventListener('change', () => {
        v.change = performance.now();
        requestAnimationFrame(frame);
    }, {capture: true, once: true});
}"""


def _visit(page, control: str, choose, what: dict, root: str) -> dict:
    "Milliseconds from the change of `control` (`choose()` makes it) to the figure redrawn and to everything redrawn; and as Playwright saw it."
    page.evaluate(_WATCH, [control, what, root])
    t0 = time.perf_counter()
    choose()
    page.wait_for_function("() => window.__visit.all !== null && window.__visit.figure !== null", timeout=30_000, polling=10)
    wall = 1000 * (time.perf_counter() - t0)
    v = page.evaluate("window.__visit")
    return {"figure": v["figure"] - v["change"], "all": v["all"] - v["change"], "playwright": wall}


def _unit_picks(page, n: int, scope: str = "") -> list:
    "n units far apart in the list (never a neighbour of one shown before, which an explorer may render ahead): (index, name)."
    sel = page.locator(f"{scope} {UX} [class*='unit-select'] select")
    labels = sel.evaluate("s => Array.from(s.options).map(o => o.text)")
    picks = [sel.evaluate("s => s.selectedIndex")]  # the unit shown: its neighbours may be rendered already
    for i in range(len(labels)):
        if len(picks) <= n and all(abs(i - j) > 3 for j in picks):
            picks.append(i)
    return [(i, unit_name(labels[i])) for i in picks[1:]]


def _unit_visit(page, pick: tuple, scope: str = "", pause_ms: int = 1000) -> dict:
    "One first visit of a unit, `pause_ms` after the last action (a person looks at a unit before the next)."
    control = f"{scope} {UX} [class*='unit-select'] select"
    page.wait_for_timeout(pause_ms)
    return _visit(page, control, lambda: page.locator(control).select_option(index=pick[0]),
                  {"kind": "unit", "name": pick[1]}, f"{scope} {UX}")


def _window_visit(page, k: int, seen: set, scope: str = "", pause_ms: int = 1000) -> dict | None:
    "One first visit of a window: another stimulus, or another repeat for odd `k` (the other when one offers nothing new)."
    ex = f"{scope} {EX}"
    current = tuple(page.evaluate("ex => ['stimulus', 'repeat'].map(c => { const s = document.querySelector("
                                  "ex + ' .wormsae-' + c + ' select'); return s.options[s.selectedIndex].text })", ex))
    seen.add(current)
    for what in (("repeat", "stimulus") if k % 2 else ("stimulus", "repeat")):
        control = f"{ex} .wormsae-{what} select"
        options = page.locator(control).evaluate("s => Array.from(s.options).map(o => o.text)")
        fresh = [o for o in options if ((o, current[1]) if what == "stimulus" else (current[0], o)) not in seen]
        if fresh:
            page.wait_for_timeout(pause_ms)
            return _visit(page, control, lambda: page.locator(control).select_option(label=fresh[0]), {"kind": "window"}, ex)
    return None


def time_visits(page, n_units: int = 8, n_windows: int = 6, scopes=("",)) -> dict:
    "First visits of units and windows in each explorer pair (`scopes`: CSS prefixes), taking turns: {scope: (units, windows)}."
    picks = {sc: _unit_picks(page, n_units, sc) for sc in scopes}
    out = {sc: ([], []) for sc in scopes}
    for i in range(n_units):
        for sc in scopes:
            out[sc][0].append(_unit_visit(page, picks[sc][i], sc))
    seen = {sc: set() for sc in scopes}
    for k in range(n_windows):
        for sc in scopes:
            v = _window_visit(page, k, seen[sc], sc)
            if v is not None:
                out[sc][1].append(v)
    return out

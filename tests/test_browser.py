"""The explorers in a real browser: JupyterLab on loopback, a notebook that builds them on the virtual worm,
Debian's chromium driven by Playwright, a control changed through the page, the output checked.

Nothing depends on the user's Jupyter setup: config, data, runtime, settings and workspace folders are
temporary, the server listens on 127.0.0.1 on a free port with a random token, and the browser is the
system's chromium (never one downloaded by Playwright). Screenshots go to test-artifacts/ at the repo root.
Skips when /usr/bin/chromium or the playwright package is missing.
"""
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]



@contextmanager
def chromium_page(width: int = 1366, height: int = 900):
    "A page in Debian's chromium at `width` x `height` px (skips when chromium or playwright is missing); closed after."
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} absent (CI installs Debian's chromium with apt)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


SETUP = """\
import warnings
warnings.simplefilter("ignore")
from wormsae.virtual import virtual_worm
from wormsae.sae import SAEConfig
from wormsae.train import TrainConfig, train_sae
from wormsae.interp import interpret
from wormsae.widgets import UnitExplorer, WindowExplorer

col, _ = virtual_worm(n_animals=3, seed=0, n_frames=1650, stimuli=["100mM NaCl", "10mM CuSO4", "Control", "OP50"],
                      repeats=2)
sae = train_sae(col, SAEConfig(d_in=len(col.neurons), d_sae=64, activation="topk", k=8),
                TrainConfig(steps=100, n_val=0, progress=False)).sae
it = interpret(sae, col, n_null=100, progress=False)
print(it)"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(path: Path):
    "A notebook (no outputs) that builds both explorers."
    cells = [SETUP, "ux = UnitExplorer(it)\nux", "wx = WindowExplorer(it, context_s=(-20, 40))\nwx"]
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": src, "outputs": [],
                     "execution_count": None} for i, src in enumerate(cells)]}
    path.write_text(json.dumps(nb, indent=1))


def _settings(folder: Path):
    "JupyterLab user settings: no news or update pop-ups, every cell rendered (no windowing)."
    for plugin, values in {"@jupyterlab/apputils-extension/notification": {"checkForUpdates": False, "fetchNews": "false"},
                           "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}.items():
        f = folder / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))


def _start_server(tmp: Path, port: int, token: str) -> subprocess.Popen:
    "jupyter lab on 127.0.0.1:port, every Jupyter folder temporary, output in tmp/server.log."
    dirs = {k: tmp / k for k in ("root", "config", "data", "runtime", "settings", "workspaces", "ipython")}
    for d in dirs.values():
        d.mkdir(exist_ok=True)  # root may hold a notebook written before the server starts
    _notebook(dirs["root"] / "explorer.ipynb")
    _settings(dirs["settings"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    env.update(JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
               JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]), IPYTHONDIR=str(dirs["ipython"]),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
               PYTHONPATH=f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={dirs['root']}",
           "--allow-root", "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
    log = open(tmp / "server.log", "w")
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=dirs["root"], start_new_session=True)


def _wait_for_server(proc, url: str, log: Path, timeout: float = 60):
    "Poll the status endpoint until the server answers (or fail, with its log, if it exits or times out)."
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        try:
            proc.wait(timeout=0.25)  # the pause between polls doubles as a check that the server still runs
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        except subprocess.TimeoutExpired:
            pass
    raise TimeoutError(f"jupyter lab did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def _stop_server(proc: subprocess.Popen):
    "SIGTERM the server, then SIGKILL its process group (kernels included) if anything is left."
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this test started (start_new_session=True)
    except ProcessLookupError:
        pass
    proc.wait(timeout=15)


def _state(page, explorer: str, image: str) -> dict:
    "The text of an explorer and the src of one of its images, read from the page."
    return page.evaluate("""([ex, img]) => {
        const root = document.querySelector(ex);
        const im = root.querySelector(img);
        return {text: root.innerText.replace(/\u00a0/g, ' '), src: im ? im.getAttribute('src') : null,
                loaded: im ? (im.complete && im.naturalWidth > 0) : false};
    }""", [explorer, image])


def test_explorers_in_jupyterlab(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} absent (CI installs Debian's chromium with apt)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed")
    ARTIFACTS.mkdir(exist_ok=True)
    t0 = time.monotonic()
    in_jupyterlab(tmp_path, sync_api, "explorer.ipynb", lambda page, url: _drive(page, url, sync_api), 1800, ARTIFACTS)
    print(f"browser test: {time.monotonic() - t0:.1f} s")


def in_jupyterlab(tmp_path: Path, sync_api, notebook: str, drive, height: int, shots: Path):
    "JupyterLab on loopback, `notebook` (in tmp_path/'root') opened in chromium: `drive(page, url)`'s result; on failure a screenshot and the server's log."
    port, token = _free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    proc = _start_server(tmp_path, port, token)
    try:
        _wait_for_server(proc, f"{base}/api/status?token={token}", tmp_path / "server.log")
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1500, "height": height})
                try:
                    return drive(page, f"{base}/lab/tree/{notebook}?token={token}")
                except Exception:
                    page.screenshot(path=str(shots / "failure.png"))
                    print((tmp_path / "server.log").read_text()[-5000:])
                    raise
            finally:
                browser.close()
    finally:
        _stop_server(proc)


def _run_all_cells(page, attempts: int = 3):
    "Run > Run All Cells once the kernel is connected and idle; repeat if the first cell did not start."
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    first_prompt = page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputArea-prompt")
    for _ in range(attempts):
        # the status bar reads "Python 3 (ipykernel) | Idle" only once the kernel is connected
        page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).wait_for(timeout=90_000)
        page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
        page.locator("#jp-mainmenu-run .lm-Menu-item").filter(
            has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$"))).click()
        try:  # "[*]:" while running, "[1]:" when done; a run sent before the kernel was attached stays "[ ]:"
            page.wait_for_function("el => !/\\[ \\]/.test(el.textContent)", arg=first_prompt.element_handle(),
                                   timeout=15_000)
            return
        except PlaywrightTimeout:
            pass
    raise AssertionError(f"Run All Cells did not start the first cell in {attempts} attempts")


def _drive(page, url, sync_api):
    "Open the notebook, run all cells, use both explorers through the page, screenshot before and after."
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    _run_all_cells(page)

    ux, wx = ".wormsae-unit-explorer", ".wormsae-window-explorer"
    page.locator(f"{wx} img.wormsae-window").wait_for(timeout=150_000)  # the last cell has run and rendered
    for sel in (f"{ux} img.wormsae-psth", f"{ux} img.wormsae-activation", f"{wx} img.wormsae-window"):
        page.wait_for_function("s => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0 }",
                               arg=sel, timeout=30_000)
    assert not page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']").count()

    # UnitExplorer: pick another unit in the dropdown
    select = page.locator(f"{ux} .wormsae-unit-select select")
    before = _state(page, ux, "img.wormsae-psth")
    unit_name = lambda label: re.sub(r" \((unstable|stability not measured)\)$", "",
                                     label.replace("\xa0", " ").split(":")[0].replace("★ ", "").strip())
    first = unit_name(select.locator("option").nth(0).inner_text())
    assert f"{first}: best:" in before["text"] and before["loaded"]
    page.locator(ux).screenshot(path=str(ARTIFACTS / "unit_explorer_before.png"))
    name = unit_name(select.locator("option").nth(3).inner_text())
    t = time.monotonic()
    activation_before = _state(page, ux, "img.wormsae-activation")["src"]
    select.select_option(index=3)
    for image, src in (("img.wormsae-psth", before["src"]), ("img.wormsae-activation", activation_before)):
        page.wait_for_function("([ex, img, src]) => { const i = document.querySelector(ex + ' ' + img);"
                               " return i.getAttribute('src') !== src && i.complete && i.naturalWidth > 0 }",
                               arg=[ux, image, src], timeout=30_000)
    card = page.locator(f"{ux} .wormsae-card")
    sync_api.expect(card).to_contain_text(f"{name}: best:", timeout=30_000)
    print(f"unit switch seen in the page after {time.monotonic() - t:.2f} s")
    after = _state(page, ux, "img.wormsae-psth")
    assert after["src"] != before["src"] and after["loaded"]
    assert f"{name}: best:" in after["text"] and f"{first}: best:" not in after["text"]
    page.locator(ux).screenshot(path=str(ARTIFACTS / "unit_explorer_after.png"))

    # UnitExplorer: a neuron filter typed into the page
    page.locator(f"{ux} .wormsae-neuron-filter input").fill("ZZZ")
    page.locator(f"{ux} .wormsae-neuron-filter input").press("Enter")
    sync_api.expect(page.locator(f"{ux} .wormsae-message")).to_contain_text("No unit matches neuron 'ZZZ'", timeout=30_000)

    # WindowExplorer: another repeat, then a stimulus the animal saw
    wbefore = _state(page, wx, "img.wormsae-window")
    assert "repeat 0" in wbefore["text"] and wbefore["loaded"]
    page.locator(wx).screenshot(path=str(ARTIFACTS / "window_explorer_before.png"))
    page.locator(f"{wx} .wormsae-repeat select").select_option(label="1")
    page.wait_for_function("([ex, src]) => { const i = document.querySelector(ex + ' img.wormsae-window');"
                           " return i.getAttribute('src') !== src && i.complete && i.naturalWidth > 0 }",
                           arg=[wx, wbefore["src"]], timeout=30_000)
    sync_api.expect(page.locator(f"{wx} .wormsae-caption")).to_contain_text("repeat 1", timeout=30_000)
    page.locator(wx).screenshot(path=str(ARTIFACTS / "window_explorer_after.png"))
    assert not errors, errors

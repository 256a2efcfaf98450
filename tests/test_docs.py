"""The documentation site (_site/, built by tools/build_docs.py) checked twice: by tools/check_site.py without a
browser, then in Debian's chromium driven by Playwright, every page served from 127.0.0.1.

In the browser every page must answer 200 and log no console error, every link inside the site must lead to a
page that answers 200 (and to an element with that id when it has a #fragment), every <img> must have decoded
(naturalWidth > 0), every formula must be typeset by the site's own MathJax, and no request may leave 127.0.0.1
(such requests are aborted and reported). Screenshots of a few pages at 1366 px go to test-artifacts/docs/.
Both checkers are first run on a tiny hand-made site with one broken link, one broken image, one image from
another host (and, for the browser, one formula without MathJax), which they must report.
Skips when the site is not built, or when /usr/bin/chromium or the playwright package is missing.
"""
import base64
import functools
import http.server
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_site"
ARTIFACTS = ROOT / "test-artifacts" / "docs"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# page -> (screenshot name, element scrolled to the top first, or None)
SCREENSHOTS = {"index.html": ("home", None), "tutorials/01_quickstart.html": ("tutorial_quickstart", ".cell_output img"),
               "api/loading.html": ("api_loading", None),
               "chapters/05_virtual_worm.html": ("chapter_virtual_worm_math", "div.math")}
WIDTH, HEIGHT = 1366, 900

sys.path.insert(0, str(ROOT / "tools"))
from build_docs import WIDGET_NOTE, prepared, split_directives, static_outputs  # noqa: E402
from check_site import check_site  # noqa: E402

# a 1x1 PNG
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def tiny_site(folder: Path) -> Path:
    "The good link, image and anchor; one broken link, one broken image, one outside image, one untypeset formula."
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good.png").write_bytes(PIXEL)
    (folder / "broken.png").write_bytes(b"not an image at all")
    (folder / "other.html").write_text('<html><body><h1 id="here">Other</h1></body></html>')
    (folder / "math.html").write_text('<html><body><div class="math">$x^2$</div></body></html>')  # no MathJax
    (folder / "index.html").write_text(
        '<html><body><a href="other.html#here">fine</a> <a href="missing.html">broken link</a>'
        '<img src="good.png"> <img src="broken.png"> <img src="https://example.invalid/x.png"></body></html>')
    return folder


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def serve(folder: Path):
    "The folder served on 127.0.0.1 at a free port, in a thread; yields the base URL."
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def is_local(url: str, base: str) -> bool:
    return url.startswith(base) or url.startswith(("data:", "blob:", "about:"))


# the images of the page, each loaded eagerly (lazy images off screen would otherwise never load)
IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  return imgs.map(i => ({src: i.currentSrc || i.src, width: i.naturalWidth}));
}"""
LINKS_JS = "() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
IDS_JS = "() => Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.name)"


def math_typeset(page, timeout_ms: float = 20_000) -> bool:
    "Whether every formula of the page (`.math`, from MyST) has been typeset by the site's own MathJax."
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    try:
        page.wait_for_function("() => document.querySelectorAll('.math').length"
                               " <= document.querySelectorAll('.math mjx-container').length", timeout=timeout_ms)
        return True
    except PlaywrightTimeout:
        return False


def browse(browser, base: str, pages: list[str], screenshots: dict | None = None,
           math_timeout_ms: float = 20_000) -> list[str]:
    "Open every page in chromium; every problem found, one line each."
    problems, outside, ids, links = [], [], {}, set()
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})

    def route(r):
        if is_local(r.request.url, base):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    for rel in pages:
        errors.clear()
        outside.clear()
        response = page.goto(base + rel, wait_until="load")
        if response is None or response.status != 200:
            problems.append(f"{rel}: answered {response.status if response else 'nothing'}")
            continue
        if not math_typeset(page, math_timeout_ms):
            problems.append(f"{rel}: math not typeset by MathJax")
        for image in page.evaluate(IMAGES_JS):
            if image["width"] == 0:
                problems.append(f"{rel}: image {image['src']} did not load")
        page.wait_for_load_state("networkidle")
        problems += [f"{rel}: console error: {e}" for e in errors]
        problems += [f"{rel}: requested {u} from another host" for u in outside]
        ids[base + rel] = set(page.evaluate(IDS_JS))
        links |= {(rel, href) for href in page.evaluate(LINKS_JS) if is_local(href, base)}
        if screenshots and rel in screenshots:
            name, selector = screenshots[rel]
            if selector:
                page.locator(selector).first.evaluate(  # instant: furo scrolls smoothly otherwise
                    "e => { e.scrollIntoView({behavior: 'instant'}); window.scrollBy({top: -80, behavior: 'instant'}); }")
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    status = {}
    for rel, href in sorted(links):
        url, fragment = urldefrag(href)
        if url not in status:
            status[url] = context.request.get(url).status
        if status[url] != 200:
            problems.append(f"{rel}: link {href} answered {status[url]}")
        elif fragment and urlsplit(url).path.endswith(".html"):
            if url not in ids:
                ids[url] = set()
                page.goto(url)
                ids[url] = set(page.evaluate(IDS_JS))
            if fragment not in ids[url]:
                problems.append(f"{rel}: link {href} names no element #{fragment}")
    context.close()
    return problems


@contextmanager
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} absent (CI installs Debian's chromium with apt)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def html_pages(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html"))


def test_plain_checker_finds_broken_link_and_images(tmp_path):
    problems = check_site(tiny_site(tmp_path / "site"))
    assert sorted(problems) == ["index.html: broken link missing.html",
                                "index.html: image broken.png is not a PNG, JPEG, GIF, WebP or SVG file",
                                "index.html: loads https://example.invalid/x.png from another host"]


def test_browser_checker_finds_broken_link_and_images(tmp_path):
    site = tiny_site(tmp_path / "site")
    with chromium() as browser, serve(site) as base:
        problems = browse(browser, base, html_pages(site), math_timeout_ms=500)
    assert any(p.startswith("index.html: image") and "broken.png" in p for p in problems), problems
    assert any(p.startswith("index.html: link") and "missing.html" in p and "404" in p for p in problems), problems
    assert any("requested https://example.invalid/x.png from another host" in p for p in problems), problems
    assert "math.html: math not typeset by MathJax" in problems
    assert not any("good.png" in p or "other.html" in p for p in problems), problems


def code(source: str, outputs=()) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": source, "outputs": list(outputs), "execution_count": None}


def test_directives_applied_as_nbdev_does():
    assert split_directives("#| echo: false\n#|hide\nx = 1") == ({"echo": "false", "hide": ""}, "x = 1")
    assert split_directives("#| default_exp data") == ({"default_exp": "data"}, "")
    nb = {"metadata": {}, "cells": [
        code("#| default_exp data"), code("#| hide\nimport secret"), code("#| export\ndef f(): pass"),
        code("#| echo: false\nprint(1)"), code("#| output: false\nprint(2)"), code("x = 1  #| not a directive"),
        {"cell_type": "markdown", "metadata": {}, "source": "#| stays: markdown is not code"}]}
    cells = prepared(nb)["cells"]
    assert [c["source"] for c in cells] == ["def f(): pass", "print(1)", "print(2)", "x = 1  #| not a directive",
                                            "#| stays: markdown is not code"]
    assert [c["metadata"].get("tags", []) for c in cells] == [[], ["remove-input"], ["remove-output"], [], []]


def widget_output(text: str) -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": text}}


def test_widget_outputs_become_a_note_and_progress_bars_go():
    printed = {"output_type": "stream", "name": "stdout", "text": "50%| done\n"}
    nb = static_outputs({"metadata": {"widgets": {"state": {}}}, "cells": [
        code("ux", [widget_output("VBox(children=(...))")]),
        code("train()", [widget_output("training:   0%|          | 0/800 [00:00<?, ?it/s]"), printed])]})
    assert "widgets" not in nb["metadata"]
    assert [o.get("data") for o in nb["cells"][0]["outputs"]] == [{"text/markdown": WIDGET_NOTE}]
    assert nb["cells"][1]["outputs"] == [printed]  # the bar is gone, printed text stays


def test_a_failing_tutorial_fails_the_build(tmp_path):
    "The docs build is where the tutorials run in CI, so an error in one must stop it as nbdev_test would."
    pytest.importorskip("nbclient")
    import nbformat
    from build_docs import executed
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("x / 0")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with pytest.raises(Exception, match="ZeroDivisionError"):
        executed(tmp_path / "broken.ipynb", nb, fingerprint=f"test-{tmp_path.name}")


def built_site() -> Path:
    if not (SITE / "index.html").exists():
        pytest.skip(f"the documentation site is not built ({SITE}; run python tools/build_docs.py)")
    return SITE


def test_site_links_and_images():
    problems = check_site(built_site())
    assert not problems, "\n".join(problems)


def test_site_in_chromium():
    site = built_site()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = html_pages(site)
    assert set(SCREENSHOTS) <= set(pages), "a page to screenshot is missing from the site"
    with chromium() as browser, serve(site) as base:
        problems = browse(browser, base, pages, SCREENSHOTS)
    assert not problems, "\n".join(problems)
    assert all((ARTIFACTS / f"{name}.png").exists() for name, _ in SCREENSHOTS.values())

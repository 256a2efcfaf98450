#!/usr/bin/env python
"""Build the documentation site into _site/ from the notebooks, offline.

    python tools/build_docs.py             # tutorials executed (cached by content in _build/docs-cache)
    python tools/build_docs.py --no-execute  # every notebook rendered as stored, without outputs

Pages: the README notebook (nbs/index.ipynb) as the home page; the tutorials, executed here so that their
outputs show; the workshop notebooks and the chapters (one per module), rendered without running them (they
run in `nbdev_test`); one API page per module, generated from the docstrings and docments comments
(tools/api_pages.py). nbdev directives are applied as nbdev's own site would: `#| hide` cells are left out,
`#| echo: false` hides the code, `#| output: false` the output, and the `#|` lines themselves are not shown.

The notebooks are staged, changed as above, in _build/docs/ and rendered by Sphinx with MyST-NB
(configuration in docs/conf.py); nothing on the site is fetched from another host.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
STAGE = ROOT / "_build" / "docs"
CACHE = ROOT / "_build" / "docs-cache"
SITE = ROOT / "_site"
CONF = ROOT / "docs"
CELL_TIMEOUT_S = 600
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# the kernels' environment (defaults; part of the cache key): one thread per kernel, as two kernels share two
# cores; figures without a display; no progress bars
KERNEL_ENV = {"OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "WORMSAE_QUIET": "1"}

sys.path.insert(0, str(ROOT / "tools"))
from api_pages import write_api_pages  # noqa: E402

_DIRECTIVE = re.compile(r"^\s*#\|\s*(.*?)\s*$")


def split_directives(source: str) -> tuple[dict[str, str], str]:
    "nbdev directives at the top of a cell (`#| hide`, `#| echo: false`) as {name: value}, and the rest."
    lines = source.splitlines()
    found = {}
    while lines and (m := _DIRECTIVE.match(lines[0])):
        text = m.group(1)
        name, _, value = text.partition(":") if ":" in text.split(" ")[0] else text.partition(" ")
        found[name.strip()] = value.strip()
        lines.pop(0)
    return found, "\n".join(lines).strip("\n")


def tag(cell, name: str):
    cell.setdefault("metadata", {}).setdefault("tags", [])
    if name not in cell["metadata"]["tags"]:
        cell["metadata"]["tags"].append(name)


def prepared_cell(cell):
    "The cell as the site shows it, or None when nbdev would leave it out."
    if cell["cell_type"] != "code":
        return cell
    found, body = split_directives(cell["source"])
    if "hide" in found or not body:
        return None
    cell["source"] = body
    if found.get("echo") == "false":
        tag(cell, "remove-input")
    if found.get("output") == "false":
        tag(cell, "remove-output")
    if found.get("eval") == "false":
        tag(cell, "skip-execution")
    return cell


def prepared(nb):
    nb["cells"] = [c for c in (prepared_cell(c) for c in nb["cells"]) if c is not None]
    return nb


WIDGET_NOTE = "*An interactive explorer: run this notebook in Jupyter to use it.*"


_PROGRESS_TEXT = re.compile(r"\d+%\|")  # a tqdm bar's text fallback: "training:  40%|####  | 4/10"


def static_output(out):
    """The output as a static page shows it: a widget view (which needs a kernel and widget JavaScript) becomes a
    note, or nothing when it is a progress bar; None to leave the output out."""
    data = out.get("data")
    if not isinstance(data, dict) or WIDGET_MIME not in data:
        return out
    if _PROGRESS_TEXT.search("".join(data.get("text/plain", ""))):
        return None
    out["data"] = {"text/markdown": WIDGET_NOTE}
    return out


def static_outputs(nb):
    nb["metadata"].pop("widgets", None)
    for cell in nb["cells"]:
        if "outputs" in cell:
            cell["outputs"] = [o for o in map(static_output, cell["outputs"]) if o is not None]
    return nb


def package_fingerprint() -> str:
    "Hash of the package's code: an executed notebook is reused only while both it and the package are unchanged."
    h = hashlib.sha256()
    for f in sorted((ROOT / "wormsae").glob("*.py")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def executed(src: Path, nb, fingerprint: str):
    "The notebook run top to bottom in its own folder (so relative paths work), from the cache when unchanged."
    from nbclient import NotebookClient
    env = {k: os.environ.get(k) for k in KERNEL_ENV}
    key = hashlib.sha256(json.dumps([nb, env, fingerprint], sort_keys=True).encode()).hexdigest()[:16]
    cached = CACHE / f"{src.stem}-{key}.ipynb"
    if cached.exists():
        return nbformat.read(cached, as_version=4), 0.0
    start = time.perf_counter()
    NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(src.parent)}}).execute()
    seconds = time.perf_counter() - start
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob(f"{src.stem}-*.ipynb"):
        old.unlink()
    nbformat.write(nb, cached)
    return nb, seconds


def chapter_note(module: str | None) -> str:
    "What a chapter page says under its title: why it has no outputs, and where its API page is."
    api = f" Its API: [`{module}`](../api/{module.split('.')[-1]}.md)." if module else ""
    return (":::{note}\nThis chapter is shown as written, without running it; open the notebook in Jupyter to see "
            f"its outputs (`tools/run_tests` runs it).{api}\n:::")


def with_note(nb, note: str):
    "The note as a markdown cell after the first cell (the title)."
    nb["cells"].insert(1, nbformat.v4.new_markdown_cell(note))
    return nb


def stage_notebook(src: Path, dest: Path, run: bool, fingerprint: str, note: str | None = None) -> float:
    nb = prepared(nbformat.read(src, as_version=4))
    if note:
        nb = with_note(nb, note)
    seconds = 0.0
    if run:
        nb, seconds = executed(src, nb, fingerprint)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(static_outputs(nb), dest)
    return seconds


def chapter_modules() -> dict[str, str]:
    "module name -> the chapter notebook (stem) that exports it, from each chapter's `#| default_exp`."
    found = {}
    for nb_path in sorted(NBS.glob("*.ipynb")):
        for cell in nbformat.read(nb_path, as_version=4)["cells"]:
            m = re.search(r"^#\|\s*default_exp\s+(\S+)", cell["source"], re.M)
            if m and m.group(1) != "__init__":
                found[f"wormsae.{m.group(1)}"] = nb_path.stem
    return found


def title_of(path: Path) -> str:
    "The first markdown heading of a notebook, for the home page's lists."
    for cell in nbformat.read(path, as_version=4)["cells"]:
        if cell["cell_type"] == "markdown" and (m := re.search(r"^#\s+(.+)$", cell["source"], re.M)):
            return m.group(1).strip()
    return path.stem


def toctree(caption: str, entries: list[str]) -> str:
    return "\n".join(["```{toctree}", f":caption: {caption}", ":maxdepth: 1", ""] + entries + ["```"])


def home_page(tutorials: list[str], workshop: list[str], chapters: list[str]) -> str:
    "The README notebook's text, then the site's contents."
    readme = nbformat.read(NBS / "index.ipynb", as_version=4)
    text = [c["source"] for c in readme["cells"] if c["cell_type"] == "markdown"]
    text += ["## Contents"]
    text += [toctree("Tutorials", [f"tutorials/{t}" for t in tutorials]),
             toctree("Workshop", ["workshop/README"] + [f"workshop/{w}" for w in workshop]),
             toctree("Chapters (one per module)", [f"chapters/{c}" for c in chapters]),
             toctree("API reference", ["api/index"])]
    return "\n\n".join(text)


def stage(run_tutorials: bool, workers: int) -> dict:
    if STAGE.exists():
        shutil.rmtree(STAGE)
    STAGE.mkdir(parents=True)
    fingerprint = package_fingerprint() if run_tutorials else ""
    tutorials = sorted(NBS.glob("tutorials/*.ipynb"))
    workshop = sorted(NBS.glob("workshop/*.ipynb"))
    chapters = sorted(p for p in NBS.glob("*.ipynb") if p.stem != "index")
    modules = chapter_modules()
    module_of = {chapter: module for module, chapter in modules.items()}
    jobs = [(p, STAGE / "tutorials" / p.name, run_tutorials, None) for p in tutorials]
    jobs += [(p, STAGE / "workshop" / p.name, False, None) for p in workshop]
    jobs += [(p, STAGE / "chapters" / p.name, False, chapter_note(module_of.get(p.stem))) for p in chapters]
    os.environ.update({k: os.environ.get(k, v) for k, v in KERNEL_ENV.items()})
    os.environ["WORMSAE_QUIET"] = "1"  # no progress bars in the pages
    with ThreadPoolExecutor(max_workers=workers) as pool:
        seconds = dict(zip([job[0].relative_to(NBS).as_posix() for job in jobs],
                           pool.map(lambda job: stage_notebook(*job[:3], fingerprint, job[3]), jobs)))
    shutil.copy(NBS / "workshop" / "README.md", STAGE / "workshop" / "README.md")
    write_api_pages(STAGE / "api", modules)
    (STAGE / "index.md").write_text(home_page([p.stem for p in tutorials], [p.stem for p in workshop],
                                              [p.stem for p in chapters]))
    return {k: v for k, v in seconds.items() if v}


def sphinx(strict: bool):
    "Render the staged pages; built in _build/html (MyST-NB writes beside its output folder), then moved to _site/."
    html = ROOT / "_build" / "html"
    for folder in (html, SITE):
        if folder.exists():
            shutil.rmtree(folder)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(CONF), str(STAGE), str(html),
           "-d", str(ROOT / "_build" / "doctrees")]
    if strict:
        cmd += ["-W", "--keep-going"]
    subprocess.run(cmd, check=True)
    shutil.move(html, SITE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-execute", action="store_true", help="render the tutorials without running them")
    parser.add_argument("--workers", type=int, default=2, help="notebooks executed at once (default 2)")
    parser.add_argument("--lenient", action="store_true", help="do not fail on Sphinx warnings")
    args = parser.parse_args()
    start = time.perf_counter()
    run_seconds = stage(not args.no_execute, args.workers)
    staged = time.perf_counter()
    sphinx(strict=not args.lenient)
    done = time.perf_counter()
    for name, s in run_seconds.items():
        print(f"executed {name} in {s:.1f} s")
    pages = len(list(SITE.rglob("*.html")))
    print(f"docs: {pages} pages in {SITE.relative_to(ROOT)}/ ({staged - start:.1f} s staging and executing, "
          f"{done - staged:.1f} s Sphinx)")


if __name__ == "__main__":
    main()

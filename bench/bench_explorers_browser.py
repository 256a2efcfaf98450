"""First visits of the interactive explorers in a real browser (issue 17): JupyterLab on loopback and Debian's
chromium, as in tests/test_explorers_browser.py, whose harness this reuses.

Timed in the page, from the `change` event of the control (the unit list; the stimulus or repeat of the window)
to the end of the first frame painted once every plotly figure of the explorer has replotted since and, for a
unit, the titles name it ("figure"); and to the end of the frame at which the rest has followed too ("all": the
card, and the activation image, a PNG the kernel renders after the figure). "playwright" is the same visit as the
test driver sees it, with its own round trips (what this bench printed before issue 17's speed work). Eight units far apart in the list (never the neighbour of one already shown, which an
explorer may render ahead) and six windows never shown before, each a second after the last action (the kernel
idle by then). Medians are printed, with the machine's load.

With `--baseline [COMMIT]` (default: the commit before issue 17's speed work), a second page holds the explorers
of that commit (`bench/baseline.py`) beside today's, and the two take turns, visit by visit, so that the load of
the machine weighs on both alike; the ratio is today's median over the baseline's, in that page. (With two
explorer pairs in one page, both are slower than alone: the absolute numbers are those of the first page.)

    python bench/bench_explorers_browser.py
    python bench/bench_explorers_browser.py --baseline
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_explorers_browser import CELLS, run_in_browser  # noqa: E402

BASELINE = "eba597a"  # the explorers before issue 17's speed work (quiet: 157-175 ms per unit, 110-137 ms per window)

PAIR_CELL = """import sys
import ipywidgets as W
sys.path.insert(0, {bench!r})
from baseline import import_baseline
from wormsae.interactive import explore
old = import_baseline({commit!r}, ["interactive"])["interactive"].explore
now, base = W.Box([explore(it, context_s=(-20, 40))]), W.Box([old(it, context_s=(-20, 40))])
now.add_class("bench-now")
base.add_class("bench-base")
W.VBox([now, base])"""


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def measure(baseline: str | None = None) -> dict:
    "Today's explorers alone: {'now': (units, windows)}; with `baseline`, also both in one page, taking turns: 'pair now', 'pair COMMIT'."
    from playwright import sync_api
    with tempfile.TemporaryDirectory() as folder:
        out = {"now": run_in_browser(Path(folder), sync_api, timings=True, checks=False)[""]}
    if baseline:
        cells = [CELLS[0], PAIR_CELL.format(bench=str(ROOT / "bench"), commit=baseline)]
        with tempfile.TemporaryDirectory() as folder:
            pair = run_in_browser(Path(folder), sync_api, timings=True, cells=cells, checks=False,
                                  scopes=(".bench-now", ".bench-base"))
        out.update({"pair now": pair[".bench-now"], f"pair {baseline}": pair[".bench-base"]})
    return out


def medians(visits: list) -> dict:
    "The median of each timing over the visits, in ms."
    return {k: statistics.median(v[k] for v in visits) for k in visits[0]}


def report(results: dict) -> dict:
    "Print the medians (and the ratios to the baseline, from the page with both); return {(kind, timing): median}."
    names, out = list(results), {}
    for kind, i in (("new unit", 0), ("new window", 1)):
        for key in ("figure", "all", "playwright"):
            med = medians(results["now"][i])[key]
            out[kind, key] = med
            line = f"{kind:10s} {key:10s} median {med:6.1f} ms {[round(v[key]) for v in results['now'][i]]}"
            if len(names) > 1:
                a, b = (medians(results[n][i])[key] for n in names[1:])
                line += f"   taking turns: {a:6.1f} vs {names[2][5:]} {b:6.1f} ms, ratio {a / b:.2f}"
            print(line)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", nargs="?", const=BASELINE, default=None,
                    help=f"also time the explorers of this commit beside today's (default {BASELINE})")
    args = ap.parse_args()
    print(uptime())
    results = measure(args.baseline)
    print(uptime())
    report(results)


if __name__ == "__main__":
    main()

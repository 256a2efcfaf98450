"""First visits of the interactive explorers in a real browser (issue 17): JupyterLab on loopback and Debian's
chromium, as in tests/test_explorers_browser.py, whose harness this reuses. Milliseconds from a control change in
the page to the redrawn plotly figures, for 6 new units and 4 new windows; medians printed.

    python bench/bench_explorers_browser.py
"""
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_explorers_browser import run_in_browser  # noqa: E402


def main():
    from playwright import sync_api
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as folder:
        unit_ms, window_ms = run_in_browser(Path(folder), sync_api, timings=True)
    print(load)
    print(f"new unit: median {statistics.median(unit_ms):.0f} ms {[round(x) for x in sorted(unit_ms)]}")
    print(f"new window: median {statistics.median(window_ms):.0f} ms {[round(x) for x in sorted(window_ms)]}")


if __name__ == "__main__":
    main()

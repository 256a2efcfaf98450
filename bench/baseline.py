"""The wormsae package as it was at an earlier commit, importable beside today's as `wormsae_base`, so that a bench
can time old and new code in one process (these machines are too noisy for comparisons across runs)."""
import atexit
import importlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_IMPORTED = {}


def import_baseline(commit: str, modules: list) -> dict:
    "name -> module of `wormsae_base` (a temporary copy of the package at `commit`, taken with `git archive`)."
    if _IMPORTED.setdefault("commit", commit) != commit:  # one `wormsae_base` per process
        raise RuntimeError(f"wormsae_base is already the package at {_IMPORTED['commit']}, not {commit}")
    root = Path(tempfile.mkdtemp(prefix="wormsae_base_"))
    archive = subprocess.run(["git", "archive", commit, "wormsae"], capture_output=True, check=True, cwd=ROOT).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    package = root / "wormsae_base"
    (root / "wormsae").rename(package)
    for path in package.glob("*.py"):
        path.write_text(re.sub(r"\bwormsae\.", "wormsae_base.", path.read_text()))
    sys.path.insert(0, str(root))  # spawned workers (sweeps) inherit sys.path, so they find it too
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return {name: importlib.import_module(f"wormsae_base.{name}") for name in modules}

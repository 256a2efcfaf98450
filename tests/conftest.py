"Shared pytest fixtures: repository paths and the optional shared data folder (tests using it skip when absent)."
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]  # the repository root
SHARED = ROOT.parent / "shared"  # ../shared beside the clone; never copied into the repo
SHARED_DATA = SHARED / "data"
FLAVELL_DATA = SHARED_DATA / "flavell2023"


def _present(path: Path, what: str) -> Path:
    "The path, or skip the test with a reason naming it."
    if not path.exists():
        pytest.skip(f"{what} absent ({path})")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    "../shared/data, or skip."
    return _present(SHARED_DATA, "shared data folder")


@pytest.fixture(scope="session")
def flavell_data() -> Path:
    "../shared/data/flavell2023 (the real Flavell-lab recordings), or skip."
    return _present(FLAVELL_DATA, "real Flavell-lab data")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`wormsae demo` with the smallest settings the tests allow (100 null samples, 60 training steps; the command line
    offers the same: `--null 100 --steps 60`), run once per session: its folder and what it printed."""
    from types import SimpleNamespace
    from wormsae.cli import run_demo
    printed = []
    out = run_demo(tmp_path_factory.mktemp("demo") / "demo", n_null=100, steps=60, say=printed.append)
    return SimpleNamespace(out=out, printed="\n".join(map(str, printed)))

"tools/cell_metrics.py counts export cells, lines, definitions and undocumented parameters as its docstring says."
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cm():
    spec = importlib.util.spec_from_file_location("cell_metrics", ROOT / "tools" / "cell_metrics.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CELLS = [
    ("code", "#| default_exp tiny"),
    ("markdown", "#| export\ndef not_code(): pass"),  # markdown never counts
    ("code", "#| export\nimport os\n\nX = 1\n"),  # 2 lines, 0 definitions
    ("code", "#|export\n@property\ndef a(x):\n    return x\n\n\nclass B:\n    def m(self): pass\n"),  # 5 lines, 2 defs
    ("code", "#| export\n# a comment counts as a line\nasync def c(): pass\n"),  # 2 lines, 1 definition
    ("code", "def not_exported(): pass"),
]


def write_notebook(path, cells):
    nb = {"cells": [{"cell_type": t, "metadata": {}, "source": s.splitlines(keepends=True)} for t, s in cells],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))


def test_cell_counts(cm, tmp_path):
    write_notebook(tmp_path / "00_tiny.ipynb", CELLS)
    module, sources = cm.notebook_cells(tmp_path / "00_tiny.ipynb")
    assert module == "tiny"
    assert [cm.code_lines(s) for s in sources] == [2, 5, 2]
    assert [cm.definitions(s) for s in sources] == [0, 2, 1]
    s = cm.cell_stats(sources)
    assert (s["cells"], s["median_lines"], s["defs"], s["longest"], s["longest_index"]) == (3, 2, 3, 5, 1)
    assert s["defs_per_cell"] == pytest.approx(1.0)


MODULE = '''
from dataclasses import dataclass
__all__ = ["documented", "half", "only_docstring", "Thing", "Config", "imported"]
from os.path import join as imported  # not written here: not counted

def documented(a,  # first
               b=2,  # second
               *args,  # more
               **kwargs):  # options
    pass

def half(a,  # documented
         b): pass

def only_docstring(a):
    """Parameters
    ----------
    a : int
        described in the docstring only
    """

class Thing:
    def __init__(self, x): pass
    def method(self,
               y,  # documented
              ): pass
    def _private(self, z): pass
    @classmethod
    def make(cls, w): pass
    @staticmethod
    def helper(v,  # documented
              ): pass

@dataclass
class Config:
    size: int = 1  # documented
    rate: float = 2.0

def not_public(q): pass
'''


def test_undocumented(cm, tmp_path, monkeypatch):
    (tmp_path / "tinymod_cm.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    found = dict(cm.undocumented("tinymod_cm"))
    sys.modules.pop("tinymod_cm", None)
    assert found == {"half": ["b"], "only_docstring": ["a"], "Thing.__init__": ["x"],
                     "Thing.make": ["w"], "Config": ["rate"]}


def test_report_always_succeeds(cm, tmp_path, capsys):
    write_notebook(tmp_path / "00_tiny.ipynb", CELLS)
    assert cm.main(["--nbs", str(tmp_path), "--lib", "no_such_package_xyz"]) == 0
    out = capsys.readouterr().out
    assert "median lines per export cell 2.0 <= 12: met" in out
    assert "definitions per export cell 1.00 <= 1.3: met" in out
    assert "undocumented parameters 0 <= 0: unknown (modules not imported: tiny)" in out

"""No import cycles between wormsae's modules: every module imports only modules below it.

The graph is read from the source with `ast` (nothing is imported), counting imports anywhere in a
module, function bodies included: a lazy import that closes a cycle still ties two modules together.
"""
import ast
from pathlib import Path

import wormsae

PACKAGE = Path(wormsae.__file__).parent
# One cycle closed by imports inside functions is exempt (the report no longer imports interp):
# train_sae imports sweep.choose_size, and sweep's
# functions import train
EXEMPT = {("train", "sweep"), ("sweep", "train")}


def imported_modules(source: str) -> set:
    "Names of the wormsae modules a module's source imports (relative or absolute), wherever the import is."
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            out.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("wormsae"):
            parts = node.module.split(".")
            out.update([parts[1]] if len(parts) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("wormsae."))
    return out


def import_graph(folder: Path = PACKAGE) -> dict:
    "module -> the package's modules it imports (itself and names that are not modules left out)."
    modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    return {m: (imported_modules((folder / f"{m}.py").read_text()) & modules) - {m} for m in sorted(modules)}


def modules_in_cycles(graph: dict, exempt=frozenset()) -> set:
    "Modules on an import cycle or importing one (Kahn's algorithm: what cannot be ordered), `exempt` edges ignored."
    deps = {m: {d for d in ds if (m, d) not in exempt} for m, ds in graph.items()}
    done = set()
    while True:
        ready = {m for m, ds in deps.items() if m not in done and ds <= done}
        if not ready:
            return set(deps) - done
        done |= ready


def test_finds_what_it_looks_for():
    src = "from .data import X\nfrom . import plots\nimport wormsae.views as v\nfrom wormsae.interp import y\n" \
          "def f():\n    from wormsae import report\nimport numpy\nfrom .data.sub import z"
    assert imported_modules(src) == {"data", "plots", "views", "interp", "report"}
    assert modules_in_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == set()
    assert modules_in_cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}, "d": set()}) == {"a", "b", "c"}
    assert modules_in_cycles({"a": {"b"}, "b": {"a"}}, exempt={("a", "b")}) == set()


def test_the_graph_is_read_from_the_package():
    g = import_graph()
    assert "plots" in g["views"] and "views" not in g["plots"] and "interp" not in g["views"] | g["plots"]  # views draw what interp hands over
    assert "views" in g["widgets"] and "views" in g["report"]


def test_no_import_cycle():
    assert modules_in_cycles(import_graph(), EXEMPT) == set()

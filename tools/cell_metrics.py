#!/usr/bin/env python3
"""How the notebooks read: size of their export cells and how well the exported API is documented.

A report, not a gate: it prints the numbers and always exits 0.

How it counts (the notebooks are read as JSON, nothing is executed):

- an *export cell* is a code cell with a `#| export` (or `#|export`) directive line;
- *lines* of an export cell are its non-blank lines that are not `#|` directives
  (comments and docstrings count: they are what a reader scrolls past);
- *definitions* of an export cell are its top-level `def`, `async def` and `class`
  statements, found with `ast` (a decorated definition counts once, methods inside
  a class count with their class, nothing else counts: constants and imports are 0);
- the *longest* export cell is the one with the most lines (ties: the first);
- an *undocumented* public function is a function or class in `__all__` of the module a
  notebook exports (its `#| default_exp`), or a public method (no leading underscore;
  `__init__` counts as the class's signature) written in such a class, with at least
  one parameter (`self`/`cls` excluded, `*args` and `**kwargs` included) that has no
  docments comment as `fastcore.docments.docments` reads it: a `# comment` on the
  parameter's line or on the lines just above it. Dataclass fields are the class's
  parameters. A parameter described only in a numpy-style docstring does not count as
  documented. This part imports the package (from the current directory).

Usage: `python tools/cell_metrics.py [--nbs DIR] [--brief]`; `--brief` prints only the
overall numbers and the acceptance lines of issue 16.
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib
import inspect
import json
import re
import statistics
import sys
from pathlib import Path
from unittest import mock

EXPORT = re.compile(r"^#\|\s*export\s*$")
DIRECTIVE = re.compile(r"^#\|")
DEFAULT_EXP = re.compile(r"^#\|\s*default_exp\s+(\S+)")
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
MAX_MEDIAN_LINES, MAX_DEFS_PER_CELL, MAX_UNDOCUMENTED = 12, 1.3, 0


def cell_source(cell: dict) -> str:
    "The text of a notebook cell (nbformat stores it as a string or a list of lines)."
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def is_export_cell(cell: dict) -> bool:
    "Whether `cell` is a code cell carrying an `#| export` directive."
    return cell.get("cell_type") == "code" and any(EXPORT.match(l.strip()) for l in cell_source(cell).splitlines())


def code_lines(source: str) -> int:
    "Non-blank lines of `source` that are not `#|` directives."
    return sum(1 for l in source.splitlines() if l.strip() and not DIRECTIVE.match(l.strip()))


def definitions(source: str) -> int:
    "Top-level `def`/`async def`/`class` statements in `source`."
    return sum(isinstance(node, DEFINITIONS) for node in ast.parse(source).body)


def notebook_cells(path: Path) -> tuple[str | None, list[str]]:
    "The module a notebook exports (`#| default_exp`, or None) and the sources of its export cells."
    cells = json.loads(Path(path).read_text())["cells"]
    module = None
    for cell in cells:
        if cell.get("cell_type") != "code": continue
        for line in cell_source(cell).splitlines():
            found = DEFAULT_EXP.match(line.strip())
            if found and module is None: module = found.group(1)
    return module, [cell_source(c) for c in cells if is_export_cell(c)]


def cell_stats(sources: list[str]) -> dict:
    "Counts over a list of export-cell sources: cells, median lines, definitions per cell, longest cell."
    lines = [code_lines(s) for s in sources]
    defs = [definitions(s) for s in sources]
    longest = max(range(len(lines)), key=lines.__getitem__) if lines else None
    return dict(cells=len(sources), median_lines=statistics.median(lines) if lines else 0,
                defs=sum(defs), defs_per_cell=sum(defs) / len(sources) if sources else 0.0,
                longest=lines[longest] if lines else 0, longest_index=longest)


def _no_docstring(_):
    return {"Parameters": {}, "Returns": None}


def undocumented_params(f) -> list[str]:
    "Parameters of `f` (a function, or a dataclass for its fields) with no docments comment; `self`/`cls` excluded."
    from fastcore import docments as fd
    with mock.patch.object(fd, "parse_docstring", _no_docstring):  # docstring-only docs do not count
        docs = fd.docments(f, returns=False, args_kwargs=True)
    return [name for name, doc in docs.items() if name not in ("self", "cls") and doc is None]


def _written_in(cls, attr: str):
    "The function behind `cls.attr` if it was written in `cls`'s own body, else None."
    f = inspect.getattr_static(cls, attr, None)
    if isinstance(f, (staticmethod, classmethod)): f = f.__func__
    if not inspect.isfunction(f) or f.__qualname__ != f"{cls.__qualname__}.{attr}": return None
    if f.__module__ != cls.__module__: return None  # made for the class elsewhere (matplotlib's generated Artist.set)
    return f


def public_callables(module) -> list[tuple[str, object]]:
    "(name, function) for each public function, class signature and public method of `module.__all__`."
    out = []
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name, None)
        if getattr(obj, "__module__", None) != module.__name__: continue
        if inspect.isfunction(obj): out.append((name, obj))
        elif inspect.isclass(obj):
            if dataclasses.is_dataclass(obj): out.append((name, obj))
            for attr in vars(obj):
                if attr.startswith("_") and attr != "__init__": continue
                if attr == "__init__" and dataclasses.is_dataclass(obj): continue
                f = _written_in(obj, attr)
                if f is not None: out.append((f"{name}.{attr}", f))
    return out


def undocumented(module_name: str) -> list[tuple[str, list[str]]]:
    "(qualified name, missing parameters) for each public callable of `module_name` lacking a parameter comment."
    module = importlib.import_module(module_name)
    out = []
    for name, f in public_callables(module):
        try: missing = undocumented_params(f)
        except (OSError, TypeError, SyntaxError): continue  # no source to read (builtins, generated code)
        if missing: out.append((name, missing))
    return out


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(nbs: Path, lib: str, brief: bool = False, out=None) -> dict:
    "Print the per-notebook and overall numbers; return the overall ones."
    out = out or sys.stdout
    all_sources, all_missing, seen_modules, unreadable = [], [], set(), []
    rows = []
    for nb in sorted(Path(nbs).glob("*.ipynb")):
        module, sources = notebook_cells(nb)
        if not sources: continue
        all_sources += sources
        missing = []
        if module and module not in seen_modules:
            seen_modules.add(module)
            try: missing = undocumented(f"{lib}.{module}")
            except Exception as e:
                unreadable.append(module)
                print(f"{nb.name}: could not import {lib}.{module}: {e!r}", file=out)
        all_missing += missing
        rows.append((nb.name, cell_stats(sources), missing))
    if not brief:
        print(f"{'notebook':34} {'cells':>5} {'median':>6} {'defs/cell':>9} {'longest':>7} {'undoc':>5}", file=out)
        for name, s, missing in rows:
            print(f"{name:34} {s['cells']:5d} {s['median_lines']:6.1f} {s['defs_per_cell']:9.2f} "
                  f"{s['longest']:7d} {len(missing):5d}", file=out)
    total = cell_stats(all_sources)
    total["undocumented"] = len(all_missing)
    print(f"{'overall':34} {total['cells']:5d} {total['median_lines']:6.1f} {total['defs_per_cell']:9.2f} "
          f"{total['longest']:7d} {total['undocumented']:5d}", file=out)
    if not brief and all_missing:
        print("public functions with undocumented parameters:", file=out)
        for name, missing in all_missing: print(f"  {name}: {', '.join(missing)}", file=out)
    print(f"issue 16: median lines per export cell {total['median_lines']:.1f} <= {MAX_MEDIAN_LINES}: "
          f"{verdict(total['median_lines'] <= MAX_MEDIAN_LINES)}", file=out)
    print(f"issue 16: definitions per export cell {total['defs_per_cell']:.2f} <= {MAX_DEFS_PER_CELL}: "
          f"{verdict(total['defs_per_cell'] <= MAX_DEFS_PER_CELL)}", file=out)
    documented = "unknown (modules not imported: " + ", ".join(unreadable) + ")" if unreadable else \
        verdict(total["undocumented"] <= MAX_UNDOCUMENTED)
    print(f"issue 16: public functions with undocumented parameters {total['undocumented']} <= {MAX_UNDOCUMENTED}: "
          f"{documented}", file=out)
    return total


def main(argv=None) -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nbs", type=Path, default=root / "nbs", help="folder of notebooks")
    parser.add_argument("--lib", default="wormsae", help="package the notebooks export")
    parser.add_argument("--brief", action="store_true", help="overall numbers only")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(root))
    try: report(args.nbs, args.lib, args.brief)
    except Exception as e: print(f"cell_metrics: could not report: {e!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

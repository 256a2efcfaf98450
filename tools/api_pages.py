"""Markdown API pages for the documentation site: one page per wormsae module, one entry per name in its `__all__`.

Parameters are documented with docments comments (`x: int,  # what x is`), which Sphinx's autodoc and griffe
do not read; here `fastcore.docments` reads them and each callable gets its signature, its docstring and a
table of its parameters (type, default, comment).
"""
import dataclasses
import enum
import importlib
import inspect
import re
import warnings
from pathlib import Path

from fastcore.docments import docments

MAX_VALUE_CHARS = 160  # constants longer than this are shown cut
SIGNATURE_WIDTH = 88  # longer signatures get one parameter per line (the code column shows about 90 characters)


def cell(text) -> str:
    "Text made safe for one cell of a markdown table."
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def code_cell(text) -> str:
    "Text as inline code in a table cell (pipes escaped; GitHub-flavoured tables unescape them inside code)."
    text = str(text).replace("|", "\\|").replace("\n", " ")
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}" if text else ""


def annotation(a) -> str:
    "An annotation as written in the source (string annotations unquoted, classes by name)."
    if a is inspect.Parameter.empty:
        return ""
    if isinstance(a, str):
        return a
    return a.__name__ if isinstance(a, type) else inspect.formatannotation(a)


def default_text(d) -> str:
    if d is inspect.Parameter.empty:
        return ""
    text = repr(d)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + " ..."


def signature_of(obj):
    "The signature, or None for callables that have none (some builtins)."
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def signature_line(name: str, sig) -> str:
    "`name(a: int, b=2) -> str`, annotations as written in the source; one parameter a line when long."
    parts, star_done = [], False
    for p in sig.parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.VAR_POSITIONAL:
            star_done = True
        elif p.kind is p.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        text = prefix + p.name
        if p.annotation is not p.empty:
            text += f": {annotation(p.annotation)}"
        if p.default is not p.empty:
            text += (" = " if p.annotation is not p.empty else "=") + default_text(p.default)
        parts.append(text)
    ret = "" if sig.return_annotation is sig.empty else f" -> {annotation(sig.return_annotation)}"
    line = f"{name}({', '.join(parts)}){ret}"
    if len(line) <= SIGNATURE_WIDTH:
        return line
    return f"{name}(\n" + "".join(f"    {part},\n" for part in parts) + f"){ret}"


def parameter_table(obj, sig) -> list[str]:
    "Markdown rows: one per parameter (self and cls left out), and the return value when it has a comment."
    try:
        with warnings.catch_warnings():  # docments also parses numpy-style sections, and warns on unknown ones
            warnings.simplefilter("ignore")
            comments = docments(obj, full=False, args_kwargs=True)
    except Exception:  # objects whose source cannot be read (builtins, C extensions)
        comments = {}
    params = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
    returns = comments.get("return")
    if not params and not returns:
        return []
    rows = ["| parameter | type | default | description |", "|---|---|---|---|"]
    for p in params:
        name = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        rows.append(f"| {code_cell(name)} | {code_cell(annotation(p.annotation))} | "
                    f"{code_cell(default_text(p.default))} | {cell(comments.get(p.name) or '')} |")
    if returns:
        rows.append(f"| *returns* | {code_cell(annotation(sig.return_annotation))} |  | {cell(returns)} |")
    return rows


def summary(obj) -> str:
    "The first line of the docstring (a constant's docstring is its type's, so constants get none)."
    if not (inspect.isclass(obj) or inspect.ismodule(obj) or callable(obj)):
        return ""
    return docstring(obj).split("\n")[0]


def docstring(obj) -> str:
    return inspect.getdoc(obj) or ""


def callable_entry(title: str, obj, level: int, shown_name: str) -> list[str]:
    "Heading, signature, docstring and parameter table of a function, method or class."
    lines = [f"{'#' * level} {title}", ""]
    sig = signature_of(obj)
    if sig is not None:
        lines += ["```python", signature_line(shown_name, sig), "```", ""]
    if docstring(obj):
        lines += [docstring(obj), ""]
    if sig is not None:
        table = parameter_table(obj, sig)
        lines += table + ([""] if table else [])
    return lines


def members(cls) -> list[tuple[str, object]]:
    "Public methods and properties defined by the class itself (dataclass fields are in its signature)."
    fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    out = []
    for name, value in vars(cls).items():
        if name.startswith("_") or name in fields:
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = getattr(cls, name)  # bound to the class: its signature has no cls
        if inspect.isfunction(value) or inspect.ismethod(value) or isinstance(value, property):
            out.append((name, value))
    return out


def class_entry(name: str, cls) -> list[str]:
    lines = callable_entry(f"{name}", cls, 2, name)
    if issubclass(cls, BaseException):
        return lines
    if issubclass(cls, enum.Enum):
        return lines + ["Members: " + ", ".join(f"`{m.name}`" for m in cls), ""]
    for member, value in members(cls):
        if isinstance(value, property):
            lines += [f"### {name}.{member}", "", "*property*" + (f": {docstring(value)}" if docstring(value) else ""), ""]
        else:
            lines += callable_entry(f"{name}.{member}", value, 3, f"{name}.{member}")
    return lines


def value_entry(name: str, value) -> list[str]:
    return [f"## {name}", "", "```python", f"{name} = {default_text(value)}", "```", ""]


def entry(name: str, value) -> list[str]:
    if inspect.isclass(value):
        return class_entry(name, value)
    if callable(value):
        return callable_entry(name, value, 2, name)
    return value_entry(name, value)


def top_level_names() -> dict[str, str]:
    "name -> module for the names `import wormsae as ws` offers."
    import wormsae
    return dict(wormsae._WHERE)


def module_page(module_name: str, chapter: str | None, top_level: dict[str, str]) -> str:
    "The markdown page of one module."
    module = importlib.import_module(module_name)
    short = module_name.split(".")[-1]
    lines = [f"# {module_name}", ""]
    if docstring(module):
        lines += [docstring(module).splitlines()[0], ""]
    if chapter:
        lines += [f"Source and explanations: the chapter [{chapter}](../chapters/{chapter}.ipynb).", ""]
    names = list(getattr(module, "__all__", []))
    at_top = [n for n in names if top_level.get(n) == module_name]
    if at_top:
        lines += ["Also importable as `ws.NAME` after `import wormsae as ws`: "
                  + ", ".join(f"[`{n}`](#{anchor(n)})" for n in at_top) + ".", ""]
    if not names:
        lines += [f"`{short}` exports no names.", ""]
    for name in names:
        lines += entry(name, getattr(module, name))
    return "\n".join(lines)


def anchor(title: str) -> str:
    "The GitHub-style slug MyST gives a heading (`myst_heading_anchors`): lower case, punctuation dropped."
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def write_api_pages(out: Path, chapters: dict[str, str]) -> list[str]:
    """One page per module in `chapters` (module name -> chapter notebook stem) and an index; returns the page
    names."""
    out.mkdir(parents=True, exist_ok=True)
    top = top_level_names()
    pages = []
    for module_name, chapter in sorted(chapters.items()):
        page = module_name.split(".")[-1]
        (out / f"{page}.md").write_text(module_page(module_name, chapter, top))
        pages.append(page)
    index = ["# API reference", "",
             "One page per module: every name in the module's `__all__`, with its signature, its docstring and "
             "its parameters.", "",
             "`import wormsae as ws` gives the names most users need:", "",
             "| name | what it is |", "|---|---|"]
    index += [f"| [`ws.{n}`]({m.split('.')[-1]}.md#{anchor(n)}) | {cell(summary(getattr(importlib.import_module(m), n)))} |"
              for n, m in top.items()]
    index += ["", "The modules:", "", "| module | what it holds |", "|---|---|"]
    index += [f"| [`{m}`]({m.split('.')[-1]}.md) | {cell(summary(importlib.import_module(m)))} |" for m in sorted(chapters)]
    index += ["", "```{toctree}", ":maxdepth: 1", ":hidden:", ""] + pages + ["```", ""]
    (out / "index.md").write_text("\n".join(index))
    return pages

#!/usr/bin/env python
"""Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto, which cannot be installed offline here).

Markdown cells are copied as they are, code cells become ```python blocks, cells starting with `#| hide` are
left out. `--check` exits with status 1 when README.md is not what index.ipynb produces.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def render(nb_path: Path) -> str:
    cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    parts = []
    for cell in cells:
        src = "".join(cell["source"]).strip()
        if not src or src.startswith("#| hide"):
            continue
        parts.append(src if cell["cell_type"] == "markdown" else f"```python\n{src}\n```")
    note = "<!-- generated from nbs/index.ipynb by tools/make_readme.py; edit the notebook, not this file -->"
    return "\n\n".join(parts[:1] + [note] + parts[1:]) + "\n"


def main():
    text = render(ROOT / "nbs" / "index.ipynb")
    readme = ROOT / "README.md"
    if "--check" in sys.argv:
        if not readme.exists() or readme.read_text(encoding="utf-8") != text:
            print("README.md is out of date: run tools/make_readme.py")
            return 1
        return 0
    readme.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

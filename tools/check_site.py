#!/usr/bin/env python
"""Links, images and outside requests of a built static site, checked without a browser.

    python tools/check_site.py [_site]

For every HTML page: every link to a page of the site leads to a file that exists (and to an element with
that id when it has a #fragment); every image, script and stylesheet is a non-empty file of the site; nothing
the page loads (img, script, stylesheet, iframe, srcset) comes from another host. Links *to* other hosts
(<a href="https://...">) are allowed: a reader follows them, the page does not load them.
Exits 1 and lists the problems when there are any.
"""
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

LOADED = {("img", "src"), ("script", "src"), ("iframe", "src"), ("source", "src"), ("video", "src"),
          ("audio", "src"), ("embed", "src"), ("input", "src")}


class Page(HTMLParser):
    "The ids, links (<a href>) and loaded resources (src, stylesheets, srcset) of one HTML page."

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.loads = set(), [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "link" and a.get("href") and "stylesheet" in (a.get("rel") or "").split():
            self.loads.append((tag, a["href"]))
        if tag == "link" and a.get("href") and "icon" in (a.get("rel") or "").split():
            self.loads.append(("img", a["href"]))
        for (t, attr) in LOADED:
            if tag == t and a.get(attr):
                self.loads.append((tag, a[attr]))
        if a.get("srcset"):
            self.loads += [(tag, part.strip().split(" ")[0]) for part in a["srcset"].split(",") if part.strip()]


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF")


def is_image(file: Path) -> bool:
    "Whether the file starts as an image a browser can show (the browser test checks that it decodes)."
    head = file.read_bytes()[:512]
    return head.startswith(IMAGE_SIGNATURES) or (file.suffix == ".svg" and b"<svg" in file.read_bytes()[:4096])


def is_outside(url: str) -> bool:
    "A URL naming a scheme or host of its own (http:, https:, //host, mailto:, ...) rather than a file of the site."
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc)


def target(page_path: Path, url: str, root: Path) -> tuple[Path, str]:
    "The file a relative or root-relative URL names, and its fragment."
    url, fragment = urldefrag(url)
    path = unquote(urlsplit(url).path)
    if not path:
        return page_path, fragment
    base = root if path.startswith("/") else page_path.parent
    file = (base / path.lstrip("/")).resolve()
    if file.is_dir():
        file = file / "index.html"
    return file, fragment


def check_site(root: Path) -> list[str]:
    "Every problem found, one line each, naming the page and the URL."
    root = root.resolve()
    pages = sorted(root.rglob("*.html"))
    if not pages:
        return [f"no HTML pages under {root}"]
    parsed = {p: parse(p) for p in pages}
    problems = []
    for page_path, page in parsed.items():
        where = page_path.relative_to(root).as_posix()
        for kind, url in page.loads:
            if url.startswith("data:"):
                continue
            if is_outside(url):
                problems.append(f"{where}: loads {url} from another host")
                continue
            file, _ = target(page_path, url, root)
            if not file.is_file() or file.stat().st_size == 0:
                problems.append(f"{where}: missing or empty resource {url}")
            elif kind == "img" and not is_image(file):
                problems.append(f"{where}: image {url} is not a PNG, JPEG, GIF, WebP or SVG file")
        for url in page.links:
            if is_outside(url) or url.startswith("javascript:"):
                continue
            file, fragment = target(page_path, url, root)
            if not file.is_file():
                problems.append(f"{where}: broken link {url}")
            elif fragment and file.suffix == ".html":
                ids = parsed[file].ids if file in parsed else parse(file).ids
                if fragment not in ids:
                    problems.append(f"{where}: link {url} names no element #{fragment}")
    return problems


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "_site")
    problems = check_site(root)
    for p in problems:
        print(p)
    n = len(list(root.rglob("*.html")))
    print(f"{n} pages checked under {root}: " + (f"{len(problems)} problems" if problems else "no problems"))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

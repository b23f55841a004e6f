"""The rendered book, checked in a real browser (headless Chromium through Selenium).

    python tools/browser_check.py _build/html        # what `make check-book` runs

Every page is opened at 1400 px and fails on: an image that does not load or has no alt text
(a file path is no alt text); an internal link or anchor that does not resolve; an element of
the article whose content is wider than its box (a table cut off, scroll box or not); a code
input shown before the reader opens it, on a results page (``book/results/``); a stderr or
warning block. External links cannot be reached offline: they are listed, not fetched.
Debian's ``chromium`` and ``chromium-driver`` are used; nothing is downloaded.
"""
from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

WIDTH = 1400
RESULTS = "book/results/"
SKIPPED = ("_static/", "_sources/", "_images/", "genindex.html", "search.html")
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", f"--window-size={WIDTH},2400", "--hide-scrollbars")

REFRESH = re.compile(r'<meta http-equiv="refresh" content="\d+;\s*url=([^"]+)"', re.I)  # Jupyter Book's index.html

# Runs in the page; returns what the Python side judges.
PAGE_FACTS = r"""
const article = document.querySelector('article') || document.querySelector('main') || document.body;
// Closed <details> keep their content laid out (content-visibility): checkVisibility sees through it.
const shown = el => el.checkVisibility({visibilityProperty: true, opacityProperty: true});
const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
const images = [...document.images].map(img => ({src: img.getAttribute('src'), alt: img.getAttribute('alt'),
    loaded: img.complete && img.naturalWidth > 0}));
const wide = [...article.querySelectorAll('*')].filter(el => shown(el) && el.clientWidth > 0 &&
    el.scrollWidth > el.clientWidth + 1 && !el.closest('.MathJax, mjx-container, .katex'))
    .map(el => name(el) + ` (${el.scrollWidth} px in ${el.clientWidth}: "${el.innerText.slice(0, 60).replace(/\s+/g, ' ')}")`);
const inputs = [...document.querySelectorAll('.cell_input')].filter(shown).length;
const stderr = [...document.querySelectorAll('.output.stderr, .stderr')].filter(shown).length;
const warnings = [...document.querySelectorAll('.cell_output')].filter(el => /\b[A-Z]\w*Warning: /.test(el.innerText)).length;
const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
return {images, wide, inputs, stderr, warnings, links};
"""


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)


@dataclass
class Report:
    pages: int = 0
    problems: list[str] = field(default_factory=list)
    external: set[str] = field(default_factory=set)


def pages_of(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.html")
                  if not any(part in p.relative_to(root).as_posix() for part in SKIPPED))


def driver():
    """Headless Debian Chromium at 1400 px; one clear sentence when it is not installed."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not chromedriver:
        raise RuntimeError("The browser check needs Debian's chromium and chromium-driver: "
                           "apt-get install -y chromium chromium-driver (make test does it as root).")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(chromedriver), options=options)


def is_path(alt: str | None) -> bool:
    return bool(alt) and bool(re.search(r"\.(png|svg|jpe?g|gif)$", alt.strip(), re.I))


def check(root: Path) -> Report:
    root = root.resolve()
    report, ids = Report(), {}

    def anchors(path: Path) -> set[str]:
        if path not in ids:
            parser = _Ids()
            parser.feed(path.read_text(errors="replace"))
            ids[path] = parser.ids
        return ids[path]

    browser = driver()
    try:
        for page in pages_of(root):
            where = page.relative_to(root).as_posix()
            redirect = REFRESH.search(page.read_text(errors="replace")[:500])
            if redirect:  # loading it races the redirect (the script may run before a body exists)
                target = urlsplit(redirect.group(1))
                if not target.scheme and not (page.parent / target.path).exists():
                    report.problems.append(f"{where}: redirects to {redirect.group(1)}, which does not exist")
                continue
            browser.get(page.as_uri())
            facts = browser.execute_script(PAGE_FACTS)
            report.pages += 1
            for img in facts["images"]:
                if not img["loaded"]:
                    report.problems.append(f"{where}: image {img['src']} does not load")
                if not (img["alt"] or "").strip() or is_path(img["alt"]):
                    report.problems.append(f"{where}: image {img['src']} has no alt text ({img['alt']!r})")
            report.problems += [f"{where}: {el} is cut off" for el in facts["wide"]]
            if where.startswith(RESULTS) and facts["inputs"]:
                report.problems.append(f"{where}: {facts['inputs']} code inputs shown before the reader opens them")
            if facts["stderr"] or facts["warnings"]:
                report.problems.append(f"{where}: {facts['stderr']} stderr and {facts['warnings']} warning outputs")
            for href in facts["links"]:
                parts = urlsplit(href)
                if parts.scheme in ("http", "https"):
                    report.external.add(href)
                elif parts.scheme == "file":
                    target = Path(unquote(parts.path))
                    if not target.exists():
                        report.problems.append(f"{where}: link to {target.relative_to(root) if target.is_relative_to(root) else target} does not resolve")
                    elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in anchors(target):
                        report.problems.append(f"{where}: anchor #{parts.fragment} of {target.name} does not exist")
    finally:
        browser.quit()
    return report


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "_build/html")
    if not (root / "index.html").exists():
        print(f"error: {root} holds no built book; run `make book` first.", file=sys.stderr)
        return 2
    report = check(root)
    print(f"{report.pages} pages checked at {WIDTH} px; {len(report.external)} external links listed, not fetched:")
    for href in sorted(report.external):
        print(f"  {href}")
    for problem in report.problems:
        print(f"FAIL {problem}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

r"""The rendered book, checked in a real browser (headless Chromium through Selenium).

    python tools/browser_check.py _build/html        # what `make check-book` runs

Every page is opened at 1400 px and fails on: an image that does not load or has no alt text
(a file path is no alt text); an internal link or anchor that does not resolve; an element of
the article whose content is wider than its box (a table cut off, scroll box or not); a code
input shown before the reader opens it, on a results page (``book/results/``); a stderr or
warning block; a formula left as raw TeX (MathJax did not load or did not typeset it: a math
element without MathJax's output, or ``\(``, ``\[`` or ``$$`` in the page's text outside code).
External links cannot be reached offline: they are listed, not fetched. Chromium resolves no
host name, so a page reads as it does on a machine without a network (a formula typeset by a
MathJax from a CDN fails here). Debian's ``chromium`` and ``chromium-driver`` are used; nothing
is downloaded.
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
                  "--disable-dev-shm-usage", f"--window-size={WIDTH},2400", "--hide-scrollbars",
                  # offline, as the book's readers may be: no host name resolves (pages are file:// URLs)
                  "--host-resolver-rules=MAP * ~NOTFOUND")
MATH_SECONDS = 60  # MathJax typesets a page in well under a second; a page that takes this long fails

# Runs in the page after it has loaded (deferred scripts included): waits for MathJax to finish
# typesetting, if it loaded; answers whether it did.
MATH_READY = r"""
const done = arguments[arguments.length - 1];
const startup = window.MathJax && window.MathJax.startup;
if (!startup || !startup.promise) { done(false); return; }
startup.promise.then(() => done(true), () => done(false));
"""

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
// A typeset formula holds, beside what is shown (mjx-math), a clipped copy for screen readers
// (mjx-assistive-mml) that may be wider and is never seen: a formula is as wide as what is shown.
const overflows = el => {
  if (el.scrollWidth <= el.clientWidth + 1) return false;
  const shownMath = el.querySelector(':scope > mjx-container > mjx-math');
  return !shownMath || shownMath.getBoundingClientRect().width > el.clientWidth + 1;
};
const wide = [...article.querySelectorAll('*')].filter(el => shown(el) && el.clientWidth > 0 &&
    overflows(el) && !el.closest('.MathJax, mjx-container, .katex'))
    .map(el => name(el) + ` (${el.scrollWidth} px in ${el.clientWidth}: "${el.innerText.slice(0, 60).replace(/\s+/g, ' ')}")`);
const inputs = [...document.querySelectorAll('.cell_input')].filter(shown).length;
const stderr = [...document.querySelectorAll('.output.stderr, .stderr')].filter(shown).length;
const warnings = [...document.querySelectorAll('.cell_output')].filter(el => /\b[A-Z]\w*Warning: /.test(el.innerText)).length;
const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
// Sphinx marks each formula with class "math"; MathJax puts its output (mjx-container) inside.
const math = [...document.querySelectorAll('.math')];
const untypeset = math.filter(el => !el.querySelector('mjx-container, .MathJax, .katex'))
    .map(el => el.textContent.trim().slice(0, 40));
const code = 'pre, code, script, style, textarea, mjx-container, .highlight';
const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const raw = [];
for (let node; (node = texts.nextNode());) {
  if (/\\\(|\\\[|\$\$/.test(node.nodeValue) && !node.parentElement.closest(code) && !node.parentElement.closest('.math'))
    raw.push(node.nodeValue.trim().slice(0, 60));
}
return {images, wide, inputs, stderr, warnings, links, math: math.length, untypeset, raw};
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
    formulas: int = 0  # math elements seen, on pages where they were typeset or not
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
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    browser.set_script_timeout(MATH_SECONDS)
    return browser


def typeset(browser) -> bool | None:
    """Waits for MathJax to finish the page: True when it did, False when it is not there or
    failed, None when it took longer than ``MATH_SECONDS``."""
    from selenium.common.exceptions import TimeoutException

    try:
        return bool(browser.execute_async_script(MATH_READY))
    except TimeoutException:
        return None


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
            mathjax = typeset(browser)
            facts = browser.execute_script(PAGE_FACTS)
            report.pages += 1
            report.formulas += facts["math"]
            report.problems += math_problems(where, mathjax, facts)
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


def math_problems(where: str, mathjax: bool | None, facts: dict) -> list[str]:
    """Formulas left as raw TeX: untypeset math elements (with why, when MathJax is the reason)
    and TeX delimiters in the page's text outside code."""
    problems = []
    if facts["untypeset"]:
        why = {False: "MathJax did not load", None: f"MathJax did not finish in {MATH_SECONDS} s",
               True: "MathJax left them"}[mathjax]
        problems.append(f"{where}: {len(facts['untypeset'])} of {facts['math']} formulas left as raw TeX ({why}), "
                        f'such as "{facts["untypeset"][0]}"')
    if facts["raw"]:
        problems.append(f'{where}: raw TeX in the text, such as "{facts["raw"][0]}"')
    return problems


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "_build/html")
    if not (root / "index.html").exists():
        print(f"error: {root} holds no built book; run `make book` first.", file=sys.stderr)
        return 2
    report = check(root)
    print(f"{report.pages} pages checked at {WIDTH} px, {report.formulas} formulas among them; "
          f"{len(report.external)} external links listed, not fetched:")
    for href in sorted(report.external):
        print(f"  {href}")
    for problem in report.problems:
        print(f"FAIL {problem}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

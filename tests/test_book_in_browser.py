"""The browser check (``browser_check``) on a small book: the golden (smoke) notebooks laid out
as the book lays out its results pages, rendered by Jupyter Book with a configuration of its own."""
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from browser_check import check, is_path
from ceimb_utils import paths
from ceimb_utils.questions import AUDIT, QUESTION_INFO

GOLDEN = Path(__file__).parent / "golden"
# The MathJax the book serves (the sphinx-mathjax-offline package's copy).
MATHJAX = Path(importlib.util.find_spec("sphinx-mathjax-offline").origin).parent / "static" / "mathjax" / "tex-chtml.js"
FOLDER = {q.template.removesuffix(".ipynb"): q.name for q in QUESTION_INFO.values()}


def lay_out(dest: Path) -> list[str]:
    """Copies the golden notebooks to book/results/<question>/<data set>; returns the toc's files."""
    files = []
    for nb in sorted(GOLDEN.glob("*.ipynb")):
        template, dataset = nb.stem.split("--")
        rel = (f"book/results/{AUDIT.template.removesuffix('.ipynb')}" if template == AUDIT.template.removesuffix(".ipynb")
               else f"book/results/{FOLDER[template]}/{dataset}")
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(nb, dest / f"{rel}.ipynb")
        files.append(rel)
    return files


@pytest.fixture(scope="module")
def small_book(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("small-book")
    files = lay_out(dest)
    # The results pages reference the methods page's labels ({ref}): a page holding each of them
    labels = re.findall(r"^\((\S+)\)=$", (paths.ROOT / "book" / "methods.md").read_text(), flags=re.M)
    (dest / "book" / "methods.md").write_text("# Methods\n\n" + "".join(f"({k})=\n## {k}\n\n" for k in labels))
    files.append("book/methods")
    shutil.copy(paths.ROOT / "book" / "references.bib", dest / "references.bib")
    shutil.copytree(paths.ROOT / "_static", dest / "_static")  # the book's own style sheet
    shutil.copytree(paths.ROOT / "_ext", dest / "_ext")  # and its Sphinx extension (figure numbers)
    # a formula, which the book's configuration must typeset offline
    (dest / "index.md").write_text("# The golden pages\n\nThe smoke profile's results pages; a class's "
                                   "share is $\\frac{n_c}{N}$.\n")
    config = yaml.safe_load((paths.ROOT / "_config.yml").read_text())
    config.update(title="ceimb: the golden pages", exclude_patterns=["_build/*"], bibtex_bibfiles=["references.bib"])
    config["execute"] = {"execute_notebooks": "off"}
    (dest / "_config.yml").write_text(yaml.safe_dump(config))
    (dest / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": "index",
                                                   "chapters": [{"file": f} for f in files]}))
    jb = Path(sys.executable).parent / "jupyter-book"
    done = subprocess.run([str(jb), "build", str(dest), "--all", "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return dest / "_build" / "html"


def test_small_book_passes_the_browser_check(small_book):
    report = check(small_book)
    assert report.pages >= len(list(GOLDEN.glob("*.ipynb")))
    assert report.formulas >= 1  # the index page's, typeset by the MathJax the build copied in
    assert (small_book / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert not report.problems, "\n".join(report.problems)


def test_figure_numbers_restart_on_every_page(small_book):
    numbered = {}
    for page in (small_book / "book" / "results").rglob("*.html"):
        numbers = [int(n) for n in re.findall(r'<span class="caption-number">Fig\. (\d+) </span>', page.read_text())]
        if numbers:
            numbered[page.name] = numbers
    assert len(numbered) >= 2, numbered  # more than one page with figures, or nothing restarts
    assert all(numbers == list(range(1, len(numbers) + 1)) for numbers in numbered.values()), numbered


def test_the_check_fails_on_what_it_looks_for(small_book, tmp_path):
    """A page with each defect: the check names every one (so a pass above means something)."""
    root = tmp_path / "html"
    shutil.copytree(small_book, root)
    bad = root / "book" / "results" / "bad.html"
    bad.write_text("""<html><body><article>
      <img src="missing.png" alt="a figure"><img src="../../_static/x.png">
      <a href="nowhere.html">x</a><a href="../../index.html#no-such-anchor">y</a><a href="https://example.org/">z</a>
      <div style="width:200px;overflow:auto"><table><tr><td style="white-space:nowrap">""" + "wide " * 200 +
                   """</td></tr></table></div>
      <div class="cell_input">print(1)</div><div class="output stderr">oops</div>
    </article></body></html>""")
    (root / "book" / "results" / "moved.html").write_text('<meta http-equiv="Refresh" content="0; url=gone.html" />')
    found = check(root).problems
    assert "book/results/moved.html: redirects to gone.html, which does not exist" in found
    problems = [p for p in found if p.startswith("book/results/bad.html")]
    text = "\n".join(problems)
    for expected in ("missing.png does not load", "has no alt text", "nowhere.html does not resolve",
                     "#no-such-anchor", "is cut off", "code inputs shown", "stderr"):
        assert expected in text, text


def test_a_path_is_no_alt_text():
    assert is_path("../../_images/abc.png") and not is_path("Bars of required CE per class")


THEME = "<style>span.math, div.math {display: flex; max-width: 100%; overflow: hidden} span.math {display: inline-flex}</style>"


def formula_page(script: str = "") -> str:
    """Two formulas as Sphinx writes them (class "math", TeX in MathJax's delimiters), laid out
    as the book's theme lays them out."""
    return (f"<html><head>{THEME}{script}</head><body><article><p>A share: "
            '<span class="math notranslate nohighlight">\\(\\alpha_{c} + 1\\)</span> and '
            '<span class="math notranslate nohighlight">\\(W \\in \\mathbb{R}^{C \\times D}\\)</span></p>'
            '<div class="math notranslate nohighlight">\\[k = \\sum_d x_d\\]</div></article></body></html>')


def test_formulas_left_as_raw_tex_fail_and_typeset_ones_pass(tmp_path):
    """Typeset formulas pass (the screen readers' copy MathJax clips is not "cut off"); raw TeX and
    a formula wider than its column fail."""
    from sphinx.ext.mathjax import MATHJAX_URL  # Sphinx's default: MathJax from a CDN

    (tmp_path / "typeset.html").write_text(formula_page(f'<script defer src="{MATHJAX.as_uri()}"></script>'))
    (tmp_path / "no-mathjax.html").write_text(formula_page())
    (tmp_path / "from-a-cdn.html").write_text(formula_page(f'<script defer src="{MATHJAX_URL}"></script>'))
    (tmp_path / "as-text.html").write_text("<html><body><article><p>A formula $$x^2$$ and \\(y\\) typed as text."
                                           "</p><pre>$$ and \\( in code are code</pre></article></body></html>")
    long_sum = " + ".join(f"x_{{{i}}}" for i in range(40))
    (tmp_path / "too-wide.html").write_text(
        f'<html><head>{THEME}<script defer src="{MATHJAX.as_uri()}"></script></head><body><article>'
        f'<div style="width: 300px"><div class="math notranslate nohighlight">\\[{long_sum}\\]</div></div>'
        '</article></body></html>')
    report = check(tmp_path)
    assert report.pages == 5 and report.formulas == 10
    found = "\n".join(report.problems)
    assert "typeset.html" not in found, found
    assert 'no-mathjax.html: 3 of 3 formulas left as raw TeX (MathJax did not load), such as "\\(\\alpha_{c} + 1\\)"' in found, found
    # Chromium resolves no host: a book whose MathJax comes from a CDN fails here as it does offline
    assert "from-a-cdn.html: 3 of 3 formulas left as raw TeX (MathJax did not load)" in found, found
    assert 'as-text.html: raw TeX in the text, such as "A formula $$x^2$$ and \\(y\\) typed as text."' in found, found
    # a typeset formula wider than its column is cut off, as any other content
    assert "too-wide.html: div.math.notranslate.nohighlight (" in found and "in 300: " in found, found
    assert len(report.problems) == 4, found

"""The code cites the book's methods page by anchor (``methods#required-ce``), never a
specification the repository does not hold: every citation must resolve to a label there."""
import re

from ceimb_utils import paths

METHODS = paths.ROOT / "book" / "methods.md"
HERE = "tests/test_citations.py"  # holds the patterns it looks for
CITATION = re.compile(r"methods(?:\.md|\.html)?#([A-Za-z0-9_-]+)|\{ref\}`(?:[^`<]*<)?([A-Za-z0-9_-]+)>?`")
WHERE = ["ceimb_utils/**/*.py", "ceimb_utils/**/*.yaml", "tests/**/*.py", "benchmarks/*.py", "tools/*.py",
         "notebooks/*.ipynb", "book/*.md", "book/*.ipynb", "README.md", "Makefile", "examples/*"]


def labels(text: str) -> set[str]:
    return set(re.findall(r"^\(([A-Za-z0-9_-]+)\)=\s*$", text, flags=re.M))


def citations() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for pattern in WHERE:
        for path in paths.ROOT.glob(pattern):
            if path.is_file() and "golden" not in path.parts and str(path.relative_to(paths.ROOT)) != HERE:
                for hashed, ref in CITATION.findall(path.read_text(errors="ignore")):
                    found.setdefault(hashed or ref, set()).add(str(path.relative_to(paths.ROOT)))
    return found


def test_every_citation_of_the_methods_page_resolves():
    known = labels(METHODS.read_text())
    missing = {a: sorted(where) for a, where in citations().items() if a not in known}
    assert not missing, f"citations of methods anchors that do not exist: {missing}"


def test_nothing_cites_the_brief():
    cites = [str(p.relative_to(paths.ROOT)) for pattern in WHERE for p in paths.ROOT.glob(pattern)
             if p.is_file() and "golden" not in p.parts and str(p.relative_to(paths.ROOT)) != HERE and re.search(r"\bSPEC\b", p.read_text(errors="ignore"))]
    assert not cites, f"files that cite SPEC, which the repository does not hold: {cites}"


def test_the_check_finds_a_broken_citation():
    found = CITATION.findall("see methods#no-such-anchor, methods.md#ce and {ref}`the rule <claim-7>`")
    assert [a or b for a, b in found] == ["no-such-anchor", "ce", "claim-7"]
    assert "no-such-anchor" not in labels(METHODS.read_text()) and "ce" in labels(METHODS.read_text())

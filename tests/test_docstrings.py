"""The API page (book/api.md): every function on it shows an example, and every example in the
docstrings of its modules runs and prints what it says (a changed result fails here)."""
import doctest
import importlib
import re

import pytest

from ceimb_utils import paths

PAGE = paths.BOOK / "api.md"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def documented() -> list[tuple[str, str]]:
    """(directive, dotted name) of every object the API page documents, in page order."""
    found, module = [], ""
    for line in PAGE.read_text().splitlines():
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = match[1]
        elif match := re.match(r"\.\. (auto\w+):: (\S+)", line):
            name = match[2]
            found.append((match[1], name if name.startswith("ceimb_utils.") else f"{module}.{name}"))
    return found


def resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def modules() -> list[str]:
    return sorted({resolve(name).__module__ for _, name in documented()})


def examples():
    finder = doctest.DocTestFinder()
    for name in modules():
        for test in finder.find(importlib.import_module(name)):
            if test.examples:
                yield pytest.param(test, id=test.name)


def test_the_page_documents_the_public_api():
    names = [name.rpartition(".")[2] for _, name in documented()]
    for expected in ("extract", "CEResult", "UnsupportedModelError", "required_ce", "class_topk_union",
                     "top_share", "frequency_magnitude", "Reading", "load_study", "Study", "load_profile", "run"):
        assert expected in names, expected


def test_every_function_on_the_page_shows_an_example():
    missing = [name for directive, name in documented()
               if directive == "autofunction" and "Examples\n" not in (resolve(name).__doc__ or "")]
    assert not missing, missing


@pytest.mark.parametrize("test", list(examples()))
def test_docstring_example(test):
    report = []
    outcome = doctest.DocTestRunner(optionflags=FLAGS).run(test, out=report.append)
    assert outcome.attempted and not outcome.failed, "".join(report)

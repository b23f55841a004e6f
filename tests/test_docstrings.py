"""The API page (book/api.md): every function on it shows an example, and every example in the
docstrings of its modules runs and prints what it says (a changed result fails here)."""
import ast
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


def _property_first_lines():
    """(where, first docstring line) of every property of the package's classes."""
    for path in sorted(paths.PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            for item in getattr(node, "body", []) if isinstance(node, ast.ClassDef) else []:
                decorators = {getattr(d, "id", getattr(d, "attr", "")) for d in getattr(item, "decorator_list", [])}
                if isinstance(item, ast.FunctionDef) and decorators & {"property", "cached_property"}:
                    if doc := ast.get_docstring(item):
                        yield f"{path.name}:{node.name}.{item.name}", doc.splitlines()[0]


def test_no_property_docstring_reads_as_a_type():
    """Napoleon takes the words before a colon on a property's first docstring line as its type
    (CEResult.scores rendered "ce.sum(-1) + bias" as one); code spans may hold colons."""
    assert len(list(_property_first_lines())) > 10
    typed = [f"{where}: {line}" for where, line in _property_first_lines()
             if re.search(r"(?<!:):(?!:)", re.sub(r"``[^`]*``|`[^`]*`", "", line))]
    assert not typed, typed

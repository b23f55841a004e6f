"""Every research question of the book, once: its template, its title, its chapter and what it
needs from a data set's runs.

Config validation, the runner, the CLI's help and a test of ``_toc.yml`` read this table, so a
new question is one entry here, its template in ``notebooks/``, its chapter page in ``book/``
and its two lines in ``_toc.yml``.

What a question needs is declared here once, as data (methods#profiles). ``requires``: without
it the question cannot run at all, and the runner refuses the profile before any run, naming the
key that provides it. ``needs``: the parts of its page that need more than a run of any method;
where a data set's runs lack it, the page says so in one sentence in place of the part
(``report.needs``), and the runner notes it before the runs. Both are read against a ``Grid``,
what a data set's runs hold, built from the profile (before any run) or from the runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .methods import METHODS


@dataclass(frozen=True)
class Requirement:
    """What a part of a page needs from a data set's runs: one of ``methods`` among them. ``key``
    is the profile key, under the data set's kind, that provides it."""

    says: str                   # in words, for the sentence that stands in for the part
    key: str                    # "methods" or "interventions": "tabular.methods", "image.interventions"
    family: str = ""            # any method of this family meets it ...
    method: str = ""            # ... or this method

    def methods(self, kind: str, models: Iterable[str] = ()) -> tuple[str, ...]:
        """The methods of a kind of data set that meet it (that fit one of ``models``, if given)."""
        return tuple(name for name, m in METHODS.items()
                     if (name == self.method or (self.family and m.family == self.family))
                     and (any(m.applies_to(kind, model) for model in models) if models else kind in m.kinds))

    def met(self, grid: "Grid") -> bool:
        return any(m in self.methods(grid.kind) for m in grid.methods)

    def fix(self, grid: "Grid") -> str:
        """What to add, and where: 'add base to tabular.methods'."""
        options = self.methods(grid.kind, grid.models)
        what = options[0] if len(options) == 1 else f"one of {', '.join(options)}"
        return f"add {what} to {grid.kind}.{self.key}"


REQUIREMENTS = {
    "base": Requirement("the base model", "methods", method="base"),
    "oversampling": Requirement("an over-sampling method", "methods", family="oversampling"),
    "remedy": Requirement("a remedy that acts on the decision", "interventions", family="intervention"),
}


@dataclass(frozen=True)
class Need:
    """A part of a page and the requirements (keys of ``REQUIREMENTS``) it needs, all of them."""

    name: str                   # how templates and tests name the part
    part: str                   # the part, in words, as the page's heading calls it
    requires: tuple[str, ...]


@dataclass(frozen=True)
class Grid:
    """What a data set's runs hold: its kind and each run's (model, method, repeat), in order."""

    dataset: str
    kind: str
    runs: tuple[tuple[str, str, int], ...]

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(method for _, method, _ in self.runs))

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(model for model, _, _ in self.runs))

    def lacks(self, requires: Iterable[str]) -> list[str]:
        """The requirements (keys of ``REQUIREMENTS``) these runs do not meet, in order."""
        return [r for r in requires if not REQUIREMENTS[r].met(self)]

    def ran(self) -> str:
        """What ran, in words: 'base only', 'smote and balanced'."""
        methods = self.methods
        if len(methods) == 1:
            return f"{methods[0]} only"
        return ", ".join(methods[:-1]) + f" and {methods[-1]}"


def and_list(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" and {words[-1]}"


@dataclass(frozen=True)
class Question:
    name: str
    template: str
    title: str
    chapter: str = ""  # book/<chapter>.md introduces the per-data-set pages
    requires: tuple[str, ...] = ()  # without these the question cannot run at all: refused before any run
    because: str = ""               # why, in words: "RQ4 compares remedies with base"
    needs: tuple[Need, ...] = ()

    def need(self, name: str) -> Need:
        return next(n for n in self.needs if n.name == name)

    def refusal(self, grid: Grid) -> str:
        """The sentence that refuses a profile whose runs of ``grid`` lack what this question
        cannot run without ('' when nothing is lacking); it names the key first."""
        lacking = grid.lacks(self.requires)
        if not lacking:
            return ""
        first = REQUIREMENTS[lacking[0]]
        fixes = and_list([REQUIREMENTS[r].fix(grid) for r in lacking])
        return (f"{grid.kind}.{first.key}: {self.because}, and the runs of {grid.dataset!r} would have "
                f"{grid.ran()}; {fixes} or drop {self.name} from questions.")

    def in_place_of(self, name: str, grid: Grid) -> str:
        """The sentence a page shows in place of its part ``name`` when the runs of ``grid`` lack
        what it needs ('' when they have it)."""
        need = self.need(name)
        lacking = grid.lacks(need.requires)
        if not lacking:
            return ""
        wanted = and_list([REQUIREMENTS[r].says for r in need.requires])
        fixes = and_list([REQUIREMENTS[r].fix(grid) for r in lacking])
        return (f"{need.part} needs {wanted}, and the runs of {grid.dataset} have {grid.ran()}: "
                f"{fixes} to see it.")


QUESTION_INFO: dict[str, Question] = {q.name: q for q in [
    Question("rq1", "rq1-required-ce.ipynb", "RQ1: how many CE carry a prediction", "rq1"),
    Question("rq2", "rq2-magnitude.ipynb", "RQ2: the weight of the largest CE", "rq2", needs=(
        Need("magnitude", "The magnitude profile of the rarest class (paper Figure 5, under the base model)",
             ("base",)),)),
    Question("rq3", "rq3-frequency-magnitude.ipynb", "RQ3: frequency and magnitude", "rq3", needs=(
        Need("top5", "The comparison of the most frequent CE (paper Figure 7)", ("base", "oversampling")),)),
    Question("generalisation", "generalisation.ipynb", "What over-sampling bought", "generalisation"),
    Question("rq4", "rq4-interventions.ipynb", "RQ4: remedies that act on the decision", "rq4",
             requires=("base",), because="RQ4 compares remedies with base", needs=(
                 Need("against_base", "The change from base in the minority classes", ("base", "remedy")),)),
    Question("authors", "authors-vs-ours.ipynb", "The authors' networks beside ours", "authors"),
]}
QUESTIONS = tuple(QUESTION_INFO)
AUDIT = Question("audit", "claims-audit.ipynb", "Claims audit", needs=(
    Need("oversampling_claims", "The audit's comparison of over-sampling with base (claims 2 and 5)",
         ("base", "oversampling")),))


def page(name: str) -> Question:
    """A question, or the claims audit, by name: what a page needs is declared on either."""
    return AUDIT if name == AUDIT.name else QUESTION_INFO[name]

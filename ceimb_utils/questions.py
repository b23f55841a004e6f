"""Every research question of the book, once: its template, its title and its chapter.

Config validation, the runner, the CLI's help and a test of ``_toc.yml`` read this table, so a
new question is one entry here, its template in ``notebooks/``, its chapter page in ``book/``
and its two lines in ``_toc.yml``.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    name: str
    template: str
    title: str
    chapter: str = ""  # book/<chapter>.md introduces the per-data-set pages


QUESTION_INFO: dict[str, Question] = {q.name: q for q in [
    Question("rq1", "rq1-required-ce.ipynb", "RQ1: how many CE carry a prediction", "rq1"),
    Question("rq2", "rq2-magnitude.ipynb", "RQ2: the weight of the largest CE", "rq2"),
    Question("rq3", "rq3-frequency-magnitude.ipynb", "RQ3: frequency and magnitude", "rq3"),
    Question("generalisation", "generalisation.ipynb", "What over-sampling bought", "generalisation"),
    Question("rq4", "rq4-interventions.ipynb", "RQ4: remedies that act on the decision", "rq4"),
    Question("authors", "authors-vs-ours.ipynb", "The authors' networks beside ours", "authors"),
]}
QUESTIONS = tuple(QUESTION_INFO)
AUDIT = Question("audit", "claims-audit.ipynb", "Claims audit")

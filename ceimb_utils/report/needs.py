"""Page parts that need more than a run of any method: each returns what the part shows, or the
one sentence that stands in its place when the study's runs lack what the question declares it
needs (``questions.QUESTION_INFO``, methods#profiles).

A figure's cell carries its caption, so its sentence is shown by the cell before it
(``in_place``), and the figure function draws nothing when the need is unmet; a table's function
returns the table or the sentence.
"""
from __future__ import annotations

from IPython.display import Markdown

from ..methods import family
from ..pipeline.study import Study
from ..questions import Grid, page
from . import plots, remedies, reports


def grid(study: Study) -> Grid:
    """What the study's runs hold, as the questions' needs read it."""
    runs = study.runs
    return Grid(study.dataset, study.kind, tuple(zip(runs["model"], runs["method"], runs["repeat"])))


def in_place_of(study: Study, question: str, part: str) -> str:
    """The sentence that stands in for ``part`` of ``question``'s page ('' when it is shown)."""
    return page(question).in_place_of(part, grid(study))


def in_place(study: Study, question: str, part: str) -> Markdown | None:
    """The same sentence for a page to show (None, which shows nothing, when the part is shown)."""
    sentence = in_place_of(study, question, part)
    return Markdown(sentence) if sentence else None


def _has_union_curve(study: Study) -> bool:
    """Whether the runs computed claim 7's curve (tabular runs never do: it is judged on networks)."""
    return not reports.union_curve(study).empty


def union_in_place(study: Study) -> Markdown | None:
    """The sentence in place of claim 7's curve where the runs computed none; None where it is drawn."""
    return None if _has_union_curve(study) else Markdown(plots.NO_UNION_CURVE)


def union_curve(study: Study):
    """Claim 7's curve (``plots.union_curve``), or no figure (None) where the runs computed none,
    so that its caption describes only a curve that is drawn."""
    return plots.union_curve(study) if _has_union_curve(study) else None


def magnitude_profiles(study: Study):
    """RQ2 (paper Figure 5): the rarest class's magnitude profile under base, one row per model;
    no figure (None) without base."""
    if in_place_of(study, "rq2", "magnitude"):
        return None
    return plots.magnitude_profiles(study)


def compared_methods(study: Study) -> list[str]:
    """RQ3's top-5 comparison: base and EOS for images when it was run, else the first
    over-sampling method."""
    oversamplers = [m for m in study.methods if family(m) == "oversampling"]
    return ["base", "eos" if "eos" in oversamplers else oversamplers[0]]


def frequency_magnitude_top(study: Study):
    """RQ3 (paper Figure 7): the top-5 CE by frequency and their magnitudes, base beside an
    over-sampling method, one block of rows per model; no figure (None) without both."""
    if in_place_of(study, "rq3", "top5"):
        return None
    return plots.frequency_magnitude_tops(study, compared_methods(study))


def against_base(study: Study):
    """RQ4: each method's change from base in the minority classes, or the sentence in its place."""
    sentence = in_place(study, "rq4", "against_base")
    return sentence if sentence is not None else remedies.against_base(study).round(3)

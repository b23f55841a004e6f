"""Any profile a user can write builds its pages or is refused before any run (methods#profiles).

Drawn profiles are checked without notebooks: the run plan's acceptance or refusal against a
plain reading of the profile, the questions' declared needs against the runs, and what each page
part shows (its figures or table, or the sentence in its place). Three named profiles execute
their notebooks. ``benchmarks/profile_space.py`` executes drawn profiles whole, on demand.
"""
from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from IPython.display import Markdown  # noqa: E402

import drawn_profiles as drawn  # noqa: E402
from ceimb_utils import paths  # noqa: E402
from ceimb_utils.config import ConfigError, load_profile  # noqa: E402
from ceimb_utils.pipeline import runner  # noqa: E402
from ceimb_utils.pipeline.study import load_study  # noqa: E402
from ceimb_utils.questions import AUDIT, QUESTION_INFO, REQUIREMENTS, Grid, page  # noqa: E402
from ceimb_utils.report import audit, needs, plots, rules  # noqa: E402

EXAMPLES = 16  # each draws a profile; runs shared by examples are computed once


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return drawn.write_data(tmp_path_factory.mktemp("own-data"))


def _files(folder):
    return sorted(p for p in folder.rglob("*")) if folder.exists() else []


# ---------------------------------------------------------------- the declaration
def test_every_need_names_known_requirements_and_its_part_once():
    for question in [*QUESTION_INFO.values(), AUDIT]:
        assert set(question.requires) <= set(REQUIREMENTS)
        assert not question.requires or question.because
        names = [n.name for n in question.needs]
        assert len(names) == len(set(names))
        for need in question.needs:
            assert need.requires and set(need.requires) <= set(REQUIREMENTS), need


def test_a_refusal_names_the_key_the_need_and_the_way_out():
    grid = Grid("mine", "tabular", (("svm", "smote", 0), ("svm", "balanced", 0)))
    assert QUESTION_INFO["rq4"].refusal(grid) == (
        "tabular.methods: RQ4 compares remedies with base, and the runs of 'mine' would have smote and "
        "balanced; add base to tabular.methods or drop rq4 from questions.")
    assert QUESTION_INFO["rq4"].refusal(Grid("mine", "tabular", (("svm", "base", 0),))) == ""
    assert QUESTION_INFO["rq1"].refusal(grid) == ""  # RQ1 runs on any method


def test_a_sentence_in_place_of_a_part_says_what_to_add_that_fits_the_models():
    svm_only = Grid("mine", "tabular", (("svm", "base", 0),))
    sentence = QUESTION_INFO["rq4"].in_place_of("against_base", svm_only)
    assert sentence.startswith("The change from base in the minority classes needs the base model and a remedy")
    assert "runs of mine have base only: add balanced to tabular.interventions" in sentence  # l1 fits lg only
    lg = Grid("mine", "tabular", (("lg", "base", 0),))
    assert "add one of balanced, l1 to tabular.interventions" in QUESTION_INFO["rq4"].in_place_of("against_base", lg)
    images = Grid("pets", "image", (("resnet8", "eos", 0),))
    assert QUESTION_INFO["rq3"].in_place_of("top5", images).endswith(
        "the runs of pets have eos only: add base to image.methods to see it.")


def test_a_data_set_without_a_run_is_refused_before_any_work(data, isolated_results):
    body = {"extends": "smoke", "datasets": ["mine"], "data_sets": {"mine": drawn.ENTRIES["mine"]},
            "tabular": {"models": ["svm"], "methods": ["l1"], "interventions": []}}
    with pytest.raises(ConfigError, match=r"^tabular\.methods: none of l1 applies to tabular\.models svm, so 'mine' "
                                          r"would have no run; add base to tabular\.methods or lg to tabular\.models\.$"):
        runner.run(str(drawn.write_profile(data, body, "no-run.yaml")))
    assert not isolated_results.exists()


def test_a_question_that_cannot_run_is_refused_only_when_pages_are_asked_for(data):
    body = {"extends": "smoke", "datasets": ["mine"], "data_sets": {"mine": drawn.ENTRIES["mine"]},
            "tabular": {"models": ["svm"], "methods": ["smote"], "interventions": []}}
    path = str(drawn.write_profile(data, body, "smote.yaml"))
    with pytest.raises(ConfigError, match="^tabular.methods: RQ4 compares remedies with base"):
        runner.plan(path)
    assert runner.plan(path, pages=False)[1] == load_profile(path)["questions"]  # --no-notebooks fills the cache
    planned, asked = runner.plan(path, questions="rq1,rq3")
    (line,) = runner.notes(planned, asked, audit=False)
    assert line.startswith("rq3 on mine: The comparison of the most frequent CE (paper Figure 7) needs the base model")


def test_the_methods_page_says_what_each_question_needs_from_the_declaration(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "BOOK_RESULTS", tmp_path)
    rows = runner.write_needs_table().read_text().splitlines()[2:]
    assert len(rows) == len(QUESTION_INFO) + 1  # every question and the audit
    rq4 = next(r for r in rows if r.startswith(f"| {QUESTION_INFO['rq4'].title} |"))
    assert "| the base model (RQ4 compares remedies with base) |" in rq4
    assert "The change from base in the minority classes: the base model and a remedy" in rq4
    assert next(r for r in rows if r.startswith("| RQ1")).endswith("| nothing | nothing |")


# ---------------------------------------------------------------- the profile space
def _check_parts(study, body) -> None:
    """Each declared part of each page shows its figures or table, or the sentence in its place,
    as a plain reading of the profile says it should."""
    for (question, part), in_words in drawn.expected_in_place(body, study.dataset).items():
        sentence = needs.in_place_of(study, question, part)
        assert bool(sentence) == in_words, (question, part, sentence)
        if sentence:
            need = page(question).need(part)
            assert sentence.startswith(need.part + " needs ") and f" to {study.kind}." in sentence, sentence
    figures = {"magnitude": needs.magnitude_profiles(study), "top5": needs.frequency_magnitude_top(study)}
    for (question, part), drawn_figures in zip((("rq2", "magnitude"), ("rq3", "top5")), figures.values()):
        if needs.in_place_of(study, question, part):
            assert drawn_figures is None
        else:  # one figure, one caption: a block per model, each titled with its model
            titles = [sub.get_suptitle() for sub in drawn_figures.subfigs]
            assert len(titles) == len(study.models) and all(plots._model_name(m) in t for t, m in zip(titles, study.models))
    table = needs.against_base(study)
    assert isinstance(table, Markdown if needs.in_place_of(study, "rq4", "against_base") else pd.DataFrame)
    plt.close("all")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=drawn.profiles())
def test_every_drawn_profile_is_refused_before_any_run_or_has_every_part_or_its_sentence(data, body):
    path = str(drawn.write_profile(data, body))
    expected = drawn.expected_refusal(body)
    event("refused" if expected else "accepted")
    event("data sets: " + ", ".join(body["datasets"]))
    results = paths.results_dir()
    before = _files(results)
    if expected:
        with pytest.raises(ConfigError) as refused:
            runner.plan(path)
        drawn.check_refusal(str(refused.value), body)
        with pytest.raises(ConfigError, match=re.escape(str(refused.value))):
            runner.run(path)
        assert _files(results) == before  # refused before any run
        return
    planned, _ = runner.plan(path)  # accepted
    runner.run(path, notebooks=False)
    studies = {ds: load_study(ds, path, compute=False) for ds in body["datasets"]}
    for ds, study in studies.items():
        assert sorted(needs.grid(study).runs) == sorted(runner.planned_grid(planned[ds]).runs)  # the plan knew the runs
        _check_parts(study, body)
    if all(drawn.expected_in_place(body, ds)[("audit", "oversampling_claims")] for ds in studies):
        verdicts = {a.number: a.verdict for a in audit.audit(studies, readings=False)}
        assert verdicts[2] == verdicts[5] == rules.UNTESTABLE  # the audit's own words agree with the need


# ---------------------------------------------------------------- three profiles executed whole
NAMED = {
    # a CSV of one's own and the base model only, with remedies (l1 zeroes every weight of a class
    # on this table: a page must still show no warning)
    "csv-base": {"datasets": ["mine"], "tabular": {"models": ["lg", "svm"], "methods": ["base"], "splits": 2,
                                                   "interventions": ["balanced", "l1"], "jobs": 1}},
    # an ImageFolder of one's own, one seed, the base network only (the smoke profile's tau-norm remedy)
    "folder-base": {"datasets": ["pets"], "image": {"seeds": [0], "methods": ["base"], **drawn.SMALL_IMAGE}},
    # one over-sampler and no base: every question but RQ4, which compares remedies with base
    "one-oversampler": {"datasets": ["mine"], "questions": ["rq1", "rq2", "rq3", "generalisation"],
                        "tabular": {"models": ["svm"], "methods": ["smote"], "interventions": [], "jobs": 1}},
}


def _outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def _shown_text(nb) -> str:
    return "\n".join(o.get("data", {}).get("text/markdown", "") for o in _outputs(nb))


@pytest.mark.parametrize("name", list(NAMED))
def test_a_named_profile_builds_every_page_it_asks_for(name, data, tmp_path, monkeypatch):
    body = {"extends": "smoke", "jobs": 2, "threads": 1, "metrics": drawn.SMALL["metrics"], **NAMED[name]}
    body["data_sets"] = {d: drawn.ENTRIES[d] for d in body["datasets"]}
    monkeypatch.setattr(paths, "BOOK_RESULTS", tmp_path / "book")
    path = str(drawn.write_profile(data, body, f"{name}.yaml"))
    written = runner.run(path)
    asked = drawn.asked_questions(body)
    (ds,) = body["datasets"]
    assert sorted(p.relative_to(tmp_path / "book").as_posix() for p in written) == sorted(
        [f"{q}/{ds}.ipynb" for q in asked] + ["claims-audit.ipynb"])
    pages = {p.parent.name if p.parent != tmp_path / "book" else "audit": nbformat.read(p, as_version=4) for p in written}
    for name, nb in pages.items():
        outputs = _outputs(nb)
        assert not [o for o in outputs if o.output_type == "error"], name
        assert not [o for o in outputs if o.get("name") == "stderr" and "Warning" in o.get("text", "")], name
    study = load_study(ds, path, compute=False)
    assert needs.in_place_of(study, "rq3", "top5") in _shown_text(pages["rq3"])  # says what needs a second method
    assert "needs the base model and an over-sampling method" in _shown_text(pages["rq3"])
    if "base" not in study.methods:
        assert needs.in_place_of(study, "rq2", "magnitude") in _shown_text(pages["rq2"])
    images = [o for o in _outputs(pages["rq3"]) if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the rest of the page is built: the latent reading and the Spearman; the top-5 is not
    if "rq4" not in asked:  # asked with the profile's default questions, it is refused before any run
        default = {k: v for k, v in body.items() if k != "questions"}
        with pytest.raises(ConfigError, match=r"^tabular\.methods: RQ4 compares remedies with base, .* add base to "
                                              r"tabular\.methods or drop rq4 from questions\.$"):
            runner.run(str(drawn.write_profile(data, default, f"{name}-default.yaml")))


def test_a_class_without_a_required_ce_leaves_no_warning_on_the_rq3_page(data):
    """L1 can zero every weight of a class (16 of 50 drawn profiles of benchmarks/profile_space.py
    had such a class); the RQ3 tables must not warn about its constant frequencies."""
    import warnings

    from ceimb_utils.report import reports

    body = {"extends": "smoke", "datasets": ["mine"], "data_sets": {"mine": drawn.ENTRIES["mine"]}, **drawn.SMALL,
            "tabular": {"models": ["lg"], "methods": ["l1"], "interventions": [], "splits": 1}, "questions": ["rq3"]}
    path = str(drawn.write_profile(data, body, "l1.yaml"))
    runner.run(path, notebooks=False)
    study = load_study("mine", path, compute=False)
    assert (study.frequency.groupby("class_index")["freq"].max() == 0).any()  # a class no CE is ever required for
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reports.spearman(study)

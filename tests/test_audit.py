"""The audit's orchestration on hand-made studies: healthy runs decide, the verdict on all runs is
kept beside, readings that reverse a verdict are named, markers count the same repeats, and the
evidence says what a claim rests on (methods#health, methods#repeats, methods#reversals)."""
import json

import pandas as pd
import pytest

from ceimb_utils.pipeline.study import Study
from ceimb_utils.report import audit, rules, wording
from ceimb_utils.report.rules import FAILS, HOLDS, PARTLY, UNTESTABLE

TEN = {(c, "majority" if c == 0 else "minority"): 8.0 for c in range(10)}


def class_rows(dataset, model, method, values, repeats=(0, 1, 2), n_tp=50, **extra):
    return [{"dataset": dataset, "model": model, "method": method, "repeat": r, "class_index": c, "class": str(c),
             "group": g, "n_train": 100, "required_pct": v, "union_pct": 3 * v, "n_tp": n_tp, "top_share": 0.65,
             "top_share_instance": 0.65, "ceiling_pct": 80.0, "required_pct_nonzero": v, "n_tp_nonzero": n_tp,
             "n_k0": 0, **extra} for r in repeats for (c, g), v in values.items()]


def study(dataset, classes, runs=None, readings=None, latent=None):
    classes = pd.DataFrame(classes)
    if runs is None:
        runs = classes[["dataset", "model", "method", "repeat"]].drop_duplicates().assign(n_train=700, n_test=300)
    tables = {"classes": classes, "runs": runs, "readings": readings if readings is not None else pd.DataFrame()}
    if latent is not None:
        tables["latent_classes"] = pd.DataFrame(latent)
    return Study(dataset, {"profile": "test"}, [], tables)


def health_of(s: Study, unhealthy=()):
    runs = s.tables["runs"][["dataset", "model", "method", "repeat"]].rename(columns={"repeat": "seed"})
    return runs.assign(healthy=[(m, me, r) not in unhealthy for m, me, r in
                                zip(runs["model"], runs["method"], runs["seed"])])


def audit_of(studies, unhealthy=(), **kw):
    health = {name: health_of(s, unhealthy) for name, s in studies.items()}
    return {a.number: a for a in audit.audit(studies, health, **kw)}


def test_interventions_never_enter_and_unhealthy_runs_are_left_out():
    rows = (class_rows("fashion-lt", "resnet8", "base", TEN) + class_rows("fashion-lt", "resnet8", "remix", TEN)
            + class_rows("fashion-lt", "resnet8", "tau_norm", {k: 60.0 for k in TEN}))
    # remix repeat 2 did not learn, and its figures would fail claim 1 on its own
    bad = [r for r in rows if r["method"] == "remix" and r["repeat"] == 2]
    for r in bad:
        r["required_pct"] = 90.0
    s = study("fashion-lt", rows)
    a = audit_of({"fashion-lt": s}, unhealthy={("resnet8", "remix", 2)}, readings=False)[1]
    assert a.verdict == HOLDS and a.all_runs.verdict == PARTLY and a.all_runs_differ
    assert (a.evidence.runs, a.evidence.healthy, a.evidence.left_out) == (6, 5, 1)  # tau_norm is not the claim's
    label = wording.verdict_label(a)
    assert label == "holds · on all runs: partly"
    assert "1 left out (did not learn" in wording.evidence_text(a.evidence, a)
    # remix's cells average the two repeats that learned: the evidence must not say three
    assert a.evidence.repeats == (2, 3) and "2 to 3 healthy repeats each" in wording.evidence_text(a.evidence, a)


def test_a_claim_without_a_healthy_run_is_untestable_and_says_why():
    s = study("fashion-lt", class_rows("fashion-lt", "resnet8", "base", TEN))
    a = audit_of({"fashion-lt": s}, unhealthy={("resnet8", "base", r) for r in range(3)}, readings=False)[1]
    assert a.verdict == UNTESTABLE
    assert wording.verdict_table([a])["ours"].item() == wording.MISSING["no model learned"]


def test_a_reading_that_reverses_a_verdict_is_named_beside_it():
    rows = class_rows("fashion-lt", "resnet8", "base", TEN)
    keys = ["dataset", "model", "method", "repeat", "class_index"]
    readings = pd.DataFrame(rows)[keys].assign(reading="bias excluded", n_counted=50, required_pct=40.0,
                                               never_crosses=0, union_pct=50.0, top_share=0.6, top_share_instance=0.6)
    s = study("fashion-lt", rows, readings=readings)
    a = audit_of({"fashion-lt": s})[1]
    assert a.verdict == HOLDS and a.readings["bias excluded"] == FAILS and a.reversals == ["bias excluded"]
    assert "reverses under the bias excluded reading" in wording.verdict_label(a)
    assert "under the bias excluded reading" in wording.findings(list(audit_of({"fashion-lt": s}).values()))
    # a move to partly is a change, not a reversal; "not testable" under a reading is no reversal either
    assert not rules.reverses(HOLDS, PARTLY) and not rules.reverses(FAILS, UNTESTABLE)


def test_the_unsettled_marker_and_the_per_repeat_column_count_the_same_repeats():
    rows = class_rows("fashion-lt", "resnet8", "base", TEN, repeats=(0, 1))
    rows += class_rows("fashion-lt", "resnet8", "base", {k: 20.0 for k in TEN}, repeats=(2,))
    a = audit_of({"fashion-lt": study("fashion-lt", rows)}, readings=False)[1]
    assert a.verdict == HOLDS and [r.verdict for r in a.repeats] == [HOLDS, HOLDS, FAILS]
    assert wording.repeat_note(a) == "unsettled (2 of 3)"
    assert wording.repeat_summary(a) == "holds 2, does not hold 1 of 3 repeats"
    row = wording.csv_table([a]).iloc[0]
    assert row["unsettled"] == "unsettled (2 of 3)" and row["per repeat"].startswith("holds 2")


def test_a_two_part_claim_counts_repeats_against_the_stated_verdict():
    """Claim 8 pools images and tables: each repeat of each part is judged by its part's rule
    and k counts those that equal the stated verdict (methods#repeats)."""
    img = class_rows("fashion-lt", "resnet8", "base", TEN, top_share=0.66)
    tab = class_rows("sylva", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): 30.0}, top_share=0.2)
    audits = audit_of({"fashion-lt": study("fashion-lt", img), "sylva": study("sylva", tab)}, readings=False)
    a = audits[8]
    assert len(a.repeats) == 6 and a.agreeing == sum(r.verdict == a.verdict for r in a.repeats)
    assert wording.repeat_note(a) == ("" if a.settled else f"unsettled ({a.agreeing} of 6)")


def test_evidence_names_a_subsample_and_the_papers_data():
    rows = class_rows("coil_2000", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): 30.0})
    runs = pd.DataFrame(rows)[["dataset", "model", "method", "repeat"]].drop_duplicates().assign(
        n_train=2100, n_test=900, data_rows=9822)
    a = audit_of({"coil_2000": study("coil_2000", rows, runs)}, readings=False)[3]
    text = wording.evidence_text(a.evidence, a)
    assert "the paper's data (coil_2000, 3,000 of 9,822 rows)" in text and text.startswith("3 runs, 3 healthy")
    whole = runs.assign(data_rows=3000)
    b = audit_of({"coil_2000": study("coil_2000", rows, whole)}, readings=False)[3]
    assert "the paper's data (coil_2000)" in wording.evidence_text(b.evidence, b)


def test_thin_cells_are_counted_on_the_claims_row():
    rows = class_rows("fashion-lt", "resnet8", "base", TEN)
    for r in rows:
        if r["class_index"] == 9 and r["repeat"] == 1:
            r["n_tp"] = 7
    a = audit_of({"fashion-lt": study("fashion-lt", rows)}, readings=False)[1]
    assert a.result.left_out == {"thin": 1}
    assert "1 thin class cell left out" in wording.evidence_text(a.evidence, a)


def test_the_latent_reading_is_read_once_per_extractor_and_per_table_split():
    def lat(dataset, model, method, repeat, statuses, reading):
        return [{"dataset": dataset, "model": model, "method": method, "repeat": repeat, "reading": reading,
                 "class_index": c, "status": s, "n_kept": 30, "rho": 0.0, "null_low": 0, "null_high": 0}
                for c, s in enumerate(statuses)]

    img_rows = class_rows("fashion-lt", "resnet8", "base", TEN, repeats=(0,)) + class_rows(
        "fashion-lt", "resnet8", "eos", TEN, repeats=(0,))
    latent = lat("fashion-lt", "resnet8", "base", 0, ["relation"] * 10, "pre-pool") + lat(
        "fashion-lt", "resnet8", "eos", 0, ["relation"] * 10, "pre-pool")  # EOS keeps base's extractor
    tab_rows = class_rows("sylva", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): 9.0}, repeats=(0,)) + \
        class_rows("sylva", "svm", "base", {(0, "majority"): 3.0, (1, "minority"): 9.0}, repeats=(0,))
    tab_latent = lat("sylva", "lg", "base", 0, ["no relation"] * 2, "table") + lat(
        "sylva", "svm", "base", 0, ["no relation"] * 2, "table")
    studies = {"fashion-lt": study("fashion-lt", img_rows, latent=latent),
               "sylva": study("sylva", tab_rows, latent=tab_latent)}
    joined = audit.join(studies, {n: health_of(s) for n, s in studies.items()})
    assert len(joined.latent[joined.latent["family"] == "cnn"]) == 10  # base only
    assert len(joined.latent[joined.latent["family"] != "cnn"]) == 2  # one split, read once
    a = audit_of(studies, readings=False)[9]
    assert a.verdict == HOLDS
    assert a.evidence.splits == 1 and a.evidence.runs == 1  # the base network; EOS adds no extractor
    # no network learned: the table splits, which need no model, still give the repeats
    sick = audit_of(studies, unhealthy={("resnet8", "base", 0), ("resnet8", "eos", 0)}, readings=False)[9]
    text = wording.evidence_text(sick.evidence, sick)
    assert text.startswith("1 run, 0 healthy")
    assert "; 1 repeat each" in text and "healthy repeat" not in text


def test_a_rule_with_too_many_false_positives_is_flagged(tmp_path, monkeypatch):
    record = tmp_path / "rates.json"
    record.write_text(json.dumps({"rows": [{"claim": "1", "false_positive_rate": 0.15, "power": 0.9}]}))
    monkeypatch.setattr(audit, "RATES_RECORD", record)
    s = study("fashion-lt", class_rows("fashion-lt", "resnet8", "base", TEN))
    a = audit_of({"fashion-lt": s}, readings=False)[1]
    assert a.flagged_rate and "false positive in 15.0%" in wording.verdict_label(a)


def test_a_partly_that_the_rule_also_gives_where_the_claim_is_false_is_flagged(tmp_path, monkeypatch):
    """A false-positive rate counts *holds*; a rule that reads *partly* on most seeds of a
    generator where its claim is false cannot support the claim with a *partly*: said beside it."""
    from dataclasses import replace

    def row(claim, generator, reads, fp, unit="verdict per seed"):
        return {"claim": claim, "unit": unit, "generator": generator, "reads": reads, "false_positive_rate": fp,
                "n": 20}
    record = tmp_path / "rates.json"
    record.write_text(json.dumps({"rows": [
        row("1", "dense", "does not hold 20", 0.0), row("1", "dense, 10:1", "partly 18, does not hold 2", 0.0),
        row("1", "sparse", "partly 20", None),  # planted: a power row, not a null
        row("7", "sparse", "partly 2, does not hold 18", 0.0),  # at the limit: not flagged
        row("9", "frequency-imb", "no relation 183, relation 8", 0.085, unit="testable class")]}))
    assert audit.partly_on_null(record) == {"1": audit.NullReading("dense, 10:1", PARTLY, 18, 20),
                                            "7": audit.NullReading("sparse", PARTLY, 2, 20)}
    monkeypatch.setattr(audit, "RATES_RECORD", record)
    s = study("fashion-lt", class_rows("fashion-lt", "resnet8", "base", TEN))
    a = audit_of({"fashion-lt": s}, readings=False)[1]
    partly, holds = (replace(a, result=replace(a.result, verdict=v)) for v in (PARTLY, HOLDS))
    assert partly.partly_as_on_null and not holds.partly_as_on_null
    assert wording.verdict_label(partly).endswith(
        " · also given on planted data where the claim is false (18 of 20 seeds of dense, 10:1)")
    assert "also given" not in wording.verdict_label(holds)
    assert ("It reads <em>partly</em>, the verdict here, in 18 of 20 seeds of dense, 10:1, where the claim is false by "
            "construction") in wording.claim_section(partly)
    assert ("Verdicts their rule also gives on planted data where the claim is false: 1 (partly in 18 of 20 seeds "
            "of dense, 10:1).") in wording.findings([partly])
    at_limit = replace(partly, null_partly=audit.partly_on_null(record)["7"])
    assert not at_limit.partly_as_on_null and "also given" not in wording.verdict_label(at_limit)


def test_the_audit_quotes_a_false_positive_rate_as_the_calibration_page_does(tmp_path, monkeypatch):
    """8.5% on the calibration page is 8.5% in the audit, not 8% (the largest of a claim's rules)."""
    record = tmp_path / "rates.json"
    record.write_text(json.dumps({"rows": [{"claim": "9", "false_positive_rate": 0.085, "power": None},
                                           {"claim": "9", "false_positive_rate": 0.065, "power": None}]}))
    monkeypatch.setattr(audit, "RATES_RECORD", record)
    s = study("fashion-lt", class_rows("fashion-lt", "resnet8", "base", TEN))
    a = audit_of({"fashion-lt": s}, readings=False)[1]
    a.false_positive_rate = audit.false_positive_rates(record)["9"]
    assert "the rule reads a false positive in 8.5% of cases" in wording.claim_section(a)


def test_sensitivity_lists_every_reading():
    s = study("fashion-lt", class_rows("fashion-lt", "resnet8", "base", TEN))
    table = audit.sensitivity(list(audit_of({"fashion-lt": s}).values()))
    assert set(audit.SENSITIVITY) <= set(table.columns)
    assert table.set_index("#").loc[7, "top-10 sets"] == UNTESTABLE  # claim 7's curves: default sets only


def test_the_evidence_counts_the_runs_a_rule_reads_and_names_the_data_it_judged():
    """Claim 6 reads base, SMOTE and ADASYN: a ReMix run is not its evidence. A data set whose runs
    all did not learn, or that left the rule no cell, is named apart from the data the verdict
    rests on (the landing page once said "the paper's data (coil_2000)" for a verdict on sylva)."""
    two = {(0, "majority"): 40.0, (1, "minority"): 40.0}
    studies = {}
    for name in ("sylva", "coil_2000", "hiva"):
        rows = []
        for method in ("base", "smote", "adasyn", "remix"):
            rows += class_rows(name, "svm", method, two, n_tp=5 if name == "hiva" else 50)
        studies[name] = study(name, rows)
    unhealthy = set()
    health = {n: health_of(s, {("svm", m, r) for m in ("base", "smote", "adasyn", "remix") for r in range(3)}
                           if n == "coil_2000" else unhealthy) for n, s in studies.items()}
    a = {x.number: x for x in audit.audit(studies, health, readings=False)}[6]
    assert (a.evidence.runs, a.evidence.healthy) == (27, 18)  # 3 data sets x 3 methods x 3 splits; no remix
    assert [d.name for d in a.evidence.data] == ["sylva"]
    assert a.evidence.unlearned == ["coil_2000"] and a.evidence.unjudged == ["hiva"]
    text = wording.evidence_text(a.evidence, a)
    assert "the paper's data" not in text and "substitute data (sylva)" in text
    assert "no run learned on coil_2000" in text and "no cell left to judge on hiva" in text
    assert wording.limitations(list({6: a}.values()))["data"].item() == "substitute data"


@pytest.mark.parametrize("model, cells, start, every", [
    # a remedy's cells (balanced: 1% and 30%) are in the page's table, never in the range it
    # compares with the paper's; the claims audit's range comes first
    ("lg", {"base": (5.0, 9.0), "smote": (6.0, 10.0), "balanced": (1.0, 30.0)},
     "- **lg**: a true positive needs 5.0% to 10.0% of its CE per class cell as claim 3 of the audit reads them",
     "1.0% to 30.0%"),
    # claim 6 reads the base majority and SMOTE and ADASYN: ReMix's cell (16%) and the base
    # minority's (60%) are in the page's table, not in the range it says the audit reads
    ("svm", {"base": (21.0, 60.0), "smote": (25.0, 28.0), "remix": (16.0, 24.0)},
     "- **svm**: a true positive needs 21.0% to 28.0% of its CE per class cell as claim 6 of the audit reads them "
     "(the base majority, and both classes under SMOTE and ADASYN", "16.0% to 60.0%"),
])
def test_the_rq1_page_quotes_the_cells_its_claim_reads_beside_every_run(monkeypatch, model, cells, start, every):
    from ceimb_utils.report import reports

    kw = dict(recall=0.9, never_crosses=0, bias_only=0)
    rows = [r for method, (majority, minority) in cells.items()
            for r in class_rows("sylva", model, method, {(0, "majority"): majority, (1, "minority"): minority}, **kw)]
    monkeypatch.setattr(audit, "health_table", health_of)
    text = reports.rq1_headline(study("sylva", rows))
    assert text.startswith(start) and f"{every} over every method and run" in text

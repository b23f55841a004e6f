"""Verdict rules of the claims audit on hand-made result tables."""
import numpy as np
import pandas as pd
import pytest

from ceimb_utils.report import audit

DEFAULT = audit.READINGS["default"]


def rows(dataset, family, method, values, repeats=(0, 1), **extra):
    """values: {(class_index, group): required_pct}; other columns from extra or defaults."""
    out = []
    for repeat in repeats:
        for (ci, group), req in values.items():
            row = {"dataset": dataset, "family": family, "model": family if family != "cnn" else "resnet32",
                   "method": method, "repeat": repeat, "class_index": ci, "group": group, "required_pct": req,
                   "required_pct_exclude": req, "required_pct_absolute": req, "union_pct": req * 3,
                   "top_share": 0.65, "top_share_instance": 0.65, "top_share_absolute": 0.5,
                   "union_null_low": req * 6, "union_null_high": req * 8, "ceiling_pct": 80.0}
            row.update(extra)
            out.append(row)
    return out


def frame(*groups):
    return pd.DataFrame([r for g in groups for r in g])


EMPTY_RHO = pd.DataFrame(columns=["dataset", "family", "model", "method", "repeat", "class_index", "spearman", "ci_low", "ci_high",
                                  "null_low", "null_high"])


def test_share_rule_thresholds():
    assert audit.share_verdict(1.0) == audit.HOLDS and audit.share_verdict(0.9) == audit.HOLDS
    assert audit.share_verdict(0.89) == audit.PARTLY and audit.share_verdict(0.5) == audit.PARTLY
    assert audit.share_verdict(0.49) == audit.FAILS and audit.share_verdict(np.nan) == audit.UNTESTABLE
    assert audit.combine(audit.HOLDS, audit.UNTESTABLE) == audit.HOLDS
    assert audit.combine(audit.HOLDS, audit.FAILS) == audit.PARTLY
    assert audit.combine(audit.UNTESTABLE) == audit.UNTESTABLE


def test_cnn_claims():
    ten = {(c, "majority" if c == 0 else "minority"): 8.0 for c in range(10)}
    ok = frame(rows("img", "cnn", "base", ten), rows("img", "cnn", "eos", {**ten, (3, "minority"): 20.0}))
    v = audit.claim_cnn_few_ce(ok, EMPTY_RHO, DEFAULT)
    assert v.verdict == audit.HOLDS and "19 of 20" in v.reason and "class 3" in v.reason  # the 'cat' exception
    bad = frame(rows("img", "cnn", "base", {k: 30.0 for k in ten}))
    assert audit.claim_cnn_few_ce(bad, EMPTY_RHO, DEFAULT).verdict == audit.FAILS
    # over-sampling: EOS moves the minority group by 12/9 = 1.3 pp -> no meaningful change
    assert audit.claim_image_oversampling_no_change(ok, EMPTY_RHO, DEFAULT).verdict == audit.HOLDS
    moved = frame(rows("img", "cnn", "base", ten), rows("img", "cnn", "remix", {k: 16.0 for k in ten}))
    assert audit.claim_image_oversampling_no_change(moved, EMPTY_RHO, DEFAULT).verdict == audit.FAILS


def test_claims_without_their_data_say_so():
    tab = frame(rows("t", "lg", "base", {(0, "majority"): 5.0, (1, "minority"): 9.0}))
    for claim in (audit.claim_cnn_few_ce, audit.claim_image_oversampling_no_change):
        v = claim(tab, EMPTY_RHO, DEFAULT)
        assert v.verdict == audit.UNTESTABLE and v.reason
    img = frame(rows("img", "cnn", "base", {(0, "majority"): 5.0, (1, "minority"): 9.0}))
    for claim in (audit.claim_lg_range, audit.claim_lg_minority_needs_more, audit.claim_lg_gap_narrows, audit.claim_svm):
        assert claim(img, EMPTY_RHO, DEFAULT).verdict == audit.UNTESTABLE
    assert audit.claim_frequency_magnitude(img, EMPTY_RHO, DEFAULT).verdict == audit.UNTESTABLE


def test_lg_claims():
    base = rows("a", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): 30.0})
    smote = rows("a", "lg", "smote", {(0, "majority"): 8.0, (1, "minority"): 20.0})
    other = rows("b", "lg", "base", {(0, "majority"): 1.0, (1, "minority"): 0.5})  # outside 2.5%..40%, reversed
    t = frame(base, smote, other)
    v = audit.claim_lg_range(t, EMPTY_RHO, DEFAULT)
    assert v.verdict == audit.PARTLY and "4 of 6" in v.reason
    v4 = audit.claim_lg_minority_needs_more(t, EMPTY_RHO, DEFAULT)
    assert v4.verdict == audit.PARTLY and "2 of 3" in v4.reason
    v5 = audit.claim_lg_gap_narrows(frame(base, smote), EMPTY_RHO, DEFAULT)
    assert v5.verdict == audit.HOLDS and "+27.0 → +12.0" in v5.ours


def test_svm_claim_two_parts():
    base = rows("a", "svm", "base", {(0, "majority"): 97.0, (1, "minority"): 60.0})
    smote = rows("a", "svm", "smote", {(0, "majority"): 42.0, (1, "minority"): 38.0})
    assert audit.claim_svm(frame(base, smote), EMPTY_RHO, DEFAULT).verdict == audit.HOLDS
    low = rows("a", "svm", "base", {(0, "majority"): 20.0, (1, "minority"): 60.0})
    assert audit.claim_svm(frame(low, smote), EMPTY_RHO, DEFAULT).verdict == audit.PARTLY


def test_class_level_and_top_share():
    t = frame(rows("a", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): 30.0}),
              rows("b", "svm", "base", {(0, "majority"): 50.0, (1, "minority"): 40.0}, top_share=0.3))
    v7 = audit.claim_class_exceeds_instance(t, EMPTY_RHO, DEFAULT)
    assert v7.verdict == audit.UNTESTABLE and "tabular only" in v7.ours  # Figure 4 is about images
    v = audit.claim_top_share(t, EMPTY_RHO, DEFAULT)
    assert v.verdict == audit.HOLDS and "LG 65.0% (paper 62.8%; 0 of 2 cells trivial" in v.ours and "SVM 30.0%" in v.ours
    far = frame(rows("a", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): 30.0}, top_share=0.95))
    assert audit.claim_top_share(far, EMPTY_RHO, DEFAULT).verdict == audit.FAILS


def rho_rows(dataset, family, methods, spearman, null_high, n=5):
    model = "resnet32" if family == "cnn" else family
    return [{"dataset": dataset, "family": family, "model": model, "method": m, "class_index": c, "repeat": 0,
             "spearman": spearman[c] if isinstance(spearman, list) else spearman, "ci_low": 0.4, "ci_high": 0.9,
             "null_low": 0.3, "null_high": null_high} for m in methods for c in range(n)]


@pytest.mark.parametrize("cnn_rho, tab_rho, expected", [
    (0.8, 0.5, audit.HOLDS),                         # CNN above its null, tabular within it
    (0.8, 0.9, audit.PARTLY),                        # tabular above its null too
    ([0.8, 0.8, 0.5, 0.5, 0.5], 0.5, audit.PARTLY),  # CNN above the null for 2 of 5 classes only
    (0.5, 0.9, audit.FAILS),                         # the reverse of the paper
])
def test_frequency_magnitude_claim_against_the_null(cnn_rho, tab_rho, expected):
    classes = frame(rows("img", "cnn", "base", {(0, "majority"): 5.0}))
    rho = pd.DataFrame(rho_rows("img", "cnn", ("base", "eos"), cnn_rho, 0.6) + rho_rows("tab", "lg", ("base",), tab_rho, 0.7, 2))
    assert audit.claim_frequency_magnitude(classes, rho, DEFAULT).verdict == expected


def test_frequency_magnitude_claim_per_tabular_family():
    """Issue 22: LG within its null (supports 'not for tabular'), SVM above it (contradicts):
    the claim partly holds, and the page names each family."""
    classes = frame(rows("img", "cnn", "base", {(0, "majority"): 5.0}))
    rho = pd.DataFrame(rho_rows("img", "cnn", ("base", "eos"), 0.8, 0.6) + rho_rows("tab", "lg", ("base",), 0.5, 0.7, 4)
                       + rho_rows("tab", "svm", ("base",), 0.9, 0.7, 4))
    v = audit.claim_frequency_magnitude(classes, rho, DEFAULT)
    assert v.verdict == audit.PARTLY
    assert "LG, Spearman not above the null: holds" in v.reason and "SVM, Spearman not above the null: does not hold" in v.reason
    assert "LG above null 0/4" in v.short and "SVM above null 4/4" in v.short


def test_evidence_counts_the_runs_a_claim_uses():
    """Claims 3 to 5 rest on LG runs: an unhealthy SVM run of the same data set is not theirs."""
    lg = rows("sylva", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): 9.0})
    svm = rows("sylva", "svm", "base", {(0, "majority"): 90.0, (1, "minority"): 60.0})
    t = frame(lg, svm)
    health = pd.DataFrame([{"dataset": "sylva", "model": m, "method": "base", "seed": r, "healthy": m == "lg"}
                           for m in ("lg", "svm") for r in (0, 1)])
    verdicts = [audit.claim_lg_range(t, EMPTY_RHO, DEFAULT), audit.claim_svm(t, EMPTY_RHO, DEFAULT)]
    for v in verdicts:
        v.runs = audit.runs_of_claim(v.number, t)
    lg_v, svm_v = audit.mark_health(verdicts, {"sylva": health})
    assert lg_v.evidence.startswith("2 runs, 2 healthy; 2 repeats each; substitute data (sylva)") and not lg_v.health
    assert "rests on fewer than half healthy runs" in svm_v.evidence and "2 of 2 runs unhealthy" in svm_v.health
    coil = audit.evidence(pd.DataFrame([{"dataset": "coil_2000", "model": "lg", "method": "base", "repeat": 0}]), health)
    assert "the paper's data (coil_2000)" in coil[0]
    both = audit.evidence(pd.DataFrame([{"dataset": d, "model": "lg", "method": "base", "repeat": 0}
                                        for d in ("sylva", "coil_2000")]), health)
    assert both[0].endswith("the paper's data (coil_2000) and substitutes (sylva)")  # each data set named once


def test_noise_never_shows_frequency_and_magnitude_declining_together():
    """i.i.d. CE, the same for every feature: Spearman near 0.6, far above 0
    (the old rule said 'holds'), but inside the feature-exchangeable null."""
    from ceimb_utils.ce import CEResult, summaries

    rng = np.random.default_rng(0)
    ce = rng.normal(size=(600, 3, 64))
    result = CEResult(ce, np.zeros(3), np.ones((600, 64)), np.ones((3, 64)), np.arange(3), ce.sum(-1))
    _, rho = summaries.frequency_tables(result, result.predicted_index, resamples=200)
    assert (rho["spearman"] > 0.3).all()  # far above 0, the reference the old verdict used
    cnn = pd.concat([rho.assign(method=m) for m in ("base", "eos")]).assign(
        dataset="noise", family="cnn", model="resnet32", repeat=0)
    classes = frame(rows("noise", "cnn", "base", {(0, "majority"): 5.0}))
    v = audit.claim_frequency_magnitude(classes, cnn, DEFAULT)
    assert v.verdict in (audit.FAILS, audit.PARTLY) and v.verdict != audit.HOLDS


def _class_level(ratio, null_low, null_high, required=5.0):
    """Image cells with class-level count ratio x the instance level and a null of null_low x to null_high x."""
    t = frame(rows("img", "cnn", "base", {(0, "majority"): required, (1, "minority"): required}))
    return t.assign(union_pct=required * ratio, union_null_low=required * null_low,
                    union_null_high=required * null_high, union_null_mean=required * (null_low + null_high) / 2)


@pytest.mark.parametrize("ratio, null_low, null_high, expected", [
    (3.0, 2.5, 3.5, audit.HOLDS),     # R >= 2 and inside the null: any combination of CE
    (9.0, 2.5, 3.5, audit.HOLDS),     # above the null: more varied than random combinations
    (3.0, 6.0, 8.0, audit.PARTLY),    # R >= 2 but below the null: TPs share terms more than chance
    (1.9, 1.5, 2.5, audit.FAILS),     # R < 2: not much larger, whatever the null
    (2.0, 1.5, 2.5, audit.HOLDS),     # R = 2 is "much larger" (the reference itself)
    (1.0, 6.0, 8.0, audit.FAILS),     # identical sets: invariant features
])
def test_class_level_claim_against_both_references(ratio, null_low, null_high, expected):
    v = audit.claim_class_exceeds_instance(_class_level(ratio, null_low, null_high), EMPTY_RHO, DEFAULT)
    assert v.verdict == expected


def test_class_level_claim_was_judged_upside_down_before():
    """Issue 22: 3.5x against a null of 7.9x is below the null, which the old rule counted as
    'outside, holds'; now it partly supports the claim, with the position p between the bounds."""
    v = audit.claim_class_exceeds_instance(_class_level(3.5, 7.9, 7.9), EMPTY_RHO, DEFAULT)
    assert v.verdict == audit.PARTLY and "p 0.36" in v.ours and "between invariant features" in v.short
    cells = audit.class_level_cells(_class_level(3.5, 7.9, 7.9))
    assert cells["p"].iloc[0] == pytest.approx(2.5 / 6.9) and (cells["grade"] == audit.PARTLY_SUPPORTS).all()


def test_class_level_claim_says_when_the_null_saturates():
    v = audit.claim_class_exceeds_instance(_class_level(3.0, 20.0, 20.0), EMPTY_RHO, DEFAULT)  # 100% of D
    assert "saturates at 100% of D in 2" in v.reason


def test_class_level_claim_partly():
    t = _class_level(3.0, 2.5, 3.5)
    t.loc[t["group"] == "minority", "union_pct"] = 5.0 * 1.5  # R < 2 in one of two cells
    v = audit.claim_class_exceeds_instance(t, EMPTY_RHO, DEFAULT)
    assert v.verdict == audit.PARTLY and "1 support" in v.reason and "1 contradict" in v.reason


def test_graded_verdict_thresholds():
    g = lambda *grades: audit.graded_verdict(pd.Series(grades))
    assert g(*[audit.SUPPORTS] * 9, audit.CONTRADICTS) == audit.HOLDS
    assert g(audit.SUPPORTS, audit.PARTLY_SUPPORTS, audit.CONTRADICTS, audit.CONTRADICTS) == audit.PARTLY
    assert g(audit.PARTLY_SUPPORTS, audit.CONTRADICTS, audit.CONTRADICTS) == audit.FAILS
    assert g() == audit.UNTESTABLE


def test_top_share_verdict_leaves_trivial_cells_out():
    """A class whose top int(0.1 D) entries hold all of its positive mass has share 1 by
    construction; HIVA's SVM minority class is one. The verdict rests on the other cells."""
    svm = rows("hiva", "svm", "base", {(0, "majority"): 50.0}, top_share=0.32)
    trivial = rows("hiva", "svm", "base", {(1, "minority"): 50.0}, top_share=1.0)
    v = audit.claim_top_share(frame(svm, trivial), EMPTY_RHO, DEFAULT)
    assert v.verdict == audit.HOLDS and "SVM 32.0% (paper 31.6%; 1 of 2 cells trivial, 66.0% with them)" in v.ours
    table = audit.top_share_by_family(frame(svm, trivial))
    assert table.set_index("family").loc["svm", ["share_pct", "share_pct_all", "trivial_cells"]].tolist() == [32.0, 66.0, 1]
    near = rows("hiva", "svm", "base", {(1, "minority"): 50.0}, top_share=0.999)  # not trivial: 1 - 1e-3
    assert audit.top_share_by_family(frame(svm, near))["trivial_cells"].iloc[0] == 0


def test_class_level_claim_has_no_null_under_other_sets():
    t = frame(rows("img", "cnn", "base", {(0, "majority"): 5.0, (1, "minority"): 6.0}))
    v = audit.claim_class_exceeds_instance(t, EMPTY_RHO, audit.READINGS["top-10 sets"])
    assert v.verdict == audit.UNTESTABLE and "null" in v.reason


def test_svm_claim_against_its_ceiling():
    base = rows("a", "svm", "base", {(0, "majority"): 72.0, (1, "minority"): 60.0}, ceiling_pct=78.0)
    smote = rows("a", "svm", "smote", {(0, "majority"): 42.0, (1, "minority"): 38.0}, ceiling_pct=78.0)
    t = frame(base, smote)
    v = audit.claim_svm(t, EMPTY_RHO, DEFAULT)
    assert v.verdict == audit.PARTLY and "ceiling n_SV0 / D: 78.0%" in v.ours and "a 78.0%" in v.reason
    assert audit.claim_svm(t, EMPTY_RHO, audit.READINGS["SVM against its ceiling"]).verdict == audit.HOLDS


def test_readings_replace_the_per_class_figures():
    t = frame(rows("img", "cnn", "base", {(0, "majority"): 8.0, (1, "minority"): 9.0}))
    readings = t[["dataset", "model", "method", "repeat", "class_index"]].assign(
        reading="bias excluded", n_counted=5, required_pct=30.0, never_crosses=0, union_pct=40.0,
        top_share=0.5, top_share_instance=0.5)
    assert audit.under_reading(t, readings, "default") is t
    excluded = audit.under_reading(t, readings, "bias excluded")
    assert excluded["required_pct"].eq(30.0).all() and excluded["group"].tolist() == t["group"].tolist()
    assert audit.claim_cnn_few_ce(t, EMPTY_RHO, audit.READINGS["default"]).verdict == audit.HOLDS
    assert audit.claim_cnn_few_ce(excluded, EMPTY_RHO, audit.READINGS["bias excluded"]).verdict == audit.FAILS
    assert set(audit.READINGS) >= {"positive terms only", "at least one term", "ceil share", "top-10 sets",
                                   "as released, all instances", "bias excluded", "ranked by |CE|"}


def test_base_and_method_are_compared_on_the_same_classes():
    """Issue 13, item 2: the base model has no TP for class 9; EOS does, with a large value.
    Unpaired, EOS's minority group would average one more class (shift +3.6 pp)."""
    base = {(c, "majority" if c == 0 else "minority"): 8.0 for c in range(10)}
    base[(9, "minority")] = np.nan
    eos = {**base, (9, "minority"): 40.0}
    t = frame(rows("img", "cnn", "base", base), rows("img", "cnn", "eos", eos))
    v = audit.claim_image_oversampling_no_change(t, EMPTY_RHO, DEFAULT)
    assert v.verdict == audit.HOLDS and "img eos minority: +0.0 pp" in v.ours and "1 class cell left out" in v.reason
    lg_base = rows("a", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): np.nan})
    lg_smote = rows("a", "lg", "smote", {(0, "majority"): 8.0, (1, "minority"): 20.0})
    v5 = audit.claim_lg_gap_narrows(frame(lg_base, lg_smote), EMPTY_RHO, DEFAULT)
    assert v5.verdict == audit.UNTESTABLE and "1 class cell left out" in v5.reason


def test_class_level_claim_rests_on_images_when_present():
    img = rows("img", "cnn", "base", {(0, "majority"): 5.0, (1, "minority"): 6.0})  # union = 3 x instance, below null
    tab = rows("t", "lg", "base", {(0, "majority"): 5.0, (1, "minority"): 30.0}, union_pct=4.0)
    v = audit.claim_class_exceeds_instance(frame(img, tab), EMPTY_RHO, DEFAULT)
    assert v.verdict == audit.PARTLY and "images: of 2 data set x method x group cells, 0 support" in v.reason
    assert "reported, not judged: tabular: of 2 data set x method x group cells, 0 support" in v.reason
    assert audit.claim_class_exceeds_instance(frame(tab), EMPTY_RHO, DEFAULT).verdict == audit.UNTESTABLE


def test_cells_without_true_positives_are_left_out():
    ten = {(c, "majority" if c == 0 else "minority"): 8.0 for c in range(10)}
    ten[(9, "minority")] = np.nan  # no TP for the rarest class
    v = audit.claim_cnn_few_ce(frame(rows("img", "cnn", "base", ten)), EMPTY_RHO, DEFAULT)
    assert v.verdict == audit.HOLDS and "9 of 9" in v.reason and "nan" not in v.reason
    assert "1 class cell without a true positive left out" in v.reason


def test_lg_claims_can_fail():
    """Claims 3, 4 and 5 each on a table where they do not hold."""
    outside = rows("a", "lg", "base", {(0, "majority"): 60.0, (1, "minority"): 70.0})  # far above 40%
    assert audit.claim_lg_range(frame(outside), EMPTY_RHO, DEFAULT).verdict == audit.FAILS
    reversed_gap = rows("a", "lg", "base", {(0, "majority"): 20.0, (1, "minority"): 5.0})
    assert audit.claim_lg_minority_needs_more(frame(reversed_gap), EMPTY_RHO, DEFAULT).verdict == audit.FAILS
    base = rows("a", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): 10.0})
    wider = rows("a", "lg", "smote", {(0, "majority"): 2.0, (1, "minority"): 25.0})
    v = audit.claim_lg_gap_narrows(frame(base, wider), EMPTY_RHO, DEFAULT)
    assert v.verdict == audit.FAILS and "+7.0 → +23.0" in v.ours


def test_each_repeat_is_judged_alone_and_disagreement_is_shown():
    # CNN seed 1 needs 30% of CE in every class: the means (8, 30 -> 19%) fail the 12% rule,
    # seed 0 alone holds it; the landing page shows the disagreement beside the means' verdict.
    ten = {(c, "majority" if c == 0 else "minority"): 8.0 for c in range(10)}
    seeds = frame(rows("img", "cnn", "base", ten, repeats=(0,)), rows("img", "cnn", "base", {k: 30.0 for k in ten}, repeats=(1,)))
    out = audit.judge_repeats(audit.claim_cnn_few_ce, 1, seeds, EMPTY_RHO, DEFAULT)
    assert out == [(None, audit.HOLDS), (None, audit.FAILS)]  # one part: compared with the means' verdict
    v = audit.claim_cnn_few_ce(seeds, EMPTY_RHO, DEFAULT)
    v.per_repeat = [verdict for _, verdict in out]
    assert v.verdict == audit.FAILS and not v.settled and v.repeat_note() == "unsettled (1 of 2)"
    assert v.repeat_summary() == "holds 1, does not hold 1 of 2 repeats"
    landing = audit.landing_table([v], "audit.html")
    assert landing["verdict"].item() == f"{audit.FAILS} · unsettled (1 of 2)"
    same = audit.claim_cnn_few_ce(frame(rows("img", "cnn", "base", ten, repeats=(0, 1, 2))), EMPTY_RHO, DEFAULT)
    same.per_repeat = [audit.HOLDS] * 3
    assert same.settled and same.repeat_note() == "" and same.repeat_summary() == "holds in 3 of 3 repeats"


def test_a_pooled_claim_is_judged_per_repeat_within_images_and_tabular_data():
    assert audit.repeat_parts(8) == [("cnn",), ("lg", "svm")] and audit.repeat_parts(3) == [("lg",)]
    ten = {(c, "majority" if c == 0 else "minority"): 8.0 for c in range(3)}
    classes = frame(rows("img", "cnn", "base", ten, repeats=(0,)),
                    rows("t", "lg", "base", {(0, "majority"): 5.0, (1, "minority"): 9.0}, repeats=(0, 1, 2)))
    seen = []

    def claim(c, r, reading):
        seen.append((tuple(sorted(c["family"].unique())), tuple(c["repeat"].unique())))
        return audit.Verdict(8, "c", "p", "o", audit.HOLDS, "r")

    judged = audit.judge_repeats(claim, 8, classes, EMPTY_RHO, DEFAULT)
    assert [verdict for _, verdict in judged] == [audit.HOLDS] * 4
    assert seen == [(("cnn",), (0,)), (("cnn",), (0,)), (("lg",), (0, 1, 2)), (("lg",), (0,)), (("lg",), (1,)),
                    (("lg",), (2,))]  # each part's means, then its repeats

    # CNN holds and LG does not: the pooled means read "partly", yet every repeat agrees with its part
    def split(c, r, reading):
        fam = set(c["family"])
        return audit.Verdict(8, "c", "p", "o", audit.PARTLY if len(fam) > 1 else
                             audit.HOLDS if fam == {"cnn"} else audit.FAILS, "r")

    v = split(classes, EMPTY_RHO, DEFAULT)
    judged = audit.judge_repeats(split, 8, classes, EMPTY_RHO, DEFAULT)
    v.per_repeat, v.per_repeat_reference = [j for _, j in judged], [ref for ref, _ in judged]
    assert v.verdict == audit.PARTLY and v.settled and v.repeat_note() == ""


def test_findings_state_the_counts_and_name_the_claims():
    def v(number, verdict, short, per_repeat=()):
        out = audit.Verdict(number, "c", "p", "o", verdict, "r", short=short)
        out.per_repeat = list(per_repeat)
        return out

    text = audit.findings([v(1, audit.HOLDS, "8%", [audit.HOLDS] * 3), v(7, audit.FAILS, "R 1.4x < 2x", [audit.FAILS, audit.HOLDS]),
                           v(3, audit.PARTLY, "x"), v(9, audit.UNTESTABLE, "no data")])
    assert text.startswith("Of the paper's 4 quantitative claims, measured here, 1 holds, 1 holds in part, "
                           "1 does not hold and 1 cannot be tested on these data.")
    assert "Claims that hold: 1 (CNN: ≤ 12% of CE carry a TP)." in text
    assert "Claims that do not hold: 7 (Class level exceeds instance level: R 1.4x < 2x)." in text
    assert text.endswith("Verdicts the repeats leave unsettled: 7 (unsettled (1 of 2)).")


def test_the_verdict_table_downloads_as_plain_csv(tmp_path):
    v = audit.Verdict(7, "c", "p", "R 1.4x", audit.FAILS, "r", [("rq1", "img")])
    v.per_repeat = [audit.FAILS, audit.HOLDS]
    audit.write_csv([v], tmp_path / "out" / "audit.csv")
    table = pd.read_csv(tmp_path / "out" / "audit.csv")
    assert table.loc[0, "#"] == 7 and table.loc[0, "unsettled"] == "unsettled (1 of 2)"  # no HTML left
    assert list(tmp_path.joinpath("out").iterdir()) == [tmp_path / "out" / "audit.csv"]  # atomic: no temporary


def test_limitations_name_what_would_change_each_verdict():
    v = audit.Verdict(7, "c", "p", "o", audit.FAILS, "r")
    v.per_repeat, v.evidence = [audit.FAILS, audit.HOLDS], "4 runs, 4 healthy; 1 repeat each; substitute data (img)"
    robust = pd.DataFrame([{"#": 7, "claim": "c", **{r: audit.FAILS for r in audit.READINGS},
                            "bias excluded": audit.HOLDS}])
    row = audit.limitations([v], robust).iloc[0]
    assert row["readings that change it"] == "bias excluded: holds"
    assert row["repeats"] == "does not hold 1, holds 1 of 2 repeats" and row["data"] == "substitute data"


def test_one_repeat_shows_no_spread():
    one = frame(rows("img", "cnn", "base", {(0, "majority"): 8.0}, repeats=(0,)))
    three = frame(rows("t", "lg", "base", {(0, "majority"): 4.0}, repeats=(0, 1, 2)))
    assert audit.per_dataset(one, "required_pct") == "img: 8.0% (1 repeat)"  # not "± 0.0"
    assert audit.per_dataset(three, "required_pct") == "t: 4.0% ± 0.0"  # three equal repeats: a real 0

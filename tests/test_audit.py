"""Verdict rules of the claims audit on hand-made result tables."""
import numpy as np
import pandas as pd
import pytest

from ceimb_utils import audit

DEFAULT = audit.READINGS["default"]


def rows(dataset, family, method, values, repeats=(0, 1), **extra):
    """values: {(class_index, group): required_pct}; other columns from extra or defaults."""
    out = []
    for repeat in repeats:
        for (ci, group), req in values.items():
            row = {"dataset": dataset, "family": family, "model": family if family != "cnn" else "resnet32",
                   "method": method, "repeat": repeat, "class_index": ci, "group": group, "required_pct": req,
                   "required_pct_exclude": req, "required_pct_absolute": req, "union_pct": req * 3,
                   "top_share": 0.65, "top_share_instance": 0.65, "top_share_absolute": 0.5}
            row.update(extra)
            out.append(row)
    return out


def frame(*groups):
    return pd.DataFrame([r for g in groups for r in g])


EMPTY_RHO = pd.DataFrame(columns=["dataset", "family", "model", "method", "class_index", "spearman", "ci_low", "ci_high"])


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
    assert audit.claim_class_exceeds_instance(t, EMPTY_RHO, DEFAULT).verdict == audit.HOLDS
    v = audit.claim_top_share(t, EMPTY_RHO, DEFAULT)
    assert v.verdict == audit.HOLDS and "LG 65.0% (paper 62.8%)" in v.ours and "SVM 30.0%" in v.ours
    far = frame(rows("a", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): 30.0}, top_share=0.95))
    assert audit.claim_top_share(far, EMPTY_RHO, DEFAULT).verdict == audit.FAILS


def test_frequency_magnitude_claim():
    classes = frame(rows("img", "cnn", "base", {(0, "majority"): 5.0}))
    rho = pd.DataFrame([
        {"dataset": "img", "family": "cnn", "model": "resnet32", "method": m, "class_index": c, "repeat": 0,
         "spearman": 0.8, "ci_low": 0.6, "ci_high": 0.9} for m in ("base", "eos") for c in range(5)
    ] + [
        {"dataset": "tab", "family": "lg", "model": "lg", "method": "base", "class_index": c, "repeat": 0,
         "spearman": 0.1, "ci_low": -0.2, "ci_high": 0.3} for c in range(2)
    ])
    assert audit.claim_frequency_magnitude(classes, rho, DEFAULT).verdict == audit.HOLDS
    rho.loc[rho["family"] == "lg", "ci_low"] = 0.4  # tabular shows the relation too
    assert audit.claim_frequency_magnitude(classes, rho, DEFAULT).verdict == audit.PARTLY


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
    img = rows("img", "cnn", "base", {(0, "majority"): 5.0, (1, "minority"): 6.0})  # union = 3 x instance
    tab = rows("t", "lg", "base", {(0, "majority"): 5.0, (1, "minority"): 30.0}, union_pct=4.0)
    v = audit.claim_class_exceeds_instance(frame(img, tab), EMPTY_RHO, DEFAULT)
    assert v.verdict == audit.HOLDS and "2 of 2 image" in v.reason and "tabular" in v.reason and ": 0 of 2" in v.reason
    assert audit.claim_class_exceeds_instance(frame(tab), EMPTY_RHO, DEFAULT).verdict == audit.FAILS


def test_cells_without_true_positives_are_left_out():
    ten = {(c, "majority" if c == 0 else "minority"): 8.0 for c in range(10)}
    ten[(9, "minority")] = np.nan  # no TP for the rarest class
    v = audit.claim_cnn_few_ce(frame(rows("img", "cnn", "base", ten)), EMPTY_RHO, DEFAULT)
    assert v.verdict == audit.HOLDS and "9 of 9" in v.reason and "nan" not in v.reason
    assert "1 class cell without a true positive left out" in v.reason

"""The claims' rules on hand-made tables: each holds, partly holds and fails where it should, on
each side of every reference (methods#verdicts)."""
import numpy as np
import pandas as pd
import pytest

from ceimb_utils.report import rules
from ceimb_utils.report.rules import FAILS, HOLDS, PARTLY, UNTESTABLE, RuleReading, Tables


def rows(dataset, family, method, values, repeats=(0, 1), n_tp=50, **extra):
    """values: {(class_index, group): required_pct}; other columns from ``extra`` or defaults."""
    model = {"cnn": "resnet8"}.get(family, family)
    out = []
    for repeat in repeats:
        for (ci, group), req in values.items():
            row = {"dataset": dataset, "family": family, "model": model, "method": method, "repeat": repeat,
                   "class_index": ci, "group": group, "required_pct": req, "union_pct": 3 * req, "n_tp": n_tp,
                   "top_share": 0.65, "top_share_instance": 0.65, "ceiling_pct": 80.0, "required_pct_nonzero": req,
                   "n_tp_nonzero": n_tp, "n_k0": 0}
            row.update(extra)
            out.append(row)
    return out


def frame(*groups):
    return pd.DataFrame([r for g in groups for r in g])


def tables(*groups, curve=None, latent=None):
    return Tables(frame(*groups), curve if curve is not None else pd.DataFrame(),
                  latent if latent is not None else pd.DataFrame())


TEN = {(c, "majority" if c == 0 else "minority"): 8.0 for c in range(10)}


def test_thresholds_and_about():
    assert rules.share_verdict(0.9) == HOLDS and rules.share_verdict(0.89) == PARTLY
    assert rules.share_verdict(0.5) == PARTLY and rules.share_verdict(0.49) == FAILS
    assert rules.share_verdict(np.nan) == UNTESTABLE
    assert rules.combine(HOLDS, UNTESTABLE) == HOLDS and rules.combine(HOLDS, FAILS) == PARTLY
    assert rules.combine(FAILS, FAILS) == FAILS and rules.combine(UNTESTABLE) == UNTESTABLE
    # about x: x / 1.25 to 1.25 x, both ends included
    assert rules.about(15.0, 12.0) and not rules.about(15.01, 12.0)
    assert rules.about(9.6, 12.0) and not rules.about(9.59, 12.0)
    assert rules.reverses(HOLDS, FAILS) and not rules.reverses(HOLDS, PARTLY) and not rules.reverses(HOLDS, UNTESTABLE)


@pytest.mark.parametrize("low, high, expected", [
    (2.4, 41.0, HOLDS),     # both ends about the paper's
    (2.4, 25.6, PARTLY),    # the high end is not
    (0.1, 25.6, FAILS),     # inside 2.1% to 48%, yet neither end agrees: containment decides nothing
    (0.1, 45.0, PARTLY),
])
def test_a_range_claim_is_judged_on_both_ends(low, high, expected):
    assert rules.range_verdict(low, high, 2.5, 40.0)[0] == expected


def test_claim_1_at_most_about_12_percent_and_thin_cells_left_out():
    ok = frame(rows("img", "cnn", "base", TEN), rows("img", "cnn", "eos", {**TEN, (3, "minority"): 20.0}))
    r = rules.claim_1(Tables(ok))
    assert r.verdict == HOLDS and r.figures["passing"] == 19 and r.figures["largest_class"] == 3
    at_edge = frame(rows("img", "cnn", "base", {k: 15.0 for k in TEN}))
    assert rules.claim_1(Tables(at_edge)).verdict == HOLDS  # 15% is about 12%
    over = frame(rows("img", "cnn", "base", {k: 15.1 for k in TEN}))
    assert rules.claim_1(Tables(over)).verdict == FAILS
    half = frame(rows("img", "cnn", "base", {k: 8.0 if k[0] < 5 else 30.0 for k in TEN}))
    assert rules.claim_1(Tables(half)).verdict == PARTLY
    # a class with 19 TPs in one repeat is thin: left out and counted, whatever its value
    thin = frame(rows("img", "cnn", "base", TEN), rows("img", "cnn", "base", {(9, "minority"): 90.0}, repeats=(0,),
                                                       n_tp=19))
    thin = thin.drop_duplicates(["repeat", "class_index"], keep="last")
    r = rules.claim_1(Tables(thin))
    assert r.verdict == HOLDS and r.left_out == {"thin": 1} and r.figures["cells"] == 9


def test_cells_without_a_tp_are_counted_not_judged():
    ten = {**TEN, (9, "minority"): np.nan}
    r = rules.claim_1(Tables(frame(rows("img", "cnn", "base", ten))))
    assert r.verdict == HOLDS and r.left_out == {"no TP": 1} and r.figures["cells"] == 9


def test_claim_2_pairs_base_and_method_in_the_same_repeat():
    base = rows("img", "cnn", "base", TEN, repeats=(0, 1))
    eos = rows("img", "cnn", "eos", {k: 9.0 for k in TEN}, repeats=(0, 1))
    assert rules.claim_2(tables(base, eos)).verdict == HOLDS
    moved = rows("img", "cnn", "remix", {k: 16.0 for k in TEN})
    assert rules.claim_2(tables(base, moved)).verdict == FAILS
    # EOS of repeat 1 did not learn (absent from the healthy table) and base of repeat 0 has
    # no TP for class 9: the pairs that remain are judged alone
    eos0 = rows("img", "cnn", "eos", {**TEN, (9, "minority"): 40.0}, repeats=(0,))
    base_gap = rows("img", "cnn", "base", {**TEN, (9, "minority"): np.nan}, repeats=(0,))
    r = rules.claim_2(tables(base_gap, eos0))
    assert r.verdict == HOLDS and r.left_out == {"no TP on one side": 1}
    assert rules.claim_2(tables(base)).verdict == UNTESTABLE and rules.claim_2(tables(base)).missing


def test_lg_claims_hold_partly_hold_and_fail():
    base = rows("a", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): 30.0})
    smote = rows("a", "lg", "smote", {(0, "majority"): 8.0, (1, "minority"): 20.0})
    reverse = rows("b", "lg", "base", {(0, "majority"): 1.0, (1, "minority"): 0.5})
    assert rules.claim_3(tables(base, smote)).verdict == PARTLY  # 3.0 about 2.5, 30.0 not about 40
    assert rules.claim_3(tables(rows("a", "lg", "base", {(0, "majority"): 2.6, (1, "minority"): 45.0}))).verdict == HOLDS
    assert rules.claim_3(tables(reverse)).verdict == FAILS
    r4 = rules.claim_4(tables(base, smote, reverse))
    assert r4.verdict == PARTLY and (r4.figures["passing"], r4.figures["cells"]) == (2, 3)
    assert rules.claim_4(tables(reverse)).verdict == FAILS
    r5 = rules.claim_5(tables(base, smote))
    assert r5.verdict == HOLDS and r5.cells[["base_gap", "gap"]].iloc[0].tolist() == [27.0, 12.0]
    wider = rows("a", "lg", "smote", {(0, "majority"): 2.0, (1, "minority"): 40.0})
    assert rules.claim_5(tables(base, wider)).verdict == FAILS


def test_a_gap_cell_whose_other_group_is_thin_is_counted_as_left_out():
    """Claims 4 and 5 read minority minus majority: a majority cell whose minority cell is thin
    has no gap and is left out too, and said so (it was dropped without a word)."""
    from ceimb_utils.report import wording

    base = rows("a", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): 30.0})
    smote = rows("a", "lg", "smote", {(0, "majority"): 8.0, (1, "minority"): 20.0})
    thin_base = rows("b", "lg", "base", {(0, "majority"): 3.0}) + rows("b", "lg", "base", {(1, "minority"): 9.0}, n_tp=5)
    thin_smote = (rows("b", "lg", "smote", {(0, "majority"): 4.0})
                  + rows("b", "lg", "smote", {(1, "minority"): 8.0}, n_tp=5))
    r4 = rules.claim_4(tables(base, smote, thin_base, thin_smote))
    assert r4.left_out == {"thin": 2, "no other group": 2} and r4.figures["cells"] == 2
    assert "2 class cells whose other group has no cell left (no gap to form)" in wording.why(r4)
    r5 = rules.claim_5(tables(base, smote, thin_base, thin_smote))
    assert r5.left_out == {"thin": 1, "no other group": 1} and r5.figures["cells"] == 1


def test_claim_6_both_parts_and_the_ceiling_reading():
    base = rows("a", "svm", "base", {(0, "majority"): 80.0, (1, "minority"): 60.0}, ceiling_pct=78.0)
    smote = rows("a", "svm", "smote", {(0, "majority"): 42.0, (1, "minority"): 32.0}, ceiling_pct=78.0)
    r = rules.claim_6(tables(base, smote))
    assert r.verdict == HOLDS and r.parts == {"A": HOLDS, "B": HOLDS}  # 80% is about 100%; 32% about 40%
    low = rows("a", "svm", "base", {(0, "majority"): 79.0, (1, "minority"): 60.0}, ceiling_pct=78.0)
    r = rules.claim_6(tables(low, smote))
    assert r.verdict == PARTLY and r.parts["A"] == FAILS
    assert rules.claim_6(tables(low, smote), RuleReading("ceiling", svm_target="ceiling")).verdict == HOLDS
    far = rows("a", "svm", "adasyn", {(0, "majority"): 51.0, (1, "minority"): 31.0})
    assert rules.claim_6(tables(low, far)).verdict == FAILS


def test_claim_6_counts_and_names_only_the_methods_it_reads():
    """A thin ReMix cell, or a data set where only ReMix learned, is not part of claim 6's
    evidence: its left-out count and its data sets describe base, SMOTE and ADASYN alone."""
    base = rows("a", "svm", "base", {(0, "majority"): 80.0, (1, "minority"): 60.0})
    smote = rows("a", "svm", "smote", {(0, "majority"): 42.0, (1, "minority"): 32.0})
    remix = rows("b", "svm", "remix", {(0, "majority"): 30.0, (1, "minority"): 20.0}) + rows(
        "a", "svm", "remix", {(1, "minority"): 20.0}, n_tp=5)
    r = rules.claim_6(tables(base, smote, remix))
    assert r.verdict == HOLDS and r.left_out == {} and r.datasets == ["a"]


# ---------------------------------------------------------------- claim 7
def curve_rows(method, union, null_mean, null_low, d_classes=(0, 1), repeats=(0, 1), ms=(10, 20, 50),
               saturate_from=None, replicates=None):
    out = []
    for repeat in repeats:
        for c in d_classes:
            for m in ms:
                nm = 95.0 if saturate_from is not None and m >= saturate_from else null_mean
                row = {"dataset": "img", "family": "cnn", "model": "resnet8", "method": method, "repeat": repeat,
                       "class_index": c, "m": m, "n_tp_nonzero": 60, "union_pct": union(m) if callable(union) else union,
                       "null_mean_pct": nm, "null_low_pct": null_low, "null_high_pct": nm + 5}
                if replicates is not None:
                    row["null_union_pct"] = replicates
                out.append(row)
    return pd.DataFrame(out)


def two_classes(method="base", required=5.0, n_tp=60):
    return rows("img", "cnn", method, {(0, "majority"): required, (1, "minority"): required}, n_tp=n_tp)


@pytest.mark.parametrize("union, null_mean, null_low, expected", [
    (5.0, 40.0, 30.0, FAILS),    # R = 1: every TP uses the same terms (invariant features)
    (9.5, 40.0, 30.0, FAILS),    # R = 1.9 < 2
    (38.0, 40.0, 30.0, HOLDS),   # R >= 2, not below the null: arbitrary combinations
    (20.0, 40.0, 30.0, PARTLY),  # R >= 2 but below the null: TPs share terms more than chance
    (10.0, 40.0, 30.0, PARTLY),  # R = 2 is "much larger" (the reference itself)
])
def test_claim_7_against_both_references(union, null_mean, null_low, expected):
    t = Tables(frame(two_classes()), curve_rows("base", union, null_mean, null_low), pd.DataFrame())
    r = rules.claim_7(t)
    assert r.verdict == expected and r.figures["m"] == [50]


def test_claim_7_takes_the_largest_m_where_the_null_does_not_saturate():
    t = Tables(frame(two_classes()), curve_rows("base", lambda m: m / 2, 40.0, 30.0, saturate_from=50), pd.DataFrame())
    r = rules.claim_7(t)
    assert r.figures["m"] == [20] and r.cells["union_pct"].iloc[0] == 10.0
    saturated = Tables(frame(two_classes()), curve_rows("base", 30.0, 40.0, 30.0, saturate_from=10), pd.DataFrame())
    r = rules.claim_7(saturated)
    assert r.verdict == UNTESTABLE and r.missing == "null saturates" and r.left_out["not testable here"] == 2


def test_claim_7_m_must_be_reached_by_every_class_in_every_repeat():
    curve = curve_rows("base", 30.0, 40.0, 30.0)
    curve = curve[~((curve["class_index"] == 1) & (curve["repeat"] == 1) & (curve["m"] == 50))]  # 20 < n < 50
    r = rules.claim_7(Tables(frame(two_classes()), curve, pd.DataFrame()))
    assert r.cells.set_index("group")["m"].to_dict() == {"majority": 50, "minority": 20}  # one m per cell


def test_claim_7_leaves_thin_classes_out_after_removing_k0():
    classes = frame(rows("img", "cnn", "base", {(0, "majority"): 5.0}, n_tp=60),
                    rows("img", "cnn", "base", {(1, "minority"): 5.0}, n_tp=60, n_tp_nonzero=15))
    r = rules.claim_7(Tables(classes, curve_rows("base", 38.0, 40.0, 30.0), pd.DataFrame()))
    assert r.left_out["thin"] == 1 and r.figures["cells"] == 1 and r.verdict == HOLDS


def test_claim_7_uses_the_null_replicates_of_the_cell():
    # two classes whose replicates are 30..49: the cell's 2.5th percentile of their mean
    reps = list(np.linspace(30.0, 49.0, 40))
    t = Tables(frame(two_classes()), curve_rows("base", 30.0, 40.0, 10.0, replicates=reps), pd.DataFrame())
    r = rules.claim_7(t)
    assert r.cells["null_low_pct"].iloc[0] == pytest.approx(np.quantile(reps, 0.025))
    assert r.verdict == PARTLY  # 30 is below the replicates' 2.5th percentile (30.46)


def test_claim_7_needs_images_and_the_default_sets():
    tab = Tables(frame(rows("t", "lg", "base", {(0, "majority"): 5.0})))
    assert rules.claim_7(tab).missing == "no image data"
    t = Tables(frame(two_classes()), curve_rows("base", 38.0, 40.0, 30.0), pd.DataFrame())
    assert rules.claim_7(t, RuleReading("top-10 sets", "top-10 sets", default_sets=False)).verdict == UNTESTABLE


# ---------------------------------------------------------------- claim 8
def test_claim_8_about_each_family_and_both_ends_of_the_range():
    lg = rows("a", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): 30.0}, top_share=0.65)
    svm = rows("b", "svm", "base", {(0, "majority"): 50.0, (1, "minority"): 40.0}, top_share=0.30)
    cnn = rows("img", "cnn", "base", {(0, "majority"): 5.0}, top_share=0.42)
    cnn_hi = rows("img", "cnn", "base", {(1, "minority"): 5.0}, top_share=0.79)
    r = rules.claim_8(tables(lg, svm, cnn, cnn_hi))
    assert r.parts == {"averages": HOLDS, "range": HOLDS} and r.verdict == HOLDS
    far = rows("a", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): 30.0}, top_share=0.2)
    assert rules.claim_8(tables(far)).verdict == FAILS  # 20% is not about 62.8%, and no end agrees
    high = rows("a", "lg", "base", {(0, "majority"): 3.0, (1, "minority"): 30.0}, top_share=0.95)
    assert rules.claim_8(tables(high)).parts == {"averages": FAILS, "range": PARTLY}  # 95% is about 80%


def test_claim_8_leaves_trivial_cells_out():
    svm = rows("hiva", "svm", "base", {(0, "majority"): 50.0}, top_share=0.32)
    trivial = rows("hiva", "svm", "base", {(1, "minority"): 50.0}, top_share=1.0)
    r = rules.claim_8(tables(svm, trivial))
    fam = r.cells.set_index("family").loc["svm"]
    assert (fam["share_pct"], fam["share_pct_all"], fam["trivial_cells"]) == (32.0, 66.0, 1)
    assert r.verdict == HOLDS and r.left_out["trivial"] == 1
    near = rows("hiva", "svm", "base", {(1, "minority"): 50.0}, top_share=0.999)  # 1 - 1e-3: not trivial
    assert rules.top_share_by_family(frame(svm, near))["trivial_cells"].iloc[0] == 0


# ---------------------------------------------------------------- claim 9
def latent_rows(dataset, family, statuses, reading, repeat=0, method="base"):
    model = {"cnn": "resnet8"}.get(family, family)
    return [{"dataset": dataset, "family": family, "model": model, "method": method, "repeat": repeat,
             "reading": reading, "class_index": c, "status": s, "n_kept": 30, "rho": 0.0, "null_low": -0.3,
             "null_high": 0.3} for c, s in enumerate(statuses)]


R, N, O, U = rules.RELATION, rules.NO_RELATION, rules.OPPOSITE, rules.LATENT_UNTESTABLE


@pytest.mark.parametrize("cnn, tab, expected", [
    ([R] * 10, [N, N], HOLDS),
    ([R] * 9 + [U], [N, N], HOLDS),      # an untestable class is counted, not judged
    ([R] * 10, [R, N], PARTLY),          # tabular: half of the classes read relation
    ([R] * 6 + [N] * 4, [N, N], PARTLY),
    ([N] * 10, [R, R], FAILS),
    ([R] * 10, [R, O], HOLDS),           # a mirrored pair is one contrast: no finding of a relation
])
def test_claim_9_reads_the_latent_reading(cnn, tab, expected):
    latent = pd.DataFrame(latent_rows("img", "cnn", cnn, "pre-pool") + latent_rows("img", "cnn", [N] * 10, "pooled")
                          + latent_rows("t", "lg", tab, "table"))
    r = rules.claim_9(Tables(pd.DataFrame(), pd.DataFrame(), latent))
    assert r.verdict == expected
    if U in cnn:
        assert r.left_out == {"untestable (CNN)": 1}


def test_claim_9_decides_on_the_pre_pool_reading_not_the_pooled_one():
    latent = pd.DataFrame(latent_rows("img", "cnn", [N] * 10, "pre-pool") + latent_rows("img", "cnn", [R] * 10, "pooled"))
    assert rules.claim_9(Tables(pd.DataFrame(), pd.DataFrame(), latent)).verdict == FAILS


# ---------------------------------------------------------------- repeats
def test_each_repeat_of_each_part_is_judged_alone():
    seeds = frame(rows("img", "cnn", "base", TEN, repeats=(0,)), rows("img", "cnn", "base", {k: 30.0 for k in TEN},
                                                                      repeats=(1,)))
    verdicts = rules.per_repeat(1, Tables(seeds))
    assert [(v.part, v.repeat, v.verdict) for v in verdicts] == [("images", 0, HOLDS), ("images", 1, FAILS)]
    assert rules.parts_of(8) == [("cnn",), ("lg", "svm")] and rules.parts_of(3) == [("lg",)]
    both = tables(rows("img", "cnn", "base", TEN, repeats=(0,)),
                  rows("t", "lg", "base", {(0, "majority"): 5.0, (1, "minority"): 9.0}, repeats=(0, 1, 2)))
    assert [v.part for v in rules.per_repeat(8, both)] == ["images", "tabular", "tabular", "tabular"]

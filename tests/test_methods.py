"""The method registry and the tabular interventions (class-balanced weights, L1 with inner CV)."""
import numpy as np
import pandas as pd
import pytest

from ceimb_utils import ce, methods
from ceimb_utils.config import ConfigError, load_profile, resolve_dataset
from ceimb_utils.models.tabular import fit_tabular
from ceimb_utils.pipeline.runs import dependencies, run_configs
from ceimb_utils.report import audit


def imbalanced(n=400, d=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + X[:, 1] + 0.8 * rng.normal(size=n) > 2.2).astype(int)  # about 6% positives
    return X, y


def test_every_method_has_a_known_family_and_kind():
    for m in methods.METHODS.values():
        assert m.family in methods.FAMILIES and set(m.kinds) <= {"tabular", "image"}
    assert set(methods.in_family("intervention")).isdisjoint(methods.in_family("oversampling"))
    assert methods.family("not-a-method") == "not-a-method"


def test_config_accepts_registered_methods_and_refuses_others():
    cfg = load_profile("smoke", {"tabular.methods": ["base", "balanced", "l1"]})
    assert cfg["tabular"]["methods"] == ["base", "balanced", "l1"]
    with pytest.raises(ConfigError, match="Unknown value 'l2' for 'tabular.methods'"):
        load_profile("smoke", {"tabular.methods": ["l2"]})
    with pytest.raises(ConfigError, match="Unknown value 'balanced' for 'image.methods'"):
        load_profile("smoke", {"image.methods": ["balanced"]})
    with pytest.raises(ConfigError, match="'tabular.l1_C' must list positive numbers"):
        load_profile("smoke", {"tabular.l1_C": [0.1, -1]})


def test_grid_applies_each_method_to_its_models_only():
    cfg = load_profile("smoke", {"tabular.methods": ["base", "balanced", "l1"], "tabular.splits": 1})
    grid = {(rc["model"], rc["method"]) for rc in run_configs(resolve_dataset(cfg, "sylva"))}
    assert grid == {("lg", "base"), ("lg", "balanced"), ("lg", "l1"), ("svm", "base"), ("svm", "balanced")}
    l1 = next(rc for rc in run_configs(resolve_dataset(cfg, "sylva")) if rc["method"] == "l1")
    assert l1["train"]["l1_C"] == cfg["tabular"]["l1_C"] and l1["train"]["l1_folds"] == 3
    assert all(not dependencies(rc) for rc in run_configs(resolve_dataset(cfg, "sylva")))


def test_image_rehead_methods_depend_on_the_base_run():
    cfg = load_profile("smoke")
    needs = {rc["method"]: dependencies(rc) for rc in run_configs(resolve_dataset(cfg, "fashion-lt"))}
    assert {m for m, deps in needs.items() if deps} == {m for m in needs if methods.METHODS[m].rehead} == {"eos", "dsm", "tau_norm"}
    assert all(d[0]["method"] == "base" for d in needs.values() if d)


@pytest.mark.parametrize("model, method", [("lg", "balanced"), ("svm", "balanced"), ("lg", "l1")])
def test_intervention_ce_sum_to_the_decision_function(model, method):
    X, y = imbalanced()
    fit = fit_tabular(model, method, X[:300], y[:300], seed=0, l1_C=[0.01, 0.1, 1.0])
    result = ce.extract(fit.model, X[300:])
    decision = fit.model.decision_function(X[300:])
    np.testing.assert_allclose(result.ce.sum(-1) + np.asarray(result.bias), decision, atol=1e-9)
    assert fit.n_fit_rows == 300  # interventions do not resample


def test_balanced_weights_raise_minority_recall():
    X, y = imbalanced(n=2000)
    recall = {}
    for method in ("base", "balanced"):
        fit = fit_tabular("lg", method, X[:1400], y[:1400], seed=0)
        pred = fit.model.predict(X[1400:])
        recall[method] = (pred[y[1400:] == 1] == 1).mean()
    assert recall["balanced"] > recall["base"] + 0.1


def test_l1_chooses_C_on_training_folds_and_refits_on_the_whole_split():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, y = imbalanced(n=600, d=30)
    grid = [0.001, 0.01, 0.1, 1.0]
    fit = fit_tabular("lg", "l1", X, y, seed=0, l1_C=grid)
    assert fit.chosen["C"] in grid
    refit = LogisticRegression(C=fit.chosen["C"], l1_ratio=1.0, solver="liblinear", max_iter=10000).fit(
        StandardScaler().fit_transform(X), y)
    np.testing.assert_allclose(fit.model[-1].coef_, refit.coef_, atol=1e-3)  # liblinear tol 1e-4, warm-started
    again = fit_tabular("lg", "l1", X, y, seed=0, l1_C=grid)
    np.testing.assert_array_equal(again.model[-1].coef_, fit.model[-1].coef_)  # seeded folds
    sparse = fit_tabular("lg", "l1", X, y, seed=0, l1_C=[0.02]).model[-1].coef_.ravel()
    assert sparse[:2].min() > 0 and (sparse[2:] == 0).sum() >= 20  # L1: the noise features drop out


def test_svm_has_no_l1_method():
    X, y = imbalanced()
    with pytest.raises(ValueError, match="'l1' does not apply to model 'svm'"):
        fit_tabular("svm", "l1", X, y, seed=0)


def test_over_sampling_claims_ignore_interventions():
    """The audit keeps base and over-sampling runs only: an intervention never enters a claim."""
    rows = pd.DataFrame([{"method": m} for m in ("base", "smote", "balanced", "l1", "eos", "tau_norm")])
    assert audit.paper_methods(rows)["method"].tolist() == ["base", "smote", "eos"]


def test_l1_with_few_minority_rows_uses_fewer_folds_or_says_why_not():
    X, y = imbalanced(n=200)
    keep = np.r_[np.flatnonzero(y == 0)[:60], np.flatnonzero(y == 1)[:2]]
    fit = fit_tabular("lg", "l1", X[keep], y[keep], seed=0, l1_folds=5)  # 2 minority rows: 2 folds
    assert fit.chosen["C"] > 0
    keep = np.r_[np.flatnonzero(y == 0)[:60], np.flatnonzero(y == 1)[:1]]
    with pytest.raises(ValueError, match="needs at least 2 minority rows in the training split, found 1"):
        fit_tabular("lg", "l1", X[keep], y[keep], seed=0)


def test_the_paper_profile_runs_every_intervention():
    cfg = load_profile("paper")
    image = {rc["method"] for rc in run_configs(resolve_dataset(cfg, "cifar10-lt"))}
    tabular = {(rc["model"], rc["method"]) for rc in run_configs(resolve_dataset(cfg, "ozone_level"))}
    assert {"ldam_drw", "logit_adjust", "cb_ce", "tau_norm"} <= image
    assert {("lg", "balanced"), ("svm", "balanced"), ("lg", "l1")} <= tabular and ("svm", "l1") not in tabular

"""End to end on tiny configurations: the same config gives the same numbers; tables are tidy."""
import numpy as np
import pandas as pd
import pytest

from ceimb_utils.models.device import cpu_kernels
from ceimb_utils.pipeline.study import load_study

TABULAR = {"tabular.models": ["lg", "svm"], "tabular.methods": ["base", "remix"], "tabular.interventions": [], "tabular.splits": 1,
           "metrics.resamples": 20}
IMAGE = {"image.methods": ["base", "eos"], "image.interventions": [], "image.epochs": 1, "image.n_max": 40, "image.ratio": 10,
         "image.test_per_class": 8, "metrics.resamples": 10}


def _study(dataset, overrides, results, monkeypatch):
    monkeypatch.setenv("CEIMB_RESULTS", str(results))
    return load_study(dataset, "smoke", overrides)


@pytest.mark.parametrize("dataset, overrides", [("sylva", TABULAR), ("fashion-lt", IMAGE)])
def test_same_config_same_numbers(tmp_path, monkeypatch, dataset, overrides):
    first = _study(dataset, overrides, tmp_path / "a", monkeypatch)
    second = _study(dataset, overrides, tmp_path / "b", monkeypatch)
    for name in ("classes", "instances", "frequency", "spearman", "profile"):
        pd.testing.assert_frame_equal(first.tables[name], second.tables[name])
    for a, b in zip(first.cached, second.cached):
        np.testing.assert_array_equal(a.arrays("ce_test")["features"], b.arrays("ce_test")["features"])


def test_tabular_study_tables(tmp_path, monkeypatch):
    study = _study("sylva", TABULAR, tmp_path, monkeypatch)
    assert study.runs[["model", "method"]].values.tolist() == [["lg", "base"], ["lg", "remix"],
                                                               ["svm", "base"], ["svm", "remix"]]
    classes = study.classes
    assert set(classes["group"]) == {"majority", "minority"}
    assert (classes.query("group == 'minority'")["class_index"] == 1).all()
    assert classes["required_pct"].between(0, 100).all() and classes["top_share"].between(0, 1).all()
    svm = study.runs.query("model == 'svm'")
    assert (svm["D"] < svm["n_fit_rows"]).all()  # D = support vectors, a subset of the fitted rows
    assert all(run.record["invariant_max_error"] < 1e-8 for run in study.cached)
    ce = study.cached[0].arrays("ce_test")
    assert ce["features"].shape == (study.runs["n_test"].iloc[0], 216) and ce["y"].shape == (ce["features"].shape[0],)
    assert "ce" not in ce  # the cache keeps features and weights, never the CE they make


def test_tabular_runs_store_the_new_per_run_tables(tmp_path, monkeypatch):
    """Issue 37's tables: claim 7 at matched TP counts, the latent reading of the split's own
    rows (the same for every model of a split), and the null's time in the record, not a table."""
    from ceimb_utils.ce import latent

    study = _study("sylva", TABULAR, tmp_path, monkeypatch)
    classes = study.classes
    assert (classes["n_k0"] + classes["n_tp_nonzero"] <= classes["n_tp"]).all()
    assert "union_null_low" not in classes and "null_permutations" not in classes
    assert "class_curve" not in study.tables  # claim 7 is judged on networks (and the head), not LG or SVM
    assert {"perm_null_low", "perm_null_high", "subsample_spearman"} <= set(study.spearman)
    assert (study.spearman["subsample_n"] <= 200).all()
    lat = study.latent
    assert set(lat["reading"]) == {"table"} and lat.groupby(["model", "method"]).size().nunique() == 1
    by_run = [part.drop(columns=["model", "method"]).reset_index(drop=True) for _, part in lat.groupby(["model", "method"])]
    pd.testing.assert_frame_equal(by_run[0], by_run[-1])  # a reading of the split, whichever model
    assert set(study.latent_classes["status"]) <= set(latent.STATUSES)
    assert study.runs["perm_null_seconds"].gt(0).all() and study.runs["analysis_seconds"].gt(0).all()


def test_image_study_uses_the_retrained_head(tmp_path, monkeypatch):
    study = _study("fashion-lt", IMAGE, tmp_path, monkeypatch)
    curve = study.class_curve  # claim 7 at matched TP counts, every replicate kept
    assert set(curve["m"]) <= {10, 20, 50, 100, 200} and (curve["m"] <= curve["n_tp_nonzero"]).all()
    assert curve["null_low_pct"].le(curve["null_high_pct"]).all() and (curve["replicates"] == 40).all()
    assert curve["null_union_pct"].map(len).eq(40).all()
    base, eos = study.cached
    assert eos.record["base_model"] == base.record["model_run"]
    assert base.record["cpu_kernels"] == eos.record["cpu_kernels"] == cpu_kernels()  # what a back-end comparison reads
    assert sum(eos.record["synthetic_per_class"]) > 0
    b, e = base.arrays("ce_test"), eos.arrays("ce_test")
    np.testing.assert_allclose(b["features"], e["features"], rtol=1e-5, atol=1e-5)  # same frozen extractor
    assert not np.allclose(b["weights"], e["weights"])  # a new head
    assert list(study.classes["class"][:2]) == ["T-shirt/top", "Trouser"]
    # the latent reading on the pooled features and on the maps the network pools
    assert set(study.latent["reading"]) == {"pooled", "pre-pool"}
    assert study.latent.query("reading == 'pooled'")["mu_unit_free"].isna().all()
    assert (study.runs["prepool_stage"] == "layers").all() and study.runs["pooled_zero_share"].between(0, 1).all()
    prepool = study.latent.query("reading == 'pre-pool' and method == 'base'")
    positions = (prepool["n_on"] + prepool["n_off"]).to_numpy() / study.classes.query("method == 'base'")["n_train"].repeat(64).to_numpy()
    assert (positions == positions[0]).all() and positions[0] > 1  # rows are instances x positions
    assert not list((tmp_path / "checkpoints").glob("*.pt"))  # finished runs leave no checkpoint


def test_a_metric_edit_reanalyses_and_never_retrains(tmp_path, monkeypatch):
    """Two stages (methods#run-cache): a new measure fingerprint (an edit of ce/metrics.py) recomputes
    every analysis from the cached models; no estimator is fitted and no network trained."""
    from ceimb_utils.pipeline import cache, image_runs, tabular_runs

    first = {ds: _study(ds, o, tmp_path, monkeypatch) for ds, o in (("sylva", TABULAR), ("fashion-lt", IMAGE))}
    real = cache.code_fingerprint
    monkeypatch.setattr(cache, "code_fingerprint",
                        lambda stage=cache.TRAIN: real(stage) + ("-edited" if stage == cache.MEASURE else ""))

    def refuse(*args, **kwargs):
        raise AssertionError("a metric edit trained a model")

    monkeypatch.setattr(tabular_runs, "fit_tabular", refuse)
    monkeypatch.setattr(image_runs, "train_network", refuse)
    monkeypatch.setattr(image_runs, "train_head", refuse)
    for ds, overrides in (("sylva", TABULAR), ("fashion-lt", IMAGE)):
        again = _study(ds, overrides, tmp_path, monkeypatch)
        assert [r.path for r in again.cached] != [r.path for r in first[ds].cached]  # new analyses
        assert [r.record["model_key"] for r in again.cached] == [r.record["model_key"] for r in first[ds].cached]
        pd.testing.assert_frame_equal(again.classes, first[ds].classes)


def test_a_training_edit_retrains(tmp_path, monkeypatch):
    from ceimb_utils.pipeline import cache

    first = _study("sylva", TABULAR, tmp_path, monkeypatch)
    real = cache.code_fingerprint
    monkeypatch.setattr(cache, "code_fingerprint",
                        lambda stage=cache.TRAIN: real(stage) + ("-edited" if stage == cache.TRAIN else ""))
    again = _study("sylva", TABULAR, tmp_path, monkeypatch)
    assert {r.record["model_key"] for r in again.cached}.isdisjoint(r.record["model_key"] for r in first.cached)


def test_a_missing_run_names_the_command_that_computes_it(isolated_results):
    """The advice carries the profile, the data set and every override: the command it names,
    read back by the command line, asks for the same runs."""
    import shlex

    from ceimb_utils.__main__ import _overrides, build_parser
    from ceimb_utils.pipeline.study import SweepError, run_command

    overrides = {"tabular.splits": 5, "tabular.models": ["lg", "svm"], "image.lr": 0.05, "data_dir": "/my data"}
    words = shlex.split(run_command("smoke", ["sylva"], overrides))
    args = build_parser().parse_args(words[3:])
    assert (args.command, args.profile, args.datasets) == ("run", "smoke", "sylva")
    assert _overrides(args.set) == overrides
    with pytest.raises(SweepError, match=r"run `python -m ceimb_utils run --profile smoke --datasets sylva "
                                         r"--set tabular.splits=2` first"):
        load_study("sylva", "smoke", {"tabular.splits": 2}, compute=False)
    assert not isolated_results.exists() or not any(isolated_results.rglob("record.json"))

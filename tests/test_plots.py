"""The book's figure rules: legends outside the data, a note where a bar has no value, a paper's
reference line only over the groups it is about, no type below 8 pt."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ceimb_utils.report import plots  # noqa: E402


def bars_frame():
    return pd.DataFrame({"method": ["base", "base", "smote", "smote", "l1"],
                         "group": ["majority", "minority", "majority", "minority", "majority"],
                         "value": [30.0, 20.0, np.nan, 25.0, 10.0]})


def test_a_missing_bar_is_marked_but_an_absent_method_is_not():
    fig, ax = plt.subplots()
    # "l1" has no minority row at all (not this group's method); smote's majority has no value
    plots.grouped_bars(ax, bars_frame(), "method", "group", "value", order_x=["base", "smote", "l1"],
                       order_hue=["majority", "minority"], missing=plots.NO_TP)
    notes = [t for t in ax.texts if plots.NO_TP in t.get_text()]
    assert len(notes) == 1
    assert notes[0].get_position()[0] < 1.0  # over smote (x = 1), majority (left half)
    plt.close(fig)


def test_the_legend_sits_below_every_panel_and_names_each_label_once():
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax in axes:
        plots.grouped_bars(ax, bars_frame().dropna(), "method", "group", "value")
        ax.legend()
    plots.legend_below(fig)
    plots.legend_below(fig)  # a second call replaces the first legend
    assert all(ax.get_legend() is None for ax in axes)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["majority", "minority"]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert legend.get_window_extent(renderer).y1 <= min(ax.get_tightbbox(renderer).y0 for ax in axes) + 1
    plt.close(fig)


def test_a_reference_line_spans_only_its_family():
    fig, ax = plt.subplots()
    labels = ["hiva\nLG", "fashion-lt\nCNN", "sylva\nSVM", "cifar\nCNN"]
    plots._reference_over(ax, labels, "CNN", 12.0, "--", "paper: CNN")
    spans = [seg[:, 0] for coll in ax.collections for seg in coll.get_segments()]
    assert sorted((round(a, 2), round(b, 2)) for a, b in spans) == [(0.55, 1.45), (2.55, 3.45)]
    assert [t for t in ax.get_legend_handles_labels()[1]] == ["paper: CNN"]
    plt.close(fig)


def test_no_type_below_eight_points():
    assert plots.MIN_PT >= 8
    for key in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize"):
        assert matplotlib.rcParams[key] >= 8


def test_a_table_shows_its_index_only_where_it_names_the_rows():
    from ceimb_utils.report.tables import frame_html

    plain = frame_html(pd.DataFrame({"method": ["base", "smote"], "value": [1.0, np.nan]}))
    assert "<th>0</th>" not in plain and "—" in plain
    filtered = frame_html(pd.DataFrame({"value": [1.0, 2.0, 3.0]}).iloc[[2, 0]])  # scrambled row numbers
    assert "<th>2</th>" not in filtered
    named = frame_html(pd.DataFrame({"value": [1.0]}, index=pd.Index(["profile"], name="")))
    assert "<th>profile</th>" in named


def test_a_table_shows_no_empty_index_column_under_a_pivots_name_and_no_none():
    from ceimb_utils.report.tables import frame_html

    long = pd.DataFrame({"model": ["lg", "lg"], "method": ["base", "smote"], "recall": [0.9, 0.8]})
    pivot = long.pivot_table(index="model", columns="method", values="recall").reset_index()
    shown = frame_html(pivot)
    assert "<th>method</th>" not in shown and "<th></th>" not in shown and "<th>base</th>" in shown
    health = pd.DataFrame({"loss_went_down": [True, None], "zero_recall_classes": [[], ["1"]],
                           "per_split": [[0.2, None], [0.1, 0.3]]})
    shown = frame_html(health)
    assert "None" not in shown and shown.count("—") == 2 and health["loss_went_down"][1] is None  # input kept
    assert "[0.2, —]" in shown and "[0.1, 0.3]" in shown


def _profile_study(mean_supporting: float):
    from ceimb_utils.pipeline.study import Study

    profile = pd.DataFrame({"model": "svm", "method": "base", "repeat": 0, "class_index": 1, "class": "1",
                            "d": np.arange(30), "mean_feature": np.linspace(1, 2, 30), "mean_supporting": mean_supporting})
    runs = pd.DataFrame({"model": ["svm"], "method": ["base"], "repeat": [0]})
    classes = pd.DataFrame({"class_index": [0, 1], "n_train": [100, 10]})
    return Study("sylva", {}, [], {"profile": profile, "runs": runs, "classes": classes})


def test_a_magnitude_profile_names_a_run_that_did_not_learn_and_labels_no_empty_axis(monkeypatch):
    from ceimb_utils.report import health

    table = pd.DataFrame({"model": ["svm"], "method": ["base"], "seed": [0], "healthy": [False]})
    monkeypatch.setattr(health, "health_table", lambda study: table)
    fig = plots.magnitude_profile(_profile_study(np.nan), model="svm")
    assert fig._suptitle.get_text().endswith("repeat 0; this run did not learn)")
    features, supporting = fig.axes
    assert len(features.get_xticks()) > 0 and len(supporting.get_xticks()) == 0  # no TP: no feature indices
    assert any(plots.NO_TP in t.get_text() for t in supporting.texts)
    plt.close(fig)
    monkeypatch.setattr(health, "health_table", lambda study: table.assign(healthy=True))
    fig = plots.magnitude_profile(_profile_study(0.5), model="svm")
    assert "did not learn" not in fig._suptitle.get_text()
    plt.close(fig)


def test_the_landing_figure_leaves_out_thin_class_cells_as_the_rules_do():
    """A class cell with fewer than 20 TPs in some repeat enters no verdict; the figure the
    landing page captions "what the claims are judged on" must not show it either."""
    from test_audit import class_rows

    thin = class_rows("hiva", "lg", "base", {(0, "majority"): 5.0}, n_tp=200) + class_rows(
        "hiva", "lg", "base", {(1, "minority"): 24.0}, n_tp=12)
    classes = pd.DataFrame(thin).assign(family="lg")
    fig = plots.audit_headline(classes)
    heights = {round(p.get_height(), 1) for p in fig.axes[0].patches if p.get_height() > 0}
    assert 5.0 in heights and 24.0 not in heights
    plt.close(fig)


def test_a_model_panel_shows_only_the_methods_that_model_ran():
    from ceimb_utils.pipeline.study import Study

    runs = pd.DataFrame({"model": ["lg", "lg", "svm"], "method": ["base", "l1", "base"], "repeat": 0})
    frame = pd.DataFrame({"model": ["lg", "lg", "svm"], "method": ["base", "l1", "base"], "group": "minority",
                          "value": [10.0, 12.0, 30.0]})
    fig = plots.method_bars(Study("sylva", {}, [], {"runs": runs}), frame, "group", "value")
    assert [[t.get_text() for t in ax.get_xticklabels()] for ax in fig.axes[:2]] == [["base", "l1"], ["base"]]
    plt.close(fig)


def test_a_study_without_a_union_curve_says_why_and_draws_no_legend():
    """Tabular runs compute no claim-7 curve: the figure must say so, not show empty panels under
    a legend of a null and an R = 1 line that nothing drew."""
    from ceimb_utils.pipeline.study import Study

    runs = pd.DataFrame({"model": ["lg", "svm"], "method": "base", "repeat": 0})
    fig = plots.union_curve(Study("sylva", {}, [], {"runs": runs}))
    (ax,) = fig.axes
    assert not fig.legends and "judged on networks" in ax.texts[0].get_text()
    plt.close(fig)


def test_the_recall_scatter_keys_every_method_once_and_hollow_markers_apart(monkeypatch):
    """Base on COIL 2000 never learned: its colour still needs a key, and the hollow key names no
    method (its edge colour does)."""
    from ceimb_utils.report import remedies
    from test_remedies import health, points_rows, study_of

    study = study_of(points_rows("svm", lambda i, rep: 0.5 + 0.05 * i))
    monkeypatch.setattr(remedies, "health_table", lambda s: health(s, {("svm", "base", rep) for rep in (0, 1, 2)}))
    fig = plots.recall_concentration(study)
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert labels[0] == "base (SVM)" and len(labels) == len(set(labels)) == 7
    assert labels[-1].startswith("hollow: a run that did not learn")
    filled = [c for c in fig.axes[1].collections if len(c.get_offsets()) and c.get_facecolor().size]
    assert len(filled) == 5  # the five methods that learned; base's three runs hollow
    plt.close(fig)


def test_the_spearman_figure_marks_the_statistic_its_null_bar_is_for(monkeypatch):
    """The grey bar is the permutation null on a subsample: the same subsample's Spearman is
    drawn on it, so a point read on every TP is never compared with another statistic's null."""
    from ceimb_utils.pipeline.study import Study
    from ceimb_utils.report import reports

    runs = pd.DataFrame({"model": ["lg"], "method": ["base"], "repeat": 0})
    table = pd.DataFrame({"model": "lg", "method": "base", "class": ["0", "1"], "spearman": [0.40, 0.90],
                          "ci_low": np.nan, "ci_high": np.nan, "subsample_spearman": [0.10, 0.85],
                          "perm_null_low": [-0.01, 0.70], "perm_null_high": [0.25, 0.95]})
    monkeypatch.setattr(reports, "spearman", lambda study: table)
    fig = plots.spearman_intervals(Study("sylva", {}, [], {"runs": runs}))
    ticks = [c for c in fig.axes[0].collections if c.get_label().startswith("observed on that subsample")]
    assert len(ticks) == 1 and np.allclose(ticks[0].get_offsets()[:, 1], [0.10, 0.85])
    plt.close(fig)


def test_a_tabular_page_says_why_it_has_no_union_curve_and_draws_no_captioned_figure():
    """The figure cell's caption describes a curve: where none was computed the cell before it
    says why, and the cell draws nothing for the caption to describe."""
    from ceimb_utils.pipeline.study import Study
    from ceimb_utils.report import needs

    runs = pd.DataFrame({"model": ["lg", "svm"], "method": "base", "repeat": 0})
    study = Study("sylva", {}, [], {"runs": runs})
    assert needs.union_in_place(study).data == plots.NO_UNION_CURVE
    assert needs.union_curve(study) is None


def _latent_study(dataset: str, per_reading: dict):
    from ceimb_utils.pipeline.study import Study

    rows = [{"repeat": 0, "method": "base", "model": "lg" if dataset == "sylva" else "resnet8", "kept": True,
             "reading": reading, "class_index": c, "p": 0.1 * (d + 1), "mu": 1.0 + d, "mu_unit_free": 1.0}
            for reading, classes in per_reading.items() for c in classes for d in range(3)]
    classes = pd.DataFrame({"class_index": range(4), "class": ["a", "b", "c", "d"]})
    return Study(dataset, {}, [], {"latent": pd.DataFrame(rows), "classes": classes})


def test_the_latent_figure_keys_every_panels_classes_and_says_whose_features_it_reads():
    fig = plots.latent_scatter(_latent_study("fashion-lt", {"pooled": [0, 1], "pre-pool": [0, 1, 2, 3]}))
    (legend,) = fig.legends
    assert sorted(t.get_text() for t in legend.get_texts()) == ["a", "b", "c", "d"]
    assert "seed 0: latent features" in fig._suptitle.get_text()
    plt.close(fig)
    from ceimb_utils.report import rules
    fig = plots.latent_scatter(_latent_study("sylva", {rules.TABLE_LATENT: [0, 1]}))
    assert "split 0: its input columns" in fig._suptitle.get_text() and "logistic" not in fig._suptitle.get_text()
    plt.close(fig)


def test_the_remedy_bars_mark_a_group_without_a_true_positive(monkeypatch):
    """COIL 2000's SVM base predicts no minority row: its minority bars are empty, and say why."""
    from ceimb_utils.pipeline.study import Study
    from ceimb_utils.report import remedies

    runs = pd.DataFrame({"model": "svm", "method": ["base", "smote"], "repeat": 0})
    table = pd.DataFrame({"model": "svm", "method": ["base", "base", "smote", "smote"],
                          "group": ["majority", "minority"] * 2, "required_pct": [42.0, np.nan, 44.0, 46.0],
                          "top_share_pct": [51.0, np.nan, 50.0, 48.0]}).assign(required_pct_sd=1.0,
                                                                                top_share_pct_sd=1.0)
    monkeypatch.setattr(remedies, "group_table", lambda study: table)
    fig = plots.remedy_bars(Study("coil_2000", {}, [], {"runs": runs}))
    assert [sum(plots.NO_TP in t.get_text() for t in ax.texts) for ax in fig.axes] == [1, 1]
    plt.close(fig)


def test_the_landing_figure_averages_class_cells_over_repeats_first_as_the_rules_do():
    """A method whose runs all learned must not outweigh the methods that learned in fewer
    repeats: the bar is the mean over methods of each method's mean over its healthy repeats
    (hiva LG read 13.9% as the mean over repeats of each repeat's methods, against 11.9% over
    its cells)."""
    from test_audit import class_rows

    rows = class_rows("hiva", "lg", "remix", {(0, "majority"): 18.0}, n_tp=200) + class_rows(
        "hiva", "lg", "base", {(0, "majority"): 8.0}, repeats=(1, 2), n_tp=200)
    classes = pd.DataFrame(rows).assign(family="lg")
    fig = plots.audit_headline(classes)
    heights = {round(p.get_height(), 1) for p in fig.axes[0].patches if p.get_height() > 0}
    assert 13.0 in heights and 14.7 not in heights  # (18 + 8) / 2, not (18 + 13 + 13) / 3
    plt.close(fig)

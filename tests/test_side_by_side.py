"""The authors' networks beside ours, and our RQ3 beside the paper's own tables (issue 15),
tested on tables written in the layout of the authors' repository."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from ceimb_utils import paths  # noqa: E402
from ceimb_utils.config import load_profile, resolve_dataset  # noqa: E402
from ceimb_utils.errors import DataNotFoundError  # noqa: E402
from ceimb_utils.pipeline import runner  # noqa: E402
from ceimb_utils.pipeline.study import Study  # noqa: E402
from ceimb_utils.report import plots, side_by_side  # noqa: E402

CLASSES = ["airplane", "automobile", "bird", "cat"]


def _frequency(rng, n_classes=4, d=12, repeats=(0, 10), method="base"):
    """Our long frequency table: per class a few used features (freq > 0) with magnitudes."""
    rows = []
    for r in repeats:
        for c in range(n_classes):
            freq = np.zeros(d)
            used = rng.choice(d, size=3 + 2 * c, replace=False)
            freq[used] = np.sort(rng.uniform(0.05, 1.0, len(used)))[::-1]
            mag = freq * 3 + rng.normal(0, 0.01, d)
            rows.append(pd.DataFrame({"class_index": c, "d": np.arange(d), "freq": freq, "mag": mag,
                                      "method": method, "repeat": r, "class": CLASSES[c]}))
    return pd.concat(rows, ignore_index=True)


def _classes(rng, methods=("base", "remix"), repeats=(0, 10), shift=0.0):
    rows = [{"method": m, "repeat": r, "class_index": c, "class": CLASSES[c], "group": "minority" if c > 1 else "majority",
             "recall": 0.5 + 0.1 * c + shift, "required_pct": 2.0 + c + shift, "top_share": 0.3 + shift}
            for m in methods for r in repeats for c in range(len(CLASSES))]
    return pd.DataFrame(rows)


def _study(dataset="cifar10-lt", profile="authors", **tables) -> Study:
    cfg = load_profile(profile)
    return Study(dataset, cfg, [], tables, resolve_dataset(cfg, dataset))


def _write_paper(clone, prefix, suffix, freq_rows, mag_rows, width):
    """Write their two CSVs: header 0..width-1, one row per class, zero padding."""
    for folder, name, rows in (("frequency", "n_appear", freq_rows), ("magnitude", "n_mago", mag_rows)):
        block = np.zeros((len(rows), width))
        for i, row in enumerate(rows):
            block[i, :len(row)] = row
        (clone / folder).mkdir(parents=True, exist_ok=True)
        pd.DataFrame(block, columns=[str(i) for i in range(width)]).to_csv(
            clone / folder / f"{prefix}_CE_{name}_{suffix}.csv", index=False)


def _as_paper(frequency: pd.DataFrame, tmp_path, method="base", suffix="base"):
    """The paper's tables made from our frequency table of one repeat, as their code writes them."""
    clone = tmp_path / "Hidden_Influence"
    one = frequency[(frequency["repeat"] == frequency["repeat"].min()) & (frequency["method"] == method)]
    freq_rows, mag_rows = [], []
    for _, part in one.groupby("class_index"):
        part = part[part["freq"] > 0].sort_values("freq", ascending=False, kind="stable")
        freq_rows.append(part["freq"].to_numpy())
        mag_rows.append(part["mag"].to_numpy())
    _write_paper(clone, "cif", suffix, freq_rows, mag_rows, max(len(r) for r in freq_rows))
    return tmp_path


def test_a_missing_clone_is_one_sentence(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"not at .*Hidden_Influence; clone https://github.com/Anon-git-site"):
        side_by_side.paper_rq3(tmp_path, "cifar10-lt")


def test_a_data_set_without_tables_is_empty(tmp_path):
    (tmp_path / "Hidden_Influence").mkdir()
    assert side_by_side.paper_rq3(tmp_path, "sylva").empty


def test_their_tables_are_read_per_class_without_the_padding(tmp_path):
    clone = tmp_path / "Hidden_Influence"
    _write_paper(clone, "cif", "rem", [[1.0, 0.5, 0.2], [0.9]], [[3.0, 1.0, 2.0], [4.0]], width=5)
    paper = side_by_side.paper_rq3(tmp_path, "cifar10-lt")
    assert set(paper["method"]) == {"remix"}
    assert paper.groupby("class_index").size().to_dict() == {0: 3, 1: 1}
    assert paper[paper["class_index"] == 0]["mag"].tolist() == [3.0, 1.0, 2.0]
    profiles = side_by_side.paper_profiles(paper).set_index("class_index")
    assert profiles.loc[0, "features_used"] == 3 and profiles.loc[0, "top1_freq"] == 1.0
    assert profiles.loc[0, "spearman"] == pytest.approx(0.5)  # ranks (3,2,1) against (3,1,2)
    assert np.isnan(profiles.loc[1, "spearman"])  # one feature: no rank correlation


def test_a_table_that_is_not_numbers_is_refused(tmp_path):
    clone = tmp_path / "Hidden_Influence" / "frequency"
    clone.mkdir(parents=True)
    (clone / "cif_CE_n_appear_base.csv").write_text("0,1\nhello,world\n")
    with pytest.raises(ValueError, match="not a table of numbers"):
        side_by_side.paper_rq3(tmp_path, "cifar10-lt")


def test_our_tables_written_in_their_layout_come_back_identical(tmp_path):
    """Round trip: the paper's layout made from our frequency table gives our own profile."""
    rng = np.random.default_rng(0)
    frequency = _frequency(rng, repeats=(0,))
    study = _study(frequency=frequency, classes=_classes(rng, repeats=(0,)))
    paper = side_by_side.paper_rq3(_as_paper(frequency, tmp_path), "cifar10-lt")
    beside = side_by_side.rq3_beside_paper(study, paper)
    assert len(beside) == 4 and beside["class"].tolist() == CLASSES
    for column in side_by_side.PROFILE_COLUMNS:
        np.testing.assert_allclose(beside[f"{column}_ours"], beside[f"{column}_paper"], rtol=1e-12)
    agreement = side_by_side.profile_agreement(beside).set_index("profile")
    assert agreement.loc["features_used", "rho"] == pytest.approx(1.0)
    assert agreement.loc["features_used", "classes"] == 4


def test_a_profile_that_disagrees_ranks_the_classes_the_other_way(tmp_path):
    rng = np.random.default_rng(1)
    frequency = _frequency(rng, repeats=(0,))
    study = _study(frequency=frequency, classes=_classes(rng, repeats=(0,)))
    clone = tmp_path / "Hidden_Influence"
    # The paper's classes use 9, 7, 5, 3 features where ours use 3, 5, 7, 9.
    rows = [np.linspace(1, 0.1, n) for n in (9, 7, 5, 3)]
    _write_paper(clone, "cif", "base", rows, [r * 2 for r in rows], width=9)
    beside = side_by_side.rq3_beside_paper(study, side_by_side.paper_rq3(tmp_path, "cifar10-lt"))
    agreement = side_by_side.profile_agreement(beside).set_index("profile")
    assert agreement.loc["features_used", "rho"] == pytest.approx(-1.0)


def test_our_profile_is_the_mean_over_repeats():
    rng = np.random.default_rng(2)
    frequency = _frequency(rng, repeats=(0, 10))
    ours = side_by_side.our_profiles(_study(frequency=frequency)).set_index(["method", "class_index"])
    one = frequency[(frequency["class_index"] == 2) & (frequency["freq"] > 0)]
    top1 = one.groupby("repeat")["freq"].max().mean()
    assert ours.loc[("base", 2), "top1_freq"] == pytest.approx(top1)
    assert ours.loc[("base", 2), "features_used"] == 7


def test_authors_against_ours_per_class_and_method():
    rng = np.random.default_rng(3)
    authors = _study(classes=_classes(rng))
    ours = _study(profile="paper", classes=_classes(rng, methods=("base", "eos"), shift=0.1))
    table = side_by_side.authors_vs_ours(authors, ours)
    assert set(table["method"]) == {"base"} and len(table) == len(CLASSES)  # only what both have
    np.testing.assert_allclose(table["recall_diff"], 0.1)
    np.testing.assert_allclose(table["required_pct_ours"] - table["required_pct_authors"], 0.1)
    figure = plots.authors_vs_ours(table, "cifar10-lt")
    assert len(figure.axes) == 3 and "best test epoch" in figure._suptitle.get_text()
    with pytest.raises(ValueError, match="different data sets"):
        side_by_side.authors_vs_ours(authors, _study("fashion-lt", "smoke", classes=_classes(rng)))


def test_a_study_of_our_own_networks_has_no_published_counterpart():
    study = _study("fashion-lt", "smoke", classes=_classes(np.random.default_rng(4)))
    assert not side_by_side.evaluates_published(study)
    counterpart, why = side_by_side.our_counterpart(study, "paper")
    assert counterpart is None and "--profile authors" in why


def test_uncached_networks_of_ours_are_named_not_trained(tmp_path, monkeypatch):
    monkeypatch.setenv("CEIMB_RESULTS", str(tmp_path))
    study = _study(classes=_classes(np.random.default_rng(5)))
    assert side_by_side.evaluates_published(study)
    counterpart, why = side_by_side.our_counterpart(study, "paper", {"data_dir": str(tmp_path), "image.epochs": 3})
    assert counterpart is None
    assert "not in the cache" in why and "--profile paper --datasets cifar10-lt" in why
    assert not any(tmp_path.rglob("record.json"))


def test_the_figure_of_their_tables_has_a_panel_per_profile(tmp_path):
    rng = np.random.default_rng(6)
    frequency = _frequency(rng, repeats=(0,))
    study = _study(frequency=frequency, classes=_classes(rng, repeats=(0,)))
    beside = side_by_side.rq3_beside_paper(study, side_by_side.paper_rq3(_as_paper(frequency, tmp_path), "cifar10-lt"))
    assert len(plots.beside_paper(beside, "cifar10-lt").axes) == len(side_by_side.PROFILE_COLUMNS)
    assert "best test epoch" in plots.beside_paper(beside, "cifar10-lt", published=True)._suptitle.get_text()
    assert "best test epoch" not in plots.beside_paper(beside, "cifar10-lt")._suptitle.get_text()


def test_a_chapter_without_pages_gets_a_placeholder_until_it_has_one(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "BOOK_RESULTS", tmp_path)
    written = runner.mark_unanswered()
    assert {p.parent.name for p in written} == set(runner.QUESTION_INFO)
    text = (tmp_path / "authors" / runner.PLACEHOLDER).read_text()
    assert text.startswith("# Not run yet") and "`authors`" in text and "`quick`" not in text
    assert ".venv/bin/python -m ceimb_utils run --profile authors" in text and "(../../datasets.md)" in text
    assert "`quick`" in (tmp_path / "rq1" / runner.PLACEHOLDER).read_text()
    (tmp_path / "rq1" / "sylva.ipynb").write_text("{}")
    runner.mark_unanswered()
    assert not (tmp_path / "rq1" / runner.PLACEHOLDER).exists()
    assert (tmp_path / "rq4" / runner.PLACEHOLDER).exists()


def test_a_magnitude_table_alone_is_not_a_profile(tmp_path):
    clone = tmp_path / "Hidden_Influence" / "magnitude"
    clone.mkdir(parents=True)
    pd.DataFrame([[2.0, 1.0]], columns=["0", "1"]).to_csv(clone / "co_CE_n_mago_base.csv", index=False)
    assert side_by_side.paper_rq3(tmp_path, "coil_2000").empty
    assert side_by_side.PREFIX["coil_2000"] == "co"


def test_the_summary_states_each_comparison(tmp_path):
    rng = np.random.default_rng(7)
    frequency = _frequency(rng, repeats=(0,))
    study = _study(frequency=frequency, classes=_classes(rng, repeats=(0,)))
    beside = side_by_side.rq3_beside_paper(study, side_by_side.paper_rq3(_as_paper(frequency, tmp_path), "cifar10-lt"))
    compared = side_by_side.authors_vs_ours(_study(classes=_classes(rng)),
                                            _study(profile="paper", classes=_classes(rng, shift=0.1)))
    text = side_by_side.summary(compared, beside)
    assert "**base**, ours minus the authors' (mean over 4 classes): recall +0.100" in text
    assert "rho 1.00" in text and "features ever required, ours 6.0 and theirs 6.0" in text
    assert side_by_side.summary(None, None).startswith("- Nothing to compare")

"""The authors' networks beside ours, and our RQ3 beside the paper's own tables.

Two comparisons, each on what both sides have:

- ``authors_vs_ours``: per method and class, recall, CE needed per TP and the top-10% share of
  the authors' published networks (``authors`` profile) next to our retrained networks of the
  same data set. The authors chose each checkpoint at its best test epoch; ours are the last
  epoch, never chosen on the test set.
- ``rq3_beside_paper``: the paper's per-class RQ3 tables (``frequency/*_CE_n_appear_*.csv``
  and ``magnitude/*_CE_n_mago_*.csv`` of the authors' repository) next to ours. Their rows are
  classes in index order and their columns the features sorted by falling frequency, without
  the features' indices; so the tables compare what survives that sorting: how many features
  ever enter a required set, the largest frequencies, and Spearman's rho between frequency and
  magnitude over those features. ``profile_agreement`` ranks the classes by each of these on
  both sides and correlates the ranks.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ..errors import DataNotFoundError
from ..paths import AUTHORS_CLONE, AUTHORS_REPOSITORY
from ..pipeline.runs import Context
from ..pipeline.study import Study, SweepError, load_study

BEST_EPOCH_NOTE = ("The authors chose each of their checkpoints at its best test epoch (their file names say "
                   "'best' or carry the epoch); ours are the last epoch and never see the test set.")
# Data set -> the prefix of its files in the authors' repository.
PREFIX = {"cifar10-lt": "cif", "places5": "plc", "inat5": "inat", "ozone_level": "oz", "scene": "sc",
          "thyroid_sick": "th", "us_crime": "us", "coil_2000": "co"}
# Our method -> their file suffix.
SUFFIX = {"base": "base", "remix": "rem", "eos": "eos", "dsm": "dsm", "smote": "sm", "adasyn": "ad"}
FILES = {"freq": "frequency/{prefix}_CE_n_appear_{suffix}.csv", "mag": "magnitude/{prefix}_CE_n_mago_{suffix}.csv"}
PROFILE_COLUMNS = ("features_used", "top1_freq", "top5_freq", "spearman")
COMPARED = ("recall", "required_pct", "top_share")
# Settings of the user's that say where things are, not what a run computes: passed on to our side.
WHERE = ("data_dir", "allow_download")


def evaluates_published(study: Study) -> bool:
    """Whether ``study`` evaluates networks brought from a folder (the authors' published ones
    under the ``authors`` profile) rather than training its own."""
    return study.kind == "image" and bool(study.settings.get("checkpoints"))


def our_counterpart(study: Study, profile: str, overrides=None) -> tuple[Study | None, str]:
    """Our retrained networks of the same data set under ``profile``, read from the cache (never
    trained here), or None with one sentence saying why there are none."""
    if not evaluates_published(study):
        return None, ("These runs are not the authors' networks; the `authors` profile evaluates those "
                      "(`python -m ceimb_utils run --profile authors`).")
    where = {k: v for k, v in (overrides or {}).items() if k in WHERE}
    try:
        return load_study(study.dataset, profile, where, compute=False), ""
    except SweepError:
        return None, (f"Our retrained networks of {study.dataset} under the `{profile}` profile are not in the "
                      f"cache; `python -m ceimb_utils run --profile {profile} --datasets {study.dataset}` trains "
                      "them (a GPU's work for the paper's 200 epochs).")


def paper_tables(study: Study) -> tuple[pd.DataFrame | None, str]:
    """The paper's RQ3 tables of the study's data set, or None with one sentence saying why not."""
    try:
        paper = paper_rq3(Context.from_config(study.config).data_path, study.dataset)
    except DataNotFoundError as err:
        return None, str(err)
    if paper.empty:
        return None, (f"The authors' repository has no RQ3 table of {study.dataset}; it has tables of "
                      f"{', '.join(PREFIX)}.")
    return paper, ""


def paper_rq3(data_dir: Path, dataset: str) -> pd.DataFrame:
    """The paper's RQ3 tables of ``dataset`` in long form: ``method, class_index, rank, freq,
    mag`` (``mag`` NaN where only the frequency file exists). Empty when the repository has no
    frequency table of the data set; one sentence when the clone is missing."""
    clone = Path(data_dir) / AUTHORS_CLONE
    if not clone.is_dir():
        raise DataNotFoundError(f"The authors' repository is not at {clone}; clone {AUTHORS_REPOSITORY} there "
                                "to compare with the paper's own tables.")
    frames = []
    for method, suffix in SUFFIX.items():
        columns = {}
        for column, pattern in FILES.items():
            path = clone / pattern.format(prefix=PREFIX.get(dataset, "-"), suffix=suffix)
            if path.is_file():
                columns[column] = _read_rows(path)
        if "freq" in columns:  # a magnitude table alone (COIL 2000) has no profile to compare
            frames.append(_long(method, columns))
    if not frames:
        return pd.DataFrame(columns=["method", "class_index", "rank", "freq", "mag"])
    return pd.concat(frames, ignore_index=True)


def _read_rows(path: Path) -> np.ndarray:
    """One row per class, one column per frequency rank (the padding past a class's last
    feature, empty or zero, is dropped by ``_long``)."""
    try:
        values = pd.read_csv(path).to_numpy(dtype=float)
    except (ValueError, pd.errors.ParserError) as err:
        raise ValueError(f"{path} is not a table of numbers, one row per class ({err}).") from None
    return values


def _long(method: str, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    n_classes = max(v.shape[0] for v in columns.values())
    width = max(v.shape[1] for v in columns.values())
    padded = {}
    for name in ("freq", "mag"):
        block = np.full((n_classes, width), np.nan)
        if name in columns:
            v = columns[name]
            block[:v.shape[0], :v.shape[1]] = v
        padded[name] = block
    frame = pd.DataFrame({"method": method, "class_index": np.repeat(np.arange(n_classes), width),
                          "rank": np.tile(np.arange(width), n_classes),
                          "freq": padded["freq"].ravel(), "mag": padded["mag"].ravel()})
    return frame[frame["freq"].fillna(0) > 0].reset_index(drop=True)


def _profile(freq: np.ndarray, mag: np.ndarray) -> dict:
    """What a class's frequency profile keeps once sorted: features used, largest frequencies,
    and Spearman's rho between frequency and magnitude over the used features."""
    order = np.argsort(-freq, kind="stable")
    freq, mag = freq[order], mag[order]
    both = ~np.isnan(freq) & ~np.isnan(mag)
    rho = np.nan
    if both.sum() >= 3 and np.ptp(freq[both]) > 0 and np.ptp(mag[both]) > 0:
        rho = float(spearmanr(freq[both], mag[both]).statistic)
    return {"features_used": int(len(freq)), "top1_freq": float(freq[0]) if len(freq) else np.nan,
            "top5_freq": float(np.mean(freq[:5])) if len(freq) else np.nan, "spearman": rho}


def paper_profiles(paper: pd.DataFrame) -> pd.DataFrame:
    """Per method and class, the profile of the paper's tables."""
    rows = [{"method": method, "class_index": c, **_profile(part["freq"].to_numpy(), part["mag"].to_numpy())}
            for (method, c), part in paper.groupby(["method", "class_index"], sort=False)]
    return pd.DataFrame(rows, columns=["method", "class_index", *PROFILE_COLUMNS])


def our_profiles(study: Study) -> pd.DataFrame:
    """Per method and class, the same profile from our frequency table (features with a
    frequency above 0), averaged over seeds or splits."""
    freq = study.frequency[study.frequency["freq"] > 0]
    rows = [{"method": method, "class_index": c, "repeat": r, **_profile(part["freq"].to_numpy(), part["mag"].to_numpy())}
            for (method, c, r), part in freq.groupby(["method", "class_index", "repeat"], sort=False)]
    per_run = pd.DataFrame(rows, columns=["method", "class_index", "repeat", *PROFILE_COLUMNS])
    return per_run.groupby(["method", "class_index"], sort=False)[list(PROFILE_COLUMNS)].mean().reset_index()


def rq3_beside_paper(study: Study, paper: pd.DataFrame) -> pd.DataFrame:
    """Per method and class present on both sides: each profile column, ours and the paper's."""
    ours = our_profiles(study)
    theirs = paper_profiles(paper)
    both = ours.merge(theirs, on=["method", "class_index"], suffixes=("_ours", "_paper"))
    names = study.classes.drop_duplicates("class_index").set_index("class_index")["class"]
    both.insert(2, "class", both["class_index"].map(names))
    return both


def profile_agreement(beside: pd.DataFrame) -> pd.DataFrame:
    """Per method and profile column: Spearman's rho, across classes, between ours and the
    paper's (NaN with fewer than 3 classes or a constant side)."""
    rows = []
    for method, part in beside.groupby("method", sort=False):
        for column in PROFILE_COLUMNS:
            a, b = part[f"{column}_ours"].to_numpy(float), part[f"{column}_paper"].to_numpy(float)
            keep = ~np.isnan(a) & ~np.isnan(b)
            rho = (float(spearmanr(a[keep], b[keep]).statistic)
                   if keep.sum() >= 3 and np.ptp(a[keep]) > 0 and np.ptp(b[keep]) > 0 else np.nan)
            rows.append({"method": method, "profile": column, "classes": int(keep.sum()), "rho": rho})
    return pd.DataFrame(rows, columns=["method", "profile", "classes", "rho"])


def _per_class(study: Study) -> pd.DataFrame:
    return study.classes.groupby(["method", "class_index", "class"], sort=False, observed=True)[
        list(COMPARED)].mean().reset_index()


def authors_vs_ours(authors: Study, ours: Study) -> pd.DataFrame:
    """Per method and class present in both studies: recall, CE needed per TP (% of D) and the
    top-10% share, averaged over seeds, of the authors' networks and of ours."""
    if authors.dataset != ours.dataset:
        raise ValueError(f"The studies are of different data sets ({authors.dataset!r}, {ours.dataset!r}).")
    both = _per_class(authors).merge(_per_class(ours), on=["method", "class_index", "class"],
                                     suffixes=("_authors", "_ours"))
    for column in COMPARED:
        both[f"{column}_diff"] = both[f"{column}_ours"] - both[f"{column}_authors"]
    return both


def summary(compared: pd.DataFrame | None = None, beside: pd.DataFrame | None = None) -> str:
    """The page's findings in a few Markdown bullets: how far our networks are from the authors'
    (mean over classes of ours minus theirs, per method) and how well our RQ3 profile ranks the
    classes as the paper's tables do."""
    lines = []
    if compared is not None and len(compared):
        for method, part in compared.groupby("method", sort=False):
            lines.append(f"- **{method}**, ours minus the authors' (mean over {len(part)} classes): recall "
                         f"{part['recall_diff'].mean():+.3f}, CE per TP {part['required_pct_diff'].mean():+.1f} pp "
                         f"of D, top-10% share {part['top_share_diff'].mean():+.3f}.")
    if beside is not None and len(beside):
        agreement = profile_agreement(beside)
        for method, part in agreement.groupby("method", sort=False):
            rho = part.set_index("profile")["rho"]
            rows = beside[beside["method"] == method]
            lines.append(f"- **{method}**, RQ3 against the paper's tables: features ever required, ours "
                         f"{rows['features_used_ours'].mean():.1f} and theirs {rows['features_used_paper'].mean():.1f} "
                         f"per class (classes ranked alike: rho {rho['features_used']:.2f}); Spearman of frequency "
                         f"against magnitude, ours {rows['spearman_ours'].median():.2f} and theirs "
                         f"{rows['spearman_paper'].median():.2f} (median over classes).")
    return "\n".join(lines) if lines else "- Nothing to compare on this page (see the sections above)."

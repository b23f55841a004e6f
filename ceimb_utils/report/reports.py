"""Tables the notebooks show: the study's per-run numbers aggregated over seeds / splits.

Every function takes a ``Study`` and returns a DataFrame (mean and spread over repeats) or a
short Markdown sentence; nothing is typed in by hand.
"""
from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
from IPython import get_ipython
from IPython.display import HTML
from markdown_it import MarkdownIt

from .. import paper, paths
from ..methods import family as method_family
from . import audit, health, rules, wording
from ..pipeline.study import Study
from .tables import Collapsed, frame_html

# The paper's headline figures that the notebooks compare against (ceimb_utils.paper).
PAPER = {
    "cnn_required_max_pct": paper.CNN_REQUIRED_MAX_PCT,
    "lg_required_range_pct": paper.LG_REQUIRED_RANGE_PCT,
    "svm_resampled_pct": paper.SVM_RESAMPLED_PCT,
    "top_share_image": paper.TOP_SHARE["cnn"],
    "top_share_lg": paper.TOP_SHARE["lg"],
    "top_share_svm": paper.TOP_SHARE["svm"],
}
ROUND = 2


def method_order(study: Study) -> list[str]:
    return list(dict.fromkeys(study.runs["method"]))


def _ordered(frame: pd.DataFrame, study: Study) -> pd.DataFrame:
    frame = frame.copy()
    frame["method"] = pd.Categorical(frame["method"], method_order(study), ordered=True)
    keys = [c for c in ("model", "method", "class_index", "group") if c in frame.columns]
    return frame.sort_values(keys).reset_index(drop=True)


def mean_sd(frame: pd.DataFrame, by: list[str], values: list[str]) -> pd.DataFrame:
    """Mean and standard deviation over repeats of each value, one row per group."""
    per_repeat = frame.groupby(by + ["repeat"], observed=True)[values].mean().reset_index()
    agg = per_repeat.groupby(by, observed=True)[values].agg(["mean", "std"])
    agg.columns = [f"{v}_{s}" for v, s in agg.columns]
    agg["repeats"] = per_repeat.groupby(by, observed=True)["repeat"].nunique()
    return agg.reset_index()


def for_the_book() -> None:
    """How a results notebook shows tables, set in one place: every row and column (a long
    table is collapsed by the page instead, ``tables.Collapsed``), and no 0..n-1 index column."""
    for option, value in (("display.max_columns", None), ("display.max_rows", None),
                          ("display.width", 200), ("display.max_colwidth", 200)):
        pd.set_option(option, value)
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, frame_html)


def figure_html(fig, alt: str) -> HTML:
    """A figure as an HTML image with its alt text, for a page that pastes it from another
    (a glued Matplotlib figure pastes without the alt text of the cell that drew it)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode()
    return HTML(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}" style="max-width: 100%">')


def as_html(text: str) -> HTML:
    """Markdown text as an HTML display object: what a page glues for another page to paste
    (a glued Markdown object pastes into another page as its repr)."""
    return HTML(MarkdownIt().render(text))


def shown_path(path: str | os.PathLike) -> str:
    """A path as a page shows it: from the repository's root when it lies inside it (a page must
    not carry the folder of the machine that built it), else as given."""
    try:
        return Path(path).expanduser().resolve().relative_to(paths.ROOT).as_posix()
    except ValueError:
        return str(path)


def describe(study: Study) -> pd.DataFrame:
    """What this notebook's numbers come from."""
    runs = study.runs
    rows = {
        "data set": study.dataset,
        "kind": study.kind,
        "profile": shown_path(study.config["profile"]) if str(study.config["profile"]).endswith((".yaml", ".yml"))
        else study.config["profile"],
        "models": ", ".join(study.models),
        "methods": ", ".join(study.methods),
        "repeats (seeds or splits)": ", ".join(map(str, sorted(runs["repeat"].unique()))),
        "training instances per class": per_class(runs["train_counts"]),
        "test instances per class": per_class(runs["test_counts"]),
        **({"rows used": _rows_used(runs)} if study.kind == "tabular" else {}),
        "CE per class (D)": ", ".join(sorted({str(int(d)) for d in runs["D"]}, key=int))
        if study.kind == "image" else f"{int(runs['D'].min())} to {int(runs['D'].max())}",
        "device": ", ".join(sorted(set(runs["device_name"].dropna()) or set(runs["device"]))),
        "model selection": model_selection(study),
    }
    lowered = sorted({f"{n['method'].upper()}: k = {k} for class {c} (its training instances minus one), not {n['k']}"
                      for n in runs["neighbours"].dropna() for c, k in n["lowered"].items()})
    if lowered:
        rows["neighbours of over-sampling"] = "; ".join(lowered)
    if study.kind == "image":
        declared = study.config["image"]["precision"]
        used = ", ".join(sorted(set(runs["precision_used"].dropna()))) or "fp32"
        rows["training precision"] = used if declared == used else f"{used} (declared {declared})"
    else:
        rows["training precision"] = "float64 (scikit-learn)"
    return pd.DataFrame({"": list(rows.values())}, index=list(rows))


def _rows_used(runs: pd.DataFrame) -> str:
    """'3,000 of 9,822 (a stratified subsample)' or 'all 2,000' (methods#data)."""
    used = int((runs["n_train"] + runs["n_test"]).max())
    total = runs["data_rows"].dropna().max() if "data_rows" in runs else np.nan
    if np.isnan(total) or used >= total:
        return f"all {used:,}"
    return f"{used:,} of {int(total):,} (a stratified subsample, tabular.max_rows)"


def per_class(counts: pd.Series) -> str:
    """Instances per class as the runs' records state them (a range where repeats differ)."""
    table = np.array(counts.dropna().tolist())
    return ", ".join(str(lo) if lo == hi else f"{lo} to {hi}" for lo, hi in zip(table.min(0), table.max(0)))


def model_selection(study: Study) -> str:
    """How the models were chosen: the authors' published checkpoints were picked by their best
    test epoch, which this study's own runs never are."""
    chosen = study.runs["model_selection"].dropna().astype(str)
    if chosen.str.startswith("the authors'").any():
        return ("the authors' published checkpoints, each chosen by them as its best test epoch "
                "(our own runs keep the last epoch)")
    return "the last epoch (no selection on the test set)" if study.kind == "image" else "the fitted model"


def required_ce(study: Study) -> pd.DataFrame:
    """RQ1: percent of CE that carry a TP prediction, per model, method and class; ``thin`` marks
    a class cell with fewer than ``rules.MIN_TPS`` TPs in some repeat (left out of every verdict)."""
    table = mean_sd(study.classes, ["model", "method", "class_index", "class", "group"],
                    ["required_pct", "recall"])
    least = study.classes.groupby(["model", "method", "class_index"], observed=True)["n_tp"].min()
    table["thin"] = [bool(least.get((m, me, c), 0) < rules.MIN_TPS) for m, me, c in
                     zip(table["model"], table["method"], table["class_index"])]
    return _ordered(table, study).round(ROUND)


def union_curve(study: Study) -> pd.DataFrame:
    """Claim 7's curve per model, method, group and number m of TPs (methods#class-level): the
    data's class-level union, the null's mean and 95% range, and the instance-level count (the
    R = 1 line), each the mean over the group's classes and the repeats; TPs with k = 0 left out."""
    curve = study.tables.get("class_curve", pd.DataFrame())
    if curve.empty:
        return pd.DataFrame(columns=["model", "method", "group", "m", "union_pct"])
    keys = ["model", "method", "group", "m"]
    table = curve.groupby(keys, observed=True)[["union_pct", "null_mean_pct", "null_low_pct", "null_high_pct"]].mean()
    inst = study.classes.groupby(["model", "method", "group"], observed=True)["required_pct_nonzero"].mean()
    table = table.reset_index().merge(inst.rename("instance_pct").reset_index(), on=["model", "method", "group"])
    return _ordered(table, study).round(2)


def k0_counts(study: Study) -> pd.DataFrame:
    """Per model, method and group: test TPs in all, TPs with k = 0 (the bias and the opposing terms
    carry them; claim 7 leaves them out) and the thin class cells (fewer than ``rules.MIN_TPS``
    TPs with k >= 1 in some repeat)."""
    c = study.classes
    per = c.groupby(["model", "method", "group", "repeat"], observed=True)[["n_tp", "n_k0"]].sum().reset_index()
    table = per.groupby(["model", "method", "group"], observed=True)[["n_tp", "n_k0"]].mean().reset_index()
    least = c.groupby(["model", "method", "group", "class_index"], observed=True)["n_tp_nonzero"].min()
    thin = (least < rules.MIN_TPS).groupby(["model", "method", "group"], observed=True).sum().rename("thin_cells")
    return _ordered(table.merge(thin.reset_index(), on=["model", "method", "group"]), study).round(1)


def required_ce_groups(study: Study) -> pd.DataFrame:
    """RQ1 and Figure 4: instance-level vs class-level percent, majority vs minority groups."""
    table = mean_sd(study.classes, ["model", "method", "group"], ["required_pct", "union_pct"])
    return _ordered(table, study).round(ROUND)


def bias_sensitivity(study: Study) -> pd.DataFrame:
    """Required CE with the bias included (default), excluded, and with terms ranked by |CE|."""
    values = ["required_pct", "required_pct_exclude", "required_pct_absolute", "never_crosses_exclude",
              "bias_only", "n_tp"]
    per_repeat = study.classes.groupby(["model", "method", "group", "repeat"], observed=True).agg(
        {**{v: "mean" for v in values[:3]}, **{v: "sum" for v in values[3:]}}).reset_index()
    table = per_repeat.groupby(["model", "method", "group"], observed=True)[values].mean().reset_index()
    table["shift_pct_points"] = table["required_pct_exclude"] - table["required_pct"]
    return _ordered(table, study).round(ROUND)


def readings(study: Study) -> pd.DataFrame:
    """Required CE, class-level union and top share per group under every reading of the metrics,
    all three in percent (as every page gives the share)."""
    order = list(dict.fromkeys(study.readings["reading"]))
    values = ["required_pct", "union_pct", "top_share"]
    per_repeat = study.readings.groupby(["model", "method", "group", "reading", "repeat"], observed=True)[values].mean()
    table = per_repeat.groupby(["model", "method", "group", "reading"], observed=True).mean().reset_index()
    table = table.rename(columns={"top_share": "top_share_pct"}).assign(top_share_pct=lambda t: 100 * t["top_share_pct"])
    table["reading"] = pd.Categorical(table["reading"], order, ordered=True)
    table = _ordered(table, study).sort_values(["model", "method", "group", "reading"]).reset_index(drop=True)
    return table.round(ROUND)


def readings_summary(study: Study) -> Collapsed:
    """The readings table as one line (how far the readings move the required CE, and where),
    the full table and its CSV one click away."""
    table = readings(study)
    keys = ["model", "method", "group"]
    moved = table.groupby(keys, observed=True)["required_pct"].agg(lambda v: v.max() - v.min())
    line = f"{table['reading'].nunique()} readings of {len(moved)} (model, method, group) rows"
    if len(moved) and moved.notna().any():
        model, method, group = moved.idxmax()
        line += (f"; the required CE moves by up to {moved.max():.1f} percentage points between readings "
                 f"({model} {method}, {group})")
    return Collapsed(line, table, f"readings-{study.dataset}")


def top_share(study: Study) -> pd.DataFrame:
    """RQ2: share of the top 10% of CE, class-mean (default), per instance, and on |CE|, in
    percent (a share is a percentage wherever a reader sees it)."""
    shares = ["top_share", "top_share_instance", "top_share_absolute"]
    by = ["model", "method", "group"]
    pct = study.classes.assign(**{f"{c}_pct": 100 * study.classes[c] for c in shares})
    table = mean_sd(pct, by, [f"{c}_pct" for c in shares])
    # a share of 1 by construction (methods#top-share) reads like the strongest concentration
    defined = study.classes.dropna(subset=["top_share"])
    cells = defined.assign(trivial=defined["top_share"] >= rules.TRIVIAL_SHARE).groupby(by, observed=True)["trivial"]
    table = table.merge(cells.agg(trivial_cells="sum", cells="size").reset_index(), on=by, how="left")
    table[["trivial_cells", "cells"]] = table[["trivial_cells", "cells"]].fillna(0).astype(int)
    return _ordered(table, study).round(1)


def spearman(study: Study) -> pd.DataFrame:
    """RQ3: Spearman of CE frequency against CE magnitude per class (a description implied by
    the definitions, methods#frequency-magnitude), with its half-sampling interval (``interval``:
    why a row has none) and the per-feature permutation null's range on a subsample of the
    class's TPs, beside the observed Spearman on the same subsample."""
    agg = dict(spearman=("spearman", "mean"), ci_low=("ci_low", "mean"), ci_high=("ci_high", "mean"),
               interval=("ci_status", lambda v: ", ".join(sorted(set(v)))),
               repeats=("repeat", "nunique"), n_train_tp=("n_train_tp", "mean"))
    for column in ("subsample_spearman", "perm_null_low", "perm_null_high"):
        if column in study.spearman:
            agg[column] = (column, "mean")
    table = study.spearman.groupby(["model", "method", "class_index", "class", "group"], observed=True).agg(
        **agg).reset_index()
    # A mean interval only where every repeat has one: otherwise it would average the intervals
    # of some repeats against the estimates of all, and could miss its own estimate.
    partial = table["interval"] != "ok"
    table.loc[partial, ["ci_low", "ci_high"]] = np.nan
    return _ordered(table, study).round(3)


def top_frequency(study: Study, method: str, model: str | None = None, repeat=None, n: int = 5) -> pd.DataFrame:
    """RQ3 (paper Figure 7): per class, the n CE most often in a TP's top-k, with their magnitudes."""
    model = model or study.models[0]
    repeat = study.runs["repeat"].min() if repeat is None else repeat
    freq = study.frequency.query("method == @method and model == @model and repeat == @repeat")
    top = (freq.sort_values(["class_index", "freq", "d"], ascending=[True, False, True])
           .groupby("class_index").head(n).copy())
    top["rank"] = top.groupby("class_index").cumcount() + 1
    return top[["class_index", "class", "group", "rank", "d", "freq", "mag", "mag_feature"]].reset_index(drop=True)


def generalisation(study: Study) -> pd.DataFrame:
    """Balanced accuracy and macro-F1 per model and method (mean and sd over repeats)."""
    table = mean_sd(study.runs.assign(class_index=0), ["model", "method"],
                    ["balanced_accuracy", "macro_f1", "accuracy", "train_balanced_accuracy"])
    warnings = study.runs.groupby(["model", "method"], observed=True)["warnings"].sum().reset_index()
    table = table.merge(warnings.rename(columns={"warnings": "convergence_warnings"}), on=["model", "method"])
    return _ordered(table, study).round(3)


def generalisation_headline(study: Study) -> str:
    """The page's finding, on runs that learned (methods#health): per model, base's mean balanced
    accuracy, the best over-sampling method's, and the best of all where a remedy beats both, each
    with its runs; a run that did not learn would otherwise pull a mean down or up unseen."""
    marks = health.health_table(study).rename(columns={"seed": "repeat"})[["model", "method", "repeat", "healthy"]]
    runs = study.runs.merge(marks, on=["model", "method", "repeat"], how="left")
    learned = runs[runs["healthy"].fillna(False).astype(bool)]
    means = learned.groupby(["model", "method"], sort=False)["balanced_accuracy"].agg(["mean", "size"]).reset_index()
    means["family"] = means["method"].map(method_family)
    every = runs.groupby(["model", "method"], sort=False)["balanced_accuracy"].agg(["mean", "size"])

    def named(row) -> str:
        # a method whose weaker splits did not learn is averaged over its stronger ones: say so, with
        # its mean over every run beside, so that a ranking over unequal run sets is seen as one
        all_mean, all_size = every.loc[(row["model"], row["method"])]
        if int(row["size"]) == int(all_size):
            return f"{row['method']} {row['mean']:.3f} ({wording.count_of(int(row['size']), 'run')})"
        return (f"{row['method']} {row['mean']:.3f} ({int(row['size'])} of {int(all_size)} runs learned; "
                f"{all_mean:.3f} over all {int(all_size)})")

    lines = []
    for model in study.models:
        part = means[means["model"] == model].sort_values("mean", ascending=False)
        base, over = part[part["method"] == "base"], part[part["family"] == "oversampling"]
        said = [named(base.iloc[0]) if len(base) else "base: no run learned"]
        if len(over):
            said.append(f"best over-sampling {named(over.iloc[0])}")
        if len(part) and part.iloc[0]["family"] == "intervention":
            said.append(f"best of all {named(part.iloc[0])}, a remedy (RQ4)")
        lines.append(f"- **{model}**: " + "; ".join(said) + ".")
    left = int((~runs["healthy"].fillna(False).astype(bool)).sum())
    lines.append("Mean balanced accuracy on the test split over the runs that learned; " + (
        f"{left} of {len(runs)} runs did not learn and {'is' if left == 1 else 'are'} left out (the table below has "
        "every run)." if left else f"all {len(runs)} runs learned."))
    return "\n".join(lines)


def recall(study: Study) -> pd.DataFrame:
    """Per-class recall (mean over repeats), one column per method."""
    per = study.classes.groupby(["model", "class_index", "class", "group", "method"], observed=True)["recall"].mean()
    table = per.unstack("method")[method_order(study)].reset_index()
    return table.round(3)


def rarest_class(study: Study) -> int:
    counts = study.classes.drop_duplicates("class_index").set_index("class_index")["n_train"]
    return int(counts.idxmin())


def _span(values: pd.Series) -> str:
    return wording.span(values, "{:.1f}%", empty="no TP")


# The claim that reads each family's required CE per class cell, and the cells it reads.
RQ1_CLAIMS = {"cnn": 1, "lg": 3, "svm": 6}
RQ1_CELLS = {1: "base and over-sampling", 3: "base and over-sampling",
             6: "the base majority, and both classes under SMOTE and ADASYN"}


def rq1_headline(study: Study) -> str:
    """One sentence per model comparing the required-CE range with the paper's claim and, for a
    network, claim 7 judged on this data set by the audit's rule and words."""
    table = required_ce(study)
    lines = []
    for model, part in table.groupby("model", observed=True, sort=False):
        number = RQ1_CLAIMS[audit.family_of(study, model)]
        cells = audit.verdict_on(number, {study.dataset: study}).cells  # the claim's own cells on this data set
        span = (f"{_span(cells['required_pct'])} of its CE per class cell as claim {number} of the audit reads them "
                f"({RQ1_CELLS[number]}, runs that learned, thin cells left out; {_span(part['required_pct_mean'])} "
                "over every method and run in the table below)" if len(cells) else
                f"{_span(part['required_pct_mean'])} of its CE per class and method over every run in the table below "
                f"(claim {number} of the audit has no cell here: none of the runs it reads learned, or their cells are thin)")
        if study.kind == "image":
            ref = f"the paper reports at most about {PAPER['cnn_required_max_pct']:.0f}% for CNNs on CIFAR-10, Places and iNaturalist"
        elif model == "lg":
            lo, hi = PAPER["lg_required_range_pct"]
            ref = f"the paper reports {lo}% to about {hi:.0f}% for LG on its five UCI sets"
        else:
            ref = f"the paper reports nearly 100% for the SVM majority class without over-sampling and about {PAPER['svm_resampled_pct']:.0f}% with it"
        lines.append(f"- **{model}**: a true positive needs {span}; {ref}.")
    if study.kind == "image":  # claim 7 is the paper's claim on networks
        lines.append(f"- **Class level against instance level**: "
                     f"{wording.on_this_data_set(audit.verdict_on(7, {study.dataset: study}))}")
    return "\n".join(lines)


def rq2_headline(study: Study) -> str:
    """Per model, claim 8's figure on this data set, from the audit's own function (base and
    over-sampling, class cells, trivial cells apart), and the page's mean of group means over
    every method, labelled as such."""
    classes = audit.join({study.dataset: study}).tables().classes
    claim = rules.top_share_by_family(classes).set_index("family")
    groups = top_share(study)
    lines = []
    for model, part in groups.groupby("model", observed=True, sort=False):
        fam = audit.family_of(study, model)
        if fam not in claim.index:
            continue
        r = claim.loc[fam]
        lines.append(f"- **{model}**: the top 10% of CE carry **{r['share_pct']:.1f}%** of the class-mean supporting sum "
                     f"(claim 8's figure on this data set: the mean over "
                     f"{wording.count_of(int(r['cells'] - r['trivial_cells']), 'class cell')} of base and over-sampling "
                     f"on healthy runs, thin cells left out; {wording.count_of(int(r['trivial_cells']), 'trivial cell')} "
                     f"left out, "
                     f"{r['share_pct_all']:.1f}% with them; paper {r['paper_pct']}%). Mean of group means over every "
                     f"method in the table below: {part['top_share_pct_mean'].mean():.1f}%.")
    return "\n".join(lines)


def interval_health(study: Study) -> dict:
    """Over every run and class of RQ3: intervals shown, withheld (by reason), and shown
    intervals that exclude their own estimate (methods#intervals: more than 5% signals a biased procedure)."""
    rho = study.spearman.dropna(subset=["spearman"])
    shown = rho[rho["ci_status"] == "ok"]
    excluding = int(((shown["spearman"] < shown["ci_low"]) | (shown["spearman"] > shown["ci_high"])).sum())
    return {"rows": len(rho), "shown": len(shown), "excluding_estimate": excluding,
            "withheld": rho.loc[rho["ci_status"] != "ok", "ci_status"].value_counts().to_dict()}


def latent_table(study: Study) -> pd.DataFrame:
    """Claim 9's latent reading on this data set (methods#latent-reading): per reading, model,
    extractor (or table split) and class, the status in each repeat (a binary table's pair of
    relation and opposite marked mirrored), Spearman of on-rate against magnitude, and the null."""
    latent = audit.join({study.dataset: study}).latent  # one row set per extractor or split
    rows = []
    for reading in dict.fromkeys(latent["reading"]) if len(latent) else []:
        cells = rules.latent_cells(latent, reading)
        if reading == rules.TABLE_LATENT:  # read on the table's columns, without a model: no model or method
            cells = cells.assign(model="—", method="—")
        table = cells.groupby(["model", "method", "class_index"], observed=True, sort=False).agg(
            reads=("verdict", lambda v: ", ".join(f"{s} {n}" for s, n in v.value_counts().items())),
            rho=("rho", "mean"), null_low=("null_low", "mean"), null_high=("null_high", "mean"),
            features=("n_kept", "mean"), repeats=("repeat", "nunique")).reset_index()
        rows.append(table.assign(reading=reading))
    if not rows:
        return pd.DataFrame(columns=["reading", "model", "method", "class_index", "reads"])
    out = pd.concat(rows, ignore_index=True)
    names = study.classes.drop_duplicates("class_index").set_index("class_index")["class"]
    out.insert(4, "class", out["class_index"].map(names))
    return out[["reading", *[c for c in out.columns if c != "reading"]]].round(3)


def latent_columns(study: Study) -> dict:
    """Which features the latent reading could not read, per reading: the table columns without
    an off value (none holds 5% of the training rows), and how often the pooled network features
    are exactly 0 (where never, the pooled reading is untestable)."""
    latent = study.tables.get("latent", pd.DataFrame())
    if latent.empty:
        return {}
    out = {}
    table = latent[latent["reading"] == rules.TABLE_LATENT]
    if len(table):
        first = table[table["repeat"] == table["repeat"].min()]
        no_off = first[first["off_value"].isna()]["d"].unique()
        out["columns without an off value"] = sorted(int(d) for d in no_off)
        out["columns"] = int(first["d"].nunique())
    pooled = latent[latent["reading"] == "pooled"]
    if len(pooled):
        out["pooled features exactly 0"] = float(pooled["n_off"].sum() / (pooled["n_on"] + pooled["n_off"]).sum())
    return out


def rq3_headline(study: Study) -> str:
    """The page's findings: the latent reading that decides claim 9, then the CE Spearman as what
    the definitions imply, and the intervals' health."""
    lines = []
    joined = audit.join({study.dataset: study})  # its latent rows are already one per extractor or split
    latent = joined.latent
    for reading in dict.fromkeys(latent["reading"]) if len(latent) else []:
        cells = rules.latent_cells(latent, reading)
        role = ("decides claim 9's CNN part" if reading == rules.CNN_LATENT else
                "decides claim 9's tabular part" if reading == rules.TABLE_LATENT else "shown beside")
        lines.append(f"- **Latent reading, {reading}** ({role}): {wording.latent_readings(cells)}.")
    gaps = latent_columns(study)
    if "pooled features exactly 0" in gaps:
        lines.append(f"- Pooled features are exactly 0 in {100 * gaps['pooled features exactly 0']:.1f}% of the "
                     "training instances x features.")
    described = audit.ce_spearman(joined.rho)
    if described:
        ranges = ", ".join(f"{fam.upper()} {lo:.2f} to {hi:.2f}" for fam, (lo, hi) in described.items())
        lines.append(f"- The Spearman of CE frequency against CE magnitude ranges {ranges} over classes (means over "
                     "the healthy repeats of base and over-sampling, as the claims audit quotes it). The two are "
                     "tied by construction (a CE enters a required set because it is among the TP's largest), so "
                     "it is shown as a description, implied by the definitions, and decides nothing.")
    health = interval_health(study)
    withheld = ", ".join(f"{n} {why}" for why, n in health["withheld"].items())
    lines.append(f"- Intervals: {health['shown']} of {health['rows']} run x class rows have one, "
                 f"{health['excluding_estimate']} of them exclude their own estimate"
                 + (f"; none shown for {withheld} (see the methods page)" if withheld else "") + ".")
    return "\n".join(lines)


def wide(frame: pd.DataFrame, index: list[str], columns: str, value: str) -> pd.DataFrame:
    """A pivot for compact display."""
    out = frame.pivot_table(index=index, columns=columns, values=value, observed=True)
    out.columns = [str(c) for c in out.columns]
    return out.reset_index()



def costs(study: Study) -> pd.DataFrame:
    """What the runs cost: wall seconds per run (mean over repeats) and the device they ran on."""
    runs = study.runs.copy()
    columns = [c for c in ("seconds", "fit_seconds", "train_seconds", "epoch_seconds") if runs[c].notna().any()]
    table = runs.groupby(["model", "method"], observed=True, sort=False)[columns].mean().reset_index()
    table["device"] = runs.groupby(["model", "method"], observed=True, sort=False)["device_name"].first().to_numpy()
    return table.round(2)

"""Figures of the book, one function per figure; each returns its matplotlib Figure.

Colours follow the paper where it has them: majority blue, minority brown (tabular, Figures
2 and 3) or orange (Figure 6); instance-level blue/green and class-level orange/red (Figure 4).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import paper
from ..methods import family
from ..pipeline.study import Study
from . import health, remedies, reports, rules, side_by_side
from .audit import cells_mean

GROUP_COLOURS = {"majority": "#1f77b4", "minority": "#8c564b"}
SHARE_COLOURS = {"majority": "#1f77b4", "minority": "#ff7f0e"}
FIG4_COLOURS = {("instance", "majority"): "#1f77b4", ("instance", "minority"): "#2ca02c",
                ("class", "majority"): "#ff7f0e", ("class", "minority"): "#d62728"}
MODEL_NAMES = {"lg": "logistic regression", "svm": "RBF SVM"}
MIN_PT = 8  # the smallest type any figure uses: tick labels, legends, notes
plt.rcParams.update({"font.size": 9, "xtick.labelsize": MIN_PT, "ytick.labelsize": MIN_PT,
                     "legend.fontsize": MIN_PT, "legend.title_fontsize": MIN_PT})


def _model_name(model: str) -> str:
    return MODEL_NAMES.get(model, model.replace("resnet", "ResNet-"))


def legend_below(fig, axes=None, ncol: int | None = None, rect_top: float = 1.0) -> None:
    """One legend for the whole figure, below its panels, so that it never covers data; each
    label once, whichever panels drew it."""
    seen: dict = {}
    for ax in (axes if axes is not None else fig.axes):
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    for legend in list(fig.legends):  # drawn by an earlier call: this one replaces it
        legend.remove()
    if not seen:
        fig.tight_layout()
        return
    ncol = ncol or min(len(seen), 5)
    rows = -(-len(seen) // ncol)
    fig.legend(list(seen.values()), list(seen), loc="lower center", ncol=ncol, frameon=False)
    fig.tight_layout(rect=(0, min(0.45, (0.22 * rows + 0.12) / fig.get_figheight()), 1, rect_top))


NO_TP = "no TP"


def grouped_bars(ax, frame: pd.DataFrame, x: str, hue: str, value: str, err: str | None = None,
                 colours: dict | None = None, labels: dict | None = None, order_x=None, order_hue=None,
                 missing: str | None = None) -> None:
    """Bars of ``value`` grouped by ``x`` with one bar per ``hue`` level (and optional error bars);
    ``missing`` is written where a bar has no value (a class without a TP, say)."""
    order_x = list(order_x if order_x is not None else dict.fromkeys(frame[x]))
    order_hue = list(order_hue if order_hue is not None else dict.fromkeys(frame[hue]))
    width = 0.8 / max(len(order_hue), 1)
    cmap = plt.get_cmap("tab10")
    for j, level in enumerate(order_hue):
        rows = frame[frame[hue] == level]
        present = np.isin(order_x, rows[x].to_numpy())  # a bar of a group that exists (method of this model)
        part = rows.set_index(x).reindex(order_x)
        pos = np.arange(len(order_x)) - 0.4 + width * (j + 0.5)
        colour = (colours or {}).get(level, cmap(j % 10))
        yerr = part[err].fillna(0).to_numpy() if err else None
        heights = part[value].to_numpy(dtype=float)
        ax.bar(pos, heights, width, yerr=yerr, capsize=2, color=colour,
               label=(labels or {}).get(level, str(level)), edgecolor="white", linewidth=0.3)
        if missing:
            for where in pos[np.isnan(heights) & present]:
                ax.text(where, 0, f" {missing}", rotation=90, ha="center", va="bottom", fontsize=MIN_PT, color="0.35")
    ax.set_xticks(np.arange(len(order_x)), [str(v) for v in order_x])
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _per_model(study: Study, width: float = 5.0, height: float = 3.4):
    models = study.models
    fig, axes = plt.subplots(1, len(models), figsize=(width * len(models), height), squeeze=False)
    return fig, list(zip(models, axes[0]))


def method_bars(study: Study, frame: pd.DataFrame, hue: str, value: str, err: str | None = None, *,
                colours=None, labels=None, order_hue=None, ylabel: str = "", ylim=None, width: float = 5.0,
                legend_columns: int | None = None, missing: str | None = None):
    """One panel per model: bars per method, one per ``hue`` level. ``colours`` and ``labels``
    may be dicts or functions of the model's rows."""
    fig, panels = _per_model(study, width=width)
    runs = study.runs
    for model, ax in panels:
        part = frame[frame["model"] == model]
        ran = set(runs.loc[runs["model"] == model, "method"])  # l1 is LG's alone: no empty place for it under the SVM
        grouped_bars(ax, part, "method", hue, value, err, colours(part) if callable(colours) else colours,
                     labels(part) if callable(labels) else labels, order_x=[m for m in study.methods if m in ran],
                     order_hue=order_hue, missing=missing)
        if ylim:
            ax.set_ylim(*ylim)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{study.dataset}: {_model_name(model)}")
    legend_below(fig, ncol=legend_columns)
    return fig


def required_ce_bars(study: Study):
    """RQ1 (paper Figures 1 to 3): percent of CE a TP needs, per method and class."""
    table = reports.required_ce(study)
    if study.kind == "tabular":  # class 0 majority (blue), class 1 minority (brown), as in Figures 2 and 3
        colours = lambda part: {i: GROUP_COLOURS[g] for i, g in zip(part["class_index"], part["group"])}
        labels = lambda part: {i: f"class {i} ({g})" for i, g in zip(part["class_index"], part["group"])}
    else:  # one colour per class, as in Figure 1
        colours, labels = None, lambda part: dict(zip(part["class_index"], part["class"]))
    fig = method_bars(study, table, "class_index", "required_pct_mean", "required_pct_std", colours=colours,
                      labels=labels, ylabel="CE needed per TP (% of D)", width=5.5 if study.kind == "tabular" else 10.0,
                      missing=NO_TP)
    if "svm" in study.models:  # the ceiling the definition imposes, beside the bars it caps
        ceiling = reports.mean_sd(study.classes, ["model", "method", "class_index"], ["ceiling_pct"])
        ax = fig.axes[study.models.index("svm")]
        part = ceiling[ceiling["model"] == "svm"]
        n_classes = part["class_index"].nunique()
        width = 0.8 / max(n_classes, 1)
        for _, r in part.iterrows():
            x = study.methods.index(r["method"]) - 0.4 + width * (r["class_index"] + 0.5)
            ax.hlines(r["ceiling_pct_mean"], x - width / 2, x + width / 2, color="black", lw=1.5,
                      label="ceiling: SVs of the class's sign / D" if (r["method"], r["class_index"]) == (study.methods[0], 0) else None)
        legend_below(fig)
    return fig


def required_ce_distribution(study: Study):
    """RQ1: the spread of per-instance required CE (box plots by group and method)."""
    inst = study.instances[study.instances["k"] >= 0]  # k = 0: the bias and opposing terms decide alone
    d = study.runs.set_index(["model", "method", "repeat"])["D"]
    pct = 100 * inst["k"] / d.reindex(pd.MultiIndex.from_frame(inst[["model", "method", "repeat"]])).to_numpy()
    inst = inst.assign(pct=pct)
    fig, panels = _per_model(study)
    for model, ax in panels:
        data, where, colours = [], [], []
        for i, method in enumerate(study.methods):
            for j, group in enumerate(("majority", "minority")):
                values = inst.query("model == @model and method == @method and group == @group")["pct"]
                data.append(values.to_numpy())
                where.append(3 * i + j + 1)
                colours.append(GROUP_COLOURS[group])
        box = ax.boxplot(data, positions=where, patch_artist=True, showfliers=False, widths=0.8)
        for patch, colour in zip(box["boxes"], colours):
            patch.set_facecolor(colour)
            patch.set_alpha(0.6)
        for group, colour in GROUP_COLOURS.items():  # legend entries for the colours
            ax.bar([np.nan], [np.nan], color=colour, alpha=0.6, label=group)
        ax.set_xticks(3 * np.arange(len(study.methods)) + 1.5, study.methods, rotation=30)
        ax.set_ylabel("CE needed per TP (% of D)")
        ax.set_title(f"{study.dataset}: {_model_name(model)}, per instance")
        ax.grid(axis="y", alpha=0.3)
    legend_below(fig)
    return fig


def instance_vs_class(study: Study):
    """Paper Figure 4: CE needed per instance vs distinct CE in the union of the class's required sets."""
    table = reports.required_ce_groups(study)
    rows = []
    for _, r in table.iterrows():
        rows.append({"model": r["model"], "method": r["method"], "bar": ("instance", r["group"]),
                     "value": r["required_pct_mean"], "err": r["required_pct_std"]})
        rows.append({"model": r["model"], "method": r["method"], "bar": ("class", r["group"]),
                     "value": r["union_pct_mean"], "err": r["union_pct_std"]})
    frame = pd.DataFrame(rows)
    labels = {k: f"{k[1]}, {'one instance' if k[0] == 'instance' else 'whole class (union of required sets)'}" for k in FIG4_COLOURS}
    return method_bars(study, frame, "bar", "value", "err", colours=FIG4_COLOURS, labels=labels,
                       order_hue=list(FIG4_COLOURS), ylabel="% of D", legend_columns=2, missing=NO_TP)


def top_share_bars(study: Study):
    """RQ2 (paper Figure 6): share of the top 10% of CE in the class-mean supporting sum."""
    table = reports.top_share(study)
    return method_bars(study, table, "group", "top_share_pct_mean", "top_share_pct_std", colours=SHARE_COLOURS,
                       order_hue=["majority", "minority"], ylabel="share of the top 10% of CE (%)", ylim=(0, 100),
                       missing=NO_TP)


def magnitude_profile(study: Study, class_index: int | None = None, method: str = "base",
                      model: str | None = None, repeat=None, limit: int = 64):
    """Paper Figure 5: class-mean features and supporting CE, sorted, labelled by index."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.4))
    fig.suptitle(_draw_profile(axes, study, class_index, method, model, repeat, limit), fontsize=10)
    fig.tight_layout()
    return fig


def magnitude_profiles(study: Study, method: str = "base", limit: int = 64):
    """Paper Figure 5 for every model of ``study``: one row per model, each titled with its run,
    so that one figure carries one caption."""
    fig = plt.figure(figsize=(12, 3.6 * len(study.models)), layout="constrained")
    for row, model in zip(np.atleast_1d(fig.subfigures(len(study.models), 1)), study.models):
        row.suptitle(_draw_profile(row.subplots(1, 2), study, None, method, model, None, limit), fontsize=10)
    return fig


def _draw_profile(axes, study: Study, class_index, method: str, model, repeat, limit: int) -> str:
    """Draw one run's profile of one class on two axes; return its title (the run, and whether it
    learned)."""
    class_index = reports.rarest_class(study) if class_index is None else class_index
    model = model or study.models[0]
    repeat = study.runs["repeat"].min() if repeat is None else repeat
    prof = study.profile.query("model == @model and method == @method and repeat == @repeat "
                               "and class_index == @class_index")
    name = prof["class"].iloc[0]
    for ax, column, label in ((axes[0], "mean_feature", "mean feature F[d]"),
                              (axes[1], "mean_supporting", "mean supporting CE")):
        ranked = prof.sort_values(column, ascending=False).head(limit)
        ax.bar(np.arange(len(ranked)), ranked[column], color="#1f77b4")
        if not np.isfinite(ranked[column].to_numpy(dtype=float)).any():
            ax.text(0.5, 0.5, f"{NO_TP} in this class", transform=ax.transAxes, ha="center", color="0.35")
            ax.set_xticks([])  # nothing was sorted: feature indices under no bar would mean nothing
        else:
            step = max(1, -(-len(ranked) // 22))  # at most 22 labels: 8 pt labels that do not touch
            ax.set_xticks(np.arange(0, len(ranked), step), ranked["d"].to_numpy()[::step], rotation=90,
                          fontsize=MIN_PT)
        ax.set_xlabel("feature index d (sorted)")
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    total = len(prof)
    shown = f"largest {min(limit, total)} of {total}" if total > limit else f"all {total}"
    table = health.health_table(study)
    run = table[(table["model"] == model) & (table["method"] == method) & (table["seed"] == repeat)]
    learned = "" if run.empty or bool(run["healthy"].iloc[0]) else "; this run did not learn"
    return f"{study.dataset}, {_model_name(model)} {method}, class {name!r} ({shown}, repeat {repeat}{learned})"


def frequency_magnitude_top(study: Study, methods=None, model: str | None = None, n: int = 5):
    """Paper Figure 7: per class, the n CE most often in a TP's required set and their magnitudes."""
    methods = list(methods or study.methods[:2])
    fig, axes = plt.subplots(len(methods), 2, figsize=(12, 3.0 * len(methods)), squeeze=False)
    fig.suptitle(_draw_top(axes, study, methods, model or study.models[0], n), fontsize=10)
    legend_below(fig, axes=[axes[0, 0]], ncol=n, rect_top=0.95)
    return fig


def frequency_magnitude_tops(study: Study, methods, n: int = 5):
    """Paper Figure 7 for every model of ``study``: one block of rows per model, each titled, so
    that one figure carries one caption."""
    methods = list(methods)
    fig = plt.figure(figsize=(12, 3.0 * len(methods) * len(study.models) + 0.6), layout="constrained")
    blocks = np.atleast_1d(fig.subfigures(len(study.models), 1))
    for block, model in zip(blocks, study.models):
        block.suptitle(_draw_top(block.subplots(len(methods), 2, squeeze=False), study, methods, model, n),
                       fontsize=10)
    handles, labels = blocks[0].axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=n, frameon=False)
    return fig


def _draw_top(axes, study: Study, methods: list, model: str, n: int) -> str:
    """Draw one model's top-n rows (one per method) on ``axes``; return its title."""
    for row, method in enumerate(methods):
        top = reports.top_frequency(study, method, model, n=n)
        for col, (column, label) in enumerate((("freq", "frequency in the required sets"), ("mag", "mean supporting CE"))):
            grouped_bars(axes[row, col], top, "class", "rank", column, order_x=list(dict.fromkeys(top["class"])))
            axes[row, col].set_title(f"{method}: {label}", fontsize=9)
            axes[row, col].tick_params(axis="x", labelsize=MIN_PT, rotation=30)
            if axes[row, col].get_legend() is not None:
                axes[row, col].get_legend().remove()
    return (f"{study.dataset}, {_model_name(model)}: top-{n} CE by frequency (training TPs); "
            f"bars: rank by frequency, 1 to {n}")


def spearman_intervals(study: Study):
    """RQ3: Spearman of CE frequency against CE magnitude per class and method (a description
    implied by the definitions), with the half-sampling intervals (points; none where no valid one
    exists) and the range of the per-feature permutation null (grey bars behind them) with, on each
    bar, the observed Spearman on the null's own subsample (a black tick): the bar is that
    statistic's reference, not the point's, which reads every TP."""
    table = reports.spearman(study)
    fig, panels = _per_model(study, width=6.0 if study.kind == "tabular" else 10.0)
    has_null = {"perm_null_low", "perm_null_high"} <= set(table)
    for model, ax in panels:
        part = table[table["model"] == model]
        classes = list(dict.fromkeys(part["class"]))
        methods = study.methods
        for j, method in enumerate(methods):
            rows = part[part["method"] == method].set_index("class").reindex(classes)
            pos = np.arange(len(classes)) + (j - (len(methods) - 1) / 2) * 0.15
            low = (rows["spearman"] - rows["ci_low"]).clip(lower=0).fillna(0)
            high = (rows["ci_high"] - rows["spearman"]).clip(lower=0).fillna(0)
            if has_null:
                ax.bar(pos, (rows["perm_null_high"] - rows["perm_null_low"]).to_numpy(dtype=float), 0.13,
                       bottom=rows["perm_null_low"].to_numpy(dtype=float), color="lightgrey", zorder=0,
                       label="per-feature permutation null (range, on a subsample)" if j == 0 else None)
                if "subsample_spearman" in rows:  # what the bar is the null of: the same subsample's Spearman
                    ax.scatter(pos, rows["subsample_spearman"].to_numpy(dtype=float), marker="_", s=90,
                               color="black", lw=1.5, zorder=3,
                               label="observed on that subsample (compare with its bar)" if j == 0 else None)
            ax.errorbar(pos, rows["spearman"], yerr=[low, high], fmt="o", ms=4, capsize=2, label=method)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks(np.arange(len(classes)), classes, rotation=30, fontsize=8)
        ax.set_ylim(-1.05, 1.05)
        ax.set_ylabel("Spearman (CE frequency, CE magnitude)")
        ax.set_title(f"{study.dataset}: {_model_name(model)}")
        ax.grid(axis="y", alpha=0.3)
    legend_below(fig)
    return fig


def _no_figure(text: str):
    """A small figure that says why a template's figure has nothing to draw for this study."""
    fig, ax = plt.subplots(figsize=(7, 1.2))
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.axis("off")
    return fig


NO_UNION_CURVE = "No union curve: claim 7 is judged on networks, so tabular runs do not compute one."


def union_curve(study: Study):
    """Claim 7 (methods#claim-7): the class-level union of m TPs' required sets against m, for the
    data (lines with markers, solid for the majority and dashed for the minority), the null of
    arbitrary combinations (dotted, its 95% range shaded) and R = 1 (the instance-level count,
    dash-dotted: every TP using the same terms), per model and group, one line per method; TPs
    with k = 0 left out."""
    table = reports.union_curve(study)
    if table.empty:  # tabular runs never compute it (pipeline.artifacts): it would decide no claim
        return _no_figure(NO_UNION_CURVE)
    fig, panels = _per_model(study, width=5.5)
    cmap = plt.get_cmap("tab10")
    colours = {m: cmap(i % 10) for i, m in enumerate(study.methods)}
    styles = {"majority": "-", "minority": "--"}
    for model, ax in panels:
        part = table[table["model"] == model]
        if part.empty:
            ax.text(0.5, 0.5, "no union curve", transform=ax.transAxes, ha="center", color="0.35")
        for (method, group), line in part.groupby(["method", "group"], observed=True, sort=False):
            colour = colours[method]
            ax.plot(line["m"], line["union_pct"], color=colour, ls=styles[group], marker="o", ms=3,
                    label=f"{method}, {group}: data")
            ax.fill_between(line["m"], line["null_low_pct"], line["null_high_pct"], color=colour, alpha=0.12, lw=0)
            ax.plot(line["m"], line["null_mean_pct"], color=colour, ls=":", lw=1.0)
            ax.axhline(line["instance_pct"].iloc[0], color=colour, ls="-.", lw=0.8)
        if not part.empty:  # the legend names only what some panel draws
            ax.plot([], [], color="0.3", ls=":", label="null of arbitrary combinations (mean; 95% shaded)")
            ax.plot([], [], color="0.3", ls="-.", label="R = 1: the instance-level count")
        ax.set_xscale("log")
        ax.set_ylim(0, 105)
        ax.set_xlabel("m, true positives (k ≥ 1) drawn")
        ax.set_ylabel("class-level union (% of D)")
        ax.set_title(f"{study.dataset}: {_model_name(model)}")
        ax.grid(alpha=0.3)
    legend_below(fig, ncol=2)
    return fig


def latent_scatter(study: Study, repeat=None):
    """Claim 9's latent reading (methods#latent-reading) of one repeat, for a network the base
    model's features (or the first method's), for a table its input columns: each feature's
    on-rate against its magnitude when on, per class, one panel per reading (pre-pool and pooled
    for networks, unit-free for tables), one legend for the classes of every panel."""
    latent = study.tables.get("latent", pd.DataFrame())
    if latent.empty:
        return _no_figure("no latent reading in these runs")
    repeat = latent["repeat"].min() if repeat is None else repeat
    method = "base" if "base" in set(latent["method"]) else latent["method"].iloc[0]
    model = latent["model"].iloc[0]
    part = latent[(latent["repeat"] == repeat) & (latent["method"] == method) & (latent["model"] == model)
                  & latent["kept"]]
    readings = list(dict.fromkeys(part["reading"]))
    fig, axes = plt.subplots(1, max(1, len(readings)), figsize=(5.2 * max(1, len(readings)), 3.8), squeeze=False)
    names = study.classes.drop_duplicates("class_index").set_index("class_index")["class"]
    cmap = plt.get_cmap("tab10")
    for ax, reading in zip(axes[0], readings):
        rows = part[part["reading"] == reading]
        value = "mu_unit_free" if reading == rules.TABLE_LATENT else "mu"
        for c, cls in rows.groupby("class_index"):
            ax.scatter(cls["p"], cls[value], s=10, color=cmap(int(c) % 10), label=str(names.get(c, c)), alpha=0.7)
        ax.set_xlabel("on-rate p (share of rows on)")
        ax.set_ylabel("magnitude when on" + (" (unit-free)" if reading == rules.TABLE_LATENT else ""))
        ax.set_title(f"{reading}", fontsize=9)
        ax.grid(alpha=0.3)
    whose = (f"split {repeat}: its input columns, read once per split whatever the model" if study.kind == "tabular"
             else f"{_model_name(model)} {method}, seed {repeat}: latent features")
    fig.suptitle(f"{study.dataset}, {whose}", fontsize=10)
    legend_below(fig, ncol=5, rect_top=0.92)  # every panel's classes: a panel may keep fewer
    return fig


def generalisation_bars(study: Study):
    """Supplement S1: balanced accuracy and macro-F1 per method."""
    table = reports.generalisation(study)
    long = pd.concat([
        table.assign(metric="balanced accuracy", value=table["balanced_accuracy_mean"], err=table["balanced_accuracy_std"]),
        table.assign(metric="macro-F1", value=table["macro_f1_mean"], err=table["macro_f1_std"]),
    ])
    return method_bars(study, long, "metric", "value", "err", ylim=(0, 1))


def recall_by_class(study: Study):
    """Per-class recall of every method, classes in order of training count."""
    table = reports.recall(study)
    fig, panels = _per_model(study)
    for model, ax in panels:
        part = table[table["model"] == model]
        for method in study.methods:
            ax.plot(part["class"].astype(str), part[method], marker="o", label=method)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("recall")
        ax.tick_params(axis="x", rotation=30, labelsize=MIN_PT)
        ax.set_title(f"{study.dataset}: {_model_name(model)}")
        ax.grid(alpha=0.3)
    legend_below(fig)
    return fig


def audit_headline(classes: pd.DataFrame):
    """The landing figure: CE needed per TP and top-10% share per data set and model family, on
    what the claims are judged on (``audit.Joined.tables().classes``: base and over-sampling,
    healthy runs), thin class cells left out as the rules leave them out."""
    kept, _ = rules.class_cells(classes, "required_pct")
    classes = classes.merge(kept[list(rules.CELL)], on=list(rules.CELL)) if len(kept) else classes.iloc[0:0]
    frame = classes.assign(label=classes["dataset"] + "\n" + classes["family"].str.upper())
    required = cells_mean(frame, "required_pct", ("label", "group"))
    union = cells_mean(frame, "union_pct", ("label", "group"))
    share = cells_mean(frame, "top_share", ("label", "group"))
    labels = list(dict.fromkeys(frame["label"]))
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    rows = pd.concat([required.assign(bar=required["group"] + ", one instance", value=required["required_pct"]),
                      union.assign(bar=union["group"] + ", whole class", value=union["union_pct"])])
    colours = {"majority, one instance": "#1f77b4", "minority, one instance": "#2ca02c",
               "majority, whole class": "#ff7f0e", "minority, whole class": "#d62728"}
    grouped_bars(axes[0], rows, "label", "bar", "value", colours=colours, order_x=labels, order_hue=list(colours),
                 missing=NO_TP)
    _reference_over(axes[0], labels, "CNN", paper.CNN_REQUIRED_MAX_PCT, "--",
                    f"paper: CNN ≤ {paper.CNN_REQUIRED_MAX_PCT:.0f}% per instance")
    axes[0].set_ylabel("% of D (mean over methods)")
    axes[0].set_title("CE that carry a TP prediction")
    grouped_bars(axes[1], share.assign(value=100 * share["top_share"]), "label", "group", "value", colours=SHARE_COLOURS,
                 order_x=labels, order_hue=["majority", "minority"], missing=NO_TP)
    for fam, style in (("CNN", "--"), ("LG", ":"), ("SVM", "-.")):
        target = paper.pct(paper.TOP_SHARE[fam.lower()])
        _reference_over(axes[1], labels, fam, target, style, f"paper, {fam}: {target}%")
    axes[1].set_ylim(0, 100)
    axes[1].set_ylabel("% of the supporting sum")
    axes[1].set_title("Share of the largest 10% of CE")
    for ax in axes:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def _reference_over(ax, labels: list[str], fam: str, value: float, style: str, label: str) -> None:
    """A paper's reference value drawn only over the groups of the family it is about."""
    first = True
    for i, name in enumerate(labels):
        if name.endswith("\n" + fam):
            ax.hlines(value, i - 0.45, i + 0.45, color="black", ls=style, lw=1.0, label=label if first else None)
            first = False


FAMILY_MARKERS = {"baseline": "o", "oversampling": "s", "intervention": "^"}


def remedy_bars(study: Study):
    """RQ4: CE needed per TP and the top-10% share per method (base, over-sampling, then
    interventions), majority and minority side by side; one row per measure, one panel per model."""
    table = remedies.group_table(study)
    order = list(dict.fromkeys(table["method"]))
    models = study.models
    fig, axes = plt.subplots(2, len(models), figsize=(max(6.0, 0.9 * len(order)) * len(models), 6.4), squeeze=False)
    for col, model in enumerate(models):
        part = table[table["model"] == model]
        for row, (value, label) in enumerate(remedies.CONCENTRATION.items()):
            ax = axes[row, col]
            grouped_bars(ax, part, "method", "group", value, f"{value}_sd", SHARE_COLOURS,
                         order_x=[m for m in order if m in set(part["method"])], order_hue=["majority", "minority"],
                         missing=NO_TP)
            ax.set_ylabel(label)
            ax.tick_params(axis="x", labelrotation=30)
            if row == 0:
                ax.set_title(f"{study.dataset}: {_model_name(model)}")
            _shade_interventions(ax, [m for m in order if m in set(part["method"])])
    legend_below(fig)
    return fig


def _shade_interventions(ax, order) -> None:
    for i, m in enumerate(order):
        if family(m) == "intervention":
            ax.axvspan(i - 0.5, i + 0.5, color="0.92", zorder=0)


def recall_concentration(study: Study):
    """RQ4: minority recall against concentration, one point per model, method and seed or
    split (marker: model family, colour: method; a run that did not learn hollow), with each
    family's per-split Spearman on healthy runs in the title (never pooled across families)."""
    points = remedies.minority_points(study)
    table = remedies.correlation_table(study)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    cmap = plt.get_cmap("tab10")
    colours = {m: cmap(i % 10) for i, m in enumerate(dict.fromkeys(points["method"]))}
    markers = dict(zip(dict.fromkeys(points["model"]), ("o", "s", "^", "D")))
    for ax, (value, label) in zip(axes, remedies.CONCENTRATION.items()):
        for (method, model), part in points.groupby(["method", "model"], sort=False):
            for healthy, sub in part.groupby("healthy"):
                ax.scatter(sub[value], sub["minority_recall"], s=30, marker=markers[model],
                           color=colours[method] if healthy else "none", edgecolor=colours[method] if not healthy else "black",
                           linewidth=0.3 if healthy else 1.0)
            # a key per method and model even where none of its runs learned (all hollow)
            ax.scatter([], [], s=30, marker=markers[model], color=colours[method], edgecolor="black", linewidth=0.3,
                       label=f"{method} ({remedies.model_family(study, model).upper()})")
        if not points["healthy"].all():  # one neutral key: a hollow marker's edge is its method's colour
            ax.scatter([], [], s=30, marker="o", color="none", edgecolor="0.3", linewidth=1.0,
                       label="hollow: a run that did not learn (edge in its method's colour)")
        rows = table[table["concentration"] == value]
        ax.set_title("\n".join(
            f"{r.family.upper()}: Spearman per split " + ", ".join("n/a" if v is None else f"{v:.2f}" for v in r.per_split)
            + f" ({r.status})" for r in rows.itertuples()), fontsize=8)
        ax.set_xlabel(f"{label}, minority classes")
        ax.set_ylabel("minority recall")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=MIN_PT, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(f"{study.dataset}: minority recall against concentration (every model, method and repeat)", fontsize=10)
    fig.tight_layout()
    return fig


def _against_each_other(frame: pd.DataFrame, columns: dict, x: str, y: str, title: str, note: str = ""):
    """One panel per column: each class (point, coloured by method) at (its ``x`` value, its
    ``y`` value), with the line y = x."""
    fig, axes = plt.subplots(1, len(columns), figsize=(3.6 * len(columns), 3.6), squeeze=False)
    cmap = plt.get_cmap("tab10")
    colours = {m: cmap(i % 10) for i, m in enumerate(dict.fromkeys(frame["method"]))}
    for ax, (column, label) in zip(axes[0], columns.items()):
        a, b = frame[f"{column}_{x}"].to_numpy(float), frame[f"{column}_{y}"].to_numpy(float)
        for method in colours:
            rows = (frame["method"] == method).to_numpy()
            ax.scatter(a[rows], b[rows], s=24, color=colours[method], label=method, edgecolor="black", linewidth=0.3)
        finite = np.concatenate([a[np.isfinite(a)], b[np.isfinite(b)]])
        if len(finite):
            low, high = finite.min(), finite.max()
            pad = 0.05 * (high - low or 1.0)
            ax.plot([low - pad, high + pad], [low - pad, high + pad], color="0.5", linewidth=0.8, linestyle="--")
        ax.set_xlabel(f"{label}: {x}")
        ax.set_ylabel(f"{label}: {y}")
        ax.grid(alpha=0.3)
    fig.suptitle(title + (f"\n{note}" if note else ""), fontsize=9)
    legend_below(fig, axes=[axes[0][0]], rect_top=0.85 if note else 0.9)
    return fig


def authors_vs_ours(table: pd.DataFrame, dataset: str):
    """Per class and method: the authors' published networks (x) against our retrained ones (y)."""
    return _against_each_other(table, {"recall": "recall", "required_pct": "CE per TP (% of D)",
                                       "top_share": "top-10% share"}, "authors", "ours",
                               f"{dataset}: the authors' networks against ours, one point per class and method",
                               side_by_side.BEST_EPOCH_NOTE)


def beside_paper(table: pd.DataFrame, dataset: str, published: bool = False):
    """Per class and method: the paper's RQ3 tables (x) against ours (y), on what the sorted
    tables keep; ``published``: ours were computed on the authors' networks (the title says how
    they were chosen)."""
    return _against_each_other(table, {"features_used": "features ever required", "top1_freq": "largest frequency",
                                       "top5_freq": "mean of the top-5 frequencies",
                                       "spearman": "Spearman freq vs mag"}, "paper", "ours",
                               f"{dataset}: RQ3 from the paper's own tables against ours, one point per class and method",
                               side_by_side.BEST_EPOCH_NOTE if published else "")

"""The benchmarks' records (``benchmarks/measured/*.json``) as tables and findings for the Speed and
Reproduce pages: every figure those pages state is read here from a record, with the command,
machine, date and commit that produced it."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import paths
from ..config import load_profile
from ..datasets import dataset_spec
from ..questions import and_list

MEASURED = paths.ROOT / "benchmarks" / "measured"


@dataclass(frozen=True)
class Record:
    name: str
    command: str
    measured: str
    machine: str
    commit: str
    raw: dict

    @property
    def rows(self) -> pd.DataFrame:
        return pd.DataFrame(self.raw["rows"]) if isinstance(self.raw["rows"], list) else pd.DataFrame()

    def provenance(self, lead: str = "Measured") -> str:
        return f"{lead} with `{self.command}` on {machine_words(self.machine)}, {self.measured}, commit {self.commit}."


def machine_words(machine: str) -> str:
    """A record's machine as a page says it. The record stores the recording process's torch CPU
    capability, which is the CPU's own unless that process forced a back-end; a page that says its
    runs went under another back-end must not read as contradicting it (the Speed page's AVX2
    clones, recorded by a process on an AVX-512 CPU)."""
    found = re.fullmatch(r"(\S+), (\d+) threads?, torch CPU capability (\w+)", machine)
    if not found:
        return machine
    arch, threads, capability = found.groups()
    return (f"an {arch} machine, {threads} thread{'s' * (threads != '1')}, whose CPU offers torch's "
            f"{capability} kernels")


def read(name: str) -> Record | None:
    path = MEASURED / f"{name}.json"
    return load(path) if path.exists() else None


def load(path: Path) -> Record:
    """The record at ``path`` (``OSError`` or ``ValueError`` when it cannot be read)."""
    raw = json.loads(Path(path).read_text())
    return Record(Path(path).stem, raw["command"], raw["measured"], raw["machine"], raw["git_commit"], raw)


def missing(name: str) -> str:
    return f"*Not measured yet: run `python benchmarks/{name}.py --save`.*"


def tidy(frame: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """A table for the page: rounded, lists joined, missing values as a dash, no index."""
    out = frame.copy()
    for column in out.columns:
        out[column] = out[column].map(lambda v: ", ".join(map(str, v)) if isinstance(v, list) else v)
    out = out.round(digits)
    return out.astype(object).where(out.notna(), "—").reset_index(drop=True)


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} minutes"


# ---------------------------------------------------------------- one finding per record
def book_time(record: Record) -> tuple[str, pd.DataFrame]:
    """How long a fresh clone's `make book` took after `make setup` (the median over fresh clones
    where several were timed; the set-up apart) and `make test`, and where the time went."""
    rows = record.rows
    if "run" not in rows:
        rows = rows.assign(run=np.where(rows["command"] == "make book", 1, np.nan))
    book = rows[rows["command"] == "make book"]
    test = rows[rows["command"] == "make test"]
    per_run = book[book["step"] != "setup"].groupby("run")["seconds"].sum()
    setup = book[book["step"] == "setup"]["seconds"]
    steps = book.groupby("step", sort=False)["seconds"].median()
    slowest = steps.drop("setup", errors="ignore")
    runs = len(per_run)
    text = (f"A fresh clone's `make book` took {minutes(per_run.median())} after `make setup`"
            + (f" (the median of {runs} fresh clones: " + ", ".join(minutes(v) for v in per_run) + ")" if runs > 1 else "")
            + f", on the {book['backend'].iloc[0]} back-end; the set-up took {minutes(setup.median())} more. "
            f"The largest step was `make {slowest.idxmax()}` ({minutes(slowest.max())}).")
    if len(test):
        text += f" `make test` from a fresh clone took {minutes(test['seconds'].iloc[0])}, its set-up included."
    table = rows.assign(minutes=(rows["seconds"] / 60).round(1))
    columns = ["command", "step"] + (["run"] if runs > 1 else []) + ["seconds", "minutes"]
    table = table.assign(run=table["run"].map(lambda r: "—" if pd.isna(r) else int(r)))
    return text, tidy(table[columns])


def paper_tables() -> list[str]:
    """The tabular data sets of the ``paper`` profile."""
    return [d for d in load_profile("paper")["datasets"] if dataset_spec(d).kind == "tabular"]


def _seconds(x: float) -> str:
    """Seconds with two significant figures at least, so that a ratio of two can be read back."""
    return f"{x:.1f} s" if x >= 10 else f"{x:.2f} s"


def _ratio(x: float) -> str:
    """A ratio to the fit, with two decimals from 0.1 up (1.03 must not read 1.0 beside a sentence
    that says the analysis takes longer), two significant figures below (0.0030)."""
    return f"{x:.2f}" if x >= 0.095 else f"{x:#.2g}"


def _runs_against_fit(runs: pd.DataFrame, suffix: str = "") -> tuple[list[str], list[str], dict[str, pd.Series]]:
    """Per timed run: its phrase (ratio, seconds, largest step when over the fit), whether its
    analysis took longer than its fit, and its column of step times (named with ``suffix``)."""
    parts, above, columns = [], [], {}
    for r in runs.to_dict("records"):
        name = f"{r['dataset']} {r['model']} {r['method']}"
        # from the seconds, not the record's ratio (rounded to 3 decimals: 0.004 for 0.0037)
        ratio = r["analysis_s"] / r["fit_s"]
        longer = ratio > 1  # than the goal of this section's title
        if longer:
            above.append(name)
        steps = {k: v for k, v in (r.get("steps_s") or {}).items() if k != "extraction"}
        slowest = max(steps, key=steps.get) if steps and longer else None
        parts.append(f"{name} (D = {int(r['D']):,}) {_ratio(ratio)} times its fit "
                     f"({_seconds(r['analysis_s'])} against {_seconds(r['fit_s'])}"
                     + (f"; its largest step, {slowest}, {_seconds(steps[slowest])}" if slowest else "") + ")")
        steps = {"fit": r["fit_s"], **(r.get("steps_s") or {}), "analysis (without extraction)": r["analysis_s"],
                 "analysis / fit": ratio}
        columns[name + suffix] = pd.Series(steps, dtype=float)
    return parts, above, columns


def _sweep_sentences(sweeps: pd.DataFrame, again: bool = False) -> str:
    """The sweep's time and work; ``again``: the same sweep, timed a second way (named once)."""
    text = ""
    for r in sweeps.to_dict("records"):
        missing = [d for d in paper_tables() if d not in r["datasets"]] if not again else []
        text += ((" The same sweep" if again else f" `{r['sweep']}`") + f" ran {int(r['runs'])} runs in "
                 f"{minutes(r['wall_s'])} on {load_profile('paper')['tabular']['jobs']} jobs "
                 f"(fits {r['fit_s_total']:.0f} s, extraction {r['extract_s_total']:.0f} s and analysis "
                 f"{r['analysis_s_total']:.0f} s of work, summed over runs)"
                 + (f"; the paper profile's other tabular sets ({', '.join(missing)}) were not on the machine, so "
                    "the whole tabular study is not timed" if missing else "") + ".")
        ratios = r.get("svm_analysis_over_fit") or {}
        if ratios:
            text += (" Its SVM runs' analysis against their fit, median (largest) per method: "
                     + ", ".join(f"{m} {_ratio(v['median'])} ({_ratio(v['max'])})" for m, v in ratios.items()) + ".")
            longer = [m for m, v in ratios.items() if v["median"] > 1]
            if longer:
                text += f" The analysis takes longer than the fit in the median run of {and_list(longer)}."
    return text


def _first_analysis_sentence(runs: pd.DataFrame) -> str:
    """How the runs were timed (benchmarks/analysis_speed.py) and the first analysis's ratio."""
    if "first_analysis_s" not in runs or runs["first_analysis_s"].isna().all():
        return ""
    parts = [f"{r['dataset']} {r['model']} {r['method']} {_ratio(r['first_analysis_s'] / r['fit_s'])}"
             for r in runs.to_dict("records") if not is_nan(r["first_analysis_s"])]
    return (" A tabular run was fitted three times and analysed four times in one process; its median fit and the "
            "median of its last three analyses are shown. The first analysis, which also pays what a process pays "
            "once (imports within the steps, the first buffers of NumPy and its BLAS), took, against the fit: "
            + ", ".join(parts) + ".")


def _kernels_sentence(kernels: pd.DataFrame) -> str:
    """How the analysis ordered its terms, and the once-per-process cost of the compiled kernels."""
    if not len(kernels):
        return ""
    r = kernels.iloc[0]
    if not str(r["kernels"]).startswith("numba"):
        return " The analysis ran without its compiled kernels (numba not installed): numpy sorted every row."
    return (f" The analysis ran its compiled kernels ({r['kernels']}); importing numba and loading them took "
            f"{_seconds(r['first_use_s'])} once, before the first run of the process (compiling them, on a "
            "machine's first use, is part of `make setup`), and is not counted in any run.")


def _of_kind(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    return rows[rows[column].notna()] if column in rows else rows.iloc[0:0]


def analysis_speed(record: Record) -> tuple[str, pd.DataFrame]:
    """The analysis of each timed run against its fit, each step's time (one column per run), and
    the paper profile's sweep; then, where the record holds them, the same runs with numpy's AVX2
    kernels (``benchmarks/analysis_speed.py --numpy-avx2``) and numpy's row sort under both."""
    rows = record.rows
    off = rows["numpy_disabled"].fillna("") if "numpy_disabled" in rows else pd.Series("", index=rows.index)
    default, variant = rows[off == ""], rows[off != ""]
    measured_with = ""
    if not len(default) and len(variant):  # the whole benchmark ran with numpy's kernels limited
        default, variant = variant, variant.iloc[0:0]
        measured_with = f" Every figure was measured with `NPY_DISABLE_CPU_FEATURES=\"{off.iloc[0]}\"`."
    runs = _of_kind(default, "dataset")
    parts, above, columns = _runs_against_fit(runs)
    text = ("The analysis of a run against its fit: " + "; ".join(parts) + "." if parts else "")
    if parts:
        text += (" The analysis takes no longer than the fit in every timed run." if not above else
                 f" The analysis takes no longer than the fit in {len(runs) - len(above)} of the {len(runs)} timed "
                 f"runs; it takes longer in {', '.join(above)}.")
        text += (" The frequency interval draws subsamples only for a class with enough TPs whose required sets "
                 "together hold at least half of the D terms (the methods page, Intervals); in a run where no "
                 "class passes that check, the step takes no time.")
        text += _first_analysis_sentence(runs)
    text += _kernels_sentence(_of_kind(default, "kernels"))
    text += _sweep_sentences(_of_kind(default, "sweep")) + measured_with
    if len(variant):
        flags = variant["numpy_disabled"].iloc[0]
        probes = _of_kind(rows, "probe").assign(off=off)
        sort_s = dict(zip(probes["off"] != "", probes["sort_s"]))
        suffix = " (numpy AVX2)"
        parts, _, more = _runs_against_fit(_of_kind(variant, "dataset"), suffix)
        columns.update(more)
        # a paragraph of its own on the page (the finding is shown as Markdown)
        text += (f"\n\nWith numpy's AVX2 kernels (`NPY_DISABLE_CPU_FEATURES=\"{flags}\"` before Python starts, "
                 "what numpy runs on a CPU without AVX-512), on the same machine: " + "; ".join(parts) + "."
                 + _sweep_sentences(_of_kind(variant, "sweep"), again=True))
        if len(sort_s) == 2:
            text += (f" NumPy's row sort alone ({probes['probe'].iloc[0]}) took {sort_s[False]:.3f} s "
                     f"with numpy's default kernels and {sort_s[True]:.3f} s with its AVX2 kernels on this CPU "
                     f"({probes['cpu'].iloc[0]}).")
    table = pd.DataFrame(columns).rename_axis("step (seconds)").reset_index() if columns else None
    return text.strip(), (tidy(table, digits=3) if table is not None else None)  # an image run's ratio is ~0.003


def ce_metrics(record: Record) -> tuple[str, pd.DataFrame]:
    r = record.rows.iloc[0]
    return (f"On N = {int(r['n']):,} instances, C = {int(r['classes'])}, D = {int(r['d'])}, the vectorised metrics "
            f"took {r['vectorised_s']:.3f} s against {r['loop_s']:.2f} s for loops written from the definitions "
            f"({r['speedup']:.0f} times faster), and the two give "
            + ("the same numbers." if bool(r["agree"]) else "different numbers: the vectorised metrics are wrong."),
            tidy(record.rows, 4))


def ce_memory(record: Record) -> tuple[str, pd.DataFrame]:
    r = record.rows.iloc[0]
    return (f"On N = {int(r['n']):,} instances, C = {int(r['classes']):,} classes and D = {int(r['d']):,}, the "
            f"metrics held {r['peak_above_inputs_mb']:,.0f} MB above their inputs and never the full (N, C, D) tensor.",
            tidy(record.rows))


def train_speed(record: Record) -> tuple[str, pd.DataFrame]:
    rows = record.rows
    best = rows.loc[rows["vs_conventional"].idxmax()]
    return (f"The study's training step ({best['path']}) ran {best['vs_conventional']:.2f} times as fast as a "
            f"conventional loop ({best['images_per_s']:.0f} images per second).",
            tidy(rows.drop(columns=[c for c in ("device",) if c in rows])))


def fast_vs_fp32(record: Record) -> tuple[str, pd.DataFrame]:
    rows = record.rows
    shift = 100 * (rows["fast_balanced_accuracy"] - rows["fp32_balanced_accuracy"])
    used = ", ".join(sorted(set(rows["fast_precision"])))
    return (f"The fast path ({used}) against fp32: {shift.min():+.1f} to {shift.max():+.1f} percentage points of "
            f"balanced accuracy over {len(rows)} seeds.", tidy(rows, 4))


def image_settings(record: Record) -> tuple[str, pd.DataFrame]:
    rows = record.rows
    best = rows.loc[rows["mean"].idxmax()]
    return (f"{len(rows)} candidates on the validation split; the highest mean balanced accuracy, "
            f"{best['mean']:.4f}, came from `{best['candidate']}` ({best['train_minutes']:.1f} minutes per "
            "training). `warmup_epochs` is on the paper's 200-epoch scale: a run scales it by its epochs / 200, "
            "as it does the decay points, and warms up for at least one epoch.",
            tidy(rows[["candidate", "validation_balanced_accuracy", "mean", "min_recall", "train_minutes"]], 4))


def grouped_seeds(record: Record) -> tuple[str, pd.DataFrame]:
    ratio = record.rows["grouped_over_separate"]
    return (f"One grouped network of three seeds took {ratio.min():.2f} to {ratio.max():.2f} times as long as three "
            "separate networks, so the package trains seeds one by one.", tidy(record.rows))


def golden_spread(record: Record) -> tuple[str, pd.DataFrame]:
    spread = pd.Series(record.raw["rows"]["spread"], name="largest difference").rename_axis("quantity").reset_index()
    spread[["data set", "table", "column"]] = spread["quantity"].str.split("/", expand=True)
    table = spread.pivot(index=["table", "column"], columns="data set", values="largest difference").reset_index()
    variants = record.raw["rows"]["variants"]
    moved = spread[spread["largest difference"] > 0]
    data_sets = [c for c in table.columns if c not in ("table", "column")]
    # two significant digits, not a fixed number of decimals: a move of 6e-13 is not 0
    table[data_sets] = table[data_sets].map(lambda v: v if pd.isna(v) else "0" if v == 0 else f"{v:.1e}")
    return (f"Across {len(variants)} CPU back-ends, {len(moved)} of {len(spread)} quantities moved at all; the golden "
            "tests' tolerances come from these differences.", tidy(table))


def verdict_stability(record: Record) -> tuple[str, pd.DataFrame]:
    claims = pd.DataFrame(record.raw["rows"]["claims"])
    backends = [c for c in claims.columns if c not in ("claim", "same verdict")]
    flips = int((~claims["same verdict"]).sum())
    seeds = ", ".join(map(str, record.raw["rows"]["seeds"]))
    changed = ", ".join(str(c) for c in claims.loc[~claims["same verdict"], "claim"])
    return (f"The image runs of seed {seeds} retrained under {len(backends)} CPU back-ends: {flips} of {len(claims)} "
            f"claims {'changes' if flips == 1 else 'change'} verdict" + (f" (claim {changed})" if flips else "")
            + ". The verdicts and figures are as the record stored them when it was measured.", tidy(claims))


FINDINGS = {"book_time": book_time, "analysis_speed": analysis_speed, "ce_metrics": ce_metrics,
            "ce_memory": ce_memory, "train_speed": train_speed, "fast_vs_fp32": fast_vs_fp32,
            "image_settings": image_settings, "grouped_seeds": grouped_seeds, "golden_spread": golden_spread,
            "verdict_stability": verdict_stability}


def finding(name: str) -> tuple[str, pd.DataFrame | None]:
    """The record's finding and table, with its provenance; a sentence when it is missing."""
    record = read(name)
    if record is None:
        return missing(name), None
    try:
        text, table = FINDINGS[name](record)
    except (KeyError, ValueError, IndexError) as err:  # an older record's shape
        return f"*The record `{name}.json` does not hold what this page reads ({err}); rerun its benchmark.*", None
    return f"{text} {record.provenance()}", table


def is_nan(value) -> bool:
    return isinstance(value, float) and np.isnan(value)

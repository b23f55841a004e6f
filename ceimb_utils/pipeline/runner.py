"""The sweep: every run a profile needs, then each question's notebook once per data set.

Everything the user can get wrong (profile, data set, question, override, template parameter,
missing data) is checked before any run starts. Runs go through an executor into the run
cache; notebooks only read the cache. Executed notebooks are written atomically to
``book/results/<question>/<dataset>.ipynb``, retitled, stamped so the book does not execute
them again, and carry their full configuration.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from .. import __version__, paths
from ..config import ConfigError, DatasetConfig, check_names, load_profile, profile_names
from ..data.images import check_available as image_available
from ..data.images import check_lists, image_shape
from ..data.images import planned_counts as image_counts
from ..data.tabular import check_available as tabular_available
from ..data.tabular import planned_counts as tabular_counts
from ..datasets import DATASETS, ClassCounts, dataset_spec
from ..errors import DataNotFoundError
from ..files import atomic_path
from ..methods import METHODS
from ..models import authors
from ..models.device import describe, resolve_device
from ..models.tabular import K_NEIGHBOURS
from ..progress import bar
from ..questions import AUDIT, QUESTION_INFO, QUESTIONS, REQUIREMENTS, Grid, Question, and_list
from . import golden_numbers
from .cache import git_commit
from .image_runs import schedule_of
from .golden_numbers import GOLDEN_DATASETS
from .runs import Context, RunPlan, run_configs
from .study import ensure_runs

# What the runner passes to every per-data-set template; each must be a parameter of it.
NOTEBOOK_PARAMETERS = ("dataset", "profile", "overrides")
KERNEL = "python3"


def template_parameters(template: Path) -> set[str]:
    import papermill

    return set(papermill.inspect_notebook(str(template)))


def check_templates(questions: Sequence[str], audit: bool) -> None:
    """Refuse to start when a template lacks a parameter the runner passes to it."""
    wanted = [(QUESTION_INFO[q], NOTEBOOK_PARAMETERS) for q in questions]
    if audit:
        wanted.append((AUDIT, ("profile", "datasets", "overrides", "csv")))
    for question, names in wanted:
        template = paths.NOTEBOOKS / question.template
        if not template.exists():
            raise ConfigError(f"Template {template} of question {question.name!r} is missing.")
        missing = set(names) - template_parameters(template)
        if missing:
            raise ConfigError(
                f"Template {template.name} has no parameter {sorted(missing)[0]!r} in its cell tagged "
                f"'parameters'; it takes {sorted(template_parameters(template))}."
            )


def output_path(question: Question, dataset: str | None = None) -> Path:
    if dataset is None:
        return paths.BOOK_RESULTS / f"{question.template.removesuffix('.ipynb')}.ipynb"
    return paths.BOOK_RESULTS / question.name / f"{dataset}.ipynb"


def _stamp(path: Path, title: str, cfg: Mapping[str, Any], settings: DatasetConfig | None) -> None:
    """Retitle, mark as already executed for the book, and record what produced it."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            first, _, rest = cell.source.lstrip().partition("\n")
            cell.source = f"# {title}\n{rest}"
            break
    for cell in nb.cells:
        _tag_for_the_book(cell)
    nb.metadata["mystnb"] = {"execution_mode": "off"}
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    section = settings.plain() if settings is not None else None
    nb.metadata["ceimb"] = {
        "title": title,
        "dataset": settings.name if settings is not None else None,
        "config": dict(cfg),
        "dataset_config": section,
        "seeds": list(settings.repeats) if settings is not None else None,
        "version": __version__,
        "git_commit": git_commit(),
        "device": describe(resolve_device(cfg["device"])),
    }
    nbformat.write(nb, path)


PARAMETER_TAGS = {"parameters", "injected-parameters"}


def _tag_for_the_book(cell) -> None:
    """Results pages show the narrative and the outputs; code is one click away (``hide-input``)
    and the parameter cells, the template's defaults and papermill's values, are not shown at
    all (the page's configuration table says what ran)."""
    tags = cell.metadata.setdefault("tags", [])
    if cell.cell_type == "code":
        extra = "remove-cell" if PARAMETER_TAGS & set(tags) else "hide-input"
    elif cell.cell_type == "markdown" and cell.source.lstrip().startswith("## Parameters"):
        extra = "remove-cell"
    else:
        return
    if extra not in tags:
        tags.append(extra)


KERNEL_STARTS = 3  # a kernel that dies before its first reply is started again, this many times in all
# How jupyter_client reports a kernel that never started: it died at once, or (when it died
# binding a port that another process took) the client waited for it in vain.
KERNEL_DIED = "Kernel died before replying to kernel_info"
KERNEL_SILENT = "Kernel didn't respond in"


def execute_notebooks(tasks: Sequence[tuple], cfg: Mapping[str, Any], jobs: int = 1,
                      desc: str = "notebooks") -> list[Path]:
    """Execute (question, parameters, out, title, data set's configuration or None) tasks, ``jobs`` kernels at once
    (threads only wait on their kernels); returns the paths in task order. A failing
    notebook writes nothing and its error is raised once the others have finished."""
    from concurrent.futures import ThreadPoolExecutor

    with kernel_environment():
        with ThreadPoolExecutor(max_workers=max(1, min(int(jobs), len(tasks)))) as pool:
            futures = [pool.submit(_execute_one, *task, cfg) for task in tasks]
            for future in bar(futures, desc=desc, unit="nb"):
                future.exception()  # wait; errors are raised below, in task order
        return [future.result() for future in futures]


FOLDERS = ("CEIMB_DATA", "CEIMB_RESULTS")  # paths.py reads them in whatever folder a process runs


@contextlib.contextmanager
def kernel_environment():
    """What the notebook kernels inherit while they run: no progress bars in the book, and the
    data and results folders as absolute paths. A kernel runs in its notebook's folder, so a
    relative ``CEIMB_RESULTS`` would there name another cache than the one the command used."""
    before = {name: os.environ.get(name) for name in ("CEIMB_PROGRESS", *FOLDERS)}
    os.environ["CEIMB_PROGRESS"] = "0"
    for name in FOLDERS:
        if before[name]:
            os.environ[name] = str(Path(before[name]).expanduser().resolve())
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _execute_one(question: Question, parameters: Mapping[str, Any], out: Path, title: str,
                 settings: DatasetConfig | None, cfg: Mapping[str, Any]) -> Path:
    import papermill

    with atomic_path(out) as tmp:
        for attempt in range(KERNEL_STARTS):
            try:
                papermill.execute_notebook(
                    str(paths.NOTEBOOKS / question.template), str(tmp),
                    parameters=dict(parameters), kernel_name=KERNEL, cwd=str(paths.NOTEBOOKS),
                    progress_bar=False, request_save_on_cell_execute=False,
                )
                break
            except RuntimeError as err:
                # jupyter_client picks the kernel's ports, frees them and then starts the kernel:
                # another process may take one in between, and the kernel dies before any cell
                # ran (jupyter/jupyter_client#154, nteract/papermill#511). Start it again.
                if not any(m in str(err) for m in (KERNEL_DIED, KERNEL_SILENT)) or attempt == KERNEL_STARTS - 1:
                    raise
        _stamp(tmp, title, cfg, settings)
    return out


def plan(profile: str, datasets: str | Sequence[str] | None = None,
         questions: str | Sequence[str] | None = None, overrides: Mapping[str, Any] | None = None,
         pages: bool = True) -> tuple[RunPlan, list[str]]:
    """Check every user input and return (the run plan, the questions) or raise ConfigError.
    Each data set's configuration is resolved here, once, and passed down from here.

    Every data set must have a run, and with ``pages`` every question asked must be able to run
    on each data set's runs (``Question.requires``): otherwise one sentence names the key."""
    cfg = load_profile(profile, overrides)
    chosen = check_names(f"profile {profile!r}", datasets if datasets is not None else cfg["datasets"],
                         list(DATASETS), "data set")
    if not chosen:
        raise ConfigError(f"Profile {profile!r} names no data sets; pass --datasets.")
    asked = check_names("the runner", questions if questions is not None else cfg["questions"],
                        list(QUESTIONS), "question")
    planned = RunPlan.of(cfg, chosen)
    for grid in filter(None, (planned_grid(settings) for settings in planned.datasets)):
        if not grid.runs:
            raise ConfigError(_no_run(planned[grid.dataset], grid))
        for q in asked if pages else ():
            refusal = QUESTION_INFO[q].refusal(grid)
            if refusal:
                raise ConfigError(refusal)
    return planned, asked


def planned_grid(settings: DatasetConfig) -> Grid | None:
    """The (model, method, repeat) of every run the profile asks of a data set, read from its
    resolved configuration alone, before any run or file; None for networks brought from a
    folder (its files say which there are)."""
    section, methods = settings.section, settings.methods
    if settings.kind == "tabular":
        runs = [(model, m, split) for split in settings.repeats for model in section["models"]
                for m in methods if METHODS[m].applies_to("tabular", model)]
    elif section["checkpoints"]:
        return None
    else:
        runs = [(section["arch"], m, seed) for seed in settings.repeats for m in methods]
    return Grid(settings.name, settings.kind, tuple(runs))


def _no_run(settings: DatasetConfig, grid: Grid) -> str:
    section, methods = settings.section, settings.methods
    fitted = list(dict.fromkeys(model for m in methods for model in METHODS[m].models))
    return (f"{grid.kind}.methods: none of {', '.join(methods)} applies to {grid.kind}.models "
            f"{', '.join(section['models'])}, so {grid.dataset!r} would have no run; add base to "
            f"{grid.kind}.methods or {' or '.join(fitted)} to {grid.kind}.models.")


def notes(planned: RunPlan, questions: Sequence[str], audit: bool) -> list[str]:
    """What the pages will say in place of a part, one line per page and part, before any run."""
    out = []
    for grid in filter(None, (planned_grid(settings) for settings in planned.datasets)):
        for question in [QUESTION_INFO[q] for q in questions] + ([AUDIT] if audit else []):
            for need in question.needs:
                sentence = question.in_place_of(need.name, grid)
                if sentence:
                    out.append(f"{question.name} on {grid.dataset}: {sentence}")
    return out


def check_data(plan: RunPlan) -> dict[str, dict[int, ClassCounts]]:
    """Fail fast, before any run, naming every data set that cannot be had (one sentence each,
    so a user fetches them all at once) or the first that cannot supply the class counts asked
    for; returns, per data set and seed or split, the counts its runs use."""
    cfg = plan.config
    context = Context.from_config(cfg)
    counts, missing = {}, []
    for settings in plan.datasets:
        name = settings.name
        section = settings.section if settings.kind == "image" else {}
        if section.get("checkpoint_layout") == "ldam" and not section.get("checkpoints"):
            raise ConfigError(f"image.checkpoint_layout 'ldam' evaluates a folder of trained networks, and none is "
                              f"set for {name!r} (dataset_overrides: {{{name}: {{checkpoints: <folder>}}}}).")
        try:
            if section.get("checkpoints"):
                check_published(settings, context)  # the folder and every checkpoint before the data
            if section.get("selection") == "authors":
                check_lists(name, section, section["seeds"], context.data_path)
            elif settings.kind == "image":
                image_available(name, cfg.get("data_dir"), context.allow_download, section.get("classes"))
            else:
                tabular_available(name, cfg.get("data_dir"), context.allow_download)
            planned = image_counts if settings.kind == "image" else tabular_counts
            counts[name] = planned(name, settings.section, context.data_path, context.allow_download)
        except DataNotFoundError as err:
            missing.append(err)
    if len(missing) == 1:
        raise missing[0]
    if missing:
        raise DataNotFoundError(f"{len(missing)} data sets cannot be had:\n" + "\n".join(f"- {err}" for err in missing))
    return counts


def _counts_text(counts: ClassCounts) -> str:
    return ", ".join(f"{c}: {a} / {b}" for c, a, b in zip(counts.classes, counts.train, counts.test))


def plan_lines(plan: RunPlan, counts: Mapping[str, Mapping[int, ClassCounts]]) -> list[str]:
    """The run plan as the command line prints it before any run: per data set, the class counts
    its runs fit and test on, and any neighbour count that over-sampling lowers for a small class."""
    lines = []
    for settings in plan.datasets:
        per_repeat = counts[settings.name]
        image = settings.kind == "image"
        what, unit = ("seed", "images") if image else ("split", "rows")
        how = ""
        if image and not settings.get("checkpoints"):
            imbalance = settings["imbalance"]
            cap = f" (at most {settings['n_max']} per class)" if settings.get("n_max") else ""
            how = (f", the images as they are{cap}" if imbalance == "none" else
                   f", {imbalance} {settings['ratio']:g}:1 from {settings['n_max']} images")
        elif not image and settings.get("max_rows"):
            how = f", a stratified subsample of at most {settings['max_rows']} rows"
        head = f"{settings.name}: {len(per_repeat)} {what}{'s' * (len(per_repeat) != 1)}{how}"
        distinct = list(dict.fromkeys(per_repeat.values()))
        lines.append(f"{head}; training / test {unit} per class: " + (_counts_text(distinct[0]) if len(distinct) == 1 else
                     "; ".join(f"({what} {r}) {_counts_text(c)}" for r, c in per_repeat.items())))
        for method, k in _neighbour_methods(settings):
            lowered: dict[str, int] = {}
            for c in per_repeat.values():
                # the classes it over-samples: every one but the largest (DSM), the smaller one (SMOTE, ADASYN)
                sampled = ({n for n, t in zip(c.classes, c.train) if t < max(c.train)} if method == "dsm"
                           else {c.classes[c.train.index(min(c.train))]})
                for name, used in c.lowered_k(k).items():
                    if name in sampled:
                        lowered[name] = min(used, lowered.get(name, used))
            if lowered:
                lines.append(f"{settings.name}: {METHODS[method].title} uses k = " + ", ".join(
                    f"{v} for class {n}" for n, v in lowered.items()) + f" (its training {unit} minus one), not {k}")
    return lines


def _neighbour_methods(settings: DatasetConfig) -> list[tuple[str, int]]:
    """The methods of a data set that interpolate between same-class neighbours, with their k."""
    if settings.get("checkpoints"):  # networks brought from files: nothing is over-sampled here
        return []
    ks = {"smote": K_NEIGHBOURS, "adasyn": K_NEIGHBOURS, "dsm": settings.get("dsm_k")}
    return [(m, ks[m]) for m in settings.methods if m in ks]


def check_published(settings: DatasetConfig, context: Context) -> None:
    """Every checkpoint the sweep would evaluate exists and fits the network it is read into."""
    configs = run_configs(settings)  # finds the folder's checkpoints first
    num_classes, channels = image_shape(settings.name, settings.section, context.data_path, context.allow_download)
    for rc in configs:
        ckpt = rc["checkpoint"]
        authors.load(authors.parse_name(Path(ckpt["folder"]) / ckpt["file"], ckpt["layout"]), rc["model"],
                     num_classes, ckpt["layout"], channels, METHODS[rc["method"]].head)


def run(profile: str, datasets=None, questions=None, overrides: Mapping[str, Any] | None = None,
        executor=None, notebooks: bool = True, audit: bool = True, connect=None) -> list[Path]:
    """The whole sweep: every run of the profile's data sets, then the book's notebooks.

    Every input is checked first (``plan``, ``check_data``), then missing runs are computed
    into the run cache (methods#run-cache) and, with ``notebooks``, each question's template
    is executed per data set into ``book/results/`` (``python -m ceimb_utils run`` calls it).

    Parameters
    ----------
    profile : str
        A built-in profile or the path of a profile file (``load_profile``).
    datasets, questions : str or sequence of str, optional
        Comma-separated or listed names; by default the profile's.
    overrides : mapping, optional
        Configuration keys to change, dotted (``{"image.epochs": 3}``) or nested.
    executor : optional
        Runs the sweep's runs (a ``DaskExecutor`` for a cluster); by default in this process.
    connect : callable, optional
        Makes the executor once every input is checked, and it is closed when the runs are done
        (``lambda: DaskExecutor.from_spec("local:2")``): a cluster is started or joined only for
        a sweep that can run.
    notebooks : bool, default True
        Execute the notebooks; False only fills the run cache.
    audit : bool, default True
        Also execute the claims audit over the chosen data sets (with ``notebooks``).

    Returns
    -------
    list of Path
        The notebooks written (none when ``notebooks`` is False).

    Raises
    ------
    ConfigError
        An unknown profile, data set, question or key, or a bad value, before any run starts.
    DataNotFoundError
        A data set that cannot be had offline, before any run starts.
    SweepError
        One or more runs failed.

    Examples
    --------
    >>> from ceimb_utils.pipeline.runner import run
    >>> from ceimb_utils.pipeline.study import load_study
    >>> tiny = {"tabular.models": ["lg"], "tabular.methods": ["base"],
    ...         "tabular.splits": 1}
    >>> run("planted", "dense-imb", overrides=tiny, notebooks=False)  # doctest: +ELLIPSIS
    plan: dense-imb: 1 split; training / test rows per class: ...
    []
    >>> study = load_study("dense-imb", "planted", tiny, compute=False)  # cached
    >>> len(study.cached)
    1
    """
    planned, asked = plan(profile, datasets, questions, overrides, pages=notebooks)
    cfg, chosen = planned.config, planned.names
    audit = audit and notebooks and (paths.NOTEBOOKS / AUDIT.template).exists()
    if notebooks:
        check_templates(asked, audit)
    for line in plan_lines(planned, check_data(planned)):
        print(f"plan: {line}", flush=True)
    for line in notes(planned, asked, audit) if notebooks else ():
        print(f"note: {line}", file=sys.stderr)
    if connect is None:
        ensure_runs(planned, executor=executor)
    else:
        executor = connect()
        try:
            ensure_runs(planned, executor=executor)
        finally:
            executor.close()
    if not notebooks:
        return []
    # A profile file by its absolute path: notebooks run in their own folder.
    passed = {"profile": cfg["profile"], "overrides": dict(overrides or {})}
    tasks = [(question, {**passed, "dataset": ds.name}, output_path(question, ds.name), f"{question.title} — {ds.name}", ds)
             for ds in planned.datasets for question in (QUESTION_INFO[q] for q in asked)]
    if audit:
        # The audit's numbers as a CSV beside its page, for the landing page's download link. It reads
        # every study and takes about twice as long as a question's page: it starts first, so that it
        # does not run alone at the end while the other kernels are done.
        tasks.insert(0, (AUDIT, {**passed, "datasets": list(chosen), "csv": str(output_path(AUDIT).with_suffix(".csv"))},
                         output_path(AUDIT), AUDIT.title, None))
    written = execute_notebooks(tasks, cfg, jobs=cfg["jobs"])
    mark_unanswered()
    write_findings()
    write_profile_table()
    write_needs_table()
    return written


PLACEHOLDER = "not-run.md"


def mark_unanswered() -> list[Path]:
    """A one-paragraph page in every question's folder that has no notebook yet (an empty
    chapter would fail the book's build), removed once the question has a page."""
    by_profile = {name: load_profile(name)["questions"] for name in profile_names()}
    written = []
    for question in QUESTION_INFO.values():
        folder = paths.BOOK_RESULTS / question.name
        placeholder = folder / PLACEHOLDER
        if any(folder.glob("*.ipynb")):
            placeholder.unlink(missing_ok=True)
            continue
        profiles = [p for p, asked in by_profile.items() if question.name in asked]
        how = (f"The profiles that run it: {', '.join(f'`{p}`' for p in profiles)}; for example "
               f"`.venv/bin/python -m ceimb_utils run --profile {profiles[0]}`, with the profile's data "
               "under `CEIMB_DATA` (the [data sets page](../../datasets.md) says how to get each)." if profiles else
               "No profile runs it; pass `--questions " + question.name + "`.")
        with atomic_path(placeholder) as tmp:
            tmp.write_text(f"# Not run yet\n\nNo data set of this book has been run for this question. {how}\n")
        written.append(placeholder)
    return written


def findings_path(question: Question) -> Path:
    return paths.BOOK_RESULTS / f"{question.name}-findings.md"


def write_findings() -> list[Path]:
    """Per question, the include its chapter page opens with: the findings each data set's
    page glued (its summary), for the data sets that have a page. Its paths are relative to
    the chapter page (``book/<question>.md``) that includes it."""
    written = []
    for question in QUESTION_INFO.values():
        pages = sorted((paths.BOOK_RESULTS / question.name).glob("*.ipynb"))
        if pages:
            text = "".join(f"**{p.stem}** ([its page](results/{question.name}/{p.stem}.ipynb)):\n\n"
                           f"```{{glue:any}} findings\n:doc: results/{question.name}/{p.name}\n```\n\n" for p in pages)
        else:
            text = "No data set of this book has been run for this question yet.\n"
        with atomic_path(findings_path(question)) as tmp:
            tmp.write_text(text)
        written.append(findings_path(question))
    return written


BOOK_PROFILES = ("smoke", "quick", "paper", "planted", "planted-latent")


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _image_facts(settings: DatasetConfig) -> str:
    section, dataset = settings.section, settings.name
    schedule = schedule_of(section)
    first, second = schedule.decays
    then = ("then a cosine to near 0" if schedule.shape == "cosine"
            else f"no decay within its {section['epochs']} epochs" if first >= section["epochs"]
            else f"one decay to x0.0001 after epoch {first}" if first == second
            else f"decays after epochs {first} and {second}")
    return (f"{dataset}: {_n(len(section['seeds']), 'seed')} ({', '.join(map(str, section['seeds']))}) of a "
            f"{section['epochs']}-epoch {section['arch']} ({_n(schedule.warmup, 'warm-up epoch')}, {then}, "
            f"batches of {section['batch_size']}, "
            f"precision {section['precision']}), {section['n_max']} training images "
            f"in the largest class, at most {section['test_per_class']} test images per class")


def profile_facts(name: str) -> dict[str, str]:
    """One row of the methods page's profile table, read from the profile itself."""
    cfg = load_profile(name)
    tab = [d for d in cfg["datasets"] if dataset_spec(d).kind == "tabular"]
    img = [d for d in cfg["datasets"] if dataset_spec(d).kind == "image"]
    runs = []
    if tab:
        t = cfg["tabular"]
        rows = f"a stratified subsample of at most {t['max_rows']} rows of each, then " if t["max_rows"] else ""
        runs.append(f"{', '.join(tab)}: {rows}{t['splits']} stratified splits; models "
                    f"{', '.join(t['models'])}; interventions {', '.join(t['interventions']) or 'none'}")
    runs += [_image_facts(settings) for settings in RunPlan.of(cfg, img).datasets]
    if img:
        runs.append(f"image interventions {', '.join(cfg['image']['interventions']) or 'none'}")
    m = cfg["metrics"]
    runs.append(f"nulls of {m['union_replicates']} replicates (claim 7) and {m['latent_permutations']} "
                f"permutations (claim 9)")
    runs.append(f"{_n(cfg['jobs'], 'run')} at a time of {_n(cfg['threads'], 'thread')} each")
    if tab and (cfg["tabular"]["jobs"] or cfg["tabular"]["threads"]):
        runs[-1] += (f" (tabular: {_n(cfg['tabular']['jobs'] or cfg['jobs'], 'run')} of "
                     f"{_n(cfg['tabular']['threads'] or cfg['threads'], 'thread')})")
    return {"profile": f"`{name}`", "data sets": ", ".join(cfg["datasets"]), "runs": "; ".join(runs)}


def write_profile_table() -> Path:
    """The methods page's table of profiles (an include), so its numbers are the profiles'."""
    rows = [profile_facts(name) for name in BOOK_PROFILES]
    lines = ["| profile | data sets | runs |", "|---|---|---|"]
    lines += [f"| {r['profile']} | {r['data sets']} | {r['runs']} |" for r in rows]
    path = paths.BOOK_RESULTS / "profiles.md"
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path


def write_needs_table() -> Path:
    """The methods page's table of what each question needs (an include), read from the
    declaration (``questions.py``), so that the page says what the runner and the pages do."""
    lines = ["| page | refused before any run without | part: what it needs (without it, the page says so in a sentence) |",
             "|---|---|---|"]
    for question in [*QUESTION_INFO.values(), AUDIT]:
        refused = (f"{and_list([REQUIREMENTS[r].says for r in question.requires])} ({question.because})"
                   if question.requires else "")
        parts = "; ".join(f"{need.part}: {and_list([REQUIREMENTS[r].says for r in need.requires])}"
                          for need in question.needs)
        lines.append(f"| {question.title} | {refused or 'nothing'} | {parts or 'nothing'} |")
    path = paths.BOOK_RESULTS / "needs.md"
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path


def golden(profile: str = "smoke", datasets: Sequence[str] = GOLDEN_DATASETS) -> list[Path]:
    """Regenerate tests/golden: every template executed on the smoke profile, per data set, and
    ``numbers.json`` with tolerances from the spread that ``benchmarks/golden_spread.py`` measured."""
    planned, asked = plan(profile, list(datasets), None, None)
    cfg = planned.config
    check_templates(asked, audit=False)
    check_data(planned)
    ensure_runs(planned)
    check_templates([], audit=True)
    passed = {"profile": profile, "overrides": {}}
    tasks = [(question, {**passed, "dataset": ds.name}, paths.GOLDEN / f"{question.template.removesuffix('.ipynb')}--{ds.name}.ipynb",
              f"{question.title} — {ds.name}", ds) for ds in planned.datasets for question in (QUESTION_INFO[q] for q in asked)]
    tasks.append((AUDIT, {**passed, "datasets": planned.names},
                  paths.GOLDEN / f"{AUDIT.template.removesuffix('.ipynb')}--{profile}.ipynb", AUDIT.title, None))
    written = execute_notebooks(tasks, cfg, desc="golden")
    measured = golden_numbers.read_spread()
    golden_numbers.write_golden(golden_numbers.numbers(profile, planned.names), measured["rows"]["spread"],
                            f"{measured['measured']}, {measured['machine']}, {len(measured['rows']['variants'])} back-ends")
    written.append(golden_numbers.NUMBERS_FILE)
    return written

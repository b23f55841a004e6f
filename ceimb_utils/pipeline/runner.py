"""The sweep: every run a profile needs, then each question's notebook once per data set.

Everything the user can get wrong (profile, data set, question, override, template parameter,
missing data) is checked before any run starts. Runs go through an executor into the run
cache; notebooks only read the cache. Executed notebooks are written atomically to
``book/results/<question>/<dataset>.ipynb``, retitled, stamped so the book does not execute
them again, and carry their full configuration.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from .. import __version__, paths
from ..config import ConfigError, check_names, dataset_config, load_profile, profile_names
from ..data.images import check_available as image_available
from ..data.images import check_lists, image_shape
from ..data.tabular import check_available as tabular_available
from ..datasets import DATASETS, dataset_spec
from ..files import atomic_path
from ..methods import METHODS
from ..models import authors
from ..models.device import describe, resolve_device
from ..progress import bar
from ..questions import AUDIT, QUESTION_INFO, QUESTIONS, Question
from . import regression
from .cache import git_commit
from .image_runs import schedule_of
from .regression import GOLDEN_DATASETS
from .runs import Context, run_configs
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


def _stamp(path: Path, title: str, cfg: Mapping[str, Any], dataset: str | None) -> None:
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
    section = None
    if dataset is not None:
        section = dataset_config(cfg, dataset)
    nb.metadata["ceimb"] = {
        "title": title,
        "dataset": dataset,
        "config": dict(cfg),
        "dataset_config": section,
        "seeds": section.get("seeds", list(range(section.get("splits", 0)))) if section else None,
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


def execute_notebooks(tasks: Sequence[tuple], cfg: Mapping[str, Any], jobs: int = 1,
                      desc: str = "notebooks") -> list[Path]:
    """Execute (question, parameters, out, title, dataset) tasks, ``jobs`` kernels at once
    (threads only wait on their kernels); returns the paths in task order. A failing
    notebook writes nothing and its error is raised once the others have finished."""
    from concurrent.futures import ThreadPoolExecutor

    env_before = os.environ.get("CEIMB_PROGRESS")
    os.environ["CEIMB_PROGRESS"] = "0"  # the kernels inherit it: no progress bars in the book
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(int(jobs), len(tasks)))) as pool:
            futures = [pool.submit(_execute_one, *task, cfg) for task in tasks]
            for future in bar(futures, desc=desc, unit="nb"):
                future.exception()  # wait; errors are raised below, in task order
        return [future.result() for future in futures]
    finally:
        if env_before is None:
            os.environ.pop("CEIMB_PROGRESS", None)
        else:
            os.environ["CEIMB_PROGRESS"] = env_before


def _execute_one(question: Question, parameters: Mapping[str, Any], out: Path, title: str,
                 dataset: str | None, cfg: Mapping[str, Any]) -> Path:
    import papermill

    with atomic_path(out) as tmp:
        papermill.execute_notebook(
            str(paths.NOTEBOOKS / question.template), str(tmp),
            parameters=dict(parameters), kernel_name=KERNEL, cwd=str(paths.NOTEBOOKS),
            progress_bar=False, request_save_on_cell_execute=False,
        )
        _stamp(tmp, title, cfg, dataset)
    return out


def plan(profile: str, datasets: str | Sequence[str] | None = None,
         questions: str | Sequence[str] | None = None, overrides: Mapping[str, Any] | None = None):
    """Check every user input and return (config, datasets, questions) or raise ConfigError."""
    cfg = load_profile(profile, overrides)
    chosen = check_names(f"profile {profile!r}", datasets if datasets is not None else cfg["datasets"],
                         list(DATASETS), "data set")
    if not chosen:
        raise ConfigError(f"Profile {profile!r} names no data sets; pass --datasets.")
    asked = check_names("the runner", questions if questions is not None else cfg["questions"],
                        list(QUESTIONS), "question")
    return cfg, chosen, asked


def check_data(cfg: Mapping[str, Any], datasets: Sequence[str]) -> None:
    """Fail fast, with one sentence, for the first data set that cannot be had."""
    for name in datasets:
        check = tabular_available if dataset_spec(name).kind == "tabular" else image_available
        section = dataset_config(cfg, name) if dataset_spec(name).kind == "image" else {}
        if section.get("checkpoint_layout") == "ldam" and not section.get("checkpoints"):
            raise ConfigError(f"image.checkpoint_layout 'ldam' evaluates a folder of trained networks, and none is "
                              f"set for {name!r} (dataset_overrides: {{{name}: {{checkpoints: <folder>}}}}).")
        if section.get("checkpoints"):
            check_published(cfg, name)  # the folder and every checkpoint before the data
        if section.get("selection") == "authors":
            check_lists(name, section, section["seeds"], Context.from_config(cfg).data_path)
            continue
        if dataset_spec(name).kind == "image":
            check(name, cfg.get("data_dir"), cfg.get("allow_download", False), section.get("classes"))
        else:
            check(name, cfg.get("data_dir"), cfg.get("allow_download", False))


def check_published(cfg: Mapping[str, Any], dataset: str) -> None:
    """Every checkpoint the sweep would evaluate exists and fits the network it is read into."""
    section = dataset_config(cfg, dataset)
    configs = run_configs(cfg, dataset)  # finds the folder's checkpoints first
    context = Context.from_config(cfg)
    num_classes, channels = image_shape(dataset, section, context.data_path, context.allow_download)
    for rc in configs:
        ckpt = rc["checkpoint"]
        authors.load(authors.parse_name(Path(ckpt["folder"]) / ckpt["file"], ckpt["layout"]), rc["model"],
                     num_classes, ckpt["layout"], channels, METHODS[rc["method"]].head)


def run(profile: str, datasets=None, questions=None, overrides: Mapping[str, Any] | None = None,
        executor=None, notebooks: bool = True, audit: bool = True) -> list[Path]:
    """The whole sweep; returns the notebooks written."""
    cfg, chosen, asked = plan(profile, datasets, questions, overrides)
    audit = audit and notebooks and (paths.NOTEBOOKS / AUDIT.template).exists()
    if notebooks:
        check_templates(asked, audit)
    check_data(cfg, chosen)
    ensure_runs(cfg, chosen, executor=executor)
    if not notebooks:
        return []
    # A profile file by its absolute path: notebooks run in their own folder.
    passed = {"profile": cfg["profile"], "overrides": dict(overrides or {})}
    tasks = [(question, {**passed, "dataset": ds}, output_path(question, ds), f"{question.title} — {ds}", ds)
             for ds in chosen for question in (QUESTION_INFO[q] for q in asked)]
    if audit:
        # The audit's numbers as a CSV beside its page, for the landing page's download link.
        tasks.append((AUDIT, {**passed, "datasets": list(chosen), "csv": str(output_path(AUDIT).with_suffix(".csv"))},
                      output_path(AUDIT), AUDIT.title, None))
    written = execute_notebooks(tasks, cfg, jobs=cfg["jobs"])
    mark_unanswered()
    write_findings()
    write_profile_table()
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
               f"`python -m ceimb_utils run --profile {profiles[0]}`." if profiles else
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


BOOK_PROFILES = ("smoke", "quick", "paper", "planted")


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _image_facts(cfg: Mapping[str, Any], dataset: str) -> str:
    section = dataset_config(cfg, dataset)
    schedule = schedule_of(section)
    then = ("then a cosine to near 0" if schedule.shape == "cosine"
            else "decays after epochs {} and {}".format(*schedule.decays))
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
        rows = f", at most {t['max_rows']} rows each, stratified" if t["max_rows"] else ""
        runs.append(f"{', '.join(tab)}: {t['splits']} stratified splits{rows}; models "
                    f"{', '.join(t['models'])}; interventions {', '.join(t['interventions']) or 'none'}")
    runs += [_image_facts(cfg, d) for d in img]
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


def golden(profile: str = "smoke", datasets: Sequence[str] = GOLDEN_DATASETS) -> list[Path]:
    """Regenerate tests/golden: every template executed on the smoke profile, per data set, and
    ``numbers.json`` with tolerances from the spread that ``benchmarks/golden_spread.py`` measured."""
    cfg, chosen, asked = plan(profile, list(datasets), None, None)
    check_templates(asked, audit=False)
    check_data(cfg, chosen)
    ensure_runs(cfg, chosen)
    check_templates([], audit=True)
    passed = {"profile": profile, "overrides": {}}
    tasks = [(question, {**passed, "dataset": ds}, paths.GOLDEN / f"{question.template.removesuffix('.ipynb')}--{ds}.ipynb",
              f"{question.title} — {ds}", ds) for ds in chosen for question in (QUESTION_INFO[q] for q in asked)]
    tasks.append((AUDIT, {**passed, "datasets": list(chosen)},
                  paths.GOLDEN / f"{AUDIT.template.removesuffix('.ipynb')}--{profile}.ipynb", AUDIT.title, None))
    written = execute_notebooks(tasks, cfg, desc="golden")
    measured = regression.read_spread()
    regression.write_golden(regression.numbers(profile, chosen), measured["rows"]["spread"],
                            f"{measured['measured']}, {measured['machine']}, {len(measured['rows']['variants'])} back-ends")
    written.append(regression.NUMBERS_FILE)
    return written

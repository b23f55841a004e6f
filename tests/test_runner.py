"""The runner: bad input stops before any work; notebooks are written atomically and stamped."""
import shutil
import subprocess
from pathlib import Path
import sys

import nbformat
import pytest

from ceimb_utils import paths
from ceimb_utils.config import ConfigError, profile_names
from ceimb_utils.data.tabular import DataNotFoundError
from ceimb_utils.datasets import BUILTIN
from ceimb_utils.methods import METHODS
from ceimb_utils.pipeline import runner
from ceimb_utils.questions import QUESTION_INFO, QUESTIONS

TINY = {"tabular.models": ["lg"], "tabular.methods": ["base", "smote"], "tabular.splits": 1}


@pytest.mark.parametrize("kwargs, error, match", [
    ({"profile": "nope"}, ConfigError, "Unknown profile 'nope'"),
    ({"profile": "smoke", "datasets": "sylva,mnist"}, ConfigError, "Unknown data set 'mnist'"),
    ({"profile": "smoke", "questions": "rq1,rq9"}, ConfigError, "Unknown question 'rq9'"),
    ({"profile": "smoke", "overrides": {"image.lr_decay": 2}}, ConfigError, "Unknown configuration key 'image.lr_decay'"),
    ({"profile": "smoke", "datasets": "ozone_level"}, DataNotFoundError, "'ozone_level' not found"),
])
def test_bad_input_stops_before_any_work(isolated_results, tmp_path, monkeypatch, kwargs, error, match):
    monkeypatch.setenv("CEIMB_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(paths, "BOOK_RESULTS", tmp_path / "book")
    with pytest.raises(error, match=match):
        runner.run(**kwargs)
    assert not isolated_results.exists() and not (tmp_path / "book").exists()


def test_template_without_a_parameter_is_refused(tmp_path, monkeypatch):
    shutil.copytree(paths.NOTEBOOKS, tmp_path / "notebooks")
    nb = nbformat.read(tmp_path / "notebooks" / "rq1-required-ce.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = cell.source.replace("overrides = {}", "overides = {}")
    nbformat.write(nb, tmp_path / "notebooks" / "rq1-required-ce.ipynb")
    monkeypatch.setattr(paths, "NOTEBOOKS", tmp_path / "notebooks")
    with pytest.raises(ConfigError, match="rq1-required-ce.ipynb has no parameter 'overrides'"):
        runner.run("smoke", "sylva", "rq1", TINY)


def test_cli_reports_one_sentence_and_exit_code_2():
    done = subprocess.run([sys.executable, "-m", "ceimb_utils", "run", "--profile", "smoke", "--datasets", "cifar"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: Unknown data set 'cifar' for profile 'smoke'; allowed: " + ", ".join(BUILTIN) + "."]


def test_a_failed_run_is_one_line_and_its_traceback_goes_to_a_log(isolated_results, monkeypatch, capsys):
    from ceimb_utils.__main__ import main
    from ceimb_utils.pipeline import tabular_runs

    fit = tabular_runs.fit_tabular

    def broken_smote(model, method, *args, **kwargs):
        if method == "smote":
            raise ValueError("no neighbours today")
        return fit(model, method, *args, **kwargs)

    monkeypatch.setattr(tabular_runs, "fit_tabular", broken_smote)  # smoke computes its runs in this process
    overrides = [f"--set={k}={v}" for k, v in {**TINY, "tabular.interventions": []}.items()]
    assert main(["run", "--profile", "smoke", "--datasets", "sylva", "--no-notebooks", *overrides]) == 1
    out = capsys.readouterr()
    lines = out.err.splitlines()
    assert lines[:2] == ["error: 1 of 2 runs failed:", "sylva lg smote split 0: ValueError: no neighbours today"]
    assert len(lines) == 3 and lines[2].startswith("Their tracebacks: ")  # no traceback, no config dump
    log = Path(lines[2].removeprefix("Their tracebacks: "))
    assert log.parent == isolated_results / "logs"
    assert "Traceback (most recent call last)" in log.read_text() and '"method": "smote"' in log.read_text()
    assert "plan: sylva: 1 split, a stratified subsample of at most 600 rows; training / test rows per class" in out.out


def test_a_sweep_resolves_each_data_set_once(isolated_results, monkeypatch):
    from ceimb_utils.pipeline import runs

    resolved, planned = [], []
    resolve = runs.resolve_dataset
    monkeypatch.setattr(runs, "resolve_dataset", lambda cfg, name: resolved.append(name) or resolve(cfg, name))
    # the runs themselves get run configs, plain dicts built from the plan's objects (no computing here)
    monkeypatch.setattr(runner, "ensure_runs", lambda plan, executor=None: planned.append(plan.run_configs()))
    runner.run("smoke", "sylva,fashion-lt", "rq1", TINY, notebooks=False)
    assert resolved == ["sylva", "fashion-lt"]  # the plan's, passed down to every check and run
    assert {rc["dataset"] for rc in planned[0]} == {"sylva", "fashion-lt"}


def test_console_script_is_installed_and_tells_its_version():
    from importlib.metadata import entry_points

    import ceimb_utils

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "ceimb"]
    assert script.value == "ceimb_utils.__main__:main"
    done = subprocess.run([str(Path(sys.executable).parent / "ceimb"), "--version"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"ceimb {ceimb_utils.__version__}"


def test_run_writes_stamped_notebooks(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "BOOK_RESULTS", tmp_path / "book")
    written = runner.run("smoke", "sylva", "rq1", TINY, audit=False)
    assert written == [tmp_path / "book" / "rq1" / "sylva.ipynb"]
    nb = nbformat.read(written[0], as_version=4)
    assert nb.cells[0].source.startswith("# RQ1: how many CE carry a prediction — sylva\n")
    assert nb.metadata["mystnb"] == {"execution_mode": "off"}
    assert nb.metadata["kernelspec"]["name"] == "python3"
    meta = nb.metadata["ceimb"]
    assert meta["config"]["tabular"]["methods"] == ["base", "smote"] and meta["seeds"] == [0]
    assert meta["version"] and meta["git_commit"] and meta["device"].startswith("CPU")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not any(o.output_type == "error" for o in outputs)
    assert any(o.get("data", {}).get("image/png") for o in outputs)  # real figures
    assert not list((tmp_path / "book" / "rq1").glob(".*"))  # no temporary leftovers
    code = [c for c in nb.cells if c.cell_type == "code"]
    parameters = [c for c in code if {"parameters", "injected-parameters"} & set(c.metadata["tags"])]
    assert len(parameters) == 2 and all("remove-cell" in c.metadata["tags"] for c in parameters)
    assert all("hide-input" in c.metadata["tags"] for c in code if c not in parameters)  # code on request
    assert any(c.source.startswith("## Parameters") and "remove-cell" in c.metadata["tags"] for c in nb.cells)
    findings = (tmp_path / "book" / "rq1-findings.md").read_text()  # the chapter page opens with it
    assert "**sylva** ([its page](results/rq1/sylva.ipynb))" in findings and ":doc: results/rq1/sylva.ipynb" in findings
    assert any(o.get("metadata", {}).get("scrapbook", {}).get("name") == "findings" for o in outputs)
    assert (tmp_path / "book" / "rq2-findings.md").read_text().startswith("No data set")


def test_failing_notebook_writes_nothing(tmp_path, monkeypatch):
    shutil.copytree(paths.NOTEBOOKS, tmp_path / "notebooks")
    nb = nbformat.read(tmp_path / "notebooks" / "rq1-required-ce.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('broken figure')"))
    nbformat.write(nb, tmp_path / "notebooks" / "rq1-required-ce.ipynb")
    monkeypatch.setattr(paths, "NOTEBOOKS", tmp_path / "notebooks")
    monkeypatch.setattr(paths, "BOOK_RESULTS", tmp_path / "book")
    import papermill

    with pytest.raises(papermill.PapermillExecutionError, match="broken figure"):
        runner.run("smoke", "sylva", "rq1,rq2", {**TINY, "jobs": 2}, audit=False)
    assert not (tmp_path / "book" / "rq1" / "sylva.ipynb").exists()
    assert not list((tmp_path / "book" / "rq1").glob("*"))
    # the notebook executed beside it, in its own kernel, is finished and whole
    assert nbformat.read(tmp_path / "book" / "rq2" / "sylva.ipynb", as_version=4).metadata["ceimb"]


def test_book_build_fails_on_a_failing_notebook(tmp_path):
    shutil.copy(paths.ROOT / "_config.yml", tmp_path / "_config.yml")
    shutil.copytree(paths.ROOT / "_ext", tmp_path / "_ext")  # the configuration's local extension
    (tmp_path / "intro.md").write_text("# Intro\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Broken"),
                                         nbformat.v4.new_code_cell("1 / 0")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "broken.ipynb")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: broken\n")
    jb = str(paths.ROOT / ".venv" / "bin" / "jupyter-book")
    jb = jb if shutil.which(jb) else shutil.which("jupyter-book")
    done = subprocess.run([jb, "build", str(tmp_path), "--all", "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    assert "ZeroDivisionError" in done.stdout + done.stderr


def test_the_command_line_names_every_profile_question_and_method():
    help_text = subprocess.run([sys.executable, "-m", "ceimb_utils", "run", "--help"], capture_output=True,
                               text=True, cwd=paths.ROOT, check=True).stdout
    listed = subprocess.run([sys.executable, "-m", "ceimb_utils", "list"], capture_output=True, text=True,
                            cwd=paths.ROOT, check=True).stdout
    flat = " ".join(help_text.split())
    assert all(p in flat for p in profile_names()) and "quick (default)" in flat
    assert all(q in flat for q in QUESTIONS)
    assert all(m in listed for m in METHODS)


def test_the_methods_page_profile_table_is_read_from_the_profiles(tmp_path, monkeypatch):
    from ceimb_utils.config import load_profile

    monkeypatch.setattr(paths, "BOOK_RESULTS", tmp_path)
    text = runner.write_profile_table().read_text()
    assert text.count("\n") == 2 + len(runner.BOOK_PROFILES)
    quick = load_profile("quick")
    row = next(line for line in text.splitlines() if line.startswith("| `quick`"))
    assert f"{quick['tabular']['splits']} stratified splits" in row
    assert f"({', '.join(map(str, quick['image']['seeds']))}) of a {quick['image']['epochs']}-epoch" in row
    assert f"{quick['metrics']['latent_permutations']} permutations (claim 9)" in row


@pytest.mark.parametrize("message", [runner.KERNEL_DIED, "Kernel didn't respond in 60 seconds"])
def test_a_kernel_that_dies_before_its_first_reply_is_started_again_and_other_errors_are_not(tmp_path, monkeypatch,
                                                                                            message):
    """The port race: a kernel dies binding a port another process took, and jupyter_client says
    so in one of two ways (a CI run met the second: "Address already in use", then a 60 s wait)."""
    import papermill

    calls = []

    def flaky(source, out, **kwargs):  # the port race: the kernel dies once, then starts
        calls.append(out)
        if len(calls) == 1:
            raise RuntimeError(message)
        Path(out).write_text("{}")

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    monkeypatch.setattr(runner, "_stamp", lambda *args: None)
    out = tmp_path / "page.ipynb"
    assert runner._execute_one(QUESTION_INFO["rq1"], {}, out, "t", None, {}) == out
    assert len(calls) == 2 and out.read_text() == "{}"

    def broken(source, out, **kwargs):
        calls.append(out)
        raise RuntimeError("a cell failed")

    monkeypatch.setattr(papermill, "execute_notebook", broken)
    calls.clear()
    with pytest.raises(RuntimeError, match="a cell failed"):
        runner._execute_one(QUESTION_INFO["rq1"], {}, tmp_path / "other.ipynb", "t", None, {})
    assert len(calls) == 1 and not (tmp_path / "other.ipynb").exists()


def test_the_kernels_get_the_folders_as_absolute_paths_and_the_environment_is_restored(tmp_path, monkeypatch):
    """A kernel runs in its notebook's folder: a relative CEIMB_RESULTS would there name another
    cache than the one the command trained into."""
    import os

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CEIMB_RESULTS", "cache")
    monkeypatch.delenv("CEIMB_DATA", raising=False)
    monkeypatch.setenv("CEIMB_PROGRESS", "1")
    with runner.kernel_environment():
        assert os.environ["CEIMB_RESULTS"] == str(tmp_path / "cache")
        assert "CEIMB_DATA" not in os.environ and os.environ["CEIMB_PROGRESS"] == "0"
    assert os.environ["CEIMB_RESULTS"] == "cache" and os.environ["CEIMB_PROGRESS"] == "1"

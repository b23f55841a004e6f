"""The run cache: keyed, atomic, never recomputes a finished run, recomputes a damaged one."""
import ast
import json
import os
import shutil

import pandas as pd
import pytest

from ceimb_utils import paths
from ceimb_utils.files import atomic_path
from ceimb_utils.pipeline import cache as cache_module
from ceimb_utils.pipeline.cache import RunCache, run_key

CONFIG = {"dataset": "toy", "model": "lg", "method": "base", "split": 0, "data": {"a": 1}}


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self, writer):
        self.calls += 1
        writer.table("classes", pd.DataFrame({"x": [1, 2, 3]}))
        writer.arrays("ce_test", ce=[[1.0, 2.0]])
        return {"balanced_accuracy": 0.5}


def test_key_depends_on_every_config_value():
    assert run_key(CONFIG) == run_key(dict(CONFIG))
    assert run_key(CONFIG) != run_key({**CONFIG, "data": {"a": 2}})
    assert run_key(CONFIG) != run_key({**CONFIG, "split": 1})


@pytest.mark.parametrize("stage", cache_module.STAGES)
def test_key_depends_on_compute_code(monkeypatch, stage):
    before = run_key(CONFIG), cache_module.model_key(CONFIG)
    real = cache_module.code_fingerprint
    monkeypatch.setattr(cache_module, "code_fingerprint", lambda s=cache_module.TRAIN: "edited" if s == stage else real(s))
    assert run_key(CONFIG) != before[0]
    assert (cache_module.model_key(CONFIG) != before[1]) == (stage == cache_module.TRAIN)


def test_metric_settings_key_the_analysis_not_the_model():
    other = {**CONFIG, "metrics": {"topk": 5}}
    assert cache_module.model_key(other) == cache_module.model_key({**CONFIG, "metrics": {"topk": 10}})
    assert run_key(other) != run_key({**CONFIG, "metrics": {"topk": 10}})


def _edited_copy(tmp_path, module: str, line: str = "_EDITED = 1"):
    """A copy of the package in which ``module`` gained one line of code."""
    copy = tmp_path / "pkg"
    shutil.copytree(paths.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / module, "a") as fh:
        fh.write(f"\n{line}\n")
    return copy


def _modules():
    return sorted(p.relative_to(paths.PACKAGE).as_posix() for p in paths.PACKAGE.rglob("*.py")
                  if "__pycache__" not in p.parts)


def _fingerprints(package=paths.PACKAGE):
    return {stage: cache_module.code_fingerprint(stage, package) for stage in cache_module.STAGES}


def test_fingerprint_of_a_copy_is_the_fingerprint_of_the_package(tmp_path):
    copy = tmp_path / "pkg"
    shutil.copytree(paths.PACKAGE, copy)
    assert _fingerprints(copy) == _fingerprints()


@pytest.mark.parametrize("module", [m for m in _modules() if not cache_module.presentation_only(m)])
def test_editing_a_result_module_changes_the_fingerprint_of_its_stages(tmp_path, module):
    edited = _fingerprints(_edited_copy(tmp_path, module))
    changed = {stage for stage in cache_module.STAGES if edited[stage] != _fingerprints()[stage]}
    assert changed == set(cache_module.stage_of(module))


def test_the_metrics_are_measured_and_the_training_trained():
    assert cache_module.stage_of("ce/metrics.py") == (cache_module.MEASURE,)
    assert cache_module.stage_of("models/train_cnn.py") == (cache_module.TRAIN,)
    assert set(cache_module.stage_of("ce/extraction.py")) == set(cache_module.STAGES)  # EOS and DSM extract
    for name in cache_module.MEASURE_ONLY + cache_module.SHARED:
        assert name in _modules()


@pytest.mark.parametrize("entry", sorted(cache_module.PRESENTATION_ONLY))
def test_every_presentation_entry_names_modules(entry):
    assert any(cache_module.presentation_only(m) and m.startswith(entry) for m in _modules()), (
        f"PRESENTATION_ONLY names {entry}, which the package no longer has")


@pytest.mark.parametrize("module", [m for m in _modules() if cache_module.presentation_only(m)])
def test_editing_a_presentation_module_keeps_the_fingerprint(tmp_path, module):
    assert _fingerprints(_edited_copy(tmp_path, module)) == _fingerprints()


def _reworded(source: str) -> str:
    """``source`` with every docstring and comment reworded, the code left as it is."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    for node in ast.walk(tree):
        doc = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and ast.get_docstring(node) is not None:
            first = doc[0].lineno - 1
            lines[first] = lines[first].replace('"""', '"""Reworded. ', 1)
    return "".join(line.replace("# ", "# reworded: ", 1) if line.lstrip().startswith("# ") else line
                   for line in lines)


def test_rewording_docstrings_and_comments_keeps_the_fingerprint(tmp_path):
    """A docstring fix in a training module recomputes nobody's cache (CEResult.scores's was one)."""
    copy = tmp_path / "pkg"
    shutil.copytree(paths.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    changed = 0
    for name in ("ce/extraction.py", "ce/metrics.py", "models/train_cnn.py"):
        before = (copy / name).read_text()
        (copy / name).write_text(_reworded(before))
        changed += (copy / name).read_text() != before
    assert changed == 3
    assert _fingerprints(copy) == _fingerprints()


def test_a_changed_constant_or_operator_changes_the_code():
    source = "TOLERANCE = 1e-9  # why\nSCALE = 2 * TOLERANCE\n"
    assert cache_module.code_of(source) == cache_module.code_of(source.replace("# why", "# because"))
    assert cache_module.code_of(source) != cache_module.code_of(source.replace("1e-9", "1e-8"))
    assert cache_module.code_of(source) != cache_module.code_of(source.replace("2 *", "2 /"))


def test_rewording_an_error_message_keeps_the_code():
    """A message's wording cannot reach a cached number (the run stops); what raises it can."""
    source = ('def load(name, folder):\n'
              '    if not folder.exists():\n'
              '        raise DataNotFoundError(f"Data set {name!r} not found: put it in {folder}.") from None\n'
              '    return folder\n')
    code = cache_module.code_of(source)
    assert code == cache_module.code_of(source.replace("put it in {folder}", "copy it to {folder / name}"))
    assert code != cache_module.code_of(source.replace("DataNotFoundError", "ConfigError"))
    assert code != cache_module.code_of(source.replace("not folder.exists()", "folder.exists()"))
    assert code != cache_module.code_of(source.replace("return folder", "return name"))
    assert code != cache_module.code_of(source.replace("from None", "from err"))


def test_a_module_that_is_only_a_docstring_keeps_a_body():
    assert cache_module.code_of('"""Only words."""\n') == cache_module.code_of('"""Other words."""\n')
    assert cache_module.code_of('"""Only words."""\n') != cache_module.code_of('"""Words."""\nX = 1\n')


def test_a_new_module_enters_the_fingerprint(tmp_path):
    copy = tmp_path / "pkg"
    shutil.copytree(paths.PACKAGE, copy)
    (copy / "models").mkdir(exist_ok=True)
    (copy / "models" / "new_loss.py").write_text("SCALE = 30\n")
    assert cache_module.code_fingerprint(cache_module.TRAIN, copy) != cache_module.code_fingerprint()


def test_image_runs_is_in_the_fingerprint():
    """The module issue 12 found missing from the old hand-kept list."""
    assert "pipeline/image_runs.py" in _modules() and not cache_module.presentation_only("pipeline/image_runs.py")


def test_fingerprint_is_computed_once_per_process():
    cache_module.code_fingerprint()
    before = cache_module.code_fingerprint.cache_info()
    for split in range(20):
        run_key({**CONFIG, "split": split})
    after = cache_module.code_fingerprint.cache_info()
    assert after.misses == before.misses and after.hits == before.hits + 2 * 20  # one per stage


def test_finished_run_is_not_recomputed(tmp_path):
    cache, compute = RunCache(tmp_path), Counter()
    first = cache.get_or_compute(CONFIG, compute)
    second = cache.get_or_compute(CONFIG, compute)
    assert compute.calls == 1 and first.path == second.path
    assert second.table("classes")["x"].tolist() == [1, 2, 3]
    assert second.record["balanced_accuracy"] == 0.5 and second.record["config"] == CONFIG
    assert set(second.record["checksums"]) == {"classes.parquet", "ce_test.npz"}


def test_failed_run_leaves_nothing_that_looks_finished(tmp_path):
    cache = RunCache(tmp_path)

    def crash(writer):
        writer.table("classes", pd.DataFrame({"x": [1]}))
        raise KeyboardInterrupt  # a kill mid-run

    with pytest.raises(KeyboardInterrupt):
        cache.get_or_compute(CONFIG, crash)
    assert cache.load(CONFIG) is None
    assert not any(p.name.startswith(".tmp") for p in (tmp_path / "toy").iterdir())


def test_killed_process_leftovers_are_pruned(tmp_path):
    cache = RunCache(tmp_path)
    import socket

    leftover = tmp_path / "toy" / f".tmp@run@{socket.gethostname()}@999999@abc"
    leftover.mkdir(parents=True)
    (leftover / "classes.parquet").write_text("half")
    alive = tmp_path / "toy" / f".tmp@run@{socket.gethostname()}@{os.getpid()}@abc"
    alive.mkdir()
    assert cache.prune_partial() == 1
    assert not leftover.exists() and alive.exists()


@pytest.mark.parametrize("damage", ["truncate", "delete", "record"])
def test_damaged_run_is_detected_and_recomputed(tmp_path, damage):
    cache, compute = RunCache(tmp_path), Counter()
    run = cache.get_or_compute(CONFIG, compute)
    if damage == "truncate":
        (run.path / "classes.parquet").write_bytes(b"PAR1")
    elif damage == "delete":
        (run.path / "ce_test.npz").unlink()
    else:
        (run.path / "record.json").write_text("{not json")
    assert cache.load(CONFIG) is None
    again = cache.get_or_compute(CONFIG, compute)
    assert compute.calls == 2 and again.table("classes")["x"].tolist() == [1, 2, 3]


def test_concurrent_finish_keeps_the_first(tmp_path):
    cache = RunCache(tmp_path)
    other = RunCache(tmp_path)

    def racing(writer):
        # another worker finishes the same run while this one is still computing
        other.get_or_compute(CONFIG, Counter())
        return Counter()(writer)

    run = cache.get_or_compute(CONFIG, racing)
    siblings = [p for p in (tmp_path / "toy").iterdir()]
    assert siblings == [run.path]
    assert json.loads((run.path / "record.json").read_text())["key"] == run_key(CONFIG)


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_the_reproduce_page_names_every_measure_and_shared_module():
    """book/reproduce.md lists the modules of each stage; a module added to a tuple must be named there."""
    page = (paths.BOOK / "reproduce.md").read_text()
    missing = [m for m in cache_module.MEASURE_ONLY + cache_module.SHARED if f"`{m}`" not in page]
    assert not missing, f"book/reproduce.md does not name {missing}"

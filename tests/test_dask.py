"""The Dask executor: same numbers as in-process, failures reported, lost workers redone."""
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ceimb_utils.config import load_profile, resolve_dataset
from ceimb_utils.errors import ConfigError
from ceimb_utils.pipeline.cache import RunCache
from ceimb_utils.pipeline.dask_executor import DaskExecutor
from ceimb_utils.pipeline.executors import InProcessExecutor, expand
from ceimb_utils.pipeline.runs import Context, RunPlan, run_configs
from ceimb_utils.pipeline.study import SweepError, ensure_runs

OVERRIDES = {"threads": 1, "tabular.models": ["lg", "svm"], "tabular.methods": ["base", "remix"], "tabular.splits": 1,
             "tabular.interventions": [], "image.interventions": [],
             "image.methods": ["base", "eos", "dsm"], "image.epochs": 1, "image.n_max": 40, "image.ratio": 10,
             "image.test_per_class": 8, "metrics.resamples": 10}
DATASETS = ["sylva", "fashion-lt"]


@pytest.fixture(scope="module")
def cluster():
    executor = DaskExecutor.from_spec("local:2")
    yield executor
    executor.close()


def grid(cfg):
    return expand([rc for ds in DATASETS for rc in run_configs(resolve_dataset(cfg, ds))])


def test_cluster_results_equal_in_process(tmp_path, cluster):
    cfg = load_profile("smoke", OVERRIDES)
    local = Context(results_dir=str(tmp_path / "local"), progress=False)
    remote = Context(results_dir=str(tmp_path / "dask"), progress=False)
    ensure_runs(RunPlan.of(cfg, DATASETS), InProcessExecutor(1), local)
    outcomes = ensure_runs(RunPlan.of(cfg, DATASETS), cluster, remote)
    assert len(outcomes) == len(grid(cfg)) == 4 + 3
    for rc in grid(cfg):
        a, b = local.cache().load(rc), remote.cache().load(rc)
        assert a is not None and b is not None
        for name in ("classes", "instances", "frequency", "spearman"):
            pd.testing.assert_frame_equal(a.table(name), b.table(name))
        np.testing.assert_array_equal(a.arrays("ce_test")["features"], b.arrays("ce_test")["features"])
    assert len(list((tmp_path / "dask").glob("runs/*/*/record.json"))) == len(grid(cfg))


def test_failed_run_is_reported_and_others_carry_on(tmp_path, cluster):
    # 40 rows of sylva leave too few minority rows for SMOTE; the base runs still finish
    cfg = load_profile("smoke", {"tabular.max_rows": 40, "tabular.methods": ["base", "smote"],
                                 "tabular.interventions": [], "tabular.models": ["lg"], "tabular.splits": 1})
    for name, executor in (("local", InProcessExecutor(2)), ("dask", cluster)):  # 2: through the worker pool
        context = Context(results_dir=str(tmp_path / name), progress=False)
        with pytest.raises(SweepError) as err:
            ensure_runs(RunPlan.of(cfg, ["sylva"]), executor, context)
        lines = str(err.value).splitlines()  # one line per failed run, then the log of tracebacks
        assert lines[0] == "1 of 2 runs failed:" and len(lines) == 3
        assert lines[1].startswith("sylva lg smote split 0: ValueError: ") and "at least 2 minority rows" in lines[1]
        log = Path(lines[2].removeprefix("Their tracebacks: "))
        assert log.parent == tmp_path / name / "logs" and not list(log.parent.glob(".*tmp*"))
        assert "Traceback" in log.read_text() and '"method": "smote"' in log.read_text()
        base = [rc for rc in run_configs(resolve_dataset(cfg, "sylva")) if rc["method"] == "base"][0]
        assert context.cache().load(base) is not None


def test_lost_worker_run_is_redone_once(tmp_path):
    cfg = load_profile("smoke", {**OVERRIDES, "image.epochs": 6, "image.methods": ["base", "remix"]})
    context = Context(results_dir=str(tmp_path), progress=False)
    executor = DaskExecutor.from_spec("local:2")
    try:
        done = {}
        sweep = threading.Thread(target=lambda: done.setdefault("outcomes", executor.run(
            [rc for rc in run_configs(resolve_dataset(cfg, "fashion-lt"))], context)))
        sweep.start()
        # a run is under way once its private directory exists; its name carries the worker's pid
        deadline, partial = time.time() + 120, []
        while time.time() < deadline and not partial:
            partial = list((tmp_path / "runs" / "fashion-lt").glob(".tmp@*"))
            time.sleep(0.1)
        assert partial, "no run started"
        time.sleep(0.5)
        os.kill(int(partial[0].name.split("@")[3]), signal.SIGKILL)
        sweep.join(timeout=600)
        outcomes = done["outcomes"]
    finally:
        executor.close()
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    finished = list((tmp_path / "runs" / "fashion-lt").glob("*/record.json"))
    assert len(finished) == len(run_configs(resolve_dataset(cfg, "fashion-lt"))) == 2  # nothing lost, nothing twice
    cache = RunCache(tmp_path / "runs")
    assert all(cache.load(rc) is not None for rc in run_configs(resolve_dataset(cfg, "fashion-lt")))
    assert list((tmp_path / "runs" / "fashion-lt").glob(".tmp@*")), "the killed run left its partial directory"
    assert cache.prune_partial() >= 1
    assert not list((tmp_path / "runs" / "fashion-lt").glob(".tmp@*"))
    # a rerun finds everything and computes nothing
    again = InProcessExecutor(1).run(run_configs(resolve_dataset(cfg, "fashion-lt")), context)
    assert [o.path for o in again] == [o.path for o in outcomes]


def test_network_trainings_are_dispatched_first():
    from ceimb_utils.pipeline.executors import expand, longest_first
    from ceimb_utils.pipeline.runs import dependencies

    cfg = load_profile("smoke")
    grid = expand([rc for ds in ("sylva", "fashion-lt") for rc in run_configs(resolve_dataset(cfg, ds))])
    first_wave = [c for c in grid if not dependencies(c)]
    ordered = longest_first(first_wave)
    n_train = sum(c["kind"] == "image" for c in first_wave)
    assert n_train == 2 and all(c["kind"] == "image" for c in ordered[:n_train])
    assert [c for c in ordered if c["kind"] == "tabular"] == [c for c in first_wave if c["kind"] == "tabular"]


def test_a_rehead_starts_as_soon_as_its_base_is_done(tmp_path, monkeypatch):
    from ceimb_utils.pipeline import executors
    from ceimb_utils.pipeline.runs import dependencies

    cfg = load_profile("smoke")
    grid = [rc for ds in ("sylva", "fashion-lt") for rc in run_configs(resolve_dataset(cfg, ds))]
    order = []

    def record(run_config, context):
        order.append(run_config)
        return executors.Outcome(dict(run_config), True, "here")

    monkeypatch.setattr(executors, "run_one", record)
    outcomes = InProcessExecutor(1).run(grid, Context(results_dir=str(tmp_path), progress=False))
    assert all(o.ok for o in outcomes) and len(order) == len(grid)
    first_tabular = next(i for i, c in enumerate(order) if c["kind"] == "tabular")
    reheads = [i for i, c in enumerate(order) if dependencies(c)]
    base = next(i for i, c in enumerate(order) if c["kind"] == "image" and c["method"] == "base")
    assert reheads and all(base < i < first_tabular for i in reheads)


def test_every_training_starts_before_the_reheads_it_does_not_feed(tmp_path, monkeypatch):
    """Three seeds, one worker: the re-heads released by the first base network wait for the
    trainings still queued, so the sweep never ends on a training alone."""
    from ceimb_utils.pipeline import executors
    from ceimb_utils.pipeline.runs import dependencies

    cfg = load_profile("smoke", {"image.seeds": [0, 10, 100]})
    grid = run_configs(resolve_dataset(cfg, "fashion-lt"))
    order = []

    def record(run_config, context):
        order.append(run_config)
        return executors.Outcome(dict(run_config), True, "here")

    monkeypatch.setattr(executors, "run_one", record)
    InProcessExecutor(1).run(grid, Context(results_dir=str(tmp_path), progress=False))
    trainings = [i for i, c in enumerate(order) if not dependencies(c)]
    assert len(trainings) == 6 and max(trainings) < min(i for i, c in enumerate(order) if dependencies(c))


def test_a_cluster_is_joined_only_for_a_sweep_whose_inputs_are_valid(isolated_results, monkeypatch, capsys):
    """An unknown data set is refused before the scheduler is contacted (it was reached first,
    and an unreachable one gave a 30 s wait and a traceback); an unreadable spec is refused
    before anything; an unreachable scheduler is one sentence."""
    from ceimb_utils.__main__ import main

    def never(spec):
        raise AssertionError("the cluster was contacted before the inputs were checked")

    monkeypatch.setattr(DaskExecutor, "from_spec", classmethod(lambda cls, spec: never(spec)))
    args = ["run", "--profile", "smoke", "--datasets", "nosuchset", "--no-notebooks", "--cluster", "tcp://127.0.0.1:1"]
    assert main(args) == 2
    assert "Unknown data set 'nosuchset'" in capsys.readouterr().err
    assert main(["run", "--profile", "smoke", "--no-notebooks", "--cluster", "local:0"]) == 2
    assert "Unknown cluster 'local:0'" in capsys.readouterr().err
    assert not (isolated_results / "runs").exists()


def test_an_unreachable_scheduler_is_refused_in_one_sentence(monkeypatch):
    import dask.distributed

    def unreachable(address, timeout=None):
        raise OSError(f"Timed out trying to connect to {address} after {timeout}")

    monkeypatch.setattr(dask.distributed, "Client", unreachable)
    with pytest.raises(ConfigError, match=r"No Dask scheduler answered at tcp://127\.0\.0\.1:1 within 30 s"):
        DaskExecutor.from_spec("tcp://127.0.0.1:1")

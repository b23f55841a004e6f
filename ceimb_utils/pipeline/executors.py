"""How the runs of a sweep are carried out: the one seam between the grid and the machines.

``InProcessExecutor`` (the default) runs ``jobs`` runs at once in loky processes, a run that
needs another (EOS, DSM, tau-norm) as soon as that one is finished; ``DaskExecutor`` submits every run to a ``dask.distributed`` cluster.
Both return one ``Outcome`` per run: a failing run is reported (one line, its traceback in a log
file) while the others carry on.
"""
from __future__ import annotations

import json
import time
import traceback
import uuid
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from joblib.externals.loky import get_reusable_executor

from ..files import atomic_path
from ..progress import bar
from .cache import run_key
from .runs import Context, dependencies, execute


@dataclass
class Outcome:
    config: dict
    ok: bool
    path: str | None = None
    error: str | None = None  # the traceback (or what the executor knows)
    message: str | None = None  # the error's message, for one line

    @property
    def where(self) -> str:
        cfg = self.config
        return f"{cfg['dataset']} {cfg['model']} {cfg['method']} " + (
            f"split {cfg['split']}" if "split" in cfg else f"seed {cfg['seed']}")

    def describe(self) -> str:
        """One line: the run, and for a failed one the error's message."""
        if self.ok:
            return self.where
        lines = (self.error or "").strip().splitlines()
        text = self.message or (lines[-1] if lines else "failed")
        return f"{self.where}: {' '.join(text.split())}"


def failure(run_config: Mapping[str, Any], err: BaseException) -> Outcome:
    """The outcome of a run that raised ``err`` (called inside its ``except``)."""
    return Outcome(dict(run_config), False, error=traceback.format_exc(), message=f"{type(err).__name__}: {err}")


def blocked_by(run_config: Mapping[str, Any], dependency: Outcome) -> Outcome:
    """The outcome of a run whose dependency failed (it was not started)."""
    message = f"not started: the run it depends on failed ({dependency.describe()})"
    return Outcome(dict(run_config), False, error=message, message=message)


def write_failure_log(outcomes: Sequence[Outcome], results_dir: Path) -> Path:
    """The tracebacks of failed runs, each with its config, in a new file under
    ``<results>/logs/`` (written atomically); returns its path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(results_dir) / "logs" / f"failed-runs-{stamp}-{uuid.uuid4().hex[:6]}.log"
    parts = [f"{o.describe()}\nconfig: {json.dumps(o.config, sort_keys=True)}\n{o.error or ''}".rstrip()
             for o in outcomes if not o.ok]
    with atomic_path(path) as tmp:
        tmp.write_text("\n\n".join(parts) + "\n")
    return path


def expand(configs: Iterable[Mapping[str, Any]]) -> list[dict]:
    """The configs plus every dependency they need, each once, dependencies first."""
    seen: dict[str, dict] = {}
    for cfg in configs:
        for dep in dependencies(cfg):
            seen.setdefault(run_key(dep), dict(dep))
    for cfg in configs:
        seen.setdefault(run_key(cfg), dict(cfg))
    return sorted(seen.values(), key=lambda c: bool(dependencies(c)))


def longest_first(configs: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Network trainings first, then everything else in grid order: with a few workers, the
    long runs overlap each other and the short ones fill in after, instead of one long run
    starting last."""
    return sorted(configs, key=lambda c: not (c["kind"] == "image" and not dependencies(c) and "checkpoint" not in c))


def run_one(run_config: Mapping[str, Any], context: Context) -> Outcome:
    try:
        run = execute(run_config, context)
        return Outcome(dict(run_config), True, str(run.path))
    except Exception as err:  # reported with its traceback; the sweep carries on
        return failure(run_config, err)


def _blocked(cfg: dict, outcomes: Mapping[str, Outcome]) -> Outcome | None:
    broken = [outcomes[run_key(d)] for d in dependencies(cfg) if not outcomes[run_key(d)].ok]
    return blocked_by(cfg, broken[0]) if broken else None


class InProcessExecutor:
    """``jobs`` runs at once in loky worker processes (in this process when ``jobs`` is 1).

    A run that needs another (EOS, DSM, tau-norm need the base network) starts as soon as that
    one is finished and the trainings queued have started, ahead of the other runs still queued,
    so a re-head never waits for the whole grid and no training starts last.
    """

    def __init__(self, jobs: int = 1):
        self.jobs = max(1, int(jobs))

    def run(self, configs: Iterable[Mapping[str, Any]], context: Context) -> list[Outcome]:
        todo = expand(configs)
        cache = context.cache()
        outcomes: dict[str, Outcome] = {}
        progress = bar(total=len(todo), desc="runs", unit="run", **({} if context.progress else {"disable": True}))
        pending = []
        for cfg in todo:
            found = cache.load(cfg)
            if found is not None:
                outcomes[run_key(cfg)] = Outcome(cfg, True, str(found.path))
                progress.update()
            else:
                pending.append(cfg)
        ready = longest_first([c for c in pending if not dependencies(c)])
        waiting = [c for c in pending if dependencies(c)]

        def finish(outcome: Outcome) -> None:
            outcomes[run_key(outcome.config)] = outcome
            progress.update()

        def release() -> None:
            released = []
            for cfg in [c for c in waiting if all(run_key(d) in outcomes for d in dependencies(c))]:
                waiting.remove(cfg)
                blocked = _blocked(cfg, outcomes)
                if blocked is not None:
                    finish(blocked)
                else:
                    released.append(cfg)
            # ahead of the queue, in grid order, but behind the trainings still queued: a training
            # that starts last runs alone on one worker while the other idles
            ready[:] = longest_first(released + ready)

        pool = get_reusable_executor(max_workers=self.jobs) if self.jobs > 1 and len(pending) > 1 else None
        running: dict = {}
        release()
        while ready or running:
            while ready and len(running) < self.jobs:
                cfg = ready.pop(0)
                if pool is None:
                    finish(run_one(cfg, context))
                    release()
                else:
                    running[pool.submit(run_one, cfg, context)] = cfg
            if running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    running.pop(future)
                    finish(future.result())
                release()
        progress.close()
        return [outcomes[run_key(c)] for c in todo]

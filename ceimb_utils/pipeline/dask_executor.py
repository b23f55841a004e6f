"""Run a sweep's grid on a ``dask.distributed`` cluster.

Every run is one task. Workers compute it and write it into the run cache themselves, so the
results directory must be storage that the client and every worker see at the same path (a
shared file system on a real cluster). The cache's atomic rename makes each run land exactly
once, even when a run is computed twice because its worker was lost. Runs that need another
run (EOS and DSM need the base network) are submitted with that run's task as a dependency.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..errors import ConfigError
from ..progress import bar
from .cache import run_key
from .executors import Outcome, blocked_by, expand, run_one
from .runs import Context, dependencies

CONNECT_TIMEOUT_S = 30  # how long joining a scheduler may take before the sweep is refused


def _after(run_config: Mapping[str, Any], context: Context, *needed: Outcome) -> Outcome:
    broken = [o for o in needed if not o.ok]
    if broken:
        return blocked_by(run_config, broken[0])
    return run_one(run_config, context)


class DaskExecutor:
    def __init__(self, client, cluster=None):
        self.client, self.cluster = client, cluster

    @classmethod
    def from_spec(cls, spec: str) -> "DaskExecutor":
        """``local:N`` starts a LocalCluster of N worker processes; ``tcp://host:port`` joins a scheduler."""
        cls.check_spec(spec)
        from dask.distributed import Client, LocalCluster

        if spec.startswith("local:"):
            cluster = LocalCluster(n_workers=int(spec[6:]), threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
            return cls(Client(cluster), cluster)
        try:
            return cls(Client(spec, timeout=f"{CONNECT_TIMEOUT_S}s"))
        except OSError as err:  # distributed's connect timeout is an OSError
            raise ConfigError(f"No Dask scheduler answered at {spec} within {CONNECT_TIMEOUT_S} s; start one "
                              "(`.venv/bin/dask scheduler`) or check the address.") from err

    @staticmethod
    def check_spec(spec: str) -> None:
        """Refuse a cluster that ``from_spec`` cannot read, without starting or joining one."""
        if not ((spec.startswith("local:") and spec[6:].isdigit() and int(spec[6:]) > 0)
                or spec.startswith(("tcp://", "tls://"))):
            raise ConfigError(f"Unknown cluster {spec!r}; use local:N (N worker processes) or tcp://host:port.")

    def run(self, configs: Iterable[Mapping[str, Any]], context: Context) -> list[Outcome]:
        from dask.distributed import as_completed

        todo = expand(configs)
        self._warn_oversubscription(todo)
        cache = context.cache()
        outcomes: dict[str, Outcome] = {}
        futures = {}
        for cfg in todo:  # dependencies come first, so their futures exist when needed
            key = run_key(cfg)
            found = cache.load(cfg)
            if found is not None:
                outcomes[key] = Outcome(cfg, True, str(found.path))
                continue
            needed = [futures[run_key(d)] for d in dependencies(cfg) if run_key(d) in futures]
            futures[key] = self.client.submit(_after, cfg, context, *needed, key=f"ceimb-run-{key[:24]}", pure=False)
        progress = bar(total=len(todo), initial=len(outcomes), desc="runs", unit="run",
                       **({} if context.progress else {"disable": True}))
        by_future = {f.key: k for k, f in futures.items()}
        for future in as_completed(list(futures.values())):
            key = by_future[future.key]
            try:
                outcomes[key] = future.result()
            except Exception as err:  # e.g. KilledWorker: the run's worker died too often
                cfg = next(c for c in todo if run_key(c) == key)
                outcomes[key] = Outcome(cfg, False, error=f"{type(err).__name__}: {err}",
                                        message=f"{type(err).__name__}: {err}")
            progress.update()
        progress.close()
        return [outcomes[run_key(c)] for c in todo]

    def _warn_oversubscription(self, configs) -> None:
        """Two multi-threaded trainings on too few cores run several times slower than one after
        the other (OpenMP threads fight over the cores): say so before starting."""
        import os
        import sys

        if self.cluster is None or not configs:
            return
        workers = len(self.client.scheduler_info().get("workers", {}))
        threads = max(int(c.get("threads", 1)) for c in configs)
        cores = os.cpu_count() or 1
        if workers * threads > cores:
            print(f"warning: {workers} workers x {threads} threads per run oversubscribe {cores} cores; "
                  "use --set threads=1 or fewer workers.", file=sys.stderr)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

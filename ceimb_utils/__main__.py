"""Command line: ceimb run --profile quick [--datasets a,b] [--questions rq1,...]
(or python -m ceimb_utils run ...)."""
from __future__ import annotations

import argparse
import functools
import sys


from .config import parse_value, profile_names
from .methods import FAMILIES, METHODS
from .questions import QUESTION_INFO, QUESTIONS


def _overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: --set takes key=value (e.g. image.epochs=5), got {pair!r}.")
        out[key.strip()] = parse_value(value)
    return out


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser: ``run``, ``list``, ``health``, ``golden`` and ``examples``
    (the book's API page prints its help)."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="ceimb", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ceimb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="compute a profile's runs and execute the notebooks into book/results")
    profiles = ", ".join(f"{p} (default)" if p == "quick" else p for p in profile_names()) + (
        ", or the path of a profile file of yours (README: Your own data)")
    run.add_argument("--profile", default="quick", help=profiles)
    run.add_argument("--datasets", help="comma-separated data sets (default: the profile's)")
    run.add_argument("--questions", help="comma-separated questions: " + ", ".join(
        f"{q.name} ({q.title.split(': ')[-1]})" for q in QUESTION_INFO.values()))
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a configuration key, e.g. --set image.epochs=5 --set data_dir=/data")
    run.add_argument("--cluster", help="local:N (a LocalCluster of N workers) or tcp://host:port")
    run.add_argument("--no-notebooks", action="store_true", help="only fill the run cache")
    sub.add_parser("list", help="profiles, data sets, methods and questions")
    health = sub.add_parser("health", help="did each cached model learn? (train/test balanced accuracy, "
                            "zero-recall classes, final loss)")
    health.add_argument("--profile", default="quick", help=profiles)
    health.add_argument("--datasets", help="comma-separated data sets (default: the profile's)")
    health.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="as for run")
    health.add_argument("--json", action="store_true", help="one JSON object per run, then one per target of the profile (with a 'target' key)")
    sub.add_parser("golden", help="regenerate tests/golden (smoke profile; run on CPU in the locked environment)")
    sub.add_parser("examples", help="write the example data sets of examples/own-data.yaml into the data dir "
                   "(from files that ship with scikit-learn)")
    return parser


def main(argv=None) -> int:
    """Runs the command ``argv`` names (default: the process's arguments) and returns its exit
    code, 0 when it is done; a bad input is refused with one sentence on stderr before any work
    starts."""
    args = build_parser().parse_args(argv)

    from .config import ConfigError
    from .datasets import DATASETS
    from .errors import DataNotFoundError
    from .pipeline.study import SweepError, run_command

    if args.command == "list":
        print("profiles:", ", ".join(profile_names()))
        print("data sets:", ", ".join(f"{n} ({s.kind}{', offline' if s.offline else ''})" for n, s in DATASETS.items()))
        for family in FAMILIES:
            print(f"{family} methods:", ", ".join(f"{m.name} ({'/'.join(m.kinds)})" for m in METHODS.values()
                                                  if m.family == family))
        print("questions:", ", ".join(QUESTIONS))
        return 0
    if args.command == "health":
        from .config import check_names, load_profile
        from .report.health import any_target, as_json_lines, health, target_checks

        try:
            datasets = [d for d in args.datasets.split(",") if d] if args.datasets else None
            wanted = load_profile(args.profile, _overrides(args.set))["targets"]  # a profile file's own data sets first
            if datasets:
                check_names("health", datasets, list(DATASETS), "data set")
            table, missing = health(args.profile, datasets, _overrides(args.set))
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        for name in missing:
            print(f"note: {name} has runs missing from the cache; run "
                  f"`{run_command(args.profile, [name], _overrides(args.set))}` first.", file=sys.stderr)
        targets = target_checks(table, wanted)
        if any_target(wanted) and not len(targets):
            print(f"note: the {args.profile} profile's targets are not checked: no cached image runs.", file=sys.stderr)
        if args.json:
            print("\n".join(filter(None, [as_json_lines(table), as_json_lines(targets)])))
        else:
            print(table.to_string(index=False, line_width=200) if len(table) else "no cached runs")
            if len(targets):
                print(f"\ntargets of the {args.profile} profile:\n" + targets.to_string(index=False, line_width=200))
        return 0 if len(table) else 1
    from .pipeline import runner

    if args.command == "examples":
        from .data.examples import write_examples

        for path in write_examples():
            print(path)
        return 0
    if args.command == "golden":
        for path in runner.golden():
            print(path)
        return 0
    try:
        connect = None
        if args.cluster:
            from .pipeline.dask_executor import DaskExecutor

            DaskExecutor.check_spec(args.cluster)
            # started or joined once the sweep's inputs are checked, closed when its runs are done
            connect = functools.partial(DaskExecutor.from_spec, args.cluster)
        written = runner.run(args.profile, args.datasets, args.questions, _overrides(args.set),
                             notebooks=not args.no_notebooks, connect=connect)
    except (ConfigError, DataNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except SweepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Save a benchmark's measurements with the command and machine that produced them."""
from __future__ import annotations

import json
import platform
import shlex
import sys
import time
from pathlib import Path

# Committed: the Speed page of the book reads these files.
MEASURED = Path(__file__).resolve().parent / "measured"


def _commit(described: str) -> str:
    """The commit, "-dirty" only when code differs from it: the records of this folder are
    written one after another and do not make the next one dirty."""
    import subprocess

    if not described.endswith("-dirty"):
        return described
    changed = subprocess.run(["git", "-C", str(MEASURED.parent.parent), "status", "--porcelain", "--", ".",
                              f":!{MEASURED.relative_to(MEASURED.parent.parent).as_posix()}"],
                             capture_output=True, text=True).stdout.strip()
    return described if changed else described.removesuffix("-dirty")


def _from_the_root(argv: list[str]) -> list[str]:
    """The command as run from the repository's root, where the Speed page tells a reader to run
    it: a script started from inside ``benchmarks/`` is named by its path from the root."""
    script = Path(argv[0]) if argv else None
    if script is None or script.suffix != ".py":
        return list(argv)
    try:
        named = script.resolve().relative_to(MEASURED.parent.parent).as_posix()
    except ValueError:  # a script outside the repository: as it was run
        return list(argv)
    return [named, *argv[1:]]


def save(name: str, rows: list[dict], argv: list[str] | None = None, commit: str | None = None) -> Path:
    """Write the record; ``argv``: the command's arguments as the record states them (a folder of
    this machine replaced by a placeholder); ``commit``: the commit measured, where that is a
    clone's and not this working tree's."""
    import torch

    from ceimb_utils.files import atomic_path
    from ceimb_utils.pipeline.cache import git_commit

    path = MEASURED / f"{name}.json"
    record = {
        "command": shlex.join(["python", *_from_the_root(sys.argv if argv is None else argv)]),
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} thread{'s' * (torch.get_num_threads() != 1)}, "
                   f"torch CPU capability {torch.backends.cpu.get_cpu_capability()}",
        "cuda": torch.cuda.is_available(),
        "git_commit": commit or _commit(git_commit()),
        "rows": rows,
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, indent=1) + "\n")
    return path

"""The core install: ``pip install ceimb-utils`` with the core dependencies alone, each at the
minimum version ``pyproject.toml`` declares, runs the CE analysis of a scikit-learn model
(no torch, no Jupyter, no YAML). The minimums are tested, not guessed. Needs PyPI (pip)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib

from ceimb_utils import paths

EXAMPLE = paths.TOOLS / "sklearn_example.py"


def minimum_pins() -> list[str]:
    """``name==minimum`` for every core dependency (each must declare a ``>=`` minimum)."""
    declared = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = []
    for requirement in declared:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)", requirement.strip())
        assert match and match[2].count(".") == 2, f"core dependency {requirement!r} declares no full minimum (x.y.z)"
        pins.append(f"{match[1]}=={match[2]}")
    return pins


def test_core_dependencies_declare_their_minimums():
    assert [p.split("==")[0] for p in minimum_pins()] == ["numpy", "scipy", "pandas", "scikit-learn"]


def test_the_core_alone_at_its_minimum_versions_runs_the_scikit_learn_example(tmp_path):
    source = tmp_path / "src"  # a copy, so the build writes nothing into the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(paths.ROOT / name, source / name)
    shutil.copytree(paths.PACKAGE, source / "ceimb_utils", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "core"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    pins = minimum_pins()
    install = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins, str(source)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    installed = subprocess.run([python, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
                               capture_output=True, text=True, check=True).stdout.lower().splitlines()
    assert all(pin.lower() in installed for pin in pins), (pins, installed)
    assert not any(line.startswith(("torch==", "jupyter-book==", "pyyaml==")) for line in installed)
    done = subprocess.run([python, str(EXAMPLE)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok") and "Pipeline" in done.stdout and "SVC" in done.stdout

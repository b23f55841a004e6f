"""The package's layout: layers that import only downwards, no import hidden in a function to
dodge a cycle, every module importable on its own, the public API at the top."""
import ast
import subprocess
import sys

import pytest

from ceimb_utils import paths

# Entry points import late so that `python -m ceimb_utils --help` stays instant.
LATE_IMPORTS_ALLOWED = {"__main__.py"}
# Lowest first. Top-level modules are the foundation; data, models and ce sit side by side
# and import only the foundation; the pipeline may use all three; the report reads the pipeline.
LAYERS = {"": 0, "data": 1, "models": 1, "ce": 1, "pipeline": 2, "report": 3}


def _files():
    return sorted(p for p in paths.PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _dotted(path):
    parts = list(path.relative_to(paths.PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["ceimb_utils", *parts])


def _subpackage(dotted: str) -> str:
    """'' for a top-level module, else the subpackage a module belongs to."""
    parts = dotted.split(".")[1:]
    return parts[0] if parts and (paths.PACKAGE / parts[0]).is_dir() else ""


def _imported(path):
    """(line, module) for every package module that ``path`` imports."""
    here = _dotted(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            if node.module:
                yield node.lineno, f"{base}.{node.module}"
            else:
                for alias in node.names:
                    yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for name in names:
                if name and name.split(".")[0] == "ceimb_utils":
                    yield node.lineno, name


def test_layers_import_only_downwards():
    found = []
    for path in _files():
        if path.name in LATE_IMPORTS_ALLOWED:
            continue
        own = _subpackage(_dotted(path))
        for line, target in _imported(path):
            other = _subpackage(target)
            if other != own and (LAYERS[other] > LAYERS[own] or (LAYERS[other] == LAYERS[own] and own)):
                found.append(f"{path.relative_to(paths.PACKAGE)}:{line} imports {target}")
    assert not found, "imports against the layering: " + ", ".join(found)


def test_every_subpackage_has_a_layer():
    subpackages = {p.name for p in paths.PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert subpackages == set(LAYERS) - {""}


def test_the_layering_test_catches_an_upward_import(tmp_path, monkeypatch):
    package = tmp_path / "ceimb_utils"
    (package / "data").mkdir(parents=True)
    (package / "report").mkdir()
    (package / "data" / "loader.py").write_text("from ..report import plots\n")
    monkeypatch.setattr(paths, "PACKAGE", package)
    assert [t for _, t in _imported(package / "data" / "loader.py")] == ["ceimb_utils.report"]
    with pytest.raises(AssertionError, match="data/loader.py:1 imports ceimb_utils.report"):
        test_layers_import_only_downwards()


def test_no_package_import_inside_a_function():
    found = []
    for path in _files():
        if path.name in LATE_IMPORTS_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (inner.level > 0 or (inner.module or "").startswith("ceimb_utils")):
                        found.append(f"{path.relative_to(paths.PACKAGE)}:{inner.lineno} in {node.name}()")
    assert not found, "package imports inside functions (a hidden cycle?): " + ", ".join(found)


def test_every_module_imports_first():
    """Each module imported first, in a clean package namespace: a cycle fails here."""
    names = [_dotted(p) for p in _files() if p.name != "__main__.py"]
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'ceimb_utils' or m.startswith('ceimb_utils.')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=paths.ROOT)
    assert done.returncode == 0, done.stderr[-2000:]


def test_public_api_is_exported():
    import ceimb_utils
    from ceimb_utils import ce, config, methods, questions
    from ceimb_utils.pipeline import runner, study

    assert ceimb_utils.extract is ce.extract and ceimb_utils.load_profile is config.load_profile
    assert ceimb_utils.load_study is study.load_study and ceimb_utils.run is runner.run
    assert ceimb_utils.METHODS is methods.METHODS and ceimb_utils.QUESTION_INFO is questions.QUESTION_INFO
    assert set(ceimb_utils.__all__) >= {"extract", "load_study", "run", "METHODS"}


def _third_party_imports():
    """Top-level names of every module outside the standard library that the package imports."""
    names = set()
    for path in _files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "ceimb_utils"}


def test_every_import_is_declared_and_the_core_stays_light():
    import re
    import tomllib
    from importlib.metadata import packages_distributions

    project = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements):
        return {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}

    core = names(project["dependencies"])
    declared = core | {n for extra in project["optional-dependencies"].values() for n in names(extra)}
    providers = packages_distributions()
    missing = {m: providers.get(m) for m in _third_party_imports()
               if not {d.lower().replace("_", "-") for d in providers.get(m, [m])} & declared}
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
    assert core == {"numpy", "scipy", "pandas", "scikit-learn"}
    assert not any("==" in r for r in project["dependencies"])  # exact pins live in the lock only
    # The CE analysis imports nothing beyond the core.
    code = ("import sys, ceimb_utils.ce.metrics, ceimb_utils.ce.summaries; "
            "heavy = {'torch', 'yaml', 'matplotlib', 'imblearn', 'papermill', 'dask'} & set(sys.modules); "
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_figure_cell_of_a_page_states_its_alt_text_and_caption():
    """A figure a notebook draws reaches the page with the alt text and caption of its cell's
    ``mystnb`` metadata; without them the image's alt text is its file path (the browser check
    fails on that only for the pages it builds)."""
    import json

    missing = []
    for path in sorted([*(paths.ROOT / "notebooks").glob("*.ipynb"), *(paths.ROOT / "book").glob("*.ipynb")]):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code" and "plt.show()" in source:
                meta = cell.get("metadata", {}).get("mystnb", {})
                if not meta.get("image", {}).get("alt") or not meta.get("figure", {}).get("caption"):
                    missing.append(f"{path.name}: {cell.get('id')}")
    assert not missing, missing


def test_a_page_shows_a_path_inside_the_repository_from_its_root(tmp_path):
    from ceimb_utils.report.reports import shown_path

    assert shown_path(paths.ROOT / "examples" / "own-data.yaml") == "examples/own-data.yaml"
    assert shown_path(tmp_path / "mine.yaml") == str(tmp_path / "mine.yaml")  # a user's own file, as given


def test_the_reproduce_page_names_every_module_in_its_layer():
    """The page's layout table is what a contributor reads first: a module it leaves out, or puts
    in another layer, misleads them (the page once left out eight modules)."""
    import re

    rows = {}
    for line in (paths.ROOT / "book" / "reproduce.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            package = "" if cells[1] == "top level" else cells[1].strip("`")
            rows[package] = (int(cells[0]), set(re.findall(r"`(\w+)`", cells[2])))
    assert set(rows) == set(LAYERS)
    for package, (layer, named) in rows.items():
        assert layer == LAYERS[package], package
        folder = paths.PACKAGE / package if package else paths.PACKAGE
        modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
        assert modules <= named, f"{package or 'top level'}: the page does not name {sorted(modules - named)}"

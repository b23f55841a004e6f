"""The package's layout: no import hidden in a function to dodge a cycle, every module importable on its own."""
import ast
import subprocess
import sys

from ceimb_utils import paths

# Entry points import late so that `python -m ceimb_utils --help` stays instant.
LATE_IMPORTS_ALLOWED = {"__main__.py"}


def test_no_package_import_inside_a_function():
    found = []
    for path in sorted(paths.PACKAGE.glob("*.py")):
        if path.name in LATE_IMPORTS_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and inner.level > 0:
                        found.append(f"{path.name}:{inner.lineno} in {node.name}()")
    assert not found, "package imports inside functions (a hidden cycle?): " + ", ".join(found)


def test_every_module_imports_first():
    """Each module imported first, in a clean package namespace: a cycle fails here."""
    names = sorted(p.stem for p in paths.PACKAGE.glob("*.py") if p.stem != "__main__")
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'ceimb_utils' or m.startswith('ceimb_utils.')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module('ceimb_utils.' + name if name != '__init__' else 'ceimb_utils')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=paths.ROOT)
    assert done.returncode == 0, done.stderr[-2000:]


def test_public_api_is_exported():
    import ceimb_utils
    from ceimb_utils import ce, config, methods, questions, runner, study

    assert ceimb_utils.extract is ce.extract and ceimb_utils.load_profile is config.load_profile
    assert ceimb_utils.load_study is study.load_study and ceimb_utils.run is runner.run
    assert ceimb_utils.METHODS is methods.METHODS and ceimb_utils.QUESTION_INFO is questions.QUESTION_INFO
    assert set(ceimb_utils.__all__) >= {"extract", "load_study", "run", "METHODS"}

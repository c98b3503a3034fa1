"""What may import what: inside a2core the weight I/O never imports the models, which build on it; the
package never imports the app, the benchmarks, the tests or streamlit; the benchmarks never import the tests.

Read from the source with ``ast`` (every ``import`` and ``from … import``, relative ones resolved, inside
functions too), so a lazy import inside a function counts as much as one at the top. And each order of
first import works in a fresh interpreter: a cycle between the two shows as an ImportError there
(``import a2core.<anything>`` runs ``a2core/__init__`` first, so the reading of the source is the check
that holds whatever that file imports first).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "a2core"

#: module → the a2core packages it must never import (directly, at any depth of the file)
FORBIDDEN = {
    "a2core.weights": ("a2core.models", "a2core.probe", "a2core.training", "a2core.figures", "a2core.metrics"),
    "a2core.blocks": ("a2core.models", "a2core.weights", "a2core.probe", "a2core.training", "a2core.figures"),
    "a2core.models": ("a2core.probe", "a2core.training", "a2core.figures", "a2core.metrics", "a2core.lessons"),
}


#: top-level folder → the top-level packages no file below it may import
FORBIDDEN_TOP = {
    "a2core": ("app", "bench", "tests", "streamlit"),
    "bench": ("tests",),  # the tests import the benchmarks (and bench/zoo_weights.py), not the other way round
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, name: str, is_package: bool) -> set[str]:
    """The modules ``source`` (the module ``name``) imports, relative imports resolved to absolute names;
    ``from a import b`` counts as both ``a`` and ``a.b`` (b may be a submodule)."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def files_of(module: str) -> list[Path]:
    path = ROOT.joinpath(*module.split("."))
    return sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]


def test_the_import_reader_resolves_relative_and_lazy_imports():
    # What the main test relies on, on a source where the answer is known: the old weights.py's import.
    source = "from .models import ZOOS, build\ndef f():\n    from ..probe import maps\n    import a2core.figures.lens\n"
    found = imported_modules(source, "a2core.sub.weights", is_package=False)
    assert {"a2core.sub.models", "a2core.sub.models.ZOOS", "a2core.probe", "a2core.probe.maps",
            "a2core.figures.lens"} <= found
    assert "a2core.models" in imported_modules("from . import models\n", "a2core", is_package=True)
    assert "a2core.models" in imported_modules("from .. import models\n", "a2core.probe.maps", is_package=False)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_downwards(layer):
    files = files_of(layer)
    assert files and all(f.is_file() for f in files), layer
    offences = []
    for path in files:
        name = module_name(path)
        for module in imported_modules(path.read_text(), name, path.name == "__init__.py"):
            if any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                offences.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize("folder", sorted(FORBIDDEN_TOP))
def test_each_folder_imports_only_what_it_may(folder):
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files
    offences = [f"{path.relative_to(ROOT)} imports {module}" for path in files
                for module in imported_modules(path.read_text(), module_name(path), path.name == "__init__.py")
                if module.split(".")[0] in FORBIDDEN_TOP[folder]]
    assert not offences, "\n".join(offences)


def test_the_models_use_the_weight_io():
    # The direction is models → weights: the zoo's loader and your own model's read their files through it.
    for module in ("a2core.models.pretrained", "a2core.models.own"):
        path = files_of(module)[0]
        assert "a2core.weights" in imported_modules(path.read_text(), module, is_package=False), module


@pytest.mark.slow  # a fresh interpreter imports torch: seconds of CPU each
@pytest.mark.parametrize("first, then", [("a2core.weights", "a2core.models.own"),
                                         ("a2core.models.pretrained", "a2core.weights")])
def test_either_order_of_first_import_works_in_a_fresh_interpreter(first, then):
    code = f"""
import importlib
first = importlib.import_module({first!r})
then = importlib.import_module({then!r})
import a2core, a2core.models, a2core.weights
assert a2core.load_pretrained is a2core.models.load_pretrained is a2core.models.pretrained.load_pretrained
assert a2core.models.own.read_header is a2core.weights.read_header
assert a2core.WeightsError is a2core.weights.WeightsError
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]

"""Names a package re-exports from its command modules, imported on first use.

``python -m a2core.training.train`` imports the package ``a2core.training`` first and then runs
``train.py`` as ``__main__``; had the package's ``__init__`` imported ``train`` already, runpy would warn
and the module would exist twice (two ``Recipe`` classes). So such names are looked up lazily (PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, modules: dict[str, tuple[str, ...]]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` that imports ``modules[m]``'s names from ``package.m``."""
    home = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> object:
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{home[name]}"), name)

    return __getattr__

"""The layering of the package, as docs/architecture.md draws it: data flows one way, and so do imports.

A module may import modules of its own layer or of a lower one; within one layer, only modules of its own
top-level package (``production`` and ``water`` do not import each other). The rule is read from the code
itself, imports inside functions included.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "geo_app"

#: lowest first
LAYERS = [
    ("geo_app", "geo_app.errors", "geo_app.settings", "geo_app.io"),
    ("geo_app.admin",),
    ("geo_app.store",),
    ("geo_app.importers",),
    ("geo_app.production", "geo_app.water"),
    ("geo_app.build",),
    ("geo_app.serve",),
    ("geo_app.cli",),
]


#: ``geo_app.layers`` is the store's reader under its short public name
ALIASES = {"geo_app.layers": "geo_app.store.catalogue"}


def _unit(module: str) -> tuple[int, str]:
    """(layer, unit) of a dotted module name: the longest prefix listed in LAYERS."""
    module = ALIASES.get(module, module)
    best = None
    for rank, units in enumerate(LAYERS):
        for unit in units:
            if (module == unit or module.startswith(unit + ".")) and (best is None or len(unit) > len(best[1])):
                best = (rank, unit)
    assert best is not None, module
    return best


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def _imports(path: Path):
    name, is_package = _module_name(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "geo_app")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "geo_app":
                yield target


def test_imports_point_down_the_layers():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module, _ = _module_name(path)
        rank, unit = _unit(module)
        for target in _imports(path):
            target_rank, target_unit = _unit(target)
            if target_rank > rank or (target_rank == rank and target_unit != unit and rank > 0):
                wrong.append(f"{module} imports {target} ({target_unit} is above or beside {unit})")
    assert not wrong, "\n".join(wrong)


def test_every_module_has_a_layer():
    for path in PACKAGE.rglob("*.py"):
        _unit(_module_name(path)[0])

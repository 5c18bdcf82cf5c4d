"""The structure the docs promise (docs/architecture.md): Kedro only in the
stages and the datasets, library packages imported downwards only, stages
that read on one screen, nodes that only call the library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mm_drex"
# bottom to top: a package imports only packages before it
LAYERS = [
    "config",
    "markdown",
    "data",
    "features",
    "charts",
    "regimes",
    "backtest",
    "experts",
    "contracts",
    "router",
    "rl",
    "audit",
    "strategy",
    "baselines",
    "reporting",
    "walk_forward",
    "scaleout",
    "datasets",
    "pipelines",
]
PROJECT_FILES = {
    "settings.py",
    "pipeline_registry.py",
    "__main__.py",
    "hooks.py",
}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts)


def _package(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def module_imports(path: Path) -> set[str]:
    """The modules ``path`` imports (``from x import y`` gives ``x``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_only_the_stages_and_the_datasets_import_kedro():
    offenders = [
        str(path.relative_to(SRC))
        for path in _modules()
        if _package(path) not in ("pipelines", "datasets")
        and path.name not in PROJECT_FILES
        and any(name.split(".")[0] == "kedro" for name in module_imports(path))
    ]
    assert not offenders


def test_every_package_is_in_a_layer_and_imports_only_lower_layers():
    for path in _modules():
        if (
            path.name in PROJECT_FILES
            or path.name == "__init__.py"
            and path.parent == SRC
        ):
            continue
        package = _package(path)
        assert package in LAYERS, f"{package} is in no layer of docs/architecture.md"
        for name in module_imports(path):
            parts = name.split(".")
            if parts[0] != "mm_drex" or len(parts) < 2 or parts[1] == package:
                continue
            assert LAYERS.index(parts[1]) < LAYERS.index(package), (
                f"{path.relative_to(SRC)} imports {name}: a higher layer"
            )


@pytest.mark.parametrize(
    "pipeline",
    sorted((SRC / "pipelines").glob("*/pipeline.py")),
    ids=lambda p: p.parent.name,
)
def test_a_stage_reads_on_one_screen(pipeline: Path):
    assert len(pipeline.read_text().splitlines()) <= 80


@pytest.mark.parametrize(
    "nodes", sorted((SRC / "pipelines").glob("*/nodes.py")), ids=lambda p: p.parent.name
)
def test_nodes_only_call_the_library(nodes: Path):
    """No loop, comprehension or table shaping in a node: it reads its
    settings and calls the library."""
    shaping = (ast.For, ast.While, ast.ListComp, ast.DictComp, ast.SetComp)
    shaping += (ast.GeneratorExp, ast.Subscript)
    for function in ast.parse(nodes.read_text()).body:
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Subscript) and _is_annotation(node, function):
                continue
            assert not isinstance(node, shaping), (
                f"{nodes.parent.name}.{function.name}: {type(node).__name__} at line "
                f"{node.lineno}"
            )


def _is_annotation(node: ast.AST, function: ast.FunctionDef) -> bool:
    arguments = function.args
    every = [*arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
    annotations = [a.annotation for a in every if a is not None and a.annotation]
    annotations += [function.returns] if function.returns else []
    return any(node is n for a in annotations for n in ast.walk(a))

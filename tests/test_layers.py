"""The stages import only downwards: the package's layout is its architecture, kept by a test."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "loader"

# Bottom to top. A module may import its own stage and any stage listed before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "bulk", "model"),
    ("read",),
    ("check",),
    ("planning",),
    ("state",),
    ("send",),
    ("report",),
    ("run",),
    ("web",),
    ("commands",),
    ("cli", "__main__", "__init__"),
)
APART = ("sim",)  # the simulated server imports no stage: it must not share our mistakes


def _stage(module: str) -> str:
    """``loader.check.validate`` -> ``check``; ``loader.cli`` -> ``cli``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _rank(stage: str) -> int:
    return next(n for n, names in enumerate(LAYERS) if stage in names)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every ``loader`` import in a file, type-only imports included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names[:1] if n.startswith("loader")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("loader")]
    return found


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_known_stage() -> None:
    """A new folder or top-level module must be placed in LAYERS (or APART) on purpose."""
    stages = {
        _stage("loader." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts))
        for p in _modules()
    }
    known = {s for layer in LAYERS for s in layer} | set(APART)

    assert stages - known == set()


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    """No module imports a stage above its own; the simulator imports no stage at all."""
    here = _stage("loader." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    wrong = []
    for line, module in _imports(path):
        there = _stage(module)
        if here in APART:
            if there not in APART:
                wrong.append((line, module))
        elif there in APART:
            if here not in ("cli", "commands"):  # the CLI serves the simulator (simulate, demo)
                wrong.append((line, module))
        elif _rank(there) > _rank(here):
            wrong.append((line, module))

    assert wrong == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_what_decides_does_not_import_what_renders(path: Path) -> None:
    """Results are decided in ``state`` (and below): nothing there, nor in ``send``, imports
    ``report``, which only renders them; in ``run`` only the steps that write files or the
    screen may (``runner``, ``open``, ``ahead``, ``recorder``, ``conclude``, ``doctor``, ...),
    and ``prepared``, which holds what ``ahead`` renders (its types alone)."""
    here = _stage("loader." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    rendering = {"report", "web", "commands", "cli", "__main__", "__init__"}
    allowed_in_run = {
        "runner",
        "open",
        "ahead",
        "prepared",
        "recorder",
        "conclude",
        "doctor",
        "refresh",
        "plan",
    }
    if here in rendering or (here == "run" and path.stem in allowed_in_run):
        return
    found = [(line, m) for line, m in _imports(path) if _stage(m) == "report"]

    assert found == []


def test_the_check_finds_an_upward_import(tmp_path: Path) -> None:
    """The AST reading sees both import forms (so the test above can fail)."""
    source = tmp_path / "x.py"
    source.write_text("import loader.run.runner\nfrom loader.report import files\n")

    assert _imports(source) == [(1, "loader.run.runner"), (2, "loader.report")]

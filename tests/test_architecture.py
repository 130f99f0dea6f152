"""The architecture as the folders show it, checked: engine/ is a set of packages in layers
(engine.LAYERS), each importing only the packages below it, no engine modules importing each
other in a cycle, no Flask in the engine, and web/ importing only the modules a package makes
public (its `__all__`). A new module lands in a package; a new upward import fails here."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path, top_level_only: bool = False) -> list[tuple[str, list[str]]]:
    """(module, names) for every import in a file, function-level ones included unless told."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.ImportFrom) and node.level:
            package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-node.level])
            module = f"{package}.{node.module}" if node.module else package
            found.append((module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((a.name, []) for a in node.names)
    return found


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(folder: str) -> dict[str, Path]:
    return {_module_name(p): p for p in (ROOT / folder).rglob("*.py")}


def _engine_modules() -> dict[str, Path]:
    return _modules("engine")


def _targets(module: str, names: list[str], known: dict[str, Path]) -> set[str]:
    """The engine modules an import statement reaches (`from engine.core import a, b` reaches
    engine.core.a and engine.core.b)."""
    reached = {f"{module}.{n}" for n in names if f"{module}.{n}" in known}
    if module in known and not reached:
        reached.add(module)
    return reached


def _graph(folder: str = "engine", top_level_only: bool = False) -> dict[str, set[str]]:
    known = _modules(folder)
    graph = {}
    for name, path in known.items():
        graph[name] = set()
        for module, names in _imports(path, top_level_only):
            if module == folder or module.startswith(folder + "."):
                graph[name] |= _targets(module, names, known) - {name}
    return graph


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in engine.LAYERS) else None


def test_the_engine_never_imports_flask():
    offenders = [name for name, path in _engine_modules().items()
                 if any(m == "flask" or m.startswith(("flask.", "flask_")) for m, _ in _imports(path))]
    assert offenders == []


def test_every_engine_module_lives_in_a_package_of_the_layers():
    loose = sorted(n for n in _engine_modules() if _package(n) is None and n not in ("engine", "engine.schema"))
    assert loose == []
    assert sorted(p.name for p in (ROOT / "engine").iterdir() if (p / "__init__.py").exists()) == sorted(engine.LAYERS)


@pytest.mark.parametrize("package", engine.LAYERS)
def test_each_package_says_what_it_owns_and_what_it_may_import(package):
    module = importlib.import_module(f"engine.{package}")
    assert module.__doc__ and "May import:" in module.__doc__
    assert all((ROOT / "engine" / package / f"{m}.py").exists() for m in module.__all__)


def test_packages_import_only_the_packages_below_them():
    upward = []
    for source, targets in _graph().items():
        here = _package(source)
        for target in targets:
            there = _package(target)
            if here and there and engine.LAYERS.index(there) > engine.LAYERS.index(here):
                upward.append(f"{source} -> {target}")
    assert upward == []


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    """Every back edge of a depth-first walk, as the cycle it closes."""
    cycles, state = [], {}  # state: 1 on the current path, 2 done

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return cycles


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a -> b -> c -> a"]


def test_no_engine_modules_import_each_other_in_a_cycle():
    assert _cycles(_graph()) == []


def test_no_web_modules_import_each_other_in_a_cycle():
    # the app factory imports its blueprints inside create_app (Flask's pattern), so only
    # module-level imports count here
    assert _cycles(_graph("web", top_level_only=True)) == []


def test_web_imports_only_what_the_engine_packages_make_public():
    known = _engine_modules()
    internal = []
    for path in (ROOT / "web").rglob("*.py"):
        for module, names in _imports(path):
            for target in _targets(module, names, known) if module.startswith("engine") else ():
                package = _package(target)
                if package is None:
                    continue
                public = importlib.import_module(f"engine.{package}").__all__
                if target != f"engine.{package}" and target.split(".")[2] not in public:
                    internal.append(f"{path.relative_to(ROOT)}: {target}")
    assert sorted(set(internal)) == []


def test_the_engine_and_its_test_database_need_no_flask():
    import subprocess
    import sys
    # given a fresh interpreter, when the engine's services and the test suite's Flask-free
    # database helpers are imported, then Flask has not been imported along the way
    code = ("import sys; import engine.schema, engine.runtime.tasks, engine.workspace.inbox, "
            "engine.supervision.attention, engine.designer.process_drafts, engine.demo.demo_data; "
            "from tests.conftest import migrate; "
            "assert not [m for m in sys.modules if m == 'flask' or m.startswith('flask')], 'flask imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr

"""The package's shape: no import cycle, imports inside functions included (a lazy import that
closes a cycle only hides it until someone moves it to the top of the file)."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src"


def _module_names(root: Path) -> dict[str, Path]:
    names = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package modules `name` imports, at any depth, except under `if TYPE_CHECKING:`."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    class Imports(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
                return  # types only: no import at run time
            self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            found.update(alias.name for alias in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)

    Imports().visit(ast.parse(path.read_text()))
    return {module for module in found if module in known and module != name}


def import_cycles(root: Path) -> list[list[str]]:
    """Every set of modules under `root` that import each other in a circle (Tarjan's SCCs)."""
    known = _module_names(root)
    graph = {name: sorted(_imports(name, path, known)) for name, path in known.items()}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        order[node] = low[node] = len(order)
        stack.append(node)
        for successor in graph[node]:
            if successor not in order:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], order[successor])
        if low[node] == order[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in order:
            visit(node)
    return cycles


def test_the_package_has_no_import_cycle() -> None:
    assert import_cycles(SOURCE) == []


def test_a_cycle_is_found_even_behind_a_lazy_import(tmp_path: Path) -> None:
    copy = tmp_path / "src"
    shutil.copytree(SOURCE / "veza_db", copy / "veza_db")
    errors = copy / "veza_db" / "errors.py"
    errors.write_text(
        errors.read_text() + "\n\ndef _late() -> None:\n    from veza_db import cli  # noqa: F401\n"
    )
    cycles = import_cycles(copy)
    assert any({"veza_db.errors", "veza_db.cli"} <= set(cycle) for cycle in cycles), cycles


def test_no_module_is_over_500_lines() -> None:
    long = {
        str(path.relative_to(SOURCE)): count
        for path in (SOURCE / "veza_db").rglob("*.py")
        if (count := len(path.read_text().splitlines())) > 500
    }
    assert long == {}

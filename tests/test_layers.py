"""The architecture's rules (DESIGN.md): imports point down, heavy imports are lazy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "vectorize_kit"

# module or package (relative to the package) -> layer
LAYERS = {
    "errors": 0,
    "names": 1, "limits": 1, "values": 1, "similarity": 1, "models": 1, "datasets": 1,
    "store": 2, "embedding": 2, "integrations": 2,
    "commands": 3, "api": 3,
    "viz": 4, "server": 4, "migrate": 4, "remote": 4,
    "widgets": 5, "cli": 5,
}
L2 = {"store", "embedding", "integrations"}


def unit_of(path: Path, root: Path = PKG) -> str:
    rel = path.relative_to(root)
    return rel.parts[0].removesuffix(".py")


def imported_units(path: Path, root: Path = PKG) -> set[str]:
    tree = ast.parse(path.read_text())
    units = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            depth = len(path.relative_to(root).parts) - 1  # 0 for top-level modules
            if node.level - 1 > depth:
                continue
            base = list(path.relative_to(root).parts[:depth - (node.level - 1)])
            target = base + (node.module.split(".") if node.module else [])
            if not target:  # "from . import x" at the top level
                units.update(alias.name for alias in node.names)
            else:
                units.add(target[0])
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                node.module or ""]
            for name in names:
                if name.startswith("vectorize_kit."):
                    units.add(name.split(".")[1])
    return units


def test_every_module_has_a_layer():
    units = {unit_of(p) for p in PKG.rglob("*.py")} - {"__init__"}
    assert units <= set(LAYERS), units - set(LAYERS)


def layer_problems(root: Path) -> list[str]:
    problems = []
    for path in root.rglob("*.py"):
        unit = unit_of(path, root)
        if unit == "__init__":
            continue
        for target in imported_units(path, root):
            if target == unit or target not in LAYERS:
                continue
            if LAYERS[target] > LAYERS[unit]:
                problems.append(f"{path.relative_to(root)} imports up: {target}")
            elif LAYERS[target] == LAYERS[unit] == 2 and target != unit:
                problems.append(f"{path.relative_to(root)} imports sideways in L2: {target}")
            elif LAYERS[target] == LAYERS[unit] == 3 and unit == "commands":
                problems.append(f"{path.relative_to(root)} (commands) imports {target}")
    return problems


def test_imports_point_down():
    assert layer_problems(PKG) == []


def test_the_layer_check_catches_bad_imports(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "embedding").mkdir()
    (tmp_path / "store" / "a.py").write_text("from ..commands import execute_collection\n")
    (tmp_path / "store" / "b.py").write_text("from ..embedding import x\n")
    (tmp_path / "embedding" / "c.py").write_text("from ..errors import DataAPIError\n")
    (tmp_path / "errors.py").write_text("import vectorize_kit.api\n")
    assert sorted(layer_problems(tmp_path)) == [
        "errors.py imports up: api",
        "store/a.py imports up: commands",
        "store/b.py imports sideways in L2: embedding",
    ]


def test_import_is_light():
    code = ("import sys, vectorize_kit; "
            "print(' '.join(m for m in ('umap', 'plotly', 'onnxruntime', 'ipywidgets', "
            "'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""

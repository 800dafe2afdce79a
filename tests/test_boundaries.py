"""The core stays headless: kmeans/ never imports Qt or the GUI package."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "qtpy", "shiboken6", "app", "sklearn", "imagequant")


def test_no_forbidden_imports_in_the_core_source():
    offenders = []
    for path in sorted((ROOT / "kmeans").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_the_core_loads_no_qt():
    probe = "import sys, kmeans, kmeans.cli, kmeans.imagefile, kmeans.metrics; " \
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

"""What a wheel installs: every package of the program (a non-editable install once lacked
app.image and app.learn, and the window could not start)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_in_the_wheel():
    tomllib = pytest.importorskip("tomllib")  # (Python 3.11 and later)
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    for top in ("app", "kmeans"):
        for init in (ROOT / top).rglob("__init__.py"):
            package = ".".join(init.parent.relative_to(ROOT).parts)
            assert package in listed, f"{package} is not in [tool.setuptools] packages"

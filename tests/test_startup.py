"""What the window offers at start-up, checked in a fresh interpreter (the test session has loaded it all)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import sys
    from PySide6.QtWidgets import QApplication, QWidget
    from app.main_window import MainWindow

    app = QApplication([])
    window = MainWindow()
    window.show()
    app.processEvents()
    found = window.findChildren(QWidget, "blobsTab")
    print("at start:", len(found), window.tabs.indexOf(found[0]) if found else -1,
          "matplotlib" in sys.modules)
    window.tabs.setCurrentIndex(1)
    app.processEvents()
    found = window.findChildren(QWidget, "blobsTab")
    print("shown:", len(found), type(found[0]).__name__ if found else None,
          found[0].findChild(QWidget, "blobsCanvas") is not None if found else False)
    window.close()
""")


def test_the_learn_tab_is_found_by_name_from_start_up_without_loading_matplotlib(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                          timeout=60, cwd=tmp_path)
    lines = [line for line in done.stdout.splitlines() if line.startswith(("at start:", "shown:"))]
    # One widget named blobsTab at every moment: first the tab itself (matplotlib not loaded yet),
    # then the lesson inside it.
    assert lines == ["at start: 1 1 False", "shown: 1 BlobsTab True"], done.stdout + done.stderr

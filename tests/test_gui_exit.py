"""Every way out of the window stops and joins its workers first: a QThread destroyed while it runs
aborts the whole process ("QThread: Destroyed while thread ... is still running", exit 134)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import WAIT, gradient_image
from PIL import Image

from app.worker import running_threads

ROOT = Path(__file__).resolve().parents[1]


def test_quitting_after_a_batch_closed_with_escape_leaves_no_thread_running(qtbot, window, tmp_path):
    paths = []
    for i in range(2):
        paths.append(tmp_path / f"p{i}.png")
        Image.fromarray(gradient_image(40, 50, seed=i)).save(paths[-1])
    view = window.compress_many(paths, tmp_path / "out")
    with qtbot.waitSignal(view.finished_batch, timeout=WAIT):
        pass
    view.reject()  # what Escape does: the dialog is hidden, not closed
    assert "batchWorkerThread" in running_threads()
    window.action_quit.trigger()
    assert "batchWorkerThread" not in running_threads()


SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
from app.main_window import MainWindow


def main():
    app = QApplication([])
    window = MainWindow()
    window.show()
    window.open_image({image!r})
    window.compress_many([{image!r}], {out!r})
    loop = QEventLoop()
    QTimer.singleShot(400, loop.quit)
    loop.exec()  # k-means, the statistics and the batch are running now
    print("ending", flush=True)
    {ending}


if __name__ == "__main__":  # the batch's worker processes import this file again
    main()
"""


@pytest.mark.parametrize("ending, code", [("", 0), ("sys.exit(3)", 3), ("raise RuntimeError('the script failed')", 1),
                                          ("QTimer.singleShot(0, app.quit); app.exec()", 0)])
def test_a_script_that_ends_with_the_window_open_and_work_running_exits_cleanly(tmp_path, ending, code):
    image = tmp_path / "photo.png"
    Image.fromarray(gradient_image(900, 1200, seed=4)).save(image)
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT.format(root=str(ROOT), image=str(image), out=str(tmp_path / "out"),
                                                    ending=ending)))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert "ending" in done.stdout, done.stderr
    assert "QThread: Destroyed" not in done.stderr
    assert done.returncode == code, done.stderr

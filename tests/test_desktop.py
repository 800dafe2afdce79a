"""Desktop use: entry points, the .desktop file, icons, install/uninstall, macOS file-open events."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from app import desktop
from app.launch import gui
from kmeans.cli import main as compress

ROOT = Path(__file__).resolve().parents[1]
DESKTOP_FILE = ROOT / "resources" / "kmeans-image-compressor.desktop"


def entry_fields(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_file_validates(tmp_path):
    done = subprocess.run(["desktop-file-validate", str(DESKTOP_FILE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    written = tmp_path / "kmeans-image-compressor.desktop"
    written.write_text(desktop.desktop_entry("/opt/some where/kmeans-image-compressor"))
    done = subprocess.run(["desktop-file-validate", str(written)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_desktop_file_says_what_it_opens():
    fields = entry_fields(DESKTOP_FILE.read_text())
    assert fields["Exec"].endswith("%F") and fields["Icon"] == "kmeans-image-compressor"
    assert "Graphics;" in fields["Categories"] and fields["Terminal"] == "false"
    Image.init()
    readable = set(Image.MIME.values()) | {
        "image/vnd.microsoft.icon", "image/x-portable-pixmap", "image/x-portable-graymap",
        "image/x-portable-bitmap", "image/x-xbitmap", "image/x-xpixmap",
    }
    types = [t for t in fields["MimeType"].split(";") if t]
    assert "image/png" in types and "image/jpeg" in types
    assert set(types) <= readable


def test_icons_exist_at_every_size():
    assert desktop.resource("icons/kmeans-image-compressor.svg").read_text().startswith("<svg")
    for size in desktop.ICON_SIZES:
        with Image.open(desktop.resource(f"icons/kmeans-image-compressor-{size}.png")) as icon:
            assert icon.size == (size, size) and icon.mode == "RGBA"
            assert icon.getpixel((0, 0))[3] == 0  # rounded corners are transparent


def test_install_and_uninstall_under_xdg_data_home(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert gui(["--install-desktop"]) == 0
    entry = tmp_path / "applications" / "kmeans-image-compressor.desktop"
    fields = entry_fields(entry.read_text())
    command = fields["Exec"].rsplit(" %F", 1)[0]
    assert Path(command.split(" ")[0].strip("'")).is_absolute()
    for size in desktop.ICON_SIZES:
        assert (tmp_path / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "kmeans-image-compressor.png").exists()
    assert (tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "kmeans-image-compressor.svg").exists()
    assert "Installed 8 files" in capsys.readouterr().out
    assert gui(["--uninstall-desktop"]) == 0
    assert not entry.exists()
    assert not list((tmp_path / "icons").rglob("kmeans-image-compressor*"))


def test_install_failure_is_one_line(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    assert gui(["--install-desktop"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not install the menu entry" in err


def test_entry_points_are_declared():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["gui-scripts"] == {"kmeans-image-compressor": "app.launch:gui"}
    assert project["scripts"] == {"kmeans-compress": "kmeans.cli:main"}


def test_console_entry_has_help_and_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        compress(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("kmeans-compress ")
    with pytest.raises(SystemExit):
        compress(["--help"])
    assert "usage: kmeans-compress" in capsys.readouterr().out


def test_python_dash_m_app_prints_version():
    done = subprocess.run([sys.executable, "-m", "app", "--version"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("kmeans-image-compressor ")


def test_file_open_event_opens_the_file(qtbot, qapp, tmp_path):
    from conftest import gradient_image
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QFileOpenEvent
    from PySide6.QtWidgets import QApplication

    from app.main import Application, window_icon
    from app.main_window import MainWindow

    assert not window_icon().isNull()
    assert isinstance(qapp, Application)  # (conftest's qapp_cls: the tests run in the app's own class)
    path = tmp_path / "from-finder.png"
    Image.fromarray(gradient_image(40, 50)).save(path)
    window = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    qapp.file_open_requested.connect(window.open_image)
    try:
        with qtbot.waitSignal(window.image_tab.quantized, timeout=30_000):
            QApplication.sendEvent(qapp, QFileOpenEvent(str(path)))
        assert "from-finder.png" in window.windowTitle()
    finally:
        qapp.file_open_requested.disconnect(window.open_image)
        window.close()


def test_no_screen_is_said_plainly_and_a_screenshot_draws_off_screen(monkeypatch):
    from app.launch import screen_problem

    monkeypatch.setattr("sys.platform", "linux")
    env: dict[str, str] = {}
    assert "no screen to show the window on" in screen_problem(offscreen_ok=False, environ=env)
    assert screen_problem(offscreen_ok=True, environ=env) == "" and env["QT_QPA_PLATFORM"] == "offscreen"


def test_missing_x11_libraries_are_named_with_the_install_line(monkeypatch, capsys):
    import app.launch

    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(app.launch, "missing_xcb_libraries", lambda: ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    assert gui([]) == 1
    err = capsys.readouterr().err
    assert "not installed: libxcb-icccm.so.4, libxcb-keysyms.so.1" in err
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in err


def test_ldd_output_names_what_is_missing(monkeypatch):
    import subprocess

    import app.launch

    fake = ("\tlibQt6XcbQpa.so.6 => /x/libQt6XcbQpa.so.6 (0x1)\n\tlibxcb-icccm.so.4 => not found\n"
            "\tlibxcb-keysyms.so.1 => not found\n")
    monkeypatch.setattr(app.launch.shutil, "which", lambda name: "/usr/bin/ldd")
    monkeypatch.setattr(app.launch.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout=fake, stderr=""))
    if app.launch.xcb_plugin() is None:
        pytest.skip("no X11 plugin in this Qt")
    assert app.launch.missing_xcb_libraries() == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert app.launch.debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"


def test_the_window_command_lists_every_option_and_runs_compress(tmp_path, capsys):
    with pytest.raises(SystemExit):
        gui(["--help"])
    shown = capsys.readouterr().out
    assert "--install-desktop" in shown and "--uninstall-desktop" in shown and "kmeans-compress --help" in shown
    assert "main.py" not in shown
    image = tmp_path / "x.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(image)
    assert gui(["compress", str(image), "-k", "2", "-q"]) == 0 and (tmp_path / "x-k2.png").exists()

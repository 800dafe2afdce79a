"""``python -m app``: the window, as the ``kmeans-image-compressor`` command."""

import sys

from app.launch import gui

sys.exit(gui())

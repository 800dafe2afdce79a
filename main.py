"""K-means Image Compressor.

``python main.py [IMAGE]`` opens the window; ``python main.py compress ...`` runs the command line
(see ``python main.py compress --help``), which never imports Qt.
"""

from __future__ import annotations

import os
import sys

# numpy's BLAS would start its own threads for the tiny distance products while the core already
# splits them between the cores; one BLAS thread is measurably faster here.  Must precede numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "compress":
        from kmeans.cli import main as compress

        return compress(argv[1:])
    from app.main import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())

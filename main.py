"""K-means Image Compressor.

``python main.py [IMAGE]`` opens the window; ``python main.py compress ...`` runs the command line
(the same program as the installed ``kmeans-compress``), which never imports Qt.
"""

import sys


def main() -> int:
    argv = sys.argv[1:]
    if argv and argv[0] == "compress":
        from kmeans.cli import main as compress

        return compress(argv[1:])
    from app.launch import gui

    return gui(argv)


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen bundle starts the Learn tab's drawing process through here
    sys.exit(main())

"""K-means Image Compressor.

``python main.py [IMAGE]`` opens the window; ``python main.py compress ...`` runs the command line
(see ``python main.py compress --help``), which never imports Qt.
"""

import sys

from app.launch import main

if __name__ == "__main__":
    sys.exit(main())

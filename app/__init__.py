"""The PySide6 desktop application. It imports ``kmeans``; ``kmeans`` never imports it."""

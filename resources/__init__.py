"""Files the application ships: its icon (SVG and PNG sizes) and its freedesktop entry.

Installed as the package ``kmeans_image_compressor_resources``; ``app.desktop.resource`` finds
them whether the project is installed or run from a checkout.
"""

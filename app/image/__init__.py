"""The image tab: open an image, choose K, watch k-means converge, compare and export."""

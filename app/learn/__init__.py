"""The Learn k-means tab: the tutorial's k-means on 2-D blobs, one step at a time."""

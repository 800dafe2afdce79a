"""numpy <-> QImage: the exact pixels, premultiplied alpha, previews, and no dangling buffers."""

from __future__ import annotations

import gc

import numpy as np
from PySide6.QtGui import QImage

from app.qimage import palette_preview, palette_qimage, shade_qimage, to_qimage


def pixel(image: QImage, x: int, y: int) -> tuple[int, int, int, int]:
    colour = image.pixelColor(x, y)  # un-premultiplied
    return colour.red(), colour.green(), colour.blue(), colour.alpha()


def test_rgb_pixels_survive_and_outlive_the_array(rng):
    pixels = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    image = to_qimage(pixels)
    expected = pixels.copy()
    del pixels
    gc.collect()
    assert image.format() == QImage.Format.Format_RGB32 and (image.width(), image.height()) == (53, 37)
    for x, y in [(0, 0), (52, 36), (17, 5)]:
        assert pixel(image, x, y) == (*expected[y, x], 255)


def test_alpha_is_premultiplied():
    pixels = np.array([[[200, 100, 50, 128], [10, 20, 30, 0]]], np.uint8)
    image = to_qimage(pixels)
    assert image.format() == QImage.Format.Format_ARGB32_Premultiplied
    red, green, blue, alpha = pixel(image, 0, 0)  # QColor un-premultiplies again
    assert alpha == 128 and abs(red - 200) <= 2 and abs(green - 100) <= 2 and abs(blue - 50) <= 2
    assert pixel(image, 1, 0)[3] == 0


def test_palette_image_matches_palette_of_labels(rng):
    palette = rng.integers(0, 256, (16, 3), dtype=np.uint8)
    labels = rng.integers(0, 16, (40, 60)).astype(np.uint8)
    image = palette_qimage(palette, labels)
    for x, y in [(0, 0), (59, 39), (30, 20)]:
        assert pixel(image, x, y) == (*palette[labels[y, x]], 255)


def test_preview_is_a_box_filter_of_the_palette_image():
    palette = np.array([[0, 0, 0], [200, 100, 40]], np.uint8)
    labels = np.zeros((100, 300), np.uint8)
    labels[:, 1::2] = 1  # alternate columns: every 2 x 2 box averages the two colours
    preview = palette_preview(palette, labels, side=150)
    assert (preview.width(), preview.height()) == (150, 50)
    assert pixel(preview, 10, 10) == (100, 50, 20, 255)


def test_shade_covers_only_what_is_not_kept():
    keep = np.array([[True, False]])
    shade = shade_qimage(keep)
    assert pixel(shade, 0, 0)[3] == 0 and pixel(shade, 1, 0)[3] == 255


def test_preview_averages_transparent_pixels_premultiplied():
    palette = np.array([[0, 0, 0, 0], [200, 100, 40, 255]], np.uint8)
    labels = np.zeros((100, 300), np.uint8)
    labels[:, 1::2] = 1  # half transparent: the colour must stay (200, 100, 40), at half alpha
    preview = palette_preview(palette, labels, side=150)
    red, green, blue, alpha = pixel(preview, 10, 10)
    assert abs(alpha - 128) <= 1 and abs(red - 200) <= 2 and abs(green - 100) <= 2 and abs(blue - 40) <= 2


def test_an_animation_s_live_copy_brings_each_frame_down_without_mixing_frames():
    import numpy as np

    from app.qimage import downscale_frames

    stack = np.concatenate([np.full((30, 40, 3), i * 20, np.uint8) for i in range(7)])
    small = downscale_frames(stack, 7, 13)
    assert small.shape == (7 * 10, 13, 3)  # (the frame's width, its longest side, brought to 13)
    assert [np.unique(f).tolist() for f in small.reshape(7, 10, 13, 3)] == [[i * 20] for i in range(7)]

"""Image files: load anything Pillow decodes, safely; encode and save palette images.

``load`` turns every failure into an ``ImageLoadError`` whose message names the file and says why
in words, applies the EXIF orientation, converts every mode to 8-bit RGB or RGBA, and refuses
images over a pixel limit before decoding them.  ``save`` encodes and writes through
``kmeans.atomic.write_atomic``: a failed save leaves nothing behind, and an existing file is
replaced only when told to.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import stat
import struct
import sys
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from kmeans.animation import Animation, encode_apng, encode_gif, encode_webp, split
from kmeans.atomic import write_atomic
from kmeans.defaults import DEFAULT_FORMAT, DEFAULT_MAX_FRAMES, DEFAULT_MAX_PIXELS, FORMATS, format_for
from kmeans.errors import (
    Cancelled,
    CancelToken,
    ImageLoadError,
    ImageSaveError,
    ImageTooLargeError,
    details_of,
    os_reason,
)
from kmeans.png import encode_png
from kmeans.wording import FORMAT_LABELS, display_name

_PILLOW_LIMIT = threading.Lock()


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded image: ``pixels`` (H, W, 3) or (H, W, 4) uint8 sRGB, upright.

    The alpha channel is present only when some pixel is not opaque.  ``notices`` are things the
    user should know (first frame of an animation, a profile converted, ...).  ``dpi`` is the
    physical resolution the file states (horizontal, vertical, for the upright image), or None.
    An animation read whole has its frames stacked top to bottom in ``pixels`` (each as a viewer
    shows it, on the whole canvas) and ``animation`` says how they are shown; ``width`` and
    ``height`` are a frame's.
    """

    path: Path
    pixels: np.ndarray
    format: str
    file_size: int
    notices: tuple[str, ...] = field(default=())
    dpi: tuple[float, float] | None = None
    animation: Animation | None = None

    @property
    def name(self) -> str:
        return display_name(self.path)

    @property
    def frames(self) -> int:
        return 1 if self.animation is None else self.animation.frames

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0]) // self.frames

    def frame(self, index: int) -> np.ndarray:
        """The pixels of one frame (the image itself when it is not an animation)."""
        return split(self.pixels, self.frames)[index]

    @property
    def has_alpha(self) -> bool:
        return self.pixels.shape[2] == 4


def load(
    path: str | os.PathLike[str],
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    animated: bool = True,
    max_frames: int = DEFAULT_MAX_FRAMES,
) -> LoadedImage:
    """Read an image file: an animation's every frame when ``animated``, else its first (and a notice).

    Raises ``ImageTooLargeError`` (before decoding) when it has more than ``max_pixels`` pixels
    (None: no limit; an animation's frames all count), and ``ImageLoadError`` for anything else
    that stops it being read (more than ``max_frames`` frames too): one plain sentence naming the
    file, the library's own words in ``details``.  Warnings the decoders print are kept in
    ``details`` too, never on the terminal.
    """
    path = Path(path)
    heard: list[str] = []
    try:
        return _load(path, max_pixels, heard, animated, max_frames)
    except ImageLoadError as error:
        said = [line for line in heard if _worth_saying(line)]
        if said:  # what the decoder printed belongs with the failure, shown on request
            error.details = "\n".join(filter(None, [error.details, *(f"the decoder said: {line}" for line in said)]))
        raise


def _load(path: Path, max_pixels: int | None, heard: list[str], animated: bool, max_frames: int) -> LoadedImage:
    """``load``'s work; what the decoders said is added to ``heard`` as it is heard."""
    name = display_name(path)
    fmt = "image"
    try:
        info = os.stat(path)
        kind = _not_a_file(info.st_mode)
        if kind:
            raise ImageLoadError(f"{name}: is {kind}, not an image file")
        if info.st_size == 0:
            raise ImageLoadError(f"{name}: the file is empty")
        with _quiet_decoders(heard), _quiet_c_library(heard, _sniffed_format(path)), _open(path) as image:
            fmt = image.format or fmt
            pixels = image.width * image.height
            if max_pixels is not None and pixels > max_pixels:
                raise ImageTooLargeError(
                    f"{name}: this image is too large to open safely: {image.width:,} × {image.height:,} pixels "
                    f"({_amount(pixels)}; the limit is {_amount(max_pixels)})",
                    pixels,
                    max_pixels,
                )
            notices: list[str] = []
            frames = getattr(image, "n_frames", 1)
            animation = None
            if frames > 1 and animated:
                _check_animation(name, image, frames, max_pixels, max_frames)
                array, animation = _frames(image, name, frames, notices)
            else:
                if frames > 1:
                    notices.append(f"{name} is an animation of {frames} frames; only the first is used.")
                array = _to_array(image, name, notices)
            dpi = _dpi(image.info.get("dpi"), turned=array.shape[:2] != (image.height, image.width))
    except ImageLoadError:
        raise
    except UnidentifiedImageError as error:
        raise ImageLoadError(f"{name}: not an image file this program can read", details_of(error)) from None
    except Image.DecompressionBombError as error:
        raise ImageLoadError(f"{name}: this image is too large to open safely", details_of(error)) from None
    except MemoryError as error:
        raise ImageLoadError(f"{name}: there is not enough memory to decode it", details_of(error)) from None
    except FileNotFoundError as error:
        raise ImageLoadError(f"{name}: no such file", details_of(error)) from None
    except (IsADirectoryError, NotADirectoryError, PermissionError) as error:
        raise ImageLoadError(f"{name}: {os_reason(error)}", details_of(error)) from None
    except OSError as error:
        if error.errno is not None:  # the system's refusal, not a decoder's complaint
            raise ImageLoadError(f"{name}: could not be read: {os_reason(error)}", details_of(error)) from None
        raise ImageLoadError(f"{name}: {_damage(error, fmt)}", details_of(error)) from None
    except (SyntaxError, ValueError, EOFError, struct.error) as error:
        raise ImageLoadError(f"{name}: {_damage(error, fmt)}", details_of(error)) from None
    except Exception as error:  # a decoder bug on a hostile file must still be one clear line
        raise ImageLoadError(f"{name}: the {fmt} file could not be decoded", details_of(error)) from None
    notices.extend(f"{name}: the decoder warned: {line}" for line in heard if _worth_saying(line))
    return LoadedImage(path=path, pixels=array, format=fmt, file_size=info.st_size, notices=tuple(notices), dpi=dpi,
                       animation=animation)


def _check_animation(name: str, image: Image.Image, frames: int, max_pixels: int | None, max_frames: int) -> None:
    """Refuse, before decoding, an animation of more frames or pixels in all than is safe."""
    if frames > max_frames:
        raise ImageLoadError(f"{name}: this animation has too many frames to open safely: {frames:,} "
                             f"(the limit is {max_frames:,})")
    pixels = frames * image.width * image.height
    if max_pixels is not None and pixels > max_pixels:
        raise ImageTooLargeError(
            f"{name}: this animation is too large to open safely: {frames:,} frames of {image.width:,} × "
            f"{image.height:,} pixels ({_amount(pixels)} in all; the limit is {_amount(max_pixels)})",
            pixels,
            max_pixels,
        )


def _frames(image: Image.Image, name: str, frames: int, notices: list[str]) -> tuple[np.ndarray, Animation]:
    """Every frame as a viewer shows it (Pillow composites disposal, blending and partial frames
    onto the canvas), stacked top to bottom, with the durations and the play count."""
    decoded, durations = [], []
    for index in range(frames):
        try:
            image.seek(index)
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
            damage = _damage(error, image.format or "image")
            raise ImageLoadError(f"{name}: {damage}, at frame {index + 1} of {frames}", details_of(error)) from None
        durations.append(max(0, round(float(image.info.get("duration") or 0))))
        frame = image.convert("RGBA")
        icc = image.info.get("icc_profile")
        if icc:
            frame = _to_srgb(frame, icc, name, notices)
        decoded.append(np.asarray(frame))  # (RGBA: _to_srgb keeps the mode it is given)
    stack = np.concatenate(decoded, axis=0)
    if (stack[..., 3] == 255).all():
        stack = stack[..., :3]
    notices[:] = list(dict.fromkeys(notices))  # (a profile converted is said once, not per frame)
    return np.ascontiguousarray(stack), Animation(tuple(durations), _plays(image))


def _plays(image: Image.Image) -> int:
    """How many times the animation is played (0: for ever), as its format states it: a GIF's
    loop count is of repeats after the first play, and a GIF without one plays once."""
    loop = image.info.get("loop")
    if image.format == "GIF":
        return 1 if loop is None else 0 if loop == 0 else int(loop) + 1
    return 0 if loop is None else int(loop)


def _dpi(value: object, *, turned: bool) -> tuple[float, float] | None:
    """A stated resolution worth keeping (two plausible positive numbers), swapped when the image
    was turned upright by a quarter turn."""
    try:
        x, y = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    if not all(0 < d < 1e6 and math.isfinite(d) for d in (x, y)):
        return None
    return (y, x) if turned else (x, y)


def _amount(pixels: int) -> str:
    return f"{pixels:,} pixels" if pixels < 1_000_000 else f"{pixels / 1e6:,.1f} megapixels"


def _not_a_file(mode: int) -> str:
    """What a path that is not a regular file is, in words ("" for a regular file)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return ""


def _damage(error: BaseException, fmt: str) -> str:
    """What is wrong with a damaged file, from the decoder's complaint, in plain words."""
    text = str(error).lower()
    what = f"the {fmt} file is damaged" if fmt != "image" else "the file is damaged or not a complete image"
    if "truncated" in text or isinstance(error, EOFError) or "end of file" in text or "ended" in text:
        return f"{what} (it ends in the middle of the image data)"
    if "text chunk" in text or "decompressed data too large" in text:
        return f"{what} (it holds more text metadata than is safe to read)"
    if "decoder error" in text or "broken data" in text or "crc" in text or "checksum" in text:
        return f"{what} (its image data cannot be decoded)"
    if isinstance(error, SyntaxError) or "header" in text or "not a " in text:
        return f"{what} (its header is not valid)"
    return what


_QUIET = threading.Lock()
_NOISY_FORMATS = ("TIFF",)  # decoded by a C library (libtiff) that writes its warnings to stderr


_TIFF_SIGNATURES = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # classic and BigTIFF, either byte order


def _sniffed_format(path: Path) -> str:
    """"TIFF" when the file starts like one, else "": known before Pillow (and libtiff) opens it."""
    try:
        with open(path, "rb") as file:
            return "TIFF" if file.read(4) in _TIFF_SIGNATURES else ""
    except OSError:
        return ""  # opening will say why, in its own words


@contextlib.contextmanager
def _quiet_decoders(heard: list[str]):
    """Collect into ``heard`` the Python warnings decoders give while a file is read (never
    printed); see ``_quiet_c_library`` for what C libraries print."""
    with _QUIET, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            heard.extend(str(w.message) for w in caught)


@contextlib.contextmanager
def _quiet_c_library(heard: list[str], fmt: str):
    """While a format decoded by a chatty C library is read, point file descriptor 2 at a temporary
    file and add what it wrote to ``heard``.  Only then: the descriptor belongs to the whole
    process, and whatever else wrote meanwhile would be taken for the decoder's words."""
    if fmt not in _NOISY_FORMATS:
        yield
        return
    import tempfile

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            heard.extend(line.strip() for line in capture.read().decode("utf-8", "replace").splitlines())


def _worth_saying(line: str) -> bool:
    """Decoder warnings a user may care about (not Pillow's own size warning, which we handle)."""
    return bool(line) and "decompression bomb" not in line.lower()


def _open(path: Path) -> Image.Image:
    """Open lazily with Pillow's own pixel limit lifted: ``load`` applies its own, with a message."""
    with _PILLOW_LIMIT, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _to_array(image: Image.Image, name: str, notices: list[str]) -> np.ndarray:
    """Decode the first frame to upright 8-bit RGB, or RGBA when some pixel is not opaque."""
    image.seek(0)
    image.load()
    image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _grey_to_rgb(np.asarray(image))
    has_alpha = mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info
    icc = image.info.get("icc_profile")
    if icc and mode in ("RGB", "RGBA", "CMYK"):
        image = _to_srgb(image, icc, name, notices)
    array = np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    if has_alpha and (array[..., 3] == 255).all():
        array = array[..., :3]
    return np.ascontiguousarray(array)


def _grey_to_rgb(values: np.ndarray) -> np.ndarray:
    """16-bit or 32-bit greyscale scaled to 8 bits (not clipped), as RGB."""
    values = values.astype(np.float64)
    top = float(values.max()) if values.size else 0.0
    if np.issubdtype(values.dtype, np.floating) and top <= 1.0:
        scale = 255.0
    elif top <= 255:
        scale = 1.0
    elif top <= 65535:
        scale = 255.0 / 65535.0
    else:
        scale = 255.0 / top
    grey = np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))


def _to_srgb(image: Image.Image, icc: bytes, name: str, notices: list[str]) -> Image.Image:
    """Convert through the embedded colour profile to sRGB; keep the pixels if that fails."""
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(source).lower().replace(" ", ""):
            return image
        out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=out_mode)
        notices.append(f"{name}: converted from its colour profile to sRGB.")
        return converted if converted is not None else image
    except Exception:
        notices.append(f"{name}: its colour profile could not be applied; colours may be slightly off.")
        return image


# -- encoding ---------------------------------------------------------------------------------


def palette_image(palette: np.ndarray, labels: np.ndarray) -> Image.Image:
    """A Pillow "P" image holding exactly the palette's entries (so PNG picks the bit depth)."""
    image = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint8), mode="P")
    image.putpalette(np.ascontiguousarray(palette[:, :3]).tobytes(), rawmode="RGB")
    if palette.shape[1] == 4 and (palette[:, 3] < 255).any():
        alpha = palette[:, 3]
        last = int(np.flatnonzero(alpha < 255).max())
        image.info["transparency"] = alpha[: last + 1].tobytes()  # tRNS may stop at the last one
    return image


#: The largest width and height each format can hold.
MAX_SIDE = {"png": 2**31 - 1, "gif": 65_535, "webp": 16_383, "bmp": 2**31 - 1}


def check_size(fmt: str, width: int, height: int) -> None:
    """Raise ``ImageSaveError`` when ``fmt`` cannot hold an image this wide or tall (say so before
    any encoding is spent on it)."""
    side = MAX_SIDE[fmt]
    if width > side or height > side:
        raise ImageSaveError(f"{FORMAT_LABELS[fmt]} images can be at most {side:,} pixels wide and high; this one "
                             f"is {width:,} × {height:,}. Choose another format.")


class _Output(io.BytesIO):
    """An in-memory file that stops the encoder (``Cancelled``) at its next write once ``cancel`` is set."""

    def __init__(self, cancel: CancelToken | None):
        super().__init__()
        self._cancel = cancel

    def write(self, data) -> int:  # type: ignore[override]
        if self._cancel is not None and self._cancel.is_set():
            raise Cancelled("encoding cancelled")
        return super().write(data)


def encode(palette: np.ndarray, labels: np.ndarray, fmt: str = DEFAULT_FORMAT, *,
           cancel: CancelToken | None = None, dpi: tuple[float, float] | None = None,
           animation: Animation | None = None, frame_entries: tuple[int, ...] | None = None) -> bytes:
    """The bytes of a palette image in ``fmt`` (png, gif, webp or bmp).

    PNG is indexed, rows unfiltered, deflated by libdeflate (``kmeans.png``); GIF keeps only fully
    transparent entries; WebP is lossless; BMP keeps no transparency (``kmeans.transparency`` says
    what to quantize for each).  ``dpi`` is written where the format has a place for it (PNG, BMP).
    With ``animation``, ``labels`` are its frames stacked top to bottom, and every frame is kept
    (a BMP, which holds one picture, is refused with ``ImageSaveError``); ``frame_entries``: each
    frame is drawn with its own part of ``palette`` (``Quantized.frame_entries``; GIF and WebP).
    Raises ``Cancelled`` soon after ``cancel.is_set()`` (between blocks of output).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    palette = np.asarray(palette, dtype=np.uint8)
    labels = np.asarray(labels)
    if animation is not None and animation.frames > 1:
        return _encode_animation(palette, labels, fmt, animation, cancel, dpi, frame_entries)
    check_size(fmt, labels.shape[1], labels.shape[0])
    buffer = _Output(cancel)
    if fmt == "webp":
        pixels = palette[labels]
        mode = "RGBA" if pixels.shape[2] == 4 else "RGB"
        Image.fromarray(pixels, mode=mode).save(buffer, "WEBP", lossless=True, quality=75, method=4)  # cwebp's defaults
        return buffer.getvalue()
    if fmt == "png":
        return encode_png(palette, labels, cancel=cancel, dpi=dpi)
    image = palette_image(palette, labels)
    if fmt == "gif":
        transparency = None
        if palette.shape[1] == 4 and (palette[:, 3] == 0).any():
            transparency = int(np.flatnonzero(palette[:, 3] == 0)[0])
        image.info.pop("transparency", None)
        extra = {} if transparency is None else {"transparency": transparency}
        image.save(buffer, "GIF", optimize=False, **extra)
    else:
        image.info.pop("transparency", None)
        image.save(buffer, "BMP", **({"dpi": dpi} if dpi else {}))
    return buffer.getvalue()


def _encode_animation(palette: np.ndarray, labels: np.ndarray, fmt: str, animation: Animation,
                      cancel: CancelToken | None, dpi: tuple[float, float] | None,
                      frame_entries: tuple[int, ...] | None) -> bytes:
    frames = split(labels if frame_entries is not None else labels.astype(np.uint8, copy=False), animation.frames)
    check_size(fmt, frames.shape[2], frames.shape[1])
    if fmt == "gif":
        return encode_gif(palette, frames, animation, cancel=cancel, frame_entries=frame_entries)
    if fmt == "png":
        if frame_entries is not None:  # (the pipeline makes one palette for PNG: a programming error)
            raise ValueError("an APNG file has one palette for every frame")
        return encode_apng(palette, frames, animation, cancel=cancel, dpi=dpi)
    if fmt == "webp":
        return encode_webp(palette, frames, animation, cancel=cancel)
    raise ImageSaveError(f"a {FORMAT_LABELS[fmt]} file holds one picture, and this is an animation of "
                         f"{animation.frames} frames. Choose GIF, PNG or WebP to keep every frame.")


def save(
    path: str | os.PathLike[str],
    palette: np.ndarray,
    labels: np.ndarray,
    fmt: str | None = None,
    *,
    force: bool = False,
) -> int:
    """Encode and save a palette image atomically; returns the number of bytes written.

    ``fmt`` defaults to the one named by the suffix (PNG when there is none to go by).
    """
    data = encode(palette, labels, fmt or format_for(path))
    write_atomic(path, data, force=force)
    return len(data)

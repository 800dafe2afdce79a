"""A Display P3 ICC profile built from its published numbers, for benchmarks (no file to ship).

Display P3: the DCI-P3 primaries with a D65 white and the sRGB tone curve.  The matrix is the
D50-adapted one Apple's profile carries; the curves are 1024-entry tables of the sRGB function.
"""

from __future__ import annotations

import struct

import numpy as np

D50 = (0.9642, 1.0, 0.8249)
PRIMARIES = {  # D50-adapted XYZ of the red, green and blue primaries
    b"rXYZ": (0.515102, 0.241182, -0.001050),
    b"gXYZ": (0.291965, 0.692236, 0.041882),
    b"bXYZ": (0.157153, 0.066582, 0.784378),
}


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def _curve() -> bytes:
    v = np.linspace(0, 1, 1024)
    linear = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    table = np.round(linear * 65535).astype(">u2").tobytes()
    return b"curv" + b"\0" * 4 + struct.pack(">I", 1024) + table


def _text_description(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return (b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_text)) + ascii_text
            + b"\0" * 8 + b"\0" * 3 + b"\0" * 67)


def display_p3() -> bytes:
    """The bytes of an ICC v2 display profile for Display P3."""
    curve = _curve()
    tags = [(b"desc", _text_description("Display P3 (benchmark)")),
            (b"cprt", b"text" + b"\0" * 4 + b"No copyright, use freely\0"),
            (b"wtpt", _xyz(*D50)),
            *((sig, _xyz(*xyz)) for sig, xyz in PRIMARIES.items()),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, data = [], b""
    for sig, body in tags:
        while (offset + len(data)) % 4:
            data += b"\0"
        entries.append(struct.pack(">4sII", sig, offset + len(data), len(body)))
        data += body
    size = 128 + table_size + len(data)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntr" + b"RGB " + b"XYZ "
              + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"APPL" + b"\0" * 4 + b"\0" * 4 + b"\0" * 4
              + b"\0" * 8 + struct.pack(">I", 0) + b"".join(_s15(c) for c in D50) + b"lcms" + b"\0" * 44)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(entries) + data

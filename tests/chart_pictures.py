"""Tiny one-colour pictures for the chart dataset tests: picture ``i`` has colour ``color(i)`` everywhere, so a row
read back can be matched to the row written."""

from __future__ import annotations

import io

from PIL import Image as PILImage


def color(index: int) -> tuple[int, int, int]:
    return (index * 37 % 256, index * 91 % 256, 200)


def png_bytes(index: int) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (5, 5), color(index)).save(buffer, format="PNG")
    return buffer.getvalue()


def pixel(image: PILImage.Image) -> tuple[int, int, int]:
    assert isinstance(image, PILImage.Image) and image.mode == "RGB"
    return image.getpixel((0, 0))

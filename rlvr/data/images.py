"""Checking a dataset's pictures with its other rows, before any model loads, so that a bad one is named by its row
in one line instead of failing a training or sampling step: each picture decodes (a truncated file or bytes that
are no image are refused), is within PIL's decompression-bomb limit, and has the shape Qwen2.5-VL's processor
accepts. A 16-bit grayscale picture, which PIL's RGB conversion clips to white, is scaled to 8 bits instead.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from rlvr.errors import UserError

# Qwen2.5-VL's image processor (transformers' qwen2_vl smart_resize) refuses a picture whose longer side is more than
# 200 times its shorter one; tests/test_dataset_images.py checks that the processor still draws the line there.
MAX_ASPECT_RATIO = 200
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
UNSCALABLE_MODES = ("I", "F")  # 32-bit integer or float pixels: no fixed range to scale to 8 bits from
# PNG's verify() reads every chunk and checks its CRC, which finds a truncated file without decoding the pixels.
# For other formats verify() checks little, so they are decoded, a JPEG at 1/8 scale (its draft mode) to stay fast.
VERIFIED_FORMATS = ("PNG",)
READ_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


def check_picture(source: Path | bytes, where: str) -> bytes | None:
    """Refuse, naming ``where`` (the file and row), a picture that cannot be read or that the model's processor
    would refuse; return PNG bytes of an 8-bit copy when the picture is 16-bit grayscale, else None (use it as it
    is)."""
    shown = f"{source}" if isinstance(source, Path) else "image bytes"
    try:
        with Image.open(_readable(source)) as image:
            width, height, mode, image_format = image.width, image.height, image.mode, image.format
            _check_shape(width, height, where, shown)
            if mode in UNSCALABLE_MODES:
                raise UserError(
                    f"{where}: {shown}: {'32-bit integer' if mode == 'I' else 'floating-point'} pixels (mode "
                    f"{mode}); save the picture with 8 or 16 bits per channel"
                )
            if mode in SIXTEEN_BIT_MODES:
                return _eight_bit_png(image)
            if image_format in VERIFIED_FORMATS:
                image.verify()
                return None
            image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            image.load()
    except Image.DecompressionBombError as error:
        raise UserError(f"{where}: {shown}: too large to be read as an image ({error})") from None
    except READ_ERRORS as error:
        raise UserError(f"{where}: {shown}: not a readable image ({error or type(error).__name__})") from None
    return None


def _readable(source: Path | bytes) -> Path | io.BytesIO:
    return source if isinstance(source, Path) else io.BytesIO(source)


def _check_shape(width: int, height: int, where: str, shown: str) -> None:
    if min(width, height) < 1:
        raise UserError(f"{where}: {shown}: {width} x {height} pixels, an image needs at least one pixel each way")
    if max(width, height) / min(width, height) > MAX_ASPECT_RATIO:
        raise UserError(
            f"{where}: {shown}: {width} x {height} pixels; Qwen2.5-VL reads no picture whose longer side is over "
            f"{MAX_ASPECT_RATIO} times its shorter one: crop or pad it"
        )


def _eight_bit_png(image: Image.Image) -> bytes:
    """The picture with its 0..65535 gray levels scaled to 0..255, as PNG bytes."""
    levels = np.asarray(image, dtype=np.uint32)
    scaled = ((levels * 255 + 32767) // 65535).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(scaled, "L").save(buffer, format="PNG")
    return buffer.getvalue()

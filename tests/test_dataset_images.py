"""A dataset's pictures are checked with its other rows, before any model loads (rlvr/data/images.py).

Bytes in a Parquet file or a saved dataset that are truncated or no image, and a picture whose shape Qwen2.5-VL's
processor refuses (a side over 200 times the other), are refused in one line naming the file and the row; a
16-bit grayscale picture is scaled to 8 bits, not clipped to white.
"""

from __future__ import annotations

import io
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
from bad_input import assert_refused
from PIL import Image

import generate_samples
from rlvr.data.images import MAX_ASPECT_RATIO, check_picture
from rlvr.data.local import load_local_dataset, resolve_image
from rlvr.errors import UserError


def encoded(image: Image.Image, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


GOOD = encoded(Image.new("RGB", (40, 30), "red"))
BAD_PICTURES = {
    "truncated PNG": GOOD[: len(GOOD) // 2],
    "truncated JPEG": encoded(Image.effect_noise((64, 64), 40).convert("RGB"), "JPEG")[:-200],
    "not an image": b"%PDF-1.4 not a picture at all",
    "6000 x 12": encoded(Image.new("RGB", (6000, 12), "white")),
}


def chart_parquet(path: Path, pictures: list[bytes]) -> Path:
    rows = {
        "image": [{"bytes": picture, "path": None} for picture in pictures],
        "query": [f"q{index}" for index in range(len(pictures))],
        "label": ["1"] * len(pictures),
    }
    table = datasets.Dataset.from_dict(rows).cast_column("image", datasets.Image()).data.table
    pq.write_table(table, path)  # datasets' to_parquet would print a progress bar among the error lines
    return path


@pytest.fixture
def no_model(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the pictures were checked")

    monkeypatch.setattr("rlvr.models.checkpoints.load_checkpoint", refuse)


@pytest.mark.parametrize("case", BAD_PICTURES)
def test_a_bad_picture_in_a_parquet_is_refused_naming_its_row_before_the_model_loads(case, tmp_path, capsys, no_model):
    data = chart_parquet(tmp_path / "charts.parquet", [GOOD, GOOD, BAD_PICTURES[case]])
    output = tmp_path / "samples.json"
    argv = ["--checkpoint-path", "tiny", "--dataset-name", "chartqa", "--dataset-path", str(data), "--output",
            str(output)]  # fmt: skip
    assert_refused(generate_samples.main, argv, f"{data}: row 2: image bytes: ", capsys)
    assert not output.exists()


def test_a_saved_dataset_and_a_picture_file_are_checked_alike(tmp_path):
    saved = tmp_path / "saved"
    datasets.Dataset.from_parquet(
        str(chart_parquet(tmp_path / "c.parquet", [BAD_PICTURES["not an image"]]))
    ).save_to_disk(str(saved))
    with pytest.raises(UserError, match="row 0: image bytes: not a readable image"):
        load_local_dataset(saved)
    (tmp_path / "wide.png").write_bytes(BAD_PICTURES["6000 x 12"])
    (tmp_path / "rows.jsonl").write_text('{"image": "wide.png", "query": "q", "label": "1"}\n')
    with pytest.raises(UserError, match=r"row 0 \(line 1\): .*wide\.png: 6000 x 12 pixels; Qwen2\.5-VL"):
        load_local_dataset(tmp_path / "rows.jsonl")


def test_the_aspect_ratio_limit_is_the_one_qwen2_5_vl_draws():
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

    smart_resize(28, 28 * MAX_ASPECT_RATIO)
    with pytest.raises(ValueError, match="aspect ratio"):
        smart_resize(28, 28 * MAX_ASPECT_RATIO + 1)
    assert check_picture(encoded(Image.new("L", (MAX_ASPECT_RATIO, 1))), "here") is None
    with pytest.raises(UserError, match="201 x 1 pixels"):
        check_picture(encoded(Image.new("L", (MAX_ASPECT_RATIO + 1, 1))), "here")


def test_a_16_bit_grayscale_picture_is_scaled_to_8_bits_not_clipped_to_white(tmp_path):
    levels = np.array([[0, 257 * 64, 257 * 128, 65535]], dtype=np.uint16)
    sixteen_bit = encoded(Image.fromarray(levels))
    assert Image.open(io.BytesIO(sixteen_bit)).mode == "I;16"
    expected = [(0, 0, 0), (64, 64, 64), (128, 128, 128), (255, 255, 255)]
    chart_parquet(tmp_path / "c.parquet", [sixteen_bit])
    picture = load_local_dataset(tmp_path / "c.parquet")[0]["image"].convert("RGB")
    assert [picture.getpixel((x, 0)) for x in range(4)] == expected
    (tmp_path / "gray.png").write_bytes(sixteen_bit)
    (tmp_path / "rows.jsonl").write_text('{"image": "gray.png", "query": "q", "label": "1"}\n')
    picture = load_local_dataset(tmp_path / "rows.jsonl")[0]["image"].convert("RGB")
    assert [picture.getpixel((x, 0)) for x in range(4)] == expected
    assert [resolve_image(sixteen_bit, tmp_path, "x").getpixel((x, 0)) for x in range(4)] == expected


def test_pictures_without_a_fixed_range_are_refused():
    floating = encoded(Image.fromarray(np.ones((4, 4), dtype=np.float32)), "TIFF")
    with pytest.raises(UserError, match=r"here: image bytes: floating-point pixels \(mode F\)"):
        check_picture(floating, "here")

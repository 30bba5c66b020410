"""rlvr.data.local: every local format, relative image paths, and one clear error line for bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import datasets
import pytest
from PIL import Image as PILImage

from rlvr.data.local import load_local_dataset, resolve_image
from rlvr.errors import UserError

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def write_png(path: Path, color: tuple[int, int, int], mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.new(mode, (6, 4), color).save(path)
    return path


def png_bytes(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (6, 4), color).save(buffer, format="PNG")
    return buffer.getvalue()


def pixel(image: PILImage.Image) -> tuple[int, int, int]:
    assert isinstance(image, PILImage.Image) and image.mode == "RGB"
    return image.getpixel((0, 0))


@pytest.fixture
def picture_rows(tmp_path: Path) -> list[dict]:
    write_png(tmp_path / "imgs" / "a.png", RED)
    write_png(tmp_path / "imgs" / "b.png", GREEN)
    return [
        {"image": "imgs/a.png", "query": "q0", "label": "1"},
        {"image": "./imgs/b.png", "query": "q1", "label": "2"},
    ]


def test_json_list_resolves_relative_image_paths(tmp_path, picture_rows, monkeypatch):
    (tmp_path / "data.json").write_text(json.dumps(picture_rows))
    monkeypatch.chdir(tmp_path.parent)  # paths must not depend on the working folder
    dataset = load_local_dataset(tmp_path / "data.json")
    assert dataset.column_names == ["image", "query", "label"]
    assert [pixel(row["image"]) for row in dataset] == [RED, GREEN]
    assert dataset["query"] == ["q0", "q1"]


def test_json_object_with_data_list(tmp_path, picture_rows):
    (tmp_path / "data.json").write_text(json.dumps({"data": picture_rows}))
    assert load_local_dataset(tmp_path / "data.json")["label"] == ["1", "2"]


def test_jsonl_in_a_sub_folder_resolves_paths_from_its_own_folder(tmp_path):
    write_png(tmp_path / "set" / "pics" / "x.png", BLUE)
    lines = [json.dumps({"image": "pics/x.png", "n": 1}), "", json.dumps({"image": "pics/x.png", "n": 2})]
    (tmp_path / "set" / "test.jsonl").write_text("\n".join(lines) + "\n")
    dataset = load_local_dataset(str(tmp_path / "set" / "test.jsonl"))
    assert dataset["n"] == [1, 2]
    assert pixel(dataset[1]["image"]) == BLUE


def test_image_search_dirs_find_pictures_in_a_sub_folder(tmp_path):
    write_png(tmp_path / "png" / "c1.png", GREEN)
    (tmp_path / "EvoChart-QA.json").write_text(json.dumps([{"imgname": "c1.png", "query": "q"}]))
    dataset = load_local_dataset(tmp_path / "EvoChart-QA.json", image_columns=("imgname",), image_search_dirs=("png",))
    assert pixel(dataset[0]["imgname"]) == GREEN


def test_a_column_mixing_kinds_of_value_keeps_each_rows_value(tmp_path, picture_rows):
    """Numbers beside words, a list beside a number, an integer beyond 64 bits: each row reads back as the file
    holds it (not as text), so a reader can name the row that is wrong."""
    picture_rows[0]["answer"], picture_rows[1]["answer"] = 12.5, "Yes"
    picture_rows[0]["label"], picture_rows[1]["label"] = ["5"], 5
    picture_rows[0]["n"], picture_rows[1]["n"] = 1, 2**70
    (tmp_path / "data.json").write_text(json.dumps(picture_rows))
    dataset = load_local_dataset(tmp_path / "data.json")
    assert list(dataset["answer"]) == [12.5, "Yes"] and list(dataset["label"]) == [["5"], 5]
    assert [int(value) for value in dataset["n"]] == [1, 2**70]


def test_parquet_with_relative_path_strings(tmp_path, picture_rows):
    datasets.Dataset.from_list(picture_rows).to_parquet(str(tmp_path / "data.parquet"))
    dataset = load_local_dataset(tmp_path / "data.parquet")
    assert isinstance(dataset.features["image"], datasets.Image)
    assert [pixel(row["image"]) for row in dataset] == [RED, GREEN]


def test_parquet_with_image_bytes_keeps_its_features(tmp_path):
    images = [{"bytes": png_bytes(BLUE), "path": None}, {"bytes": png_bytes(RED), "path": None}]
    source = datasets.Dataset.from_dict({"image": images, "k": [1, 2]}).cast_column("image", datasets.Image())
    source.to_parquet(str(tmp_path / "data.parquet"))
    dataset = load_local_dataset(tmp_path / "data.parquet")
    assert [pixel(row["image"]) for row in dataset] == [BLUE, RED]


def test_parquet_with_raw_binary_images(tmp_path):
    datasets.Dataset.from_dict({"image": [png_bytes(GREEN)]}).to_parquet(str(tmp_path / "data.parquet"))
    assert pixel(load_local_dataset(tmp_path / "data.parquet")[0]["image"]) == GREEN


def test_save_to_disk_dataset_and_dataset_dict(tmp_path, picture_rows):
    single = datasets.Dataset.from_list(picture_rows)
    single.save_to_disk(str(tmp_path / "single"))
    assert [pixel(row["image"]) for row in load_local_dataset(tmp_path / "single")] == [RED, GREEN]

    both = datasets.DatasetDict({"train": single, "test": single.select([1])})
    both.save_to_disk(str(tmp_path / "both"))
    test_split = load_local_dataset(tmp_path / "both", split="test")
    assert test_split["query"] == ["q1"] and pixel(test_split[0]["image"]) == GREEN
    with pytest.raises(UserError, match=r"both: no split was given; its splits are test, train"):
        load_local_dataset(tmp_path / "both")
    with pytest.raises(UserError, match=r"has no split 'validation'; its splits are test, train"):
        load_local_dataset(tmp_path / "both", split="validation")


def test_single_split_dataset_dict_needs_no_split_name(tmp_path, picture_rows):
    datasets.DatasetDict({"test": datasets.Dataset.from_list(picture_rows)}).save_to_disk(str(tmp_path / "d"))
    assert len(load_local_dataset(tmp_path / "d")) == 2
    assert len(load_local_dataset(tmp_path / "d", default_split="train")) == 2


def test_default_split_is_taken_when_no_split_is_given(tmp_path, picture_rows):
    rows = datasets.Dataset.from_list(picture_rows)
    datasets.DatasetDict({"train": rows, "test": rows.select([0])}).save_to_disk(str(tmp_path / "d"))
    assert load_local_dataset(tmp_path / "d", default_split="test")["query"] == ["q0"]
    assert len(load_local_dataset(tmp_path / "d", split="train", default_split="test")) == 2


# --- Errors: one line naming the file, and the row where there is one ---------------------------------------------


def test_missing_path(tmp_path):
    with pytest.raises(UserError, match=r"nothere\.json: no such file or folder"):
        load_local_dataset(tmp_path / "nothere.json")


def test_unsupported_extension(tmp_path):
    (tmp_path / "data.tsv").write_text("a\tb\n")
    with pytest.raises(UserError, match=r"data\.tsv: unsupported file type '\.tsv'"):
        load_local_dataset(tmp_path / "data.tsv")


def test_folder_that_is_not_a_saved_dataset(tmp_path):
    (tmp_path / "junk").mkdir()
    with pytest.raises(UserError, match=r"junk: not a folder written by datasets' save_to_disk"):
        load_local_dataset(tmp_path / "junk")


@pytest.mark.parametrize("name, content", [("e.json", "[]"), ("e.jsonl", "\n\n"), ("e2.json", '{"data": []}')])
def test_empty_dataset(tmp_path, name, content):
    (tmp_path / name).write_text(content)
    with pytest.raises(UserError, match=rf"{name}: the dataset is empty"):
        load_local_dataset(tmp_path / name)


def test_empty_parquet(tmp_path):
    datasets.Dataset.from_dict({"query": []}).to_parquet(str(tmp_path / "e.parquet"))
    with pytest.raises(UserError, match=r"e\.parquet: the dataset is empty"):
        load_local_dataset(tmp_path / "e.parquet")


def test_malformed_json_names_the_line(tmp_path):
    (tmp_path / "bad.json").write_text('[\n  {"query": "a"},\n  {"query": }\n]')
    with pytest.raises(UserError, match=r"bad\.json: malformed JSON at line 3"):
        load_local_dataset(tmp_path / "bad.json")


def test_malformed_jsonl_names_the_line(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"query": "a"}\n\n{"query": "b"\n')
    with pytest.raises(UserError, match=r"bad\.jsonl: malformed JSON at line 3"):
        load_local_dataset(tmp_path / "bad.jsonl")


def test_json_that_is_not_a_list_of_objects(tmp_path):
    (tmp_path / "a.json").write_text('[{"query": "a"}, 7]')
    with pytest.raises(UserError, match=r"a\.json: row 1 is int, expected an object"):
        load_local_dataset(tmp_path / "a.json")
    (tmp_path / "b.json").write_text('{"rows": []}')
    with pytest.raises(UserError, match=r"b\.json: expected a JSON list of objects"):
        load_local_dataset(tmp_path / "b.json")


def test_missing_image_file_names_file_and_row(tmp_path, picture_rows):
    picture_rows[1]["image"] = "imgs/gone.png"
    (tmp_path / "data.json").write_text(json.dumps(picture_rows))
    with pytest.raises(UserError, match=r"data\.json: row 1: image file 'imgs/gone\.png' not found"):
        load_local_dataset(tmp_path / "data.json")


def test_missing_image_in_jsonl_names_row_and_line(tmp_path, picture_rows):
    picture_rows[1]["image"] = "imgs/gone.png"
    (tmp_path / "data.jsonl").write_text("\n" + "\n".join(json.dumps(row) for row in picture_rows))
    with pytest.raises(UserError, match=r"data\.jsonl: row 1 \(line 3\): image file 'imgs/gone\.png' not found"):
        load_local_dataset(tmp_path / "data.jsonl")


def test_missing_image_in_parquet_names_file_and_row(tmp_path, picture_rows):
    picture_rows[0]["image"] = "imgs/gone.png"
    datasets.Dataset.from_list(picture_rows).to_parquet(str(tmp_path / "data.parquet"))
    with pytest.raises(UserError, match=r"data\.parquet: row 0: image file 'imgs/gone\.png' not found"):
        load_local_dataset(tmp_path / "data.parquet")


def test_image_value_of_the_wrong_kind(tmp_path):
    (tmp_path / "data.json").write_text(json.dumps([{"image": 5}]))
    with pytest.raises(UserError, match=r"data\.json: row 0: expected an image path"):
        load_local_dataset(tmp_path / "data.json")


# --- resolve_image ------------------------------------------------------------------------------------------------


def test_resolve_image_accepts_every_form(tmp_path):
    write_png(tmp_path / "p.png", RED)
    rgba = PILImage.new("RGBA", (3, 3), (0, 0, 255, 255))
    assert pixel(resolve_image(rgba, tmp_path, "x")) == BLUE
    assert pixel(resolve_image("p.png", tmp_path, "x")) == RED
    assert pixel(resolve_image(tmp_path / "p.png", "/elsewhere", "x")) == RED
    assert pixel(resolve_image(png_bytes(GREEN), tmp_path, "x")) == GREEN
    assert pixel(resolve_image({"bytes": png_bytes(BLUE), "path": None}, tmp_path, "x")) == BLUE
    assert pixel(resolve_image({"bytes": None, "path": "p.png"}, tmp_path, "x")) == RED


def test_resolve_image_errors_name_the_place(tmp_path):
    with pytest.raises(UserError, match=r"rows\.json row 4: image file 'no\.png' not found"):
        resolve_image("no.png", tmp_path, "rows.json row 4")
    with pytest.raises(UserError, match=r"rows\.json row 5: image bytes: not a readable image"):
        resolve_image(b"not a picture", tmp_path, "rows.json row 5")
    with pytest.raises(UserError, match=r"rows\.json row 6: expected an image path"):
        resolve_image(None, tmp_path, "rows.json row 6")

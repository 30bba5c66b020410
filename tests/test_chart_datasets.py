"""rlvr.tasks.chart.datasets: each adapter on tiny local fixtures with the real column names, in each local format."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import datasets
import pytest
from chart_pictures import color, pixel, png_bytes
from PIL import Image as PILImage

from rlvr.errors import UserError
from rlvr.tasks.chart.datasets import (
    CHART_DATASETS,
    CHART_ROW_FEATURES,
    chart_dataset_names,
    load_chart_dataset,
)

FORMATS = ("json", "jsonl", "parquet", "saved")


def write_rows(folder: Path, rows: list[dict], data_format: str, stem: str = "data") -> Path:
    """Write ``rows`` as a local dataset; "image" values that are ints become relative PNG paths."""
    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        for key in ("image", "imgname", "image_filename"):
            if isinstance(row.get(key), int):
                index = row[key]
                (folder / "pics").mkdir(exist_ok=True)
                PILImage.new("RGBA", (5, 5), (*color(index), 255)).save(folder / "pics" / f"{index}.png")
                row[key] = f"pics/{index}.png"
    if data_format == "json":
        path = folder / f"{stem}.json"
        path.write_text(json.dumps(rows))
    elif data_format == "jsonl":
        path = folder / f"{stem}.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    elif data_format == "parquet":
        path = folder / f"{stem}.parquet"
        datasets.Dataset.from_list(rows).to_parquet(str(path))
    else:
        path = folder / stem
        datasets.Dataset.from_list(rows).save_to_disk(str(path))
    return path


def table_for(index: int) -> dict:
    return {"columns": ["Year", "Sales"], "rows": [["2020", str(index)], ["2021", "4.5"]]}


# name -> (raw row i with the dataset's real column names, the schema fields expected from it)
ADAPTER_CASES: dict[str, tuple[Callable[[int], dict], Callable[[int], dict]]] = {
    "chart-rvr": (
        lambda i: {
            "image": i,
            "query": f"q{i}",
            "label": f"{i}",
            "prompt": "unused",
            "reasoning": f"because {i}",
            "chart_type": "bar",
            "table": table_for(i),
        },
        lambda i: {
            "query": f"q{i}",
            "label": f"{i}",
            "reasoning": f"because {i}",
            "chart_type": "bar",
            "table": {"columns": ["Year", "Sales"], "rows": [["2020", str(i)], ["2021", "4.5"]]},
        },
    ),
    "chartqa": (
        lambda i: {"image": i, "query": f"q{i}", "label": [f"{i}%"], "human_or_machine": i % 2},
        lambda i: {"query": f"q{i}", "label": f"{i}%", "question_type": ("human", "machine")[i % 2]},
    ),
    "evochart": (
        lambda i: {"image": i, "query": f"q{i}", "label": f"{i}."},
        lambda i: {"query": f"q{i}", "label": f"{i}"},
    ),
    "chartqapro": (
        lambda i: {"image": i, "Question": f"q{i}", "Answer": [f"a{i}", "other"], "Question Type": "Factoid"},
        lambda i: {"query": f"q{i}", "label": f"a{i}", "question_type": "Factoid"},
    ),
    "chartbench": (
        lambda i: {
            "image": i,
            "type": {"chart": "area", "image": f"area_{i}", "QA": "Acc+"},
            "conversation": [{"query": f"Is {i} shown?", "label": "Yes"}],
        },
        lambda i: {
            "query": f"Is {i} shown? For binary questions, answer in yes/no.",
            "label": "Yes",
            "chart_type": "area",
        },
    ),
    "plotqa": (
        lambda i: {"image": i, "question_string": f"q{i}", "answer": i + 0.5, "type": "data_retrieval"},
        lambda i: {"query": f"q{i}", "label": f"{i + 0.5}", "question_type": "data_retrieval"},
    ),
    "chartfc": (
        lambda i: {"image": i, "question": f"Spain leads in {i}", "label": ("yes", "No")[i % 2]},
        lambda i: {"query": f"Spain leads in {i}. Answer yes/no.", "label": ("Yes", "No")[i % 2]},
    ),
    "figqa": (
        lambda i: {"image": i, "qa": [{"question": f"Is {i} the max?", "answer": "No."}]},
        lambda i: {"query": f"Is {i} the max?", "label": "No"},
    ),
}


def expected_row(name: str, index: int) -> dict:
    expected = dict.fromkeys(CHART_ROW_FEATURES)
    expected.update(ADAPTER_CASES[name][1](index), dataset=name)
    del expected["image"]
    return expected


def test_every_registered_dataset_has_a_test_case():
    assert set(CHART_DATASETS) == set(ADAPTER_CASES) | {
        "synthetic",
        "synthetic-kind",
    }  # generated: tests/test_synthetic_charts.py


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("name", sorted(ADAPTER_CASES))
def test_adapter_maps_real_columns_to_the_schema(tmp_path, name, data_format):
    make_row = ADAPTER_CASES[name][0]
    path = write_rows(tmp_path, [make_row(i) for i in range(3)], data_format)
    dataset = load_chart_dataset(name, path=path)
    assert len(dataset) == 3
    for index, row in enumerate(dataset):
        assert list(row) == list(CHART_ROW_FEATURES)
        assert pixel(row.pop("image")) == color(index)
        assert row == expected_row(name, index)


def test_json_table_cells_mixing_numbers_and_text(tmp_path):
    row = {
        **ADAPTER_CASES["chart-rvr"][0](0),
        "table": {"columns": ["Year", "Sales"], "rows": [["2020", 5], [2021, 4.5]]},
    }
    other = {**ADAPTER_CASES["chart-rvr"][0](1)}
    dataset = load_chart_dataset("chart-rvr", path=write_rows(tmp_path, [row, other], "json"))
    assert dataset[0]["table"] == {"columns": ["Year", "Sales"], "rows": [["2020", "5"], ["2021", "4.5"]]}
    assert dataset[1]["table"] == expected_row("chart-rvr", 1)["table"]


def test_train_alias_is_chart_rvr(tmp_path):
    path = write_rows(tmp_path, [ADAPTER_CASES["chart-rvr"][0](0)], "json")
    assert load_chart_dataset("train", path=path)[0]["dataset"] == "chart-rvr"


def test_chartqapro_pictures_as_raw_bytes(tmp_path):
    rows = [
        {"image": png_bytes(i), "Question": f"q{i}", "Answer": [f"a{i}"], "Question Type": "Reasoning"}
        for i in range(2)
    ]
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "pro.parquet"))
    dataset = load_chart_dataset("chartqapro", path=tmp_path / "pro.parquet")
    assert [pixel(row["image"]) for row in dataset] == [color(0), color(1)]
    assert dataset["label"] == ["a0", "a1"]


def test_evochart_release_layout_with_imgname_under_png(tmp_path):
    (tmp_path / "png").mkdir()
    PILImage.new("RGB", (5, 5), color(4)).save(tmp_path / "png" / "c4.png")
    (tmp_path / "EvoChart-QA.json").write_text(json.dumps([{"imgname": "c4.png", "query": "q", "label": "7"}]))
    row = load_chart_dataset("evochart", path=tmp_path / "EvoChart-QA.json")[0]
    assert pixel(row["image"]) == color(4) and row["label"] == "7"


def test_chartbench_turns_and_figqa_questions_become_rows(tmp_path):
    bench = [
        {
            "image": 0,
            "type": {"chart": "bar"},
            "conversation": [{"query": "a?", "label": "Yes"}, {"query": "b?", "label": "No"}],
        },
        {"image": 1, "type": {"chart": "pie"}, "conversation": [{"query": "c?", "label": "12"}]},
    ]
    dataset = load_chart_dataset("chartbench", path=write_rows(tmp_path / "bench", bench, "jsonl", "test"))
    assert dataset["label"] == ["Yes", "No", "12"]
    assert dataset["chart_type"] == ["bar", "bar", "pie"]
    assert [pixel(row["image"]) for row in dataset] == [color(0), color(0), color(1)]

    figqa = [{"image": 2, "qa": [{"question": "x?", "answer": "Yes"}, {"question": "y?", "answer": 0}]}]
    dataset = load_chart_dataset("figqa", path=write_rows(tmp_path / "fig", figqa, "json"))  # answers: text and 0
    assert dataset["query"] == ["x?", "y?"] and dataset["label"] == ["Yes", "No"]
    assert [pixel(row["image"]) for row in dataset] == [color(2)] * 2


def test_chartbench_and_figqa_accept_flat_columns(tmp_path):
    bench = [{"image": 0, "question": "Is it?", "answer": "no", "type": "line"}]
    row = load_chart_dataset("chartbench", path=write_rows(tmp_path / "b", bench, "json"))[0]
    assert (row["label"], row["chart_type"]) == ("no", "line")
    figqa = [{"image": 1, "question": "Is it?", "answer": 1}]
    assert load_chart_dataset("figqa", path=write_rows(tmp_path / "f", figqa, "json"))[0]["label"] == "Yes"


def test_plotqa_file_with_qa_pairs_and_mixed_answers(tmp_path):
    pairs = [
        {"image": 0, "question_string": "How many?", "answer": 3, "type": "reasoning"},
        {"image": 1, "question_string": "Which?", "answer": "Kenya", "type": "data_retrieval"},
    ]
    write_rows(tmp_path, pairs, "json")
    (tmp_path / "plotqa-qa-test.json").write_text(
        json.dumps({"qa_pairs": json.loads((tmp_path / "data.json").read_text())})
    )
    dataset = load_chart_dataset("plotqa", path=tmp_path / "plotqa-qa-test.json")
    assert dataset["label"] == ["3", "Kenya"]


def test_saved_dataset_dict_takes_the_requested_split(tmp_path):
    make_row = ADAPTER_CASES["chartqa"][0]
    rows = [make_row(i) for i in range(4)]
    for row in rows:
        row["image"] = {"bytes": png_bytes(row["image"]), "path": None}
    full = datasets.Dataset.from_list(rows).cast_column("image", datasets.Image())
    datasets.DatasetDict({"train": full.select([0, 1, 2]), "test": full.select([3])}).save_to_disk(
        str(tmp_path / "qa")
    )
    assert load_chart_dataset("chartqa", split="train", path=tmp_path / "qa")["query"] == ["q0", "q1", "q2"]
    test_rows = load_chart_dataset("chartqa", path=tmp_path / "qa")  # chartqa's default split is test
    assert test_rows["query"] == ["q3"] and pixel(test_rows[0]["image"]) == color(3)
    datasets.DatasetDict({"val": full.select([1, 2])}).save_to_disk(str(tmp_path / "only"))
    assert load_chart_dataset("chartqa", path=tmp_path / "only")["query"] == ["q1", "q2"]
    with pytest.raises(UserError, match=r"qa: it has no split 'dev'; its splits are test, train"):
        load_chart_dataset("chartqa", split="dev", path=tmp_path / "qa")


# --- Errors -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ADAPTER_CASES))
def test_missing_query_column_names_column_dataset_and_file(tmp_path, name):
    row = ADAPTER_CASES[name][0](0)
    query_columns = CHART_DATASETS[name].fields["query"].columns
    for holder in (row, *row.get("conversation", []), *row.get("qa", [])):
        for column in query_columns:
            holder.pop(column, None)
    path = write_rows(tmp_path, [row], "json")
    with pytest.raises(UserError, match=rf"^{name}: .*data\.json has no column '{query_columns[0]}'"):
        load_chart_dataset(name, path=path)


def test_missing_image_column(tmp_path):
    path = write_rows(tmp_path, [{"query": "q", "label": "1"}], "json")
    with pytest.raises(UserError, match=r"evochart: .*data\.json has no column 'image' or 'imgname'"):
        load_chart_dataset("evochart", path=path)


def test_missing_image_file_names_row(tmp_path):
    rows = [{"image": 0, "query": "q", "label": "1"}, {"image": "pics/none.png", "query": "q", "label": "1"}]
    with pytest.raises(UserError, match=r"data\.jsonl: row 1 \(line 2\): image file 'pics/none\.png' not found"):
        load_chart_dataset("evochart", path=write_rows(tmp_path, rows, "jsonl"))


def test_null_image_names_row(tmp_path):
    rows = [
        {"image": {"bytes": png_bytes(0), "path": None}, "query": "q", "label": "1"},
        {"image": None, "query": "q", "label": "2"},
    ]
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "d.parquet"))
    with pytest.raises(UserError, match=r"evochart: .*d\.parquet: row 1: column 'image' has no image"):
        load_chart_dataset("evochart", path=tmp_path / "d.parquet")


@pytest.mark.parametrize(
    "name, bad_row, message",
    [
        ("chartfc", {"question": "x", "label": "maybe"}, r"row 1: column 'label': expected yes or no, got 'maybe'"),
        ("chartqa", {"query": "x", "label": [], "human_or_machine": 0}, r"row 1: column 'label': the list is empty"),
        (
            "chartqa",
            {"query": "x", "label": ["1"], "human_or_machine": 7},
            r"row 1: column 'human_or_machine': expected 0",
        ),
        ("evochart", {"query": " ", "label": "1"}, r"row 1: column 'query' is empty"),
        (
            "chart-rvr",
            {**ADAPTER_CASES["chart-rvr"][0](1), "table": "{not json"},
            r"row 1: column 'table': the table is not",
        ),
    ],
)
def test_bad_cell_names_dataset_file_row_and_column(tmp_path, name, bad_row, message):
    good = ADAPTER_CASES[name][0](0)
    bad_row = {**bad_row, "image": 1}
    if name == "chart-rvr":
        good["table"] = json.dumps(good["table"])  # one type for the whole column
    path = write_rows(tmp_path, [good, bad_row], "json")
    with pytest.raises(UserError, match=rf"^{name}: .*data\.json: {message}"):
        load_chart_dataset(name, path=path)


def test_unknown_dataset_lists_the_names():
    with pytest.raises(UserError, match=r"unknown chart dataset 'chartqaa'; choose one of: .*chartqa, .*synthetic"):
        load_chart_dataset("chartqaa")
    assert "train" in chart_dataset_names() and "figqa" in chart_dataset_names()


def test_local_only_dataset_without_path():
    with pytest.raises(UserError, match=r"plotqa: this dataset has no hub copy; pass the path"):
        load_chart_dataset("plotqa")


def test_non_positive_subset_size(tmp_path):
    with pytest.raises(UserError, match=r"subset size must be a positive number of rows, got 0"):
        load_chart_dataset("synthetic", subset_size=0)


# --- Subsets ------------------------------------------------------------------------------------------------------


@pytest.fixture
def thirty_rows(tmp_path) -> Path:
    return write_rows(tmp_path, [ADAPTER_CASES["chartqa"][0](i) for i in range(30)], "json")


def test_subset_is_seeded_and_random(thirty_rows):
    def queries(seed):
        return load_chart_dataset("chartqa", path=thirty_rows, subset_size=10, seed=seed)["query"]

    first_ten = [f"q{i}" for i in range(10)]
    assert queries(1) == queries(1)
    assert queries(1) != queries(2)
    assert queries(2025) != first_ten
    assert len(set(queries(7))) == 10


def test_subset_rows_keep_their_pictures(thirty_rows):
    dataset = load_chart_dataset("chartqa", path=thirty_rows, subset_size=5, seed=3)
    for row in dataset:
        assert pixel(row["image"]) == color(int(row["query"][1:]))


def test_subset_larger_than_the_data_uses_everything_and_says_so(thirty_rows, caplog):
    with caplog.at_level(logging.INFO, logger="rlvr.tasks.chart.datasets"):
        dataset = load_chart_dataset("chartqa", path=thirty_rows, subset_size=100)
    assert len(dataset) == 30
    assert "subset size 100 is not below the 30 rows available; using all of them" in caplog.text


def test_subset_of_expanded_questions_counts_questions(tmp_path):
    figqa = [{"image": i, "qa": [{"question": f"{i}-{j}", "answer": "Yes"} for j in range(3)]} for i in range(4)]
    dataset = load_chart_dataset("figqa", path=write_rows(tmp_path, figqa, "json"), subset_size=5, seed=0)
    assert len(dataset) == 5
    for row in dataset:
        assert pixel(row["image"]) == color(int(row["query"].split("-")[0]))

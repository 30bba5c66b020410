"""Any dataset: ``--dataset-name`` (or ``--dataset-path``) takes a local file or folder (parquet, jsonl, json, csv,
an imagefolder with metadata.csv / metadata.jsonl) or a hub id, and ``--question-column``, ``--answer-column``,
``--image-column`` map its columns onto the task; a missing column or an empty cell is refused in one line naming
the column and the row."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from rlvr.errors import UserError
from rlvr.models.registry import load_model, load_processor, resolve_model
from rlvr.tasks import get_task
from trainers.config_parser import parse_run_config
from trainers.rl_run import build_rl_trainer
from trainers.run_data import load_run_dataset

MATH_CSV = "id,question,final\n1,What is 2 + 3?,5\n2,What is 7 - 4?,3\n3,What is 2 * 6?,12\n4,What is 9 / 3?,3\n"
ONE_STEP = [
    "--max-steps", "1", "--report-to", "none", "--num-generations", "2", "--max-completion-length", "4", "--no-lora",
]  # fmt: skip


def picture(path, colour) -> None:
    Image.new("RGB", (28, 28), colour).save(path)


def test_a_local_csv_with_other_column_names_trains(tmp_path):
    data = tmp_path / "sums.csv"
    data.write_text(MATH_CSV)
    config = parse_run_config(
        ["--task", "math", "--model", "tiny-text", "--dataset-name", str(data), "--question-column", "question",
         "--answer-column", "final", "--output-dir", str(tmp_path / "run"), *ONE_STEP]
    )  # fmt: skip
    source = resolve_model(config.model)
    trainer = build_rl_trainer(config, load_model(source), load_processor(source))
    rows = trainer.train_dataset
    assert rows["problem"] == ["What is 2 + 3?", "What is 7 - 4?", "What is 2 * 6?", "What is 9 / 3?"]
    assert rows["answer"] == ["5", "3", "12", "3"]
    trainer.train()
    assert trainer.state.global_step == 1
    assert parse_run_config(["--task", "math", "--dataset-name", str(data)]).output_dir.endswith(
        "-math-sums-grpo-2025"
    )


def test_an_imagefolder_of_charts_maps_onto_the_chart_task(tmp_path):
    folder = tmp_path / "charts"
    folder.mkdir()
    picture(folder / "a.png", "red")
    picture(folder / "b.png", "blue")
    (folder / "metadata.csv").write_text("file_name,ask,says\na.png,Which colour?,red\nb.png,Which colour?,blue\n")
    config = parse_run_config(["--dataset-path", str(folder), "--question-column", "ask", "--answer-column", "says"])
    rows = load_run_dataset(config, get_task("chart"))
    assert rows["query"] == ["Which colour?", "Which colour?"] and rows["label"] == ["red", "blue"]
    assert rows[0]["image"].getpixel((0, 0)) == (255, 0, 0)


def test_jsonl_rows_name_their_picture_column(tmp_path):
    picture(tmp_path / "c.png", "green")
    rows = [{"pic": "c.png", "q": "Which colour?", "a": "green"}] * 3
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    config = parse_run_config(
        ["--dataset-name", str(data), "--image-column", "pic", "--question-column", "q", "--answer-column", "a",
         "--subset-size", "2"]
    )  # fmt: skip
    loaded = load_run_dataset(config, get_task("chart"))
    assert len(loaded) == 2 and loaded[0]["label"] == "green" and loaded[0]["image"].size == (28, 28)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--question-column", "ask"],
            "no column 'ask' (--question-column); its columns are id, question, final, note",
        ),
        (["--question-column", "question"], "no column 'answer' (--answer-column)"),  # math's own answer column
        (
            ["--question-column", "question", "--answer-column", "note"],
            "row 1: column 'note' (--answer-column) is empty",
        ),
    ],
)
def test_missing_columns_and_empty_cells_are_one_line(flags, message, tmp_path):
    data = tmp_path / "sums.csv"
    data.write_text("id,question,final,note\n1,What is 2 + 3?,5,x\n2,What is 7 - 4?,3,\n")
    config = parse_run_config(["--task", "math", "--dataset-name", str(data), *flags])
    with pytest.raises(UserError) as error:
        load_run_dataset(config, get_task("math"))
    assert message in str(error.value) and str(data) in str(error.value) and "\n" not in str(error.value)


def test_a_task_without_free_text_columns_says_so(tmp_path):
    data = tmp_path / "rows.csv"
    data.write_text("q,a\n1,2\n")
    config = parse_run_config(["--task", "countdown", "--dataset-name", str(data), "--question-column", "q"])
    with pytest.raises(UserError, match="--task countdown takes only its own datasets"):
        load_run_dataset(config, get_task("countdown"))


def test_a_name_that_is_neither_is_the_tasks_own_error():
    config = parse_run_config(["--dataset-name", "nope"])
    with pytest.raises(UserError, match="unknown chart dataset 'nope'"):
        load_run_dataset(config, get_task("chart"))


def test_a_hub_id_that_cannot_load_offline_is_one_line():
    config = parse_run_config(["--task", "math", "--dataset-name", "nobody/no-such-dataset", "--split", "train"])
    with pytest.raises(UserError, match="cannot load hub dataset nobody/no-such-dataset \\(split train\\)") as error:
        load_run_dataset(config, get_task("math"))
    assert "\n" not in str(error.value)

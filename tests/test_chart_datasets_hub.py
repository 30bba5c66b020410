"""rlvr.tasks.chart.datasets: the hub path (datasets.load_dataset replaced: tests never reach the hub) and the
synthetic charts through the registry."""

from __future__ import annotations

import datasets
import pytest
from chart_pictures import color, pixel, png_bytes

from rlvr.errors import UserError
from rlvr.tasks.chart.datasets import CHART_ROW_FEATURES, load_chart_dataset
from rlvr.tasks.chart.synthetic import generate_synthetic_charts


def hub_images(count: int) -> list[dict]:
    return [{"bytes": png_bytes(i), "path": None} for i in range(count)]


def test_hub_load_passes_id_config_and_split(monkeypatch):
    calls = []

    def fake_load_dataset(hub_id, config=None, split=None):
        calls.append((hub_id, config, split))
        rows = {
            "image": hub_images(2),
            "type": [{"chart": "bar"}] * 2,
            "conversation": [[{"query": "q", "label": "1"}]] * 2,
        }
        return datasets.Dataset.from_dict(rows).cast_column("image", datasets.Image())

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    dataset = load_chart_dataset("chartbench", split="test")
    assert calls == [("SincereX/ChartBench", "chart_bench", "test_data")]
    assert len(dataset) == 2 and pixel(dataset[1]["image"]) == color(1)


def test_hub_unknown_split_is_a_user_error(monkeypatch):
    def fake_load_dataset(hub_id, config=None, split=None):
        raise ValueError(f"Unknown split \"{split}\". Should be one of ['train', 'val', 'test'].")

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    with pytest.raises(UserError, match=r"chartqa: cannot load split 'dev' of HuggingFaceM4/ChartQA"):
        load_chart_dataset("chartqa", split="dev")


def test_hub_out_of_reach_is_a_user_error(monkeypatch):
    def fake_load_dataset(hub_id, config=None, split=None):
        raise ConnectionError(f"Couldn't reach '{hub_id}' on the Hub (OfflineModeIsEnabled)")

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    with pytest.raises(
        UserError, match=r"chart-rvr: cannot load sanchit97/chart-rvr-grpo-train from the hub .*local path"
    ):
        load_chart_dataset("train")


def test_figqa_hub_splits_are_disjoint_sets_of_pictures(monkeypatch):
    count = 20
    rows = {"image": hub_images(count), "qa": [[{"question": f"{i}", "answer": "Yes"}] * 2 for i in range(count)]}
    hub = datasets.Dataset.from_dict(rows).cast_column("image", datasets.Image())
    monkeypatch.setattr(datasets, "load_dataset", lambda hub_id, config=None, split=None: hub)
    pictures = {}
    for split in ("train", "validation", "test"):
        dataset = load_chart_dataset("figqa", split=split)
        pictures[split] = {row["query"] for row in dataset}
        assert all(pixel(row["image"]) == color(int(row["query"])) for row in dataset)
    assert [len(pictures[s]) for s in ("train", "validation", "test")] == [16, 2, 2]
    assert set.union(*pictures.values()) == {str(i) for i in range(count)}
    assert (
        load_chart_dataset("figqa", split="test")["query"]
        == load_chart_dataset("figqa", split="test", seed=9)["query"]
    )
    with pytest.raises(UserError, match=r"figqa: unknown split 'val'; choose one of train, validation, test"):
        load_chart_dataset("figqa", split="val")


# --- Synthetic through the registry -------------------------------------------------------------------------------


def test_synthetic_rows_through_the_registry(tmp_path):
    dataset = load_chart_dataset("synthetic", split="test", subset_size=6, seed=3)
    direct = generate_synthetic_charts(6, seed=3, split="test")
    assert dataset["query"] == direct["query"] and dataset["label"] == direct["label"]
    assert list(dataset[0]) == list(CHART_ROW_FEATURES)

    dataset.save_to_disk(str(tmp_path / "saved"))
    reloaded = load_chart_dataset("synthetic", path=tmp_path / "saved")
    assert reloaded["table"] == direct["table"] and reloaded["reasoning"] == direct["reasoning"]
    assert reloaded[0]["image"].tobytes() == direct[0]["image"].tobytes()


def test_synthetic_default_sizes_and_unknown_split():
    assert len(load_chart_dataset("synthetic", split="validation", subset_size=2)) == 2
    with pytest.raises(UserError, match=r"synthetic: unknown split 'dev'"):
        load_chart_dataset("synthetic", split="dev")

"""The row schema every chart dataset adapter returns, and the synthetic generator writes."""

from __future__ import annotations

import datasets

TABLE_FEATURE = {
    "columns": datasets.List(datasets.Value("string")),
    "rows": datasets.List(datasets.List(datasets.Value("string"))),
}
TEXT_FEATURES = datasets.Features(
    {
        "query": datasets.Value("string"),
        "label": datasets.Value("string"),
        "chart_type": datasets.Value("string"),
        "table": TABLE_FEATURE,
        "reasoning": datasets.Value("string"),
        "question_type": datasets.Value("string"),
        "dataset": datasets.Value("string"),
    }
)
CHART_ROW_FEATURES = datasets.Features({"image": datasets.Image(mode="RGB"), **TEXT_FEATURES})

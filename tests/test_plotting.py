"""Pass@k figures: labelled log2 axes, fixed styles per method, the four kinds, files written, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer

from evaluation.plotting import (
    main,
    plot_bars,
    plot_dataset_grid,
    plot_improvement,
    plot_pass_at_k_curves,
    save_figure,
)
from rlvr.errors import UserError
from rlvr.methods import KNOWN_METHOD_STYLES, assign_styles

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "evaluation" / "plotting.py"
K_VALUES = [1, 2, 4, 8, 16]


def make_results(method: str, scale: float, datasets: dict[str, float] | None = None) -> dict:
    """A results object as pass_at_k.py writes it, with pass@k = 1 - (1 - scale)^k and a +-0.02 interval."""

    def summary(p: float) -> dict:
        values = {str(k): 1 - (1 - p) ** k for k in K_VALUES}
        return {
            "pass_at_k": values,
            "confidence_intervals": {k: [max(0.0, v - 0.02), min(1.0, v + 0.02)] for k, v in values.items()},
            "num_problems_per_k": dict.fromkeys(values, 10),
            "num_problems": 10,
        }

    overall = summary(scale)
    breakdown = {"dataset": {name: summary(p) for name, p in datasets.items()}} if datasets else {}
    return {
        "pass_at_k": overall["pass_at_k"],
        "k_values": K_VALUES,
        "confidence_intervals": overall["confidence_intervals"],
        "num_problems_per_k": overall["num_problems_per_k"],
        "breakdown": breakdown,
        "metadata": {"method": method, "num_problems": 10, "samples_per_problem": 16},
    }


def assert_log2_pass_at_k_axes(ax) -> None:
    assert ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_xscale() == "log"
    assert ax.xaxis.get_transform().base == 2


def line_colours(ax) -> dict[str, str]:
    return {
        line.get_label(): to_hex(line.get_color()) for line in ax.get_lines() if not line.get_label().startswith("_")
    }


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


def write_results(path: Path, results: dict) -> str:
    path.write_text(json.dumps(results), encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------------------------------------------------------
# Styles


def test_known_methods_keep_their_style_whatever_the_order_or_case():
    first = assign_styles(["GRPO", "NSR", "base"])
    second = assign_styles(["nsr", "Base", "grpo", "w_reinforce", "W-REINFORCE"])
    assert first["GRPO"] == second["grpo"] == KNOWN_METHOD_STYLES["grpo"]
    assert first["NSR"] == second["nsr"] == KNOWN_METHOD_STYLES["nsr"]
    assert first["base"] == second["Base"] == KNOWN_METHOD_STYLES["base"]
    assert second["w_reinforce"] == second["W-REINFORCE"] == KNOWN_METHOD_STYLES["w-reinforce"]


def test_every_known_method_has_its_own_colour_and_marker():
    assert set(KNOWN_METHOD_STYLES) == {"base", "sft", "ppo", "dpo", "grpo", "psr", "nsr", "w-reinforce"}
    assert len({style.colour for style in KNOWN_METHOD_STYLES.values()}) == 8
    assert len({style.marker for style in KNOWN_METHOD_STYLES.values()}) == 8


def test_unknown_labels_take_the_next_unused_colour():
    styles = assign_styles(["mine", "GRPO", "other", "third"])
    colours = [styles[label].colour for label in ("mine", "other", "third")]
    known = {style.colour for style in KNOWN_METHOD_STYLES.values()}
    assert len(set(colours)) == 3 and not set(colours) & known


# ---------------------------------------------------------------------------------------------------------------
# Figures


def test_curves_have_log2_k_axis_labels_one_line_and_band_per_method():
    results = [make_results("GRPO", 0.2), make_results("NSR", 0.3)]
    figure = plot_pass_at_k_curves(results, ["GRPO", "NSR"], title="T")
    (ax,) = figure.axes
    assert_log2_pass_at_k_axes(ax)
    assert ax.get_title() == "T"
    assert line_colours(ax) == {"GRPO": "#0072b2", "NSR": "#d55e00"}
    assert len(ax.collections) == 2  # the shaded intervals
    grpo_line = next(line for line in ax.get_lines() if line.get_label() == "GRPO")
    assert grpo_line.get_xdata().tolist() == K_VALUES
    assert np.allclose(grpo_line.get_ydata(), [1 - 0.8**k for k in K_VALUES])
    assert [tick.get_text() for tick in ax.get_xticklabels()] == [str(k) for k in K_VALUES]


def test_grid_has_one_labelled_panel_per_dataset():
    results = [
        make_results("GRPO", 0.2, {"chartqa": 0.3, "evochart": 0.1}),
        make_results("PSR", 0.25, {"chartqa": 0.35, "plotqa": 0.2}),
    ]
    figure = plot_dataset_grid(results, ["GRPO", "PSR"])
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert sorted(ax.get_title().split(" ")[0] for ax in panels) == ["chartqa", "evochart", "plotqa"]
    for ax in panels:
        assert_log2_pass_at_k_axes(ax)
    chartqa = next(ax for ax in panels if ax.get_title().startswith("chartqa"))
    assert set(line_colours(chartqa)) == {"GRPO", "PSR"}


def test_grid_without_a_dataset_breakdown_is_a_user_error():
    with pytest.raises(UserError, match="dataset"):
        plot_dataset_grid([make_results("GRPO", 0.2)], ["GRPO"])


def test_improvement_plots_differences_to_the_baseline():
    results = [make_results("base", 0.1), make_results("NSR", 0.3), make_results("PSR", 0.2)]
    figure = plot_improvement(results, ["base", "NSR", "PSR"], baseline="base")
    (ax,) = figure.axes
    assert_log2_pass_at_k_axes(ax)
    assert "base" in ax.get_ylabel()
    assert set(line_colours(ax)) == {"NSR", "PSR"}
    nsr = next(line for line in ax.get_lines() if line.get_label() == "NSR")
    assert np.allclose(nsr.get_ydata(), [(1 - 0.7**k) - (1 - 0.9**k) for k in K_VALUES])


def test_improvement_needs_a_baseline_among_the_labels():
    with pytest.raises(UserError, match="baseline"):
        plot_improvement([make_results("A", 0.1), make_results("B", 0.2)], ["A", "B"], baseline="C")


def test_bars_show_each_method_at_the_chosen_k():
    results = [make_results("GRPO", 0.2), make_results("NSR", 0.3)]
    figure = plot_bars(results, ["GRPO", "NSR"], bar_k=[1, 16, 256])
    (ax,) = figure.axes
    assert ax.get_xlabel() and ax.get_ylabel()
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["k = 1", "k = 16"]  # 256 is in no results
    grpo_bars = next(container for container in ax.containers if isinstance(container, BarContainer))
    assert np.allclose([bar.get_height() for bar in grpo_bars], [0.2, 1 - 0.8**16])
    assert to_hex(grpo_bars[0].get_facecolor()) == "#0072b2"


def test_bars_for_k_no_result_has_is_a_user_error():
    with pytest.raises(UserError, match="512"):
        plot_bars([make_results("GRPO", 0.2)], ["GRPO"], bar_k=[512])


def test_labels_must_match_the_results():
    with pytest.raises(UserError, match="2 labels for 1"):
        plot_pass_at_k_curves([make_results("GRPO", 0.2)], ["A", "B"])


@pytest.mark.parametrize("output", ["figure.png", "figure.pdf", "figure"])
def test_save_writes_non_empty_png_and_pdf(tmp_path, output):
    figure = plot_pass_at_k_curves([make_results("GRPO", 0.2)], ["GRPO"])
    paths = save_figure(figure, tmp_path / "plots" / output)
    assert paths == [tmp_path / "plots" / "figure.png", tmp_path / "plots" / "figure.pdf"]
    assert paths[0].read_bytes().startswith(b"\x89PNG")
    assert paths[1].read_bytes().startswith(b"%PDF")
    assert all(path.stat().st_size > 1000 for path in paths)


# ---------------------------------------------------------------------------------------------------------------
# Command line


def test_cli_writes_png_and_pdf_with_the_original_flags(tmp_path):
    first = write_results(tmp_path / "results_nsr.json", make_results("NSR", 0.3))
    second = write_results(tmp_path / "results_grpo.json", make_results("GRPO", 0.2))
    output = tmp_path / "nsr_vs_grpo.png"
    result = run_cli("--results", first, second, "--labels", "NSR", "GRPO", "--output", str(output), "--title", "T")
    assert result.returncode == 0, result.stderr
    assert output.stat().st_size > 1000 and output.with_suffix(".pdf").stat().st_size > 1000


@pytest.mark.parametrize("kind", ["curves", "grid", "improvement", "bars"])
def test_cli_every_kind_writes_its_figure(tmp_path, capsys, kind):
    datasets = {"chartqa": 0.3, "evochart": 0.1}
    first = write_results(tmp_path / "a.json", make_results("base", 0.1, datasets))
    second = write_results(tmp_path / "b.json", make_results("NSR", 0.3, datasets))
    output = tmp_path / kind
    flags = ["--kind", kind, "--baseline", "base", "--bar-k", "1", "16"]
    assert main(["--results", first, second, "--output", str(output), *flags]) == 0  # labels from metadata
    assert (tmp_path / f"{kind}.png").stat().st_size > 1000
    assert (tmp_path / f"{kind}.pdf").stat().st_size > 1000
    assert f"{kind}.png" in capsys.readouterr().out


def _bad_invocations(tmp_path: Path) -> dict[str, tuple[list[str], list[str]]]:
    good = write_results(tmp_path / "good.json", make_results("GRPO", 0.2))
    no_pass_at_k = tmp_path / "samples.json"
    no_pass_at_k.write_text(json.dumps([{"problem_id": 1}]), encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    output = ["--output", str(tmp_path / "out.png")]
    return {
        "labels count": (["--results", good, "--labels", "A", "B", *output], ["2 labels for 1"]),
        "missing file": (["--results", str(tmp_path / "absent.json"), *output], ["absent.json"]),
        "no pass_at_k": (["--results", str(no_pass_at_k), *output], ["samples.json", "pass_at_k"]),
        "malformed JSON": (["--results", str(broken), *output], ["broken.json", "not valid JSON"]),
        "improvement without baseline": (["--results", good, "--kind", "improvement", *output], ["--baseline"]),
        "grid without breakdown": (["--results", good, "--kind", "grid", *output], ["dataset"]),
    }


@pytest.mark.parametrize(
    "case",
    ["missing file", "no pass_at_k", "malformed JSON", "improvement without baseline", "grid without breakdown"],
)
def test_bad_input_gives_one_clear_line_and_exit_code_2(tmp_path, capsys, case):
    args, fragments = _bad_invocations(tmp_path)[case]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ")
    assert all(fragment in line for fragment in fragments), line
    assert not (tmp_path / "out.png").exists()


def test_cli_in_a_subprocess_reports_bad_input_without_a_traceback(tmp_path):
    args, fragments = _bad_invocations(tmp_path)["labels count"]
    result = run_cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and all(fragment in line for fragment in fragments)

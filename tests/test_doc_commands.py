"""The commands in README.md and docs/ run as written: every ``python <script> ...`` line of a bash block parses
with that script's own parser (main.py's YAML files included), every ``from ... import`` of a python block imports,
and the quick commands (tiny models, two steps at most) train."""

from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from trainers.config_parser import parse_run_config

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
SCRIPTS = {
    "generate_samples.py": "generate_samples",
    "evaluation/pass_at_k.py": "evaluation.pass_at_k",
    "evaluation/plotting.py": "evaluation.plotting",
    "evaluation/merge_samples.py": "evaluation.merge_samples",
    "evaluation/compare.py": "evaluation.compare",
    "monitor_training.py": "monitor_training",
}
PLACEHOLDER = re.compile(r"[<>$*]|\.\.\.")  # <run>, $dataset, results_*.json, "...": not runnable as written


def blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL)


def commands(path: Path) -> list[list[str]]:
    """Each command of the bash blocks, continuation lines joined, comments dropped, as words."""
    found = []
    for block in blocks(path, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                found.append(words)
    return found


def script_calls(path: Path) -> list[tuple[str, list[str]]]:
    """(script, arguments) of each python / accelerate launch command that runs a script of this repository."""
    calls = []
    for words in commands(path):
        script = next((word for word in words if word == "main.py" or word in SCRIPTS), None)
        if script is None or words[0] not in ("python", "accelerate"):
            continue
        arguments = words[words.index(script) + 1 :]
        if not any(PLACEHOLDER.search(word) for word in arguments):
            calls.append((script, arguments))
    return calls


ALL_CALLS = [(doc, script, arguments) for doc in DOCS for script, arguments in script_calls(doc)]


@pytest.mark.parametrize(
    ("doc", "script", "arguments"),
    ALL_CALLS,
    ids=[f"{doc.name}:{script}:{index}" for index, (doc, script, _) in enumerate(ALL_CALLS)],
)
def test_every_documented_command_parses(doc, script, arguments, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    if script == "main.py":
        parse_run_config(arguments)
    else:
        importlib.import_module(SCRIPTS[script]).build_parser().parse_args(arguments)


def test_the_docs_hold_commands_for_every_script():
    documented = {script for _, script, _ in ALL_CALLS}
    assert documented >= {"main.py", *SCRIPTS} - {"evaluation/merge_samples.py"}


EXPERIMENT_MODULE = re.compile(r"python -m (experiments(?:\.\w+)+)")


def test_every_experiment_command_names_a_module_that_runs():
    """`python -m experiments....` in the docs and the Makefile names a module with a main()."""
    named = {(path.name, module) for path in [*DOCS, REPO_ROOT / "Makefile"]
             for module in EXPERIMENT_MODULE.findall(path.read_text(encoding="utf-8"))}  # fmt: skip
    assert {module for _, module in named} >= {"experiments.demo.run", "experiments.two_procedure.run"}
    for where, module in sorted(named):
        assert callable(getattr(importlib.import_module(module), "main", None)), f"{where}: {module} has no main()"


def test_documented_experiment_commands_parse():
    """Those in the bash blocks parse with the module's own parser, where it has one."""
    calls = [words[2:] for doc in DOCS for words in commands(doc)
             if words[:2] == ["python", "-m"] and words[2].startswith("experiments.")]  # fmt: skip
    assert calls, "no `python -m experiments...` command in a bash block of the docs"
    for module_name, *arguments in calls:
        module = importlib.import_module(module_name)
        if hasattr(module, "build_parser"):
            module.build_parser().parse_args(arguments)


@pytest.mark.parametrize("doc", DOCS, ids=[doc.name for doc in DOCS])
def test_every_documented_import_imports(doc):
    for block in blocks(doc, "python"):
        for statement in re.findall(r"^from (\S+) import ([^#\n]+)", block, flags=re.MULTILINE):
            module, names = statement
            if not (REPO_ROOT / module.split(".")[0]).exists():
                continue  # the user's own module (my_rewards), not ours
            imported = importlib.import_module(module)
            for name in (part.strip() for part in names.split(",")):
                assert hasattr(imported, name), f"{doc.name}: {module} has no {name}"


def quick_commands() -> list[list[str]]:
    """The documented main.py commands on a tiny model with --max-steps 2 or fewer."""
    quick = []
    for _, script, arguments in ALL_CALLS:
        config = parse_run_config(arguments) if script == "main.py" else None
        if config is not None and config.model in ("tiny", "tiny-text") and 0 < config.max_steps <= 2:
            quick.append(arguments)
    return quick


@pytest.mark.slow
@pytest.mark.parametrize("arguments", quick_commands(), ids=lambda arguments: " ".join(arguments[:4]))
def test_the_quick_commands_train(arguments, tmp_path):
    # Run where a user would: a fresh folder holding the files the command names.
    (tmp_path / "my_rewards.py").write_text(blocks(REPO_ROOT / "docs" / "coming-from-trl.md", "python")[0])
    (tmp_path / "my_problems.csv").write_text("question,final\nWhat is 2 + 3?,5\nWhat is 7 - 4?,3\n" * 4)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), *arguments],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / parse_run_config(arguments).output_dir / "finished.json").exists()


OUTSIDE = re.compile(r"\.\./shared|/work/|(?<![\w.])/tmp/")


@pytest.mark.parametrize("doc", DOCS, ids=[doc.name for doc in DOCS])
def test_docs_stay_inside_the_repository(doc):
    text = doc.read_text(encoding="utf-8")
    assert not OUTSIDE.findall(text), f"{doc.name} names a path outside the repository: {OUTSIDE.findall(text)}"
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if not target.startswith(("http://", "https://", "mailto:")):
            assert (doc.parent / target).exists(), f"{doc.name} links to {target}, which does not exist"

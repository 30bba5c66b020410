"""The layout rule: scripts -> stages (trainers, evaluation, experiments) -> domain (rlvr); no sys.path edits.
Inside experiments/, one package per experiment, each importing only itself and experiments.common."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
STAGES = ("trainers", "evaluation", "experiments")
DOMAIN = "rlvr"
SCRIPTS = ("main.py", "generate_samples.py", "monitor_training.py")


def project_imports(path: Path) -> set[str]:
    """Top-level project packages a file imports, at module level or inside functions (not TYPE_CHECKING-only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & {*STAGES, DOMAIN, *(script.removesuffix(".py") for script in SCRIPTS)}


def python_files(folder: str) -> list[Path]:
    return sorted((REPO_ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", python_files(DOMAIN), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_the_domain_imports_no_stage_and_no_script(path):
    assert project_imports(path) <= {DOMAIN}


@pytest.mark.parametrize(
    "path",
    [path for stage in STAGES for path in python_files(stage)],
    ids=lambda path: str(path.relative_to(REPO_ROOT)),
)
def test_a_stage_imports_only_itself_and_the_domain(path):
    own_stage = path.relative_to(REPO_ROOT).parts[0]
    assert project_imports(path) <= {own_stage, DOMAIN}


def test_no_file_edits_sys_path():
    folders = (DOMAIN, *STAGES)
    files = [REPO_ROOT / script for script in SCRIPTS] + [path for folder in folders for path in python_files(folder)]
    offenders = [str(path.relative_to(REPO_ROOT)) for path in files if "sys.path" in path.read_text(encoding="utf-8")]
    assert offenders == []


def test_the_project_imports_from_outside_the_repository(tmp_path):
    import subprocess
    import sys

    code = "import evaluation.pass_at_k, experiments.demo.run, trainers.config, rlvr.tasks, main, generate_samples"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


EXPERIMENTS = REPO_ROOT / "experiments"
SHARED_EXPERIMENT_PART = "common"


def test_experiments_holds_one_package_per_experiment_and_no_loose_module():
    loose = sorted(path.name for path in EXPERIMENTS.glob("*.py") if path.name != "__init__.py")
    assert loose == []
    packages = [path for path in EXPERIMENTS.iterdir() if path.is_dir() and path.name != "__pycache__"]
    assert {package.name for package in packages} >= {SHARED_EXPERIMENT_PART, "two_procedure", "demo"}
    for package in packages:
        init = package / "__init__.py"
        assert init.exists() and ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), (
            f"{package.name}/__init__.py must say what the experiment is and how to run it"
        )


def experiment_parts(path: Path) -> set[str]:
    """The experiments packages a file imports (experiments.X.... -> X)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        names.update(module.split(".")[1] for module in modules if module.startswith("experiments."))
    return names


@pytest.mark.parametrize("path", python_files("experiments"), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_an_experiment_imports_only_itself_and_the_shared_part(path):
    parts = path.relative_to(EXPERIMENTS).parts
    own = parts[0] if len(parts) > 1 else None
    allowed = {own} if own == SHARED_EXPERIMENT_PART else {own, SHARED_EXPERIMENT_PART}
    assert experiment_parts(path) <= allowed


@pytest.mark.parametrize("path", python_files("benchmarks"), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_benchmarks_are_scripts_over_the_stages_and_the_domain(path):
    assert project_imports(path) <= {*STAGES, DOMAIN, "benchmarks"}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_imports(path: Path, modules: set[str]) -> set[str]:
    """The project modules a file imports anywhere in it (functions and TYPE_CHECKING blocks included): a circle
    through a type-only import is still two modules that cannot be understood one without the other."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # `from package import module`
    return names & modules


def test_no_module_imports_itself_through_others():
    files = [REPO_ROOT / script for script in SCRIPTS] + [
        path for folder in (DOMAIN, *STAGES, "benchmarks") for path in python_files(folder)
    ]
    modules = {module_name(path): path for path in files}
    graph = {name: module_imports(path, set(modules)) - {name} for name, path in modules.items()}
    circles = []
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            circles.append(" -> ".join([*trail[trail.index(name) :], name]))
            return
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert circles == []

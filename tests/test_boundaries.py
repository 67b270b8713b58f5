"""The engine boundary: rnn_core is a plain Python + PyTorch library and never imports streamlit.

Two checks, because each misses something the other catches:
- at run time, in a fresh interpreter, importing rnn_core (and each of its modules) leaves
  no streamlit module loaded, however indirect the import would be;
- statically, no file under rnn_core/ has an import of streamlit, even in a branch that
  does not run at import time.
"""

import ast
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

IMPORT_ALL = """
import importlib, pkgutil, sys
import rnn_core
assert rnn_core.__file__, "rnn_core is a namespace package: rnn_core/__init__.py is missing"
for info in pkgutil.walk_packages(rnn_core.__path__, "rnn_core."):
    importlib.import_module(info.name)
leaked = sorted(m for m in sys.modules if m == "streamlit" or m.startswith("streamlit."))
assert not leaked, f"importing rnn_core loaded {leaked[:5]}"
"""


def _run_python(code: str, root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _is_streamlit(module: str | None) -> bool:
    return module is not None and module.split(".")[0] == "streamlit"


def streamlit_imports(root: Path) -> list[str]:
    """Return `path:line` for every streamlit import in root/rnn_core/**/*.py."""
    found = []
    for path in sorted((root / "rnn_core").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            hit = (
                (isinstance(node, ast.Import) and any(_is_streamlit(a.name) for a in node.names))
                or (isinstance(node, ast.ImportFrom) and node.level == 0
                    and _is_streamlit(node.module))
                # importlib.import_module("streamlit...") / __import__("streamlit...")
                or (isinstance(node, ast.Call) and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                    and _is_streamlit(node.args[0].value)
                    and ast.unparse(node.func) in {"importlib.import_module", "import_module",
                                                   "__import__"})
            )  # fmt: skip
            if hit:
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_import_rnn_core_does_not_import_streamlit():
    result = _run_python("import rnn_core, sys; assert 'streamlit' not in sys.modules", REPO_ROOT)
    assert result.returncode == 0, result.stderr


def test_import_every_rnn_core_module_does_not_import_streamlit():
    result = _run_python(IMPORT_ALL, REPO_ROOT)
    assert result.returncode == 0, result.stderr


def test_no_streamlit_import_in_rnn_core_sources():
    assert list((REPO_ROOT / "rnn_core").rglob("*.py")), "rnn_core/ has no Python files"
    assert streamlit_imports(REPO_ROOT) == []


# The app's side of the job boundary: a page reads what a job publishes and asks it for
# anything that needs the model (rnn_core/jobs.py), so no file under views/ or ui/ may
# reach a job's trainer, or import the helpers that run a model directly.
MODEL_RUNNERS = {"rnn_core.generate", "rnn_core.unrolled"}


def _runner_names() -> set[str]:
    """What ``from rnn_core import X`` may name to reach a model runner: the runner modules
    themselves and every name rnn_core/__init__.py takes from one (``unroll``,
    ``grad_norms_through_time``, ...)."""
    names = {module.rpartition(".")[2] for module in MODEL_RUNNERS}
    init = REPO_ROOT / "rnn_core" / "__init__.py"
    for node in ast.walk(ast.parse(init.read_text(), filename=str(init))):
        if isinstance(node, ast.ImportFrom) and node.module in MODEL_RUNNERS:
            names |= {alias.name for alias in node.names}
    return names


def live_model_reaches(root: Path) -> list[str]:
    """`path:line what` for every `.trainer` attribute and model-runner import in the app."""
    found = []
    for folder in ("views", "ui"):
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                what = None
                if isinstance(node, ast.Attribute) and node.attr == "trainer":
                    what = ast.unparse(node)
                elif isinstance(node, ast.ImportFrom) and node.module in MODEL_RUNNERS:
                    what = f"from {node.module} import ..."
                elif isinstance(node, ast.ImportFrom) and node.module == "rnn_core":
                    hits = sorted({a.name for a in node.names} & _runner_names())
                    what = f"from rnn_core import {', '.join(hits)}" if hits else None
                elif isinstance(node, ast.Import):
                    what = next((a.name for a in node.names if a.name in MODEL_RUNNERS), None)
                if what:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {what}")
    return found


def test_pages_never_reach_a_jobs_trainer(tmp_path):
    assert live_model_reaches(REPO_ROOT) == []
    # the check itself finds the patterns it forbids
    (tmp_path / "views").mkdir()
    (tmp_path / "ui").mkdir()
    (tmp_path / "views" / "page.py").write_text(
        "from rnn_core.generate import sample_text\nx = job.trainer.model\n"
    )
    (tmp_path / "ui" / "part.py").write_text(
        "import rnn_core.unrolled\nfrom rnn_core import RunConfig, unroll, viz\n"
        "from rnn_core import grad_norms_through_time\n"
    )
    assert live_model_reaches(tmp_path) == [
        "views/page.py:1 from rnn_core.generate import ...",
        "views/page.py:2 job.trainer",
        "ui/part.py:1 rnn_core.unrolled",
        "ui/part.py:2 from rnn_core import unroll",
        "ui/part.py:3 from rnn_core import grad_norms_through_time",
    ]


PROJECT_PACKAGES = ("rnn_core", "ui")
SOURCE_FOLDERS = ("rnn_core", "ui", "views", "bench")


def private_reaches(root: Path) -> list[str]:
    """`path:line name` for every use of another project module's underscore name: a
    ``from rnn_core.x import _y``, or ``x._y`` where ``x`` was imported from the project.
    (Inside one module, underscore names are that module's own business.)"""
    found = []
    paths = [p for f in SOURCE_FOLDERS for p in sorted((root / f).rglob("*.py"))]
    paths += [p for p in [root / "app.py"] if p.exists()]
    for path in paths:
        tree = ast.parse(path.read_text(), filename=str(path))
        project_names = set()  # local names bound to project modules
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.split(".")[0] not in PROJECT_PACKAGES:
                    continue
                for alias in node.names:
                    if alias.name.startswith("_"):
                        found.append(f"{path.relative_to(root)}:{node.lineno} {alias.name}")
                    project_names.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in PROJECT_PACKAGES:
                        project_names.add(alias.asname or alias.name.split(".")[0])
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in project_names
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno} {ast.unparse(node)}")
    return found


def test_no_module_uses_another_modules_underscore_names(tmp_path):
    assert private_reaches(REPO_ROOT) == []
    # the check itself finds both forms
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "b.py").write_text(
        "from rnn_core.train import _hidden\nfrom rnn_core import viz\nviz._style(1)\n"
    )
    assert private_reaches(tmp_path) == ["bench/b.py:1 _hidden", "bench/b.py:3 viz._style"]

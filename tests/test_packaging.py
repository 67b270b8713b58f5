"""What `pip install .` installs: the engine alone, with its pins, and Streamlit only as an extra.

The wheel is built offline from a copy of the checkout with the installed setuptools through
its PEP 517 hook (what pip calls), and the checks read the wheel itself: its file list and the
Requires-Dist lines of its METADATA, which are what pip resolves. The copy keeps setuptools'
build/ and *.egg-info out of the checkout.
"""

import ast
import email.parser
import importlib.metadata
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO_ROOT = Path(__file__).resolve().parents[1]

# Never in the wheel; copying them would only slow the build down.
NOT_COPIED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    ".benchmarks",
    "cache",
    "artifacts",
    "results",
)

BUILD_WHEEL = """
import sys
from setuptools import build_meta
print(build_meta.build_wheel(sys.argv[1]))
"""

DEV_TOOLS = {"pytest", "hypothesis", "playwright", "ruff"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    installed = Version(importlib.metadata.version("setuptools"))
    for spec in pyproject["build-system"]["requires"]:
        needed = Requirement(spec)
        if canonicalize_name(needed.name) == "setuptools":
            assert needed.specifier.contains(installed, prereleases=True), (
                f"installed setuptools {installed} does not satisfy the build requirement "
                f"{spec!r} (requirements/dev.txt pins the one the tests build with)"
            )
    src = tmp_path_factory.mktemp("src") / "rnn-explorer"
    shutil.copytree(REPO_ROOT, src, ignore=NOT_COPIED)
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-c", BUILD_WHEEL, str(out)],
        cwd=src,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    name = result.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(out / name) as zf:
        yield zf


def metadata(wheel: zipfile.ZipFile):
    (path,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.parser.Parser().parsestr(wheel.read(path).decode("utf-8"))


def requirements(wheel: zipfile.ZipFile, extra: str | None) -> dict[str, Requirement]:
    """Requires-Dist lines that apply with `extra` (None: a plain `pip install .`)."""
    found = {}
    for line in metadata(wheel).get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({"extra": extra or ""}):
            found[canonicalize_name(req.name)] = req
    return found


def rnn_core_third_party_imports() -> set[str]:
    """Distributions that provide the top-level modules rnn_core imports (stdlib excluded)."""
    modules = set()
    for path in (REPO_ROOT / "rnn_core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    modules -= set(sys.stdlib_module_names) | {"__future__", "rnn_core"}
    providers = importlib.metadata.packages_distributions()
    return {canonicalize_name(providers.get(m, [m])[0]) for m in modules}


def test_wheel_holds_only_the_engine(wheel):
    top = {name.split("/")[0] for name in wheel.namelist()}
    dist_info = {t for t in top if t.endswith(".dist-info")}
    assert len(dist_info) == 1, top
    assert top - dist_info == {"rnn_core"}, "only rnn_core is installable, not app.py/views/ui"
    assert "rnn_core/__init__.py" in wheel.namelist()


def test_plain_install_requires_the_engine_pins_and_no_streamlit(wheel):
    plain = requirements(wheel, extra=None)
    assert str(plain["torch"]) == "torch==2.13.0", "torch must stay pinned exactly"
    assert "streamlit" not in plain
    # Ray is the one optional import (rnn_core/ray_jobs.py, ray_actors.py: `.[cluster]`).
    assert set(plain) | {"ray"} == rnn_core_third_party_imports(), (
        "the install requirements must be what rnn_core imports: edit requirements/engine.txt"
    )


def test_ray_is_an_extra_imported_by_the_cluster_backend_only(wheel):
    ray = requirements(wheel, extra="cluster")["ray"]
    assert ray.extras == {"client"} and str(ray.specifier) == "==2.60.0"
    assert "ray" not in requirements(wheel, extra=None)
    importers = sorted(
        path.name
        for path in (REPO_ROOT / "rnn_core").rglob("*.py")
        if any(
            (isinstance(n, ast.Import) and any(a.name.split(".")[0] == "ray" for a in n.names))
            or (isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "ray")
            for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    )
    assert importers == ["ray_actors.py", "ray_jobs.py"]


def test_streamlit_and_dev_tools_come_only_with_their_extras(wheel):
    assert set(metadata(wheel).get_all("Provides-Extra")) == {"app", "cluster", "dev"}
    app = requirements(wheel, extra="app")
    assert "streamlit" in app
    assert not DEV_TOOLS & set(app)
    dev = requirements(wheel, extra="dev")
    # The tests run the app's pages, so the dev extra carries the app's requirements too.
    assert DEV_TOOLS | {"streamlit"} <= set(dev)


def test_every_requirement_is_pinned_exactly(wheel):
    for line in metadata(wheel).get_all("Requires-Dist"):
        specs = list(Requirement(line).specifier)
        assert len(specs) == 1 and specs[0].operator == "==", line


def test_license_is_mit_and_ships_in_the_wheel(wheel):
    meta = metadata(wheel)
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    (licence,) = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    assert b"Copyright (c) 2026 The RNN Explorer authors" in wheel.read(licence)

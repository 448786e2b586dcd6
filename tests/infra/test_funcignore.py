"""The deployment package holds what the Function App imports and none of the development trees."""

from __future__ import annotations

import json
import subprocess
import sys

import pathspec

from tests.infra.bicep import REPO

DEV_ONLY = [
    ".venv/bin/python",
    ".venv-iac/bin/checkov",
    "node_modules/azurite/package.json",
    "tests/conftest.py",
    "bench/pipeline.py",
    "devhost/engine/core.py",
    "emulators/server.py",
    "samples/candidates.json",
    "docs/ARCHITECTURE.md",
    ".git/HEAD",
    ".local/emulators/tls/ca.pem",
    "infra/main.bicep",
    "local.settings.json",
    "hireflow/cli.py",
    "activities/__pycache__/calls.cpython-311.pyc",
]


def _spec() -> pathspec.GitIgnoreSpec:
    # .funcignore has gitignore syntax (Core Tools and azd read it that way).
    return pathspec.GitIgnoreSpec.from_lines((REPO / ".funcignore").read_text().splitlines())


def _app_modules() -> list[str]:
    # A fresh interpreter, so only what importing function_app pulls in counts (not what pytest imported).
    script = (
        "import json, sys, pathlib; sys.path.insert(0, sys.argv[1]); import function_app; "
        "root = pathlib.Path(sys.argv[1]).resolve(); "
        "files = [pathlib.Path(m.__file__).resolve() for m in list(sys.modules.values()) "
        "if getattr(m, '__file__', None)]; "
        "print(json.dumps(sorted(str(f.relative_to(root)) for f in files if f.is_relative_to(root) "
        "and '.venv' not in f.parts)))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(REPO)], capture_output=True, text=True, check=True, timeout=120
    )
    modules: list[str] = json.loads(completed.stdout)
    return modules


def test_every_module_the_app_imports_is_packaged() -> None:
    modules = _app_modules()
    assert "function_app.py" in modules
    assert any(m.startswith("activities/") for m in modules)
    assert any(m.startswith("shared/") for m in modules)
    ignored = [m for m in modules if _spec().match_file(m)]
    assert not ignored, f".funcignore drops modules function_app.py imports: {ignored}"


def test_deploy_files_and_runtime_assets_are_packaged() -> None:
    spec = _spec()
    # The dashboard's assets are read from disk at run time (triggers/dashboard.py), not imported.
    assets = [str(path.relative_to(REPO)) for path in (REPO / "dashboard").rglob("*") if path.is_file()]
    for kept in ("host.json", "requirements.txt", "function_app.py", "dashboard/index.html", *assets):
        assert not spec.match_file(kept), kept


def test_development_trees_are_not_packaged() -> None:
    spec = _spec()
    kept = [path for path in DEV_ONLY if not spec.match_file(path)]
    assert not kept, f"these would ship to Azure: {kept}"

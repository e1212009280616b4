"""Binder: the files in ``binder/`` install the package, and ``01-quickstart`` runs on them.

repo2docker (what Binder builds images with) reads only ``binder/`` when that folder exists.
``binder/runtime.txt`` picks the Python; ``binder/requirements.txt`` is installed with
``pip install -r binder/requirements.txt`` from the repository's root (its ``.`` is this
repository); then ``binder/postBuild``, if there is one, runs from the repository's root.
The slow test does the same in a fresh virtual environment, then runs the quickstart there.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
NOTEBOOK = Path("notebooks") / "01-quickstart.ipynb"
BUDGET_S = 870  # under the test's timeout, so that a slow step fails with its own output
TAIL_LINES = 60

# What a fresh clone would not have: the project's .gitignore, plus .git itself.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.egg-info", ".pytest_cache", ".hypothesis",
    ".ipynb_checkpoints", "build", ".ruff_cache", ".data")


def _tail(text: str | bytes | None) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n".join((text or "").splitlines()[-TAIL_LINES:])


def _run(cmd: list[str], *, what: str, cwd: Path, env: dict[str, str], deadline: float) -> str:
    """Run ``cmd``; fail the test, with the end of its output, if it fails or runs too long."""
    timeout = max(deadline - time.monotonic(), 1.0)
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{what}: still running after {timeout:.0f}s\n$ {shlex.join(cmd)}\n"
                    f"--- last lines of its output ---\n{_tail(exc.output)}", pytrace=False)
    except OSError as exc:
        pytest.fail(f"{what}: could not start {cmd[0]}: {exc}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(f"{what}: exit code {proc.returncode}\n$ {shlex.join(cmd)}\n"
                    f"--- last lines of its output ---\n{_tail(proc.stdout)}", pytrace=False)
    return proc.stdout


def test_binder_files_follow_repo2docker_conventions():
    assert BINDER.is_dir(), "binder/ holds the Binder (repo2docker) configuration"
    assert not (REPO / ".binder").exists(), "repo2docker refuses both binder/ and .binder/"
    # A Dockerfile would make repo2docker ignore every other file; an environment.yml would
    # make it ignore requirements.txt (and runtime.txt).
    for overriding in ("Dockerfile", "environment.yml"):
        assert not (BINDER / overriding).exists(), f"binder/{overriding} overrides the others"

    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert match, f"binder/runtime.txt is python-3.X, not {runtime!r}"
    minimum = re.search(r'^requires-python = ">=3\.(\d+)"$', (REPO / "pyproject.toml").read_text(),
                        flags=re.MULTILINE)
    assert minimum, "pyproject.toml's requires-python is >=3.X"
    assert int(match.group(1)) >= int(minimum.group(1)), f"{runtime} against {minimum.group(0)}"

    requirements = [line.split("#", 1)[0].strip()
                    for line in (BINDER / "requirements.txt").read_text().splitlines()]
    post_build = BINDER / "postBuild"
    if post_build.exists():
        assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
        assert post_build.read_text().startswith("#!"), "binder/postBuild needs a #! line"
    else:
        assert "." in requirements, "binder/requirements.txt installs the repository (.)"


@pytest.mark.timeout(BUDGET_S + 30)
def test_binder_install_runs_the_quickstart(tmp_path):
    deadline = time.monotonic() + BUDGET_S

    # The build starts from a clean clone: copy the repository without what git ignores, so
    # that no build/ or egg-info left here leaks into the installed package (and the
    # install's own build/ stays out of this working tree).
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo, ignore=NOT_IN_A_CLONE)

    env_dir = tmp_path / "venv"
    bin_dir = env_dir / "bin"
    python = str(bin_dir / "python")
    env = {k: v for k, v in os.environ.items()
           if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.pop("PIP_NO_CACHE_DIR", None)  # the test's own installs reuse downloaded wheels

    def run(cmd: list[str], what: str) -> str:
        return _run(cmd, what=what, cwd=repo, env=env, deadline=deadline)

    # A fresh virtual environment, with pip (its `python`/`pip` come first on PATH).
    run([sys.executable, "-m", "venv", str(env_dir)], "python -m venv")

    # What repo2docker does, in its order, from the repository's root.
    if (repo / "binder" / "requirements.txt").exists():
        run([python, "-m", "pip", "install", "-r", "binder/requirements.txt"],
            "pip install -r binder/requirements.txt")
    if (repo / "binder" / "postBuild").exists():
        run([str(repo / "binder" / "postBuild")], "binder/postBuild")

    # Only to run the notebook here: Binder's base environment already has a kernel
    # (ipykernel comes with its JupyterLab), and nbval is a test tool, not a Binder need.
    run([python, "-m", "pip", "install", "nbval", "ipykernel"], "pip install nbval ipykernel")

    # The package is installed (not editable, not the source tree), with its data files.
    probe = (
        "import json, sysconfig, vectorize_kit\n"
        "from vectorize_kit.datasets import load_knowledge_base\n"
        "print(json.dumps({'file': vectorize_kit.__file__,\n"
        "                  'purelib': sysconfig.get_paths()['purelib'],\n"
        "                  'rows': len(load_knowledge_base())}))\n"
    )
    found = json.loads(run([python, "-c", probe], "import vectorize_kit").splitlines()[-1])
    installed_at = Path(found["file"]).resolve()
    site_packages = Path(found["purelib"]).resolve()
    assert installed_at.is_relative_to(site_packages), (
        f"vectorize_kit imported from {installed_at}, not the venv's {site_packages}")
    for source_tree in (REPO / "src", repo / "src"):
        assert not installed_at.is_relative_to(source_tree.resolve()), installed_at
    assert found["rows"] == 320, f"load_knowledge_base() gave {found['rows']} rows, not 320"
    # JupyterLab's front-end extensions for the widgets (jupyterlab_widgets, with ipywidgets 8)
    # and for plotly come prebuilt in those packages: nothing to build on Binder.
    labextensions = env_dir / "share" / "jupyter" / "labextensions"
    for extension in ("@jupyter-widgets/jupyterlab-manager", "jupyterlab-plotly"):
        assert (labextensions / extension / "package.json").is_file(), (
            f"no {extension} JupyterLab extension in {labextensions}")

    # The quickstart, on the venv's own kernel.
    output = run([python, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
                  "-p", "no:cacheprovider", str(NOTEBOOK)], f"nbval {NOTEBOOK}")
    cells = json.loads((repo / NOTEBOOK).read_text())["cells"]
    code_cells = sum(cell["cell_type"] == "code" for cell in cells)
    summary = output.strip().splitlines()[-1]
    assert re.search(rf"\b{code_cells} passed\b", summary), (
        f"expected {code_cells} passed cells\n{_tail(output)}")
    assert not re.search(r"\b(failed|error|errors)\b", summary), _tail(output)

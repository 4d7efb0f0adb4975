"""Colab, emulated: every published notebook installs coursekit and runs, offline, on Colab's libraries.

A clean virtual environment gets only what Colab preinstalls
(tools/colab-requirements.txt, older than our pins on purpose). Each notebook that
`make notebooks` publishes then runs end to end in a kernel of that environment,
started in a network namespace of its own (no network at all) and talking to us
over Unix sockets. Its first cell installs coursekit through $COURSEKIT_INSTALL_SOURCE,
with pip limited to the wheels `make test` downloaded at set-up. That source is a
wheel built once from a copy of this checkout, the same build step that Colab's
`pip install git+...` runs on the repository; building it again for each of the
twelve notebooks cost about 7 s apiece. Exercises run as their solutions, pinned
the same way, so that their hidden tests run too.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import publish  # noqa: E402

WHEELS = ROOT / ".venv" / "colab-wheels"
PREINSTALLED = ["numpy", "scipy", "matplotlib", "scikit-learn", "ipywidgets", "ipykernel"]
pytestmark = pytest.mark.book


def run(*command, **options):
    result = subprocess.run(command, capture_output=True, text=True, **options)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result.stdout


def versions(python):
    listing = json.loads(run(python, "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"))
    return {p["name"].lower(): p["version"] for p in listing}


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    assert (WHEELS / ".downloaded").is_file(), (
        f"{WHEELS} is missing: `make test` downloads Colab's wheels there before running the tests")
    assert shutil.which("unshare"), "the Colab emulation needs util-linux's `unshare` to cut the network"
    home = tmp_path_factory.mktemp("colab")
    venv = home / "venv"
    run(sys.executable, "-m", "venv", str(venv))
    python = str(venv / "bin" / "python")
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index", "--no-compile",
        "--find-links", str(WHEELS), "-r", str(ROOT / "tools" / "colab-requirements.txt"))
    before = versions(python)
    assert "coursekit" not in before
    # The kernel: Colab's ipykernel, in a network namespace of its own.
    spec = home / "kernels" / "colab"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        # A user namespace too, so that this works without root.
        "argv": ["unshare", "--user", "--map-root-user", "--net", "--", python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab (emulated)", "language": "python"}))
    notebooks = home / "notebooks"
    published = publish.make_notebooks(ROOT, out=notebooks)
    solutions = []
    cell = publish.install_cell_source(publish.repository(ROOT)[0], publish.book_ref(ROOT))
    for source in sorted((ROOT / "solutions").glob("*.ipynb")):
        notebook = publish.pin_notebook(nbformat.read(source, as_version=4), cell, source)
        target = notebooks / "solutions" / source.name
        target.parent.mkdir(exist_ok=True)
        nbformat.write(notebook, target)
        solutions.append(target)
    # pip builds a local project in place: give it a copy, so that the checkout stays clean.
    checkout = home / "checkout"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(
        ".git", ".venv", "_build", "build", "*.egg-info", ".pytest_cache", ".hypothesis", "__pycache__"))
    offline_pip = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELS), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    dist = home / "dist"
    run(python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(checkout),
        env={**os.environ, **offline_pip})
    (wheel,) = dist.glob("coursekit-*.whl")
    env = {
        **os.environ,
        **offline_pip,
        publish.INSTALL_ENV: str(wheel),
        "COURSEKIT_RADAR_SOURCE": "synthetic",
        "COURSEKIT_DATA_DIR": str(home / "data"),
        "HOME": str(home),
    }
    for name in ("MPLBACKEND", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(name, None)
    return {"kernels": home / "kernels", "python": python, "before": before, "env": env, "published": published, "solutions": solutions,
            "cell": cell}


def execute(path, env, kernels):
    notebook = nbformat.read(path, as_version=4)
    # Unix sockets: the kernel has no network, not even loopback.
    # (The socket paths are absolute: the kernel runs in the notebook's folder, we do not.)
    km = KernelManager(kernel_name="colab", transport="ipc", ip=str(kernels / f"ipc-{path.stem}"),
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    client = NotebookClient(notebook, km=km, timeout=240, startup_timeout=60,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(env=env, cwd=str(path.parent), cleanup_kc=True)
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    return notebook


def test_every_chapter_and_exercise_is_published_with_a_pinned_install_cell(colab):
    names = sorted(str(p.relative_to(p.parents[1] if p.parent.name == "exercises" else p.parent))
                   for p in colab["published"])
    chapters = [d for d, _ in publish.notebook_pages(ROOT) if d.startswith("book/")]
    assert len(chapters) >= 6 and names == sorted(
        [f"{d.split('/')[1]}.ipynb" for d in chapters] + [f"exercises/{p.name}" for p in (ROOT / "exercises").glob("*.ipynb")])
    ref = publish.book_ref(ROOT)
    assert len(ref) == 40, "the install cell pins a commit, not a branch"
    for path in colab["published"]:
        first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert first.source.startswith(colab["cell"]), f"{path.name}: the first code cell is not the pinned install"
        assert f"@{ref}\"" in first.source
        pip_lines = [line for line in first.source.splitlines() if "%pip" in line or "!pip" in line]
        assert len(pip_lines) == 1 and not any(lib in pip_lines[0] for lib in ("numpy", "scipy", "matplotlib"))


def test_sources_install_from_the_configured_repository():
    url = publish.repository(ROOT)[0]
    urls = publish.source_install_urls(ROOT)
    assert len(urls) >= 12
    wrong = {str(path.relative_to(ROOT)): found for path, found in urls.items() if found != url}
    assert not wrong, f"these notebooks' Colab set-up does not install from {url} (_config.yml): {wrong}"


def test_colab_runs_every_notebook_offline_without_touching_its_libraries(colab):
    # Students' exercise versions stop at their first unanswered question: the solutions run instead.
    paths = [p for p in colab["published"] if p.parent.name != "exercises"] + colab["solutions"]

    def attempt(path):
        start = time.perf_counter()
        try:
            notebook = execute(path, colab["env"], colab["kernels"])
        except Exception as error:  # noqa: BLE001 - report every notebook, then fail
            return f"{path.parent.name}/{path.name}: {type(error).__name__}: {str(error)[-1500:]}"
        print(f"{path.parent.name}/{path.name}: ran in the emulated Colab in {time.perf_counter() - start:.1f} s")
        first = next(c for c in notebook.cells if c.cell_type == "code")
        installed = "".join(o.get("text", "") for o in first.outputs)
        if "error" in installed.lower():
            return f"{path.name}: the install cell printed {installed}"
        return None

    # One at a time: each notebook's install cell runs pip on the same environment, and a
    # reinstall must not pull coursekit from under another running notebook.
    failures = [f for f in map(attempt, paths) if f]
    assert not failures, "\n\n".join(failures)
    after = versions(colab["python"])
    assert "coursekit" in after, "the install cell did not install coursekit"
    for name in PREINSTALLED:
        assert after[name] == colab["before"][name], (
            f"installing coursekit changed {name}: {colab['before'][name]} -> {after[name]}")

"""The wheel a user installs: one top-level name, `multifolio`, that runs from any folder, even one with
its own app/, plugins/ and reports/."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
import yaml

from multifolio import __version__
from tests.docs.notebooks import (
    TEN_LINES_CHECK,
    WHERE,
    assert_ten_lines_showed_the_table_and_the_chart,
    errors,
    execute,
    printed,
    ten_lines,
)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
# the repository's folders that become subpackages; none may be a top-level name once installed
FOLDERS = ("app", "containers", "plugins", "reports", "tests")
# where setup.cfg's package_dir puts each folder inside the wheel
PACKAGE_DIRS = {"app": "multifolio", "containers": "multifolio/containers", "plugins": "multifolio/plugins",
                "reports": "multifolio/reports"}
# left out of the copy that is built: an old build/ would slip its stale files into the wheel
NOT_COPIED_AT_THE_TOP = {".git", "build", "dist", "results", "data", ".hypothesis", ".pytest_cache", "htmlcov"}


def _not_copied(folder: str, names: list[str]) -> set[str]:
    junk = {name for name in names if name == "__pycache__" or name.endswith(".egg-info")}
    if Path(folder) == REPO:  # and any virtual environment kept in the checkout
        junk |= NOT_COPIED_AT_THE_TOP & set(names) | {name for name in names
                                                      if (REPO / name / "pyvenv.cfg").exists()}
    return junk


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without what would point a child at this checkout or measure it:
    a run of the installed wheel must find everything through its own venv."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    return {key: value for key, value in os.environ.items()
            if key not in dropped and not key.startswith(("COVERAGE_", "COV_CORE_"))} | extra


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel pip builds from (a copy of) this repository: offline, with the setuptools installed here."""
    work = tmp_path_factory.mktemp("wheel")
    source = shutil.copytree(REPO, work / "source", ignore=_not_copied)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "--no-index", "--quiet", "-w", str(work / "dist"), str(source)],
                           check=False, capture_output=True, text=True, env=clean_environment(), timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    [path] = (work / "dist").glob("multifolio-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (`--no-deps`), its libraries taken from this environment.

    Not `--system-site-packages`: under CI the libraries are in the test run's own venv, not in
    the base interpreter's site-packages, and a site-packages may hold an editable multifolio
    (its .pth installs an import hook pointing at some checkout). A .pth line naming a folder
    adds it to sys.path after the venv's own site-packages without running the .pth files in
    it: the libraries are found, the venv's multifolio comes first, and no other hook runs.
    """
    home = tmp_path_factory.mktemp("venv") / "venv"
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                              "--no-index", "--quiet", str(wheel)],
                             check=False, capture_output=True, text=True, env=clean_environment(), timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    [site_packages] = (home / "lib").glob("python3.*/site-packages")
    ours = [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])]
    (site_packages / "libraries_of_the_test_run.pth").write_text("".join(f"{folder}\n" for folder in ours))
    return home


def venv_environment(home: Path) -> dict[str, str]:
    """The environment of a command run in the venv at `home`, as after activating it."""
    return clean_environment(PATH=f"{home / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")


def run_in(home: Path, *command: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(home / "bin" / command[0]), *command[1:]], check=False, cwd=cwd,
                          env=venv_environment(home), capture_output=True, text=True, timeout=300)


def test_the_wheel_holds_only_multifolio_and_its_dist_info_at_the_top_level(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert {name.split("/")[0] for name in names} == {"multifolio", f"multifolio-{__version__}.dist-info"}
    # every module of the repository's folders, where package_dir puts it
    modules = {f"{PACKAGE_DIRS[folder]}/{path.relative_to(REPO / folder).as_posix()}"
               for folder in PACKAGE_DIRS for path in (REPO / folder).rglob("*.py")}
    assert modules <= set(names), sorted(modules - set(names))
    templates = {Path(name).name for name in names if name.startswith("multifolio/reports/templates/")}
    assert templates == {path.name for path in (REPO / "reports" / "templates").glob("*.html")}


def test_the_venv_gains_only_multifolio_and_imports_it_from_there(installed):
    [site_packages] = (installed / "lib").glob("python3.*/site-packages")
    dist_info = f"multifolio-{__version__}.dist-info"
    names = {path.name for path in site_packages.iterdir()}
    assert {"multifolio", dist_info} <= names and not names & set(FOLDERS)
    # every file the install wrote: the package, its dist-info, and the `multifolio` command
    record = (site_packages / dist_info / "RECORD").read_text().splitlines()
    written = {line.split(",")[0] for line in record}
    assert {path.split("/")[0] for path in written if not path.startswith("..")} == {"multifolio", dist_info}
    assert [Path(path).name for path in written if path.startswith("..")] == ["multifolio"]
    where = run_in(installed, "python", "-c", "import importlib.metadata as m, multifolio; "
                   "print(multifolio.__file__); print(m.distribution('multifolio').locate_file(''))", cwd=installed)
    assert where.returncode == 0, where.stderr
    module, distribution = where.stdout.splitlines()
    assert Path(module).is_relative_to(site_packages / "multifolio")
    assert Path(distribution).resolve() == site_packages.resolve()


@pytest.fixture
def user_project(tmp_path) -> Path:
    """A user's folder with its own app/, containers/, plugins/ and reports/ packages (they raise when
    imported), the tiny buy-and-hold config and its data."""
    for name in FOLDERS[:-1]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('the folder {name}/ was imported')\n")
    (tmp_path / "data").mkdir()
    shutil.copy(REPO / "configs/data/tiny_daily.csv", tmp_path / "data/tiny_daily.csv")
    document = yaml.safe_load((REPO / "configs/tiny_buy_and_hold.yaml").read_text())
    assert document["data"]["file_path"] == "data/tiny_daily.csv"  # relative to the config file's folder
    (tmp_path / "tiny_buy_and_hold.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return tmp_path


def test_the_installed_command_runs_a_config_from_a_folder_with_its_own_app_plugins_and_reports(
        installed, user_project):
    done = run_in(installed, "multifolio", "run", "tiny_buy_and_hold.yaml", "--output-dir", "out", "--quiet",
                  cwd=user_project)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = user_project / "out" / "tiny_buy_and_hold"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    golden = json.loads((REPO / "tests/golden/tiny_buy_and_hold.json").read_text())
    trades = (folder / "holder" / "trades.csv").read_bytes()
    assert hashlib.sha256(trades).hexdigest() == golden["systems"]["holder"]["trades_csv_sha256"]
    assert "<html" in (folder / "holder" / "report.html").read_text().lower()  # templates shipped in the wheel


def test_python_m_multifolio_help_works_from_that_folder(installed, user_project):
    helped = run_in(installed, "python", "-m", "multifolio", "--help", cwd=user_project)  # the folder is on sys.path
    assert helped.returncode == 0, helped.stderr
    assert "run" in helped.stdout


def test_the_readmes_ten_lines_run_in_a_notebook_of_the_installed_wheel_and_write_nothing(installed, tmp_path):
    """The issue's "done means": in a fresh venv with the wheel, ten lines in a notebook define a strategy, run it
    beside a built-in one on a DataFrame and show the table and the chart, with no file written and no entry point.

    Run by nbclient in a real kernel of the wheel's venv (`bin/python -m ipykernel_launcher`), not as a script:
    that venv finds ipykernel, like its other libraries, through the folders the `installed` fixture's .pth
    lists (this test run's site-packages, whose own .pth files, an editable multifolio's among them, do not
    run), so nothing is downloaded and no checkout is on its path. The kernel starts in an empty folder.
    """
    folder = tmp_path / "notebook"
    folder.mkdir()
    notebook = execute(ten_lines(TEN_LINES_CHECK, WHERE), folder, python=installed / "bin" / "python",
                       env=venv_environment(installed))
    assert not errors(notebook)
    assert_ten_lines_showed_the_table_and_the_chart(notebook)
    where = printed(notebook, len(notebook.cells) - 1)
    [site_packages] = (installed / "lib").glob("python3.*/site-packages")
    assert Path(where["python"]) == installed / "bin" / "python"
    assert Path(where["multifolio"]).is_relative_to(site_packages / "multifolio")
    assert str(REPO) not in where["path"]  # the folders the kernel imports from, resolved there
    assert where["files"] == [] and list(folder.iterdir()) == []

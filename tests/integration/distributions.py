"""Installing small plugin distributions for tests, with pip, as a plugin author's user would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path


def install_distribution(target: Path, name: str, modules: Mapping[str, str],
                         entry_points: Mapping[str, Mapping[str, str]]) -> Path:
    """`pip install --target target` a distribution made of `modules` (module name → source) that
    registers `entry_points` (group → {name: module:attribute}). Offline: no build isolation."""
    source = target.parent / f"{name}-src"
    source.mkdir(parents=True)
    groups = "\n".join(f'[project.entry-points."{group}"]\n' + "\n".join(f'{key} = "{value}"'
                                                                       for key, value in points.items())
                       for group, points in entry_points.items())
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=70.1"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "1.0.0"\n\n{groups}\n\n'
        f'[tool.setuptools]\npy-modules = {sorted(modules)!r}\n'.replace("'", '"'))
    for module, text in modules.items():
        (source / f"{module}.py").write_text(textwrap.dedent(text))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(source)], check=True, capture_output=True)
    return target


def with_path(*folders: Path) -> dict[str, str]:
    """The environment with `folders` on PYTHONPATH (their distributions become visible)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*(str(f) for f in folders),
                                                         os.environ.get("PYTHONPATH", "")])}

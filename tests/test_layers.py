"""The package map holds: one import name, and layers that only point down (docs/architecture.md)."""

from __future__ import annotations

import ast
import configparser
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDERS = {"app": "multifolio", "containers": "multifolio.containers", "plugins": "multifolio.plugins",
           "reports": "multifolio.reports"}
# a module of the package on the left may not import what is on the right (nor anything under it)
FORBIDDEN = {
    "multifolio.errors": ("multifolio.", "dependency_injector"),
    "multifolio.files": ("multifolio.", "dependency_injector"),
    "multifolio.memory": ("multifolio.", "dependency_injector"),
    "multifolio.protocols": ("multifolio.config", "multifolio.data", "multifolio.trading", "multifolio.book",
                             "multifolio.running",
                             "multifolio.containers", "multifolio.reports", "multifolio.plugins",
                             "dependency_injector"),
    "multifolio.config": ("multifolio.data", "multifolio.trading", "multifolio.book", "multifolio.running",
                          "multifolio.containers",
                          "multifolio.reports", "multifolio.plugins", "multifolio.cli", "dependency_injector"),
    "multifolio.data": ("multifolio.trading", "multifolio.book", "multifolio.running", "multifolio.containers",
                        "multifolio.reports", "multifolio.plugins", "multifolio.cli", "dependency_injector"),
    "multifolio.trading": ("multifolio.book", "multifolio.running", "multifolio.containers", "multifolio.reports",
                           "multifolio.plugins", "multifolio.cli", "dependency_injector"),
    "multifolio.book": ("multifolio.running", "multifolio.containers", "multifolio.reports", "multifolio.plugins",
                        "multifolio.cli", "dependency_injector"),
    "multifolio.reports": ("multifolio.running", "multifolio.containers", "multifolio.plugins", "multifolio.cli",
                           "dependency_injector"),
    "multifolio.containers": ("multifolio.running", "multifolio.reports", "multifolio.cli"),
    "multifolio.running": ("multifolio.cli", "multifolio.plugins"),
    "multifolio.cli": ("multifolio.reports", "multifolio.containers", "multifolio.plugins", "dependency_injector"),
    # the Python API, over the composition root: it wires nothing itself and knows no plugin by its module
    "multifolio.api": ("multifolio.cli", "multifolio.containers", "multifolio.plugins", "dependency_injector"),
    "multifolio.results": ("multifolio.cli", "multifolio.api", "multifolio.containers", "multifolio.plugins",
                           "dependency_injector"),
    "multifolio.progress": ("multifolio.",),
    "multifolio.wording": ("multifolio.",),
    "multifolio.tables": ("multifolio.cli", "multifolio.reports", "multifolio.containers", "multifolio.plugins",
                          "dependency_injector"),
    # the plugin authors' kit, over the API: containers only through the composition root (running.substituted)
    "multifolio.testing": ("multifolio.cli", "multifolio.containers", "multifolio.plugins", "dependency_injector"),
}


def modules() -> dict[str, set[str]]:
    """Every module of the package (by import name) → the modules it imports."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = path.relative_to(REPO / folder).with_suffix("").parts
            name = ".".join([package, *[part for part in parts if part != "__init__"]])
            if folder == "app" and parts[0] in ("containers", "plugins", "reports"):
                continue
            imported = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    imported.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom):
                    assert not node.level, f"{path}:{node.lineno}: a relative import; imports are absolute"
                    # `from multifolio import reports` imports multifolio.reports: record both names
                    imported.add(node.module)
                    imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            found[name] = imported
    return found


MODULES = modules()


def test_setup_cfg_lists_every_package_of_the_folders_it_maps():
    """A package left out of `packages` is silently missing from the wheel and a regular install."""
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    listed = set(parser["options"]["packages"].split())
    package_dir = dict(line.split(" = ") for line in parser["options"]["package_dir"].strip().splitlines())
    assert package_dir == {package: folder for folder, package in FOLDERS.items()}
    on_disk = {".".join([FOLDERS[folder], *init.parent.relative_to(REPO / folder).parts])
               for folder in FOLDERS for init in (REPO / folder).rglob("__init__.py")}
    assert listed == on_disk


def test_nothing_imports_the_old_top_level_names():
    old = {"app", "containers", "plugins", "reports"}
    assert {name: sorted(i for i in imports if i.split(".")[0] in old)
            for name, imports in MODULES.items() if any(i.split(".")[0] in old for i in imports)} == {}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_only_point_down(package):
    offending = {name: sorted(i for i in imports if any(i == f or i.startswith(f.rstrip(".") + ".") or
                                                        (f.endswith(".") and i.startswith(f)) for f in
                                                        FORBIDDEN[package]))
                 for name, imports in MODULES.items() if name == package or name.startswith(package + ".")}
    assert {name: found for name, found in offending.items() if found} == {}


def test_the_package_root_imports_only_the_public_surface():
    """At import, only the protocols: a plugin's `from multifolio import Strategy` loads no engine. The API
    (`multifolio.run`) is imported on first use, inside the module's `__getattr__`."""
    tree = ast.parse((REPO / "app" / "__init__.py").read_text(encoding="utf-8"))
    eager = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    eager |= {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    assert sorted(i for i in eager if i.startswith("multifolio")) == ["multifolio", "multifolio.errors",
                                                                       "multifolio.protocols"]
    lazy = sorted(i for i in MODULES["multifolio"] if i.startswith("multifolio.") and i not in eager
                  and not i.startswith(("multifolio.protocols.", "multifolio.errors.")))
    assert lazy == ["multifolio.api", "multifolio.results"]


@pytest.mark.slow
def test_importing_multifolio_loads_no_engine():
    code = ("import sys, multifolio; loaded = [m for m in sys.modules if m.startswith('multifolio.')]; "
            "print(sorted(loaded)); assert callable(multifolio.run)")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert found.strip() == "['multifolio.errors', 'multifolio.protocols']"


def test_only_tests_import_the_kit():
    """`multifolio.testing` is for tests: nothing of the package runs through it."""
    assert sorted(name for name, imports in MODULES.items() if "multifolio.testing" in imports) == []


def test_plugins_import_only_the_public_surface():
    allowed = ("multifolio.protocols", "multifolio.plugins")
    inside = {name: sorted(i for i in imports if i.startswith("multifolio") and not i.startswith(allowed))
              for name, imports in MODULES.items() if name.startswith("multifolio.plugins")}
    assert {name: found for name, found in inside.items() if found} == {}


def test_the_public_surface_is_the_protocols():
    import multifolio
    from multifolio import protocols

    assert set(protocols.__all__) <= set(multifolio.__all__)
    for name in protocols.__all__:
        assert getattr(multifolio, name) is getattr(protocols, name)

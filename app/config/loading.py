"""A config from a file or a parsed document to the checked model, every problem of it reported at once."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import attrs

from multifolio.config.checks import check_config
from multifolio.config.model import BacktestConfig
from multifolio.config.registry import PluginRegistry
from multifolio.config.structure import structure_config
from multifolio.config.sweep_points import errors_in_file
from multifolio.config.yamlio import read_yaml
from multifolio.errors import ConfigError, ConfigErrors


def load_config(path: str | Path, registry: PluginRegistry, *, figures: Collection[str]) -> BacktestConfig:
    """Read, structure and check a config file; raises ConfigErrors listing every problem.
    `figures`: the names `reporting.sweep_metric` may take (the reports' catalogue)."""
    try:
        document = read_yaml(path)
    except ConfigError as error:
        raise ConfigErrors([error], str(path)) from None
    return validate_document(document, registry, str(path), figures=figures, folder=config_folder(path))


def config_folder(path: str | Path) -> str:
    """The folder a config file's relative data paths are read from: its own, as an absolute path (a
    config in another folder runs from anywhere; the run may change the working directory later)."""
    return str(Path(path).expanduser().absolute().parent)


def validate_document(document: Any, registry: PluginRegistry, source: str = "", *,
                      figures: Collection[str], folder: str = "") -> BacktestConfig:
    """Structure and check an already parsed document (a dict built in code, say); the result carries
    its systems resolved (`BacktestConfig.systems`). `folder`: where a relative `data.file_path` is read
    from (the config file's folder); empty, the working directory."""
    config = structure_config(document, source)
    if folder:
        config = attrs.evolve(config, data=attrs.evolve(config.data, folder=folder))
    errors, checked = check_config(config, registry, figures)
    if errors:
        raise ConfigErrors(errors_in_file(errors, config.trading_systems), source)
    return checked

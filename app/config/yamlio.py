"""Reading YAML safely: `safe_load` semantics, but duplicate keys are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from multifolio.errors import ConfigError


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                first = seen[key].start_mark
                raise yaml.constructor.ConstructorError(
                    None, None,
                    f"duplicate key {key!r} (first given at line {first.line + 1}); remove one of them",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> Any:
    """The document in `path`; a YAML problem becomes a ConfigError with line and column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("", f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError("", f"cannot read config file {path}: {error}") from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, origin: str = "<string>") -> Any:
    """Parse one YAML document (no tags beyond plain YAML types are constructed)."""
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark else origin
        problem = error.problem or str(error)
        if "could not determine a constructor" in problem:
            problem = f"{problem}; tags are not allowed in a multifolio config"
        raise ConfigError("", f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise ConfigError("", f"{origin}: invalid YAML: {error}") from None

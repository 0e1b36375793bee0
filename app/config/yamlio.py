"""Reading YAML safely and within bounds: `safe_load` semantics; duplicate and unhashable keys refused; the
file's size, its nesting and what its aliases expand to are limited, so no config can ask for unbounded
memory or time (an alias bomb of a few hundred bytes expands to billions of values when printed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from multifolio.errors import ConfigError

MAX_BYTES = 4 * 1024 * 1024  # a config file larger than this is not a config
MAX_DEPTH = 64  # mappings and lists nested deeper than any config needs
MAX_VALUES = 200_000  # values in the document once its aliases are expanded


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last), a key that is
    a list or a mapping, and nesting deeper than MAX_DEPTH."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> yaml.Node:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key must be a plain value, found a {type(key).__name__}",
                    key_node.start_mark) from None
            if key in seen:
                first = seen[key].start_mark
                raise yaml.constructor.ConstructorError(
                    None, None,
                    f"duplicate key {key!r} (first given at line {first.line + 1}); remove one of them",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """A date-like text that is no date (2024-13-10) stays the text, for the key's own check to name;
        PyYAML would raise ValueError from the middle of the file."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_StrictSafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictSafeLoader.construct_yaml_timestamp)


def read_yaml(path: str | Path) -> Any:
    """The document in `path`; a YAML problem becomes a ConfigError with line and column."""
    path = Path(path)
    try:
        if path.is_file() and path.stat().st_size > MAX_BYTES:
            raise ConfigError("", f"{path}: {path.stat().st_size:,} bytes; a config file is at most {MAX_BYTES:,}")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("", f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError("", f"cannot read config file {path}: {error}") from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, origin: str = "<string>") -> Any:
    """Parse one YAML document (no tags beyond plain YAML types are constructed)."""
    if len(text) > MAX_BYTES:
        raise ConfigError("", f"{origin}: {len(text):,} characters; a config is at most {MAX_BYTES:,}")
    try:
        document = yaml.load(text, Loader=_StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark else origin
        problem = error.problem or str(error)
        if "could not determine a constructor" in problem:
            problem = f"{problem}; tags are not allowed in a multifolio config"
        raise ConfigError("", f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise ConfigError("", f"{origin}: invalid YAML: {error}") from None
    _check_aliases(document, origin)
    return document


def _check_aliases(document: Any, origin: str) -> None:
    """Refuse a document that refers to itself, or whose aliases expand it beyond MAX_VALUES values.
    Each distinct object is counted once (and its size remembered), so an alias bomb costs no more
    to check than its few lines."""
    sizes: dict[int, int] = {}
    counting = -1  # the size of an object whose children are being counted

    def size(item: Any) -> int:
        if not isinstance(item, (dict, list)):
            return 1
        known = sizes.get(id(item))
        if known == counting:
            raise ConfigError("", f"{origin}: an alias refers to a value that holds it (&name ... *name inside "
                                  "it); a config cannot contain itself")
        if known is None:
            sizes[id(item)] = counting
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            sizes[id(item)] = known = min(1 + sum(size(child) for child in children), MAX_VALUES + 1)
        return known

    if size(document) > MAX_VALUES:
        raise ConfigError("", f"{origin}: the document holds more than {MAX_VALUES:,} values once its aliases "
                              "(*name) are expanded; write the values out, or use fewer aliases")

"""What expanded systems say of their sweep: errors pointed back at the entries of the file, and the
plan's lines (one per swept entry)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from multifolio.config.search import OPTUNA
from multifolio.config.spec import SweepPoint
from multifolio.config.sweep import SWEPT
from multifolio.errors import ConfigError
from multifolio.wording import counted

_ENTRY_INDEX = re.compile(r"trading_systems\[(\d+)\]")


def _record(entry: Any) -> SweepPoint | None:
    """The sweep point of a raw expanded entry, a TradingSystemConfig or a SystemSpec (None if not swept)."""
    record = entry.get(SWEPT) if isinstance(entry, Mapping) else getattr(entry, SWEPT, None)
    return record if isinstance(record, SweepPoint) else None


def errors_in_file(errors: Iterable[ConfigError], systems: Any) -> list[ConfigError]:
    """Errors of expanded systems pointed back at the entries of the file.

    `trading_systems[k]` of the expanded list becomes the index the user wrote; a
    problem shared by every system of a sweep is reported once, one that only some
    combinations have names the first of them. `systems`: the expanded entries (raw
    or structured); anything else leaves the errors as they are.
    """
    if not isinstance(systems, Sequence) or not any(_record(entry) for entry in systems):
        return list(errors)
    file_index, next_index = [], 0
    for entry in systems:
        record = _record(entry)
        file_index.append(record.entry if record else next_index)
        next_index = file_index[-1] + 1
    size = {}
    for entry in systems:
        if (record := _record(entry)) is not None:
            size[record.entry] = size.get(record.entry, 0) + 1

    def in_file(text: str) -> str:
        return _ENTRY_INDEX.sub(lambda m: f"trading_systems[{file_index[int(m.group(1))]}]"
                                if int(m.group(1)) < len(file_index) else m.group(0), text)

    grouped: dict[tuple[str, str], list[str]] = {}
    for error in errors:
        match = _ENTRY_INDEX.match(error.path)
        k = int(match.group(1)) if match else -1
        record = _record(systems[k]) if 0 <= k < len(systems) else None
        names = grouped.setdefault((in_file(error.path), in_file(error.message)), [])
        if record is not None:
            names.append(systems[k].get("name") if isinstance(systems[k], Mapping) else systems[k].name)
    located = []
    for (path, message), names in grouped.items():
        match = _ENTRY_INDEX.match(path)
        everywhere = not names or len(names) == size.get(int(match.group(1)) if match else -1)
        if not everywhere:
            more = f" and {len(names) - 1} more" if len(names) > 1 else ""
            message = f"{message} (in the sweep's system {names[0]}{more})"
        located.append(ConfigError(path, message))
    return located


def describe_sweeps(systems: Sequence[Any]) -> list[str]:
    """One line per swept entry, for `multifolio validate`: its keys, combinations and systems."""
    lines, expanded = [], {}
    for entry in systems:
        record = _record(entry)
        if record is not None:
            expanded.setdefault(record.entry, [record, 0])[1] += 1
    for index, (record, count) in expanded.items():
        keys = " × ".join(record.paths.values())
        chosen = (f"expands to {counted(count, 'system')}" if record.search is None
                  else record.search.describe(count if record.search.method == OPTUNA else record.combinations))
        lines.append(f"sweep trading_systems[{index}] ({record.group}) over {keys}: "
                     f"{counted(record.combinations, 'combination')}, {chosen}"
                     + (f"; {record.walk_forward.describe()}, out of sample as {record.group}.walk_forward"
                        if record.walk_forward is not None else ""))
    return lines

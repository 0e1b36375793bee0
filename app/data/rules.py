"""The data rules applied to a source's rows: the first broken one raises, or (`drop`) bad rows are marked.

One `DataRules` per load: it knows each row's file and line, so a message names them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from multifolio.errors import DataError

_ROWS_SHOWN = 5  # bad rows named in a message
_RULES_SHOWN = 3  # rules named when too many rows would be dropped


class DataRules:
    """Applies the data rules: the first broken one raises, or (`drop`) every bad row is marked.

    A frame with `line` and `file` columns (rows read from several files) names each bad row's file
    and line; without them, its row number in `origin`.
    """

    def __init__(self, frame: pd.DataFrame, origin: str, drop: bool) -> None:
        has_lines = "line" in frame.columns
        self._label = "line" if has_lines else "row"
        # each row's line in its file (or its row number): kept through a reordering of the rows
        self._numbers = frame["line"].to_numpy() if has_lines else np.arange(1, len(frame) + 1)
        self._file_codes, files = (pd.factorize(frame["file"], sort=False) if "file" in frame.columns
                                   else (np.zeros(len(frame), dtype=np.int64), [origin]))
        self._files = [str(name) for name in files]
        self._drop = drop
        self.invalid = np.zeros(len(frame), dtype=bool)
        self.dropped: dict[str, int] = {}

    def files(self) -> list[tuple[str, np.ndarray | None]]:
        """(file, its rows) for each file the rows came from; the rows are None when there is one file."""
        if len(self._files) == 1:
            return [(self._files[0], None)]
        return [(name, np.flatnonzero(self._file_codes == code)) for code, name in enumerate(self._files)]

    def where(self, row: int) -> str:
        """`file line N` (or `origin row N`) of the row at position `row`."""
        return f"{self._files[self._file_codes[row]]} {self._label} {int(self._numbers[row])}"

    def reorder(self, order: np.ndarray) -> None:
        """The rows are now `order` of what they were (a file read in reverse): lines follow their rows."""
        self.invalid = self.invalid[order]
        self._numbers = self._numbers[order]
        self._file_codes = self._file_codes[order]

    def check(self, mask: np.ndarray, rule: str) -> None:
        mask = np.asarray(mask, dtype=bool) & ~self.invalid  # a row is dropped for its first broken rule
        if not mask.any():
            return
        if self._drop:
            self.invalid |= mask
            self.dropped[rule] = self.dropped.get(rule, 0) + int(mask.sum())
            return
        bad = np.flatnonzero(mask)
        in_file = bad[self._file_codes[bad] == self._file_codes[bad[0]]]  # lines are numbered per file
        numbers = np.sort(self._numbers[in_file])
        shown = ", ".join(str(int(n)) for n in numbers[:_ROWS_SHOWN])
        rest = len(bad) - min(len(in_file), _ROWS_SHOWN)
        elsewhere = " (some in other files)" if len(in_file) < len(bad) else ""
        more = f" and {rest} more{elsewhere}" if rest else ""
        fix = f"; fix the {'file' if self._label == 'line' else 'data'}, or set data.on_invalid: drop to skip " \
              "such rows"
        raise DataError(f"{self._files[self._file_codes[bad[0]]]} {self._label}{'s' if len(bad) > 1 else ''} "
                        f"{shown}{more}: {rule}{fix}")

    def check_share_dropped(self, origin: str, max_dropped: float) -> None:
        """Refuse to drop more than `max_dropped` of the rows: a file that breaks the rules everywhere is
        a file read the wrong way (or the wrong file), not one with a few bad rows."""
        count, total = int(self.invalid.sum()), len(self.invalid)
        if count <= max_dropped * total:
            return
        mostly = sorted(self.dropped.items(), key=lambda item: -item[1])[:_RULES_SHOWN]
        rules = "; ".join(f"{rule} ({n:,})" for rule, n in mostly)
        raise DataError(f"{origin}: data.on_invalid: drop would drop {count:,} of the {total:,} rows "
                        f"({count / total:.2%}), more than data.max_dropped {max_dropped:g} ({max_dropped:.2%}) "
                        f"allows; rules broken most: {rules}; fix the data, or raise data.max_dropped")

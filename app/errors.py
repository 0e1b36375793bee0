"""Errors a user can meet: each one names where, what was found and what is expected."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# What a plugin may raise that fails only its own system: anything but the user's Ctrl-C (KeyboardInterrupt).
# SystemExit included: a plugin calling sys.exit() must not end the run with nothing written.
PLUGIN_FAULTS: tuple[type[BaseException], ...] = (Exception, SystemExit)


class MultifolioError(Exception):
    """Base of every error multifolio reports to a user (the CLI exits 2 on these)."""


class ConfigError(MultifolioError):
    """One problem at one key path of the configuration (or of a plugin's parameters)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = _bounded(path)
        self.message = _bounded(message)
        super().__init__(f"{path}: {message}" if path else message)

    def under(self, prefix: str) -> ConfigError:
        """The same problem seen from an enclosing key, e.g. `parameters` → `strategy.parameters`."""
        if not prefix:
            return self
        joined = f"{prefix}.{self.path}" if self.path and not self.path.startswith("[") else f"{prefix}{self.path}"
        return ConfigError(joined, self.message)


class ConfigErrors(MultifolioError):
    """Every problem found in one configuration file, reported together."""

    def __init__(self, errors: Iterable[ConfigError], source: str = "") -> None:
        self.errors = list(errors)
        self.source = source
        where = f" in {source}" if source else ""
        count = len(self.errors)  # the one plural this module writes (it imports nothing of multifolio's)
        lines = [f"{count} configuration error{'' if count == 1 else 's'}{where}:"]
        lines += [f"  {error}" for error in self.errors]
        super().__init__("\n".join(lines))


class DataError(MultifolioError):
    """Market data that cannot be used: names the file, the rows and the rule broken."""


class PluginOutputError(MultifolioError):
    """A plugin returned what cannot be used (NaN, a negative size, a price ≤ 0): fails its system."""


class UndeclaredIndicatorError(MultifolioError, KeyError):
    """A strategy read an indicator key it did not declare: names the strategy, the key and those declared.
    A KeyError, so a strategy that probes keys with `except KeyError` keeps working."""

    def __str__(self) -> str:
        return str(self.args[0])  # KeyError would show the message in quotes


MESSAGE_LIMIT = 600  # characters of a path or message: a value echoed back is never a flood


def _bounded(text: str) -> str:
    if len(text) <= MESSAGE_LIMIT:
        return text
    return f"{text[:MESSAGE_LIMIT]}… ({len(text) - MESSAGE_LIMIT:,} more characters)"


_LISTED = 30  # known names listed in full up to this many


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`known: a, b, c (did you mean b?)`, the tail of every unknown-name message."""
    known = sorted(known)
    text = f"known: {', '.join(known)}" if known else "none are registered"
    if len(known) > _LISTED:  # every TA-Lib function is an indicator: a list that long would hide the hint
        text = f"{len(known)} known ({', '.join(known[:5])}, …, {known[-1]})"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    if not close:
        close = [k for k in known if k.lower() == str(name).lower()]
    return f"{text} (did you mean {close[0]}?)" if close else text

"""How counts read in messages: "1 system", "2 systems", "3 strategies"."""

from __future__ import annotations

_VOWELS = "aeiou"


def plural(word: str) -> str:
    """The English plural of a label's last word: strategy → strategies, day → days, system → systems."""
    if word.endswith("y") and word[-2:-1] not in _VOWELS:
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def counted(count: int, word: str) -> str:
    """`count` followed by `word`, in the plural unless `count` is one: "1 system", "2,147 rows"."""
    return f"{count:,} {word if count == 1 else plural(word)}"

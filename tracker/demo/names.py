"""The names the demo gives people, settings and schools, read from ``data/``.

The lists are plain text, one name a line (``#`` starts a comment), so that they can be
changed without reading any code; ``school_kinds.csv`` weighs how common each kind is.
"""

import csv
from importlib.resources import files

_DATA = files(__package__) / "data"


def _lines(name: str) -> tuple[str, ...]:
    text = (_DATA / name).read_text(encoding="utf-8")
    return tuple(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _weighted(name: str) -> tuple[tuple[str, int], ...]:
    with (_DATA / name).open(encoding="utf-8", newline="") as file:
        return tuple((row["kind"], int(row["weight"])) for row in csv.DictReader(file))


FIRST_NAMES_F = _lines("first_names_female.txt")
FIRST_NAMES_M = _lines("first_names_male.txt")
SURNAMES = _lines("surnames.txt")
PERSON_DOMAINS = ("example.com", "example.org")

NURSERY_PREFIXES = _lines("nursery_prefixes.txt")
NURSERY_NOUNS = _lines("nursery_nouns.txt")
PLACES = _lines("place_names.txt")
SCHOOL_KINDS = _weighted("school_kinds.csv")

"""Statistical disclosure control for published figures: small counts are never shown.

The rule, as the public page states it, after DfE's official statistics:

- **primary suppression**: a count from 1 to 4 is shown as "c"; 0 is shown as 0;
- **secondary suppression**: where a table also shows totals, more counts are hidden until
  no hidden count can be worked out from the ones shown, whatever sums of them a reader
  does (a total minus its shown parts, or longer chains across rows and columns);
- **rounding**: every count shown is rounded to the nearest 5, each on its own (a total
  is rounded from its exact value, not summed from rounded parts), so one claim more or
  less seldom changes what is shown.

Which cells are hidden is decided on the exact counts, before rounding, so the hidden cells
are the same as if exact counts were shown. Rounding then only takes information away: a
reader of the rounded table knows less than a reader of the exact one, so nothing hidden
can be worked out from it either.

A table is a set of cells and the additive groups that bind them (a total and its parts).
A hidden cell can be worked out exactly when it is a combination of the equations
``total - sum(parts) = 0`` once the shown cells are put in; that is a question of linear
algebra, answered here with exact fractions. While some hidden cell can be worked out,
the smallest shown non-zero count that shares an equation with it is hidden too.
"""

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

SUPPRESSED = "c"
SMALLEST_SHOWN = 5  # counts from 1 to SMALLEST_SHOWN - 1 are hidden
ROUNDED_TO = 5  # counts shown are rounded to the nearest multiple of this

RULE = (
    f"Counts are rounded to the nearest {ROUNDED_TO}. Counts from 1 to {SMALLEST_SHOWN - 1}"
    f" (before rounding) are shown as “{SUPPRESSED}”, so that no one can be identified"
    f" from them. Some larger counts are also shown as “{SUPPRESSED}” where they could"
    " otherwise be worked out by subtracting the counts shown from a total. Zero is shown"
    " as 0. Totals are rounded on their own, so they may not equal the sum of the rounded"
    " counts shown beside them."
)

Cell = Hashable


@dataclass(frozen=True)
class Group:
    """An additive relation between published cells: ``total`` is the sum of ``parts``."""

    total: Cell
    parts: tuple[Cell, ...]


def is_small(value: int) -> bool:
    return 0 < value < SMALLEST_SHOWN


def rounded(value: int) -> int:
    """The count rounded to the nearest ``ROUNDED_TO`` (an integer count is never half way)."""
    return ROUNDED_TO * ((value + ROUNDED_TO // 2) // ROUNDED_TO)


def _echelon(rows: list[dict[Cell, Fraction]], unknowns: list[Cell]) -> list[dict]:
    """Reduce equations over the unknown cells to reduced row echelon form."""
    rows = [dict(r) for r in rows if r]
    reduced: list[dict] = []
    for cell in unknowns:
        pivot = next((r for r in rows if r.get(cell)), None)
        if pivot is None:
            continue
        rows.remove(pivot)
        scale = pivot[cell]
        pivot = {c: v / scale for c, v in pivot.items() if v}
        for other in rows + reduced:
            factor = other.get(cell)
            if factor:
                for c, v in pivot.items():
                    other[c] = other.get(c, Fraction(0)) - factor * v
                    if not other[c]:
                        del other[c]
        reduced.append(pivot)
        rows = [r for r in rows if r]
    return reduced


def recoverable(groups: Iterable[Group], hidden: set[Cell]) -> set[Cell]:
    """Return the hidden cells whose exact value follows from the shown cells and the groups."""
    equations = []
    for group in groups:
        equation: dict[Cell, Fraction] = {}
        for cell, sign in [(group.total, 1), *((part, -1) for part in group.parts)]:
            if cell in hidden:
                equation[cell] = equation.get(cell, Fraction(0)) + sign
        equation = {c: v for c, v in equation.items() if v}
        if equation:
            equations.append(equation)
    unknowns = sorted(hidden, key=repr)
    # A hidden cell is fixed exactly when some combination of the equations names it alone:
    # in reduced echelon form, a row holding that cell and nothing else.
    return {next(iter(row)) for row in _echelon(equations, unknowns) if len(row) == 1}


def suppress(values: Mapping[Cell, int], groups: Iterable[Group] = ()) -> set[Cell]:
    """Return the cells to hide: small counts, and enough others that none can be worked out."""
    groups = list(groups)
    hidden = {cell for cell, value in values.items() if is_small(value)}
    while True:
        exposed = recoverable(groups, hidden)
        if not exposed:
            return hidden
        # Cells a single subtraction gives away first: their partner closes the most chains.
        cell = min(exposed, key=lambda c: (not _alone_in_a_group(groups, hidden, c), repr(c)))
        hidden.add(_partner(values, groups, hidden, cell))


def _alone_in_a_group(groups: list[Group], hidden: set[Cell], cell: Cell) -> bool:
    return any(
        cell in (g.total, *g.parts) and sum(c in hidden for c in (g.total, *g.parts)) == 1
        for g in groups
    )


def _partner(
    values: Mapping[Cell, int], groups: list[Group], hidden: set[Cell], cell: Cell
) -> Cell:
    """The shown cell to hide alongside ``cell``, hiding as little as it can.

    Candidates come first from the groups where ``cell`` is the only hidden member (those
    give it away by subtraction), else from every group holding it. The smallest candidate
    that stops ``cell`` being worked out is taken; failing that, the smallest. Non-zero
    counts go first: a hidden zero protects little when readers know small counts are
    never zero.
    """
    holding = [g for g in groups if cell == g.total or cell in g.parts]
    alone = [g for g in holding if sum(c in hidden for c in (g.total, *g.parts)) == 1]
    candidates: set[Cell] = set()
    for choice in (alone, holding):
        candidates = {c for g in choice for c in (g.total, *g.parts) if c not in hidden}
        if candidates:
            break
    candidates = candidates or (set(values) - hidden)
    if not candidates:
        raise ValueError("every cell is hidden and one can still be worked out")
    ordered = sorted(candidates, key=lambda c: (values[c] == 0, values[c], repr(c)))
    for candidate in ordered:
        if cell not in recoverable(groups, hidden | {candidate}):
            return candidate
    return ordered[0]


def shown(value: int, cell: Cell, hidden: set[Cell]) -> int | str:
    """The value as published: the count rounded to the nearest 5, or "c"."""
    return SUPPRESSED if cell in hidden else rounded(value)

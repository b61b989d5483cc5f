"""Small counts are hidden, and no hidden count can be worked out from what is shown."""

import itertools
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.disclosure import RULE, Group, is_small, recoverable, rounded, shown, suppress


def _rank(rows: list[list[Fraction]]) -> int:
    """Rank by plain Gaussian elimination: a second method, independent of the module's."""
    rows = [r[:] for r in rows]
    rank, width = 0, len(rows[0]) if rows else 0
    for col in range(width):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for i in range(len(rows)):
            if i != rank and rows[i][col] != 0:
                factor = rows[i][col] / rows[rank][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[rank], strict=True)]
        rank += 1
    return rank


def worked_out(groups: list[Group], hidden: set) -> set:
    """The hidden cells a reader can compute exactly from the shown cells and the totals.

    x is determined exactly when adding the equation "x = anything" does not raise the rank
    of the system over the hidden cells: e_x lies in the span of the equations.
    """
    unknowns = sorted(hidden, key=repr)
    index = {cell: i for i, cell in enumerate(unknowns)}
    equations = []
    for group in groups:
        row = [Fraction(0)] * len(unknowns)
        for cell, sign in [(group.total, 1), *((p, -1) for p in group.parts)]:
            if cell in index:
                row[index[cell]] += sign
        if any(row):
            equations.append(row)
    if not equations:
        return set()
    rank = _rank(equations)
    found = set()
    for cell in unknowns:
        unit = [Fraction(0)] * len(unknowns)
        unit[index[cell]] = Fraction(1)
        if _rank([*equations, unit]) == rank:
            found.add(cell)
    return found


def table_with_totals(interior: list[list[int]]):
    """A table of rows and columns with row totals, column totals and a grand total."""
    n_rows, n_cols = len(interior), len(interior[0])
    values = {(r, c): interior[r][c] for r in range(n_rows) for c in range(n_cols)}
    for r in range(n_rows):
        values[(r, "total")] = sum(interior[r])
    for c in range(n_cols):
        values[("total", c)] = sum(interior[r][c] for r in range(n_rows))
    values[("total", "total")] = sum(map(sum, interior))
    groups = [Group((r, "total"), tuple((r, c) for c in range(n_cols))) for r in range(n_rows)]
    groups += [Group(("total", c), tuple((r, c) for r in range(n_rows))) for c in range(n_cols)]
    groups.append(Group(("total", "total"), tuple(("total", c) for c in range(n_cols))))
    groups.append(Group(("total", "total"), tuple((r, "total") for r in range(n_rows))))
    return values, groups


def test_counts_from_1_to_4_are_hidden_and_0_and_5_are_shown():
    values = {"a": 0, "b": 1, "c": 4, "d": 5, "e": 100}
    assert suppress(values) == {"b", "c"}


def test_a_total_minus_the_shown_parts_does_not_give_away_a_hidden_part():
    values = {"total": 23, "a": 3, "b": 12, "c": 8}
    groups = [Group("total", ("a", "b", "c"))]

    hidden = suppress(values, groups)

    # 23 - 12 - 8 would give 3: the next smallest part, 8, is hidden too.
    assert hidden == {"a", "c"}
    assert worked_out(groups, hidden) == set()


def test_a_zero_is_not_the_partner_that_protects_a_small_count():
    values = {"total": 23, "a": 3, "b": 0, "c": 20}
    groups = [Group("total", ("a", "b", "c"))]

    assert suppress(values, groups) == {"a", "c"}


def test_a_chain_across_rows_and_columns_is_closed_too():
    # Hiding one more cell in the row is not enough when the column then gives it away.
    values, groups = table_with_totals([[2, 10, 30], [40, 50, 60], [70, 80, 90]])

    hidden = suppress(values, groups)

    assert (0, 0) in hidden
    assert worked_out(groups, hidden) == set()
    assert recoverable(groups, hidden) == set()


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda cols: st.lists(
            st.lists(st.integers(0, 30), min_size=cols, max_size=cols), min_size=1, max_size=6
        )
    )
)
def test_no_hidden_count_can_be_worked_out_from_any_table(interior):
    values, groups = table_with_totals(interior)

    hidden = suppress(values, groups)

    assert {cell for cell, value in values.items() if is_small(value)} <= hidden
    assert worked_out(groups, hidden) == set()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=2, max_size=8))
def test_nested_totals_give_nothing_away(parts):
    # Claims = waiting + funded, funded = the rest: two levels, as on the public page.
    values = {("p", i): v for i, v in enumerate(parts)}
    values["funded"] = sum(parts[1:])
    values["claims"] = sum(parts)
    groups = [
        Group("claims", (("p", 0), "funded")),
        Group("funded", tuple(("p", i) for i in range(1, len(parts)))),
    ]

    hidden = suppress(values, groups)

    assert worked_out(groups, hidden) == set()


# -- rounding -----------------------------------------------------------------------------------


def test_counts_shown_are_rounded_to_the_nearest_5_and_zero_stays_0():
    assert [rounded(v) for v in (0, 5, 7, 8, 12, 13, 22, 23, 1234)] == [
        0, 5, 5, 10, 10, 15, 20, 25, 1235
    ]  # fmt: skip
    assert shown(23, "total", set()) == 25
    assert shown(9, "b", {"b"}) == "c"
    assert shown(0, "a", set()) == 0
    assert "rounded to the nearest 5" in RULE


def test_the_cells_hidden_are_chosen_on_the_exact_counts_before_rounding():
    # Rounded, the parts 12 and 8 would both read 10: hiding depends on 3, 12 and 8.
    values = {"total": 23, "a": 3, "b": 12, "c": 8}
    groups = [Group("total", ("a", "b", "c"))]

    hidden = suppress(values, groups)

    published = {cell: shown(v, cell, hidden) for cell, v in values.items()}
    assert published == {"total": 25, "a": "c", "b": 10, "c": "c"}


def _possible(published: dict, cells: list, groups: list[Group], most: int) -> dict:
    """The values each hidden cell can take in some table a reader cannot tell apart.

    The reader knows the rule: a shown count R is one of the counts that round to R and
    are not small (so 0 is exactly 0, and 5 is 5, 6 or 7); a "c" can be any count.
    """
    options = []
    for cell in cells:
        value = published[cell]
        if value == "c":
            options.append(range(most + 1))
        else:
            options.append([v for v in range(most + 1) if rounded(v) == value and not is_small(v)])
    possible = {cell: set() for cell, v in published.items() if v == "c"}
    for choice in itertools.product(*options):
        values = dict(zip(cells, choice, strict=True))
        for group in groups:  # the totals, from the parts chosen
            values[group.total] = sum(values[p] for p in group.parts)
        if any(
            published[c] != "c" and (rounded(v) != published[c] or is_small(v))
            for c, v in values.items()
        ):
            continue
        for cell in possible:
            possible[cell].add(values[cell])
    return possible


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([(1, 2), (1, 3), (2, 2)]).flatmap(
        lambda shape: st.lists(
            st.lists(st.integers(0, 10), min_size=shape[1], max_size=shape[1]),
            min_size=shape[0],
            max_size=shape[0],
        )
    )
)
def test_rounded_and_suppressed_no_hidden_count_can_be_narrowed_to_one_value(interior):
    """Bounds, not sums: even knowing how counts are rounded, no hidden count is pinned."""
    values, groups = table_with_totals(interior)
    hidden = suppress(values, groups)
    published = {cell: shown(v, cell, hidden) for cell, v in values.items()}
    cells = [(r, c) for r in range(len(interior)) for c in range(len(interior[0]))]
    # Only the groups that give each total from the interior cells.
    by_total = {}
    for group in groups:
        if all(part in cells for part in group.parts):
            by_total.setdefault(group.total, group)
    by_total[("total", "total")] = Group(("total", "total"), tuple(cells))

    possible = _possible(published, cells, list(by_total.values()), most=16)

    for cell, seen in possible.items():
        assert values[cell] in seen or values[cell] > 16
        assert len(seen) >= 2, (cell, published)

"""Charts drawn on the server as SVG: readable without JavaScript, by screen readers and in print.

Each chart carries a <title> and a <desc> that says in words what it shows; the page puts
the table of its figures beside it.
"""

from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from markupsafe import Markup

from tracker.formats import short_month

# GOV.UK Design System colours.
BLUE = "#1d70b8"
BLACK = "#0b0c0c"
GREY = "#505a5f"
LIGHT_GREY = "#b1b4b6"
ORANGE = "#f47738"

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 24, 48


@dataclass(frozen=True)
class Point:
    when: date
    value: int


def _nice_ceiling(value: float) -> int:
    """Round up to a number whose quarters (the grid lines) are round, so axis labels read well."""
    if value <= 4:
        return 4  # quarters of 1: whole numbers
    power = 1
    while power * 10 <= value:
        power *= 10
    for step in (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10):
        if value <= step * power:
            return int(step * power)
    return 10 * power


def _label(n: float) -> str:
    return f"{int(round(n)):,}"


def cumulative_chart(
    *,
    chart_id: str,
    title: str,
    summary: str,
    points: list[Point],
    target: int | None,
    projection: Point | None = None,
) -> Markup:
    """Draw cumulative values week by week, with the target as a dashed line.

    ``projection`` extends the line, dotted, to where the current rate leads.
    """
    top_value = max(
        [p.value for p in points] + [target or 0] + [projection.value if projection else 0]
    )
    y_max = _nice_ceiling(top_value * 1.05)
    dates = [p.when for p in points] + ([projection.when] if projection else [])
    if not dates:
        dates = [date.today()]  # noqa: DTZ011  (an empty chart still has an axis)
    start, end = min(dates), max(dates)
    span = max((end - start).days, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(d: date) -> float:
        return LEFT + plot_w * (d - start).days / span

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / y_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'class="app-chart" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="GDS Transport, arial, sans-serif" font-size="14">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>',
    ]
    for i in range(5):
        value = y_max * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="{LIGHT_GREY}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 8}" y="{y(value) + 5:.1f}" text-anchor="end" fill="{GREY}">'
            f"{_label(value)}</text>"
        )
    for when in _axis_dates(start, end):
        parts.append(
            f'<text x="{x(when):.1f}" y="{HEIGHT - BOTTOM + 22}" text-anchor="middle" '
            f'fill="{GREY}">{short_month(when)}</text>'
        )
    if target is not None:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
            f'stroke="{ORANGE}" stroke-width="3" stroke-dasharray="8 6"/>'
        )
        parts.append(
            f'<text x="{WIDTH - RIGHT}" y="{y(target) - 8:.1f}" text-anchor="end" '
            f'fill="{BLACK}" font-weight="bold">Target {_label(target)}</text>'
        )
    if points:
        path = " ".join(f"{x(p.when):.1f},{y(p.value):.1f}" for p in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{BLUE}" stroke-width="3"/>')
        if projection is not None:
            last = points[-1]
            parts.append(
                f'<line x1="{x(last.when):.1f}" y1="{y(last.value):.1f}" '
                f'x2="{x(projection.when):.1f}" y2="{y(projection.value):.1f}" '
                f'stroke="{BLUE}" stroke-width="3" stroke-dasharray="2 6"/>'
            )
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        f'stroke="{BLACK}" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text in it went through escape())


def _axis_dates(start: date, end: date) -> list[date]:
    """First days of months between start and end, thinned to at most six labels."""
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        first = date(year, month, 1)
        if start <= first <= end:
            months.append(first)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if not months:
        return [start]
    step = max(1, -(-len(months) // 6))
    return months[::step]


def bar_chart(
    *,
    chart_id: str,
    title: str,
    summary: str,
    bars: list[tuple[str, float | None]],
    shares: bool = False,
) -> Markup:
    """Draw horizontal bars, one per label, in the order given.

    A value of None is a suppressed count: it gets no bar, only the label "c". With
    ``shares``, values are shares from 0 to 1, drawn against 100% and labelled as percentages.
    """
    row_h, label_w = 28, 220
    height = TOP + row_h * max(len(bars), 1) + 16
    counted = [v for _, v in bars if v is not None]
    top_value = 1 if shares else _nice_ceiling(max([*counted, 1]))
    plot_w = WIDTH - label_w - RIGHT - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'class="app-chart" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="GDS Transport, arial, sans-serif" font-size="14">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>',
    ]
    for i, (label, value) in enumerate(bars):
        y = TOP + i * row_h
        w = plot_w * (value or 0) / top_value
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end" fill="{BLACK}">'
            f"{escape(label)}</text>"
        )
        if value is not None:
            parts.append(
                f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                f'fill="{BLUE}"/>'
            )
        shown = "c" if value is None else f"{value:.0%}" if shares else _label(value)
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 18}" fill="{BLACK}">{shown}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text in it went through escape())

"""Server-drawn SVG charts: valid, labelled for screen readers, and showing the target."""

from datetime import date
from xml.etree import ElementTree  # parses only the SVG this project draws

from tracker.charts import Point, bar_chart, cumulative_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_cumulative_chart_is_labelled_svg_with_the_target_line():
    svg = cumulative_chart(
        chart_id="ey",
        title="Funded places, week by week",
        summary="1,200 of 5,000 places funded.",
        points=[Point(date(2025, 1, 6), 100), Point(date(2025, 3, 3), 1200)],
        target=5000,
        projection=Point(date(2026, 1, 5), 5000),
    )

    root = ElementTree.fromstring(str(svg))  # noqa: S314
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "ey-title ey-desc"
    assert root.find(f"{SVG}title").text == "Funded places, week by week"
    assert root.find(f"{SVG}desc").text == "1,200 of 5,000 places funded."
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Target 5,000" in texts
    assert root.find(f"{SVG}polyline") is not None


def test_charts_escape_what_they_are_given():
    svg = bar_chart(
        chart_id="r",
        title="By region <script>",
        summary="A & B",
        bars=[("North East & <b>", 12), ("London", 0)],
    )

    root = ElementTree.fromstring(str(svg))  # noqa: S314
    assert root.find(f"{SVG}title").text == "By region <script>"
    assert [t.text for t in root.iter(f"{SVG}text")][:2] == ["North East & <b>", "12"]


def test_an_empty_chart_still_draws():
    svg = cumulative_chart(chart_id="x", title="t", summary="s", points=[], target=None)

    root = ElementTree.fromstring(str(svg))  # noqa: S314
    assert root.tag == f"{SVG}svg"


def test_a_suppressed_bar_is_labelled_c_and_not_drawn():
    svg = bar_chart(
        chart_id="p", title="t", summary="s", bars=[("London", 40), ("North East", None)]
    )

    root = ElementTree.fromstring(str(svg))  # noqa: S314
    assert [t.text for t in root.iter(f"{SVG}text")] == ["London", "40", "North East", "c"]
    assert len(root.findall(f"{SVG}rect")) == 1

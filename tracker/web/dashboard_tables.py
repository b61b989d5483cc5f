"""The dashboards' figures laid out as tables and charts: one place for the page and its exports."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup
from sqlalchemy.orm import Session

from tracker import figures, uptake
from tracker.charts import Point, bar_chart, cumulative_chart
from tracker.exports import Table
from tracker.figures import DEFINITIONS, PLACES_LEFT, SETTINGS_CLAIMING
from tracker.formats import long_date, month_year
from tracker.models import LocalAuthority, Programme

# The counts the tables show, each headed by its definition's words (``tracker.figures``).
COUNTS = ("claimed", "funded", "ever_started", "completed", "withdrawn", "deferred", "waiting")
COUNT_HEADERS = [DEFINITIONS[name].label for name in COUNTS]
RATES = (
    "ever_started",
    "in_training",
    "completed",
    "withdrawn_during_training",
    "deferred",
    "ended_before_training",
)
# Every definition a dashboard shows, with what it means: listed on the page.
SHOWN = [
    (DEFINITIONS[name].label, DEFINITIONS[name].meaning)
    for name in dict.fromkeys(("funded", *COUNTS, *RATES))
] + [PLACES_LEFT, (SETTINGS_CLAIMING.label, SETTINGS_CLAIMING.meaning)]


def _label(name: str) -> str:
    return DEFINITIONS[name].label


def _counts(f: uptake.Figures) -> list[int]:
    return [getattr(f, name) for name in COUNTS]


def _numeric(table: Table, first: int) -> Table:
    table.numeric = set(range(first, len(table.headers)))
    return table


@dataclass
class ProgrammeChart:
    """One programme's week-by-week chart, its text summary and its table by month."""

    figures: uptake.ProgrammeUptake
    projection: uptake.Projection | None
    summary: str
    svg: Markup
    table: Table


@dataclass
class Dashboard:
    programmes: list[uptake.ProgrammeUptake]
    charts: list[ProgrammeChart]
    tables: dict[str, Table] = field(default_factory=dict)
    region_chart: Markup | None = None
    lowest_uptake: list[uptake.AreaRow] = field(default_factory=list)
    behind: set = field(default_factory=set)
    settings_without_claim: list = field(default_factory=list)
    comparison: uptake.Comparison | None = None
    cohort_count: int = 0


def _uptake_table(rows: list[uptake.ProgrammeUptake], *, with_target: bool) -> Table:
    if with_target:
        headers = ["Programme", "Target", _label("funded"), "Share of target", PLACES_LEFT[0]]
        headers += [h for h in COUNT_HEADERS if h != _label("funded")]
        table = Table("uptake", "Uptake against target", headers, percent={3})
        for r in rows:
            counts = _counts(r)
            table.rows.append(
                [r.programme.name, r.target, r.funded, r.share_of_target, r.places_left]
                + counts[:1]
                + counts[2:]
            )
        # On the page: the target, how far to it, and what is done and waiting.
        table.on_page = [0, 1, 2, 3, 4, 7, 10]
    else:
        table = Table("uptake", "Uptake", ["Programme", *COUNT_HEADERS])
        for r in rows:
            table.rows.append([r.programme.name, *_counts(r)])
    return _numeric(table, 1)


def _rates_table(rows: list[tuple[str, uptake.Figures]], caption: str) -> Table:
    table = Table(
        "completion-and-withdrawal",
        caption,
        [
            "",
            _label("ever_started"),
            _label("in_training"),
            _label("completed"),
            "Completion rate",
            _label("withdrawn_during_training"),
            "Withdrawal rate",
            _label("deferred"),
            _label("ended_before_training"),
        ],
        percent={4, 6},
    )
    for name, f in rows:
        table.rows.append(
            [
                name,
                f.ever_started,
                f.in_training,
                f.completed,
                f.completion_rate,
                f.withdrawn_during_training,
                f.withdrawal_rate,
                f.deferred,
                f.ended_before_training,
            ]
        )
    table.on_page = [0, 1, 3, 4, 5, 6]
    return _numeric(table, 1)


def _area_table(key: str, caption: str, first: str, rows: list[uptake.AreaRow], *, region=False):
    headers = [first] + (["Region"] if region else [])
    headers += ["Settings", SETTINGS_CLAIMING.label, "Settings reached", *COUNT_HEADERS]
    offset = len(headers) - len(COUNT_HEADERS) - 3
    table = Table(key, caption, headers, percent={offset + 2})
    for row in rows:
        table.rows.append(
            [row.name]
            + ([row.region] if region else [])
            + [row.settings, row.figures.settings_claiming, row.settings_reached]
            + _counts(row.figures)
        )
    # On the page: how many settings there are and were reached, and the places they hold.
    shown = [offset + 3 + COUNTS.index(name) for name in ("funded", "completed", "waiting")]
    table.on_page = [0, offset, offset + 1, offset + 2, *shown]
    return _numeric(table, offset)


def _reasons_table(
    rows: list[uptake.ReasonRow], names: dict[str, str], scope: uptake.Scope
) -> Table:
    table = Table(
        "end-reasons",
        "Reasons for withdrawals and deferrals",
        ["Programme", "Outcome", "Reason", "Claims"],
    )
    for r in rows:
        table.rows.append(
            [
                names.get(r.programme_code, r.programme_code),
                r.status.capitalize(),
                r.reason,
                r.count,
            ]
        )
    if scope.programme_id is not None:
        table.on_page = [1, 2, 3]  # a programme's page: its name on every row says nothing
    return _numeric(table, 3)


def _cohorts_table(cohorts: list[uptake.CohortRow], names: dict[str, str]) -> Table:
    """Every cohort's places: a download, as it grows with the number of cohorts."""
    table = Table(
        "cohorts",
        "Cohort places",
        [
            "Programme",
            "Provider",
            "Cohort",
            "Starts",
            "Status",
            "Places",
            "Funded",
            "Places left",
            "Waiting",
        ],
    )
    for c in cohorts:
        table.rows.append(
            [
                names.get(c.programme_code, c.programme_code),
                c.provider_name,
                c.name,
                c.starts_on,
                c.status.capitalize(),
                c.places,
                c.used,
                c.left,
                c.waiting,
            ]
        )
    table.numeric = {5, 6, 7, 8}
    return table


def _cohort_summary_table(
    summaries: dict[int, figures.CohortSummary], programmes: list[uptake.ProgrammeUptake]
) -> Table:
    """The cohorts of each programme in one row each: how many, their places and how full.

    Cancelled cohorts are left out; places left count only in cohorts open for claims.
    """
    table = Table(
        "cohort-summary",
        "Cohort places by programme",
        [
            "Programme",
            "Cohorts",
            "Open for claims",
            "Open and full",
            "With claims waiting",
            "Places",
            "Funded",
            "Places left in open cohorts",
            "Waiting",
        ],
    )
    for row in programmes:
        s = summaries.get(row.programme.id, figures.CohortSummary())
        table.rows.append(
            [
                row.programme.name,
                s.cohorts,
                s.open,
                s.open_and_full,
                s.with_waiting,
                s.places,
                s.funded,
                s.places_left_open,
                s.waiting,
            ]
        )
    table.on_page = [0, 2, 3, 5, 6, 7, 8]
    return _numeric(table, 1)


def _weekly_table(programme: Programme, weeks: list[uptake.Week], target: int | None) -> Table:
    table = Table(
        f"weekly-{programme.code}",
        f"{programme.name}: funded places week by week",
        ["Week beginning", "Places funded that week", "Funded places so far", "Target"],
    )
    for w in weeks:
        table.rows.append([w.starts_on, w.funded, w.cumulative, target])
    return _numeric(table, 1)


def _monthly_table(programme: Programme, weeks: list[uptake.Week]) -> Table:
    """The chart's figures by month, short enough to read beside it (weeks are in the export)."""
    by_month: dict[date, list[uptake.Week]] = defaultdict(list)
    for w in weeks:
        by_month[w.starts_on.replace(day=1)].append(w)
    table = Table(
        f"monthly-{programme.code}",
        f"{programme.name}: funded places by month",
        ["Month (weeks beginning in it)", "Places funded", "Funded places so far"],
    )
    for month, month_weeks in sorted(by_month.items()):
        table.rows.append(
            [month_year(month), sum(w.funded for w in month_weeks), month_weeks[-1].cumulative]
        )
    return _numeric(table, 1)


def _chart(
    row: uptake.ProgrammeUptake, weeks: list[uptake.Week], today: date, *, national: bool
) -> ProgrammeChart:
    programme = row.programme
    target = row.target if national else None
    projection = uptake.project(weeks, target, row.ends_on, today) if national else None
    points = [Point(w.starts_on, w.cumulative) for w in weeks]
    funded = weeks[-1].cumulative if weeks else 0
    summary = f"{funded:,} funded places"
    if target is not None:
        summary += f" of a target of {target:,}"
    if weeks:
        summary += f", funded between the weeks of {long_date(weeks[0].starts_on)}"
        summary += f" and {long_date(weeks[-1].starts_on)}."
    else:
        summary += "."
    end_point = None
    if projection is not None:
        summary += " " + projection.sentence(target)
        if projection.expected_on:
            end_point = Point(projection.expected_on, target)
        elif projection.ends_on and projection.projected_at_end is not None:
            end_point = Point(projection.ends_on, projection.projected_at_end)
    svg = cumulative_chart(
        chart_id=f"chart-{programme.code}",
        title=f"{programme.name}: funded places, week by week",
        summary=summary,
        points=points,
        target=target,
        projection=end_point if points else None,
    )
    return ProgrammeChart(row, projection, summary, svg, _monthly_table(programme, weeks))


def national_dashboard(
    session: Session,
    scope: uptake.Scope,
    today: date,
    *,
    areas: bool = True,
    every_cohort: bool = False,
) -> Dashboard:
    """Assemble DfE's national dashboard: a fixed number of queries, whatever the data.

    Without ``areas``, the breakdowns by provider, region, local authority, kind of setting
    and reason are left out (the page of all programmes shows none of them). The table of
    every cohort is made only with ``every_cohort`` (for its download).
    """
    rows = uptake.programme_uptake(session, scope, on=today)
    names = {r.programme.code: r.programme.name for r in rows}
    weekly = uptake.weekly_funded(session, scope)
    dashboard = Dashboard(
        programmes=rows,
        charts=[_chart(r, weekly.get(r.programme.id, []), today, national=True) for r in rows],
    )
    tables = dashboard.tables
    tables["uptake"] = _uptake_table(rows, with_target=True)
    tables["completion-and-withdrawal"] = _rates_table(
        [(r.programme.name, r) for r in rows], "Completion and withdrawal"
    )
    for chart in dashboard.charts:
        tables[chart.table.key] = chart.table
        key = f"weekly-{chart.figures.programme.code}"
        tables[key] = _weekly_table(
            chart.figures.programme,
            weekly.get(chart.figures.programme.id, []),
            chart.figures.target,
        )

    # Cohorts are summed by the database; the list of every cohort, which grows with the
    # data, is made only for its download.
    summaries = figures.cohort_summary(session, scope.programme_id)
    dashboard.cohort_count = sum(s.every for s in summaries.values())
    tables["cohort-summary"] = _cohort_summary_table(summaries, rows)
    if every_cohort:
        tables["cohorts"] = _cohorts_table(uptake.cohort_places(session, scope), names)
    if not areas:
        return dashboard

    providers = uptake.by_provider(session, scope)
    dashboard.behind = uptake.providers_behind(providers)
    # One table per programme, the least used allocations first: those are the ones behind.
    for row in rows:
        code = row.programme.code
        table = Table(
            f"provider-allocations-{code}",
            f"{row.programme.name}: provider allocations",
            [
                "Provider",
                "UKPRN",
                "Allocation",
                "Funded places used",
                "Places left",
                "Allocation used",
                "Claimed",
                "Waiting",
                "Completed",
                "Behind",
            ],
            percent={5},
        )
        mine = [p for p in providers if p.programme_code == code]
        for p in sorted(mine, key=lambda p: (p.share_used or 0, p.provider_name)):
            table.rows.append(
                [
                    p.provider_name,
                    p.ukprn,
                    p.allocation,
                    p.used,
                    p.left,
                    p.share_used,
                    p.figures.claimed,
                    p.figures.waiting,
                    p.figures.completed,
                    "Behind" if (p.ukprn, code) in dashboard.behind else "",
                ]
            )
        table.numeric = set(range(2, 9))
        table.on_page = [0, 2, 3, 5, 7, 9]
        tables[table.key] = table

    counted = uptake.area_figures(session, scope)
    regions = uptake.by_region(session, scope, counted)
    tables["regions"] = _area_table("regions", "Uptake by region", "Region", regions)
    dashboard.region_chart = bar_chart(
        chart_id="chart-regions",
        title="Share of settings reached, by region",
        summary="Share of each region's settings that have made at least one claim: "
        + "; ".join(
            f"{r.name} {r.settings_reached:.0%} ({r.figures.settings_claiming:,} of {r.settings:,})"
            for r in regions
            if r.settings_reached is not None
        )
        + ".",
        bars=[(r.name, r.settings_reached) for r in regions if r.settings_reached is not None],
        shares=True,
    )
    local_authorities = uptake.by_local_authority(session, scope, counted)
    tables["local-authorities"] = _area_table(
        "local-authorities",
        "Uptake by local authority",
        "Local authority",
        local_authorities,
        region=True,
    )
    dashboard.lowest_uptake = sorted(
        (r for r in local_authorities if r.settings),
        key=lambda r: (r.settings_reached, r.name),
    )[:10]
    tables["setting-kinds"] = _area_table(
        "setting-kinds",
        "Uptake by kind of setting",
        "Kind of setting",
        uptake.by_setting_kind(session, scope, counted),
    )
    tables["end-reasons"] = _reasons_table(uptake.end_reasons(session, scope), names, scope)
    return dashboard


def local_dashboard(
    session: Session, scope: uptake.Scope, local_authority: LocalAuthority, today: date
) -> Dashboard:
    """Assemble a local authority's dashboard: its area beside its region and England."""
    rows = uptake.programme_uptake(session, scope, on=today)
    names = {r.programme.code: r.programme.name for r in rows}
    weekly = uptake.weekly_funded(session, scope)
    dashboard = Dashboard(
        programmes=rows,
        charts=[_chart(r, weekly.get(r.programme.id, []), today, national=False) for r in rows],
    )
    tables = dashboard.tables
    tables["uptake"] = _uptake_table(rows, with_target=False)
    tables["uptake"].caption = f"Uptake in {local_authority.name}"
    tables["completion-and-withdrawal"] = _rates_table(
        [(r.programme.name, r) for r in rows], "Completion and withdrawal"
    )
    for chart in dashboard.charts:
        tables[chart.table.key] = chart.table
        tables[f"weekly-{chart.figures.programme.code}"] = _weekly_table(
            chart.figures.programme, weekly.get(chart.figures.programme.id, []), None
        )
    dashboard.comparison = uptake.compare_areas(session, scope, local_authority)
    table = Table(
        "comparison",
        f"{local_authority.name} compared with {local_authority.region.name} and England",
        [
            "Area",
            "Settings",
            "Settings with a claim",
            "Settings reached",
            "Claimed",
            "Funded",
            "Waiting",
            "Completion rate",
            "Withdrawal rate",
        ],
        percent={3, 7, 8},
    )
    for name, f, settings in dashboard.comparison.rows:
        table.rows.append(
            [
                name,
                settings,
                f.settings_claiming,
                f.settings_claiming / settings if settings else None,
                f.claimed,
                f.funded,
                f.waiting,
                f.completion_rate,
                f.withdrawal_rate,
            ]
        )
    tables[table.key] = _numeric(table, 1)
    tables["setting-kinds"] = _area_table(
        "setting-kinds",
        "Uptake by kind of setting",
        "Kind of setting",
        uptake.by_setting_kind(session, scope),
    )
    tables["end-reasons"] = _reasons_table(uptake.end_reasons(session, scope), names, scope)
    dashboard.settings_without_claim = uptake.settings_without_claim(session, scope)
    table = Table(
        "settings-without-a-claim",
        "Settings without a claim yet",
        ["Setting", "URN", "Kind of setting"],
    )
    for s in dashboard.settings_without_claim:
        table.rows.append([s.name, s.urn, s.kind.label])
    tables[table.key] = table
    return dashboard

"""What every page shows around its content: service name, navigation for the role, dates."""

from flask import Blueprint, current_app, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from tracker.accounts import organisation_name
from tracker.models import Role

bp = Blueprint("layout", __name__)

SERVICE_NAME = "SEND workforce training tracker"

ROLE_LABELS = {
    Role.DFE: "DfE staff",
    Role.PROVIDER: "Training provider",
    Role.SETTING: "Early years setting or school",
    Role.LOCAL_AUTHORITY: "Local authority",
}

# The service navigation for each role, first item its home page. A new page for an audience
# is linked here.
NAVIGATION: dict[Role, list[tuple[str, str]]] = {
    Role.DFE: [
        ("Home", "dfe.home"),
        ("Programmes", "dfe.programmes"),
        ("Cohorts", "dfe.cohorts"),
        ("Dashboard", "dashboard.national"),
        ("Reminders", "reminders.rules"),
        ("Audit trail", "dfe.audit"),
        ("Sign-ins", "dfe.sign_ins"),
        ("Accounts", "admin.accounts"),
    ],
    Role.PROVIDER: [("Home", "provider.home"), ("Cohorts", "provider.cohorts")],
    Role.SETTING: [
        ("Home", "setting.home"),
        ("Find a cohort", "setting.find_cohorts"),
        ("Claims", "setting.claims"),
    ],
    Role.LOCAL_AUTHORITY: [
        ("Home", "local_authority.home"),
        ("Settings", "local_authority.settings"),
        ("Claims", "local_authority.claims"),
        ("Dashboard", "dashboard.national"),
    ],
}


def home_url(role: Role) -> str:
    return url_for(NAVIGATION[role][0][1])


def _navigation_items() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    items = []
    for position, (text, endpoint) in enumerate(NAVIGATION[current_user.role]):
        href = url_for(endpoint)
        items.append(
            {
                "text": text,
                "href": href,
                "current": request.endpoint == endpoint,
                # Pages under a section's address mark its item; every page of the audience
                # is under home's, so home is marked only on itself.
                "active": position > 0 and request.path.startswith(href),
            }
        )
    return items


@bp.app_context_processor
def layout_context() -> dict:
    config = current_app.config
    # navigation is a function, called only by pages that show it: the page for a server
    # error does not, as finding who is signed in may need the database that just failed.
    return {
        "service_name": SERVICE_NAME,
        "navigation": _navigation_items,
        "support_email": config["SUPPORT_EMAIL"],
        "session_lifetime_seconds": int(config["PERMANENT_SESSION_LIFETIME"].total_seconds()),
        "session_warning_seconds": int(config["SESSION_TIMEOUT_WARNING"].total_seconds()),
    }


@bp.app_template_global()
def rendered_once(name: str, macro, *args):
    """Render a part of the layout that is the same on every page once, and reuse it.

    For the header, phase banner and footer: GOV.UK Frontend's macros for them take a
    large share of rendering a page, yet their output changes only with the address the
    application is served under. ``args`` must be the part's only inputs.
    """
    # Kept because it pays (a DfE page renders in about 7 ms with it, 11 ms without) and it
    # cannot go stale: it holds no data, and its key is everything its output depends on.
    kept = current_app.extensions.setdefault("rendered_once", {})
    key = (name, request.script_root, *args)
    part = kept.get(key)
    if part is None:
        part = kept[key] = macro(*args)
    return part


@bp.app_template_global()
def this_page() -> str:
    """This page's address for its form to post to: with its query, never with a fragment,
    so a skip link's #main-content does not follow a post to the page it redirects to (where
    it would keep the error summary or success banner from taking focus)."""
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "")


# Stands for the sign-out form's CSRF token in the kept navigation: not a token's shape.
_CSRF_SLOT = "[csrf-token]"


@bp.app_template_global()
def service_navigation_part(macro, signed_in: bool):
    """The service navigation, rendered once for each role and current item, with the
    sign-out form's CSRF token (the one part that differs per person) put in after."""
    items = _navigation_items() if signed_in else None
    flags = tuple((i["current"], i["active"]) for i in items) if items is not None else None
    role = current_user.role if signed_in else None
    part = rendered_once("service-navigation", lambda *_: macro(items, _CSRF_SLOT), role, flags)
    if items is None:
        return part
    return Markup(part.replace(_CSRF_SLOT, str(escape(generate_csrf()))))  # noqa: S704


@bp.app_template_global()
def pagination_params(page, endpoint: str, anchor: str | None = None) -> dict:
    """Link a page of results to its neighbours, for govukPagination (``anchor``: where on
    the page the list starts)."""
    # Every value of every argument: a date filter sends its day, month and year boxes
    # under one name.
    args = request.args.to_dict(flat=False)
    args.pop("page", None)

    def href(number: int) -> str:
        # The page's own view arguments too (a cohort's id), then its filters.
        return url_for(endpoint, **(request.view_args or {}), **args, page=number, _anchor=anchor)

    items = [
        {"number": n, "href": href(n), "current": n == page.page} if n else {"ellipsis": True}
        for n in page.iter_pages(left_edge=1, left_current=1, right_current=2, right_edge=1)
    ]
    return {
        "items": items,
        "previous": {"href": href(page.prev_num)} if page.has_prev else None,
        "next": {"href": href(page.next_num)} if page.has_next else None,
    }


@bp.app_template_filter("organisation")
def organisation_filter(user) -> str:
    return organisation_name(user)


@bp.app_template_filter("role_label")
def role_label(role: Role) -> str:
    return ROLE_LABELS[role]


@bp.app_template_filter("minutes")
def minutes_filter(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"

"""Screenshots of the main pages, whole, at 1280 and 320 px wide: ``make screenshots``.

The pages are those people most often read on a small screen or brief from on a large one:
the national dashboard (signed in as DfE), the public uptake page, a provider's cohort roster
(its fullest cohort) and a setting's cohort finder. They are taken of the app as it is
configured (``make screenshots`` loads the demo data first, as ``make run`` does), signed in
with the demo accounts, by Debian's Chromium, driven as the browser tests drive it
(tests/chromium.py). Each file is named for its page and width, e.g. ``dashboard-320.png``.

    python -m scripts.screenshots [--out screenshots]
"""

import argparse
import logging
import sys
from pathlib import Path

import sqlalchemy as sa

from tests.chromium import chromium, served, sign_in, why_no_browser
from tracker import create_app
from tracker.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from tracker.extensions import db
from tracker.models import Claim, Cohort, Role, User

# Each width with the height of its window: a desktop, and the narrowest phone (WCAG's 320 px).
WINDOWS = {1280: 900, 320: 640}


def demo_email(role: Role) -> str:
    return next(email for account_role, email, _name in DEMO_ACCOUNTS if account_role == role)


def fullest_cohort(email: str) -> int:
    """The id of the cohort with the most claims of the provider this account acts for."""
    provider_id = db.session.scalar(sa.select(User.provider_id).where(User.email == email))
    cohort_id = db.session.scalar(
        sa.select(Cohort.id)
        .outerjoin(Claim, Claim.cohort_id == Cohort.id)
        .where(Cohort.provider_id == provider_id)
        .group_by(Cohort.id)
        .order_by(sa.func.count(Claim.id).desc(), Cohort.id)
        .limit(1)
    )
    if cohort_id is None:
        raise SystemExit(f"{email} acts for no provider with a cohort: load the demo data first")
    return cohort_id


def pages(app) -> list[tuple[str, Role | None, str]]:
    """Each page to take: (its name, the role signed in to read it, its path)."""
    with app.app_context():
        if db.session.scalar(sa.select(User.id).where(User.email == demo_email(Role.DFE))) is None:
            raise SystemExit("No demo accounts in this database: run `make demo` first")
        roster = fullest_cohort(demo_email(Role.PROVIDER))
        db.session.remove()
    return [
        ("dashboard", Role.DFE, "/dashboard"),
        ("public-uptake", None, "/public/uptake"),
        ("provider-cohort-roster", Role.PROVIDER, f"/provider/cohorts/{roster}"),
        ("setting-cohort-finder", Role.SETTING, "/setting/cohorts"),
    ]


def take(browser, base_url: str, plan, out: Path) -> None:
    for role in dict.fromkeys(role for _name, role, _path in plan):
        context = browser.new_context(base_url=base_url)
        page = context.new_page()
        page.set_default_timeout(30_000)
        if role is not None:
            sign_in(page, demo_email(role), DEMO_PASSWORD)
            if "/sign-in" in page.url:
                raise SystemExit(f"Could not sign in as {demo_email(role)}")
        for name, page_role, path in plan:
            if page_role != role:
                continue
            for width, height in WINDOWS.items():
                page.set_viewport_size({"width": width, "height": height})
                response = page.goto(path)
                if response is None or response.status != 200:
                    status = response.status if response else "no answer"
                    raise SystemExit(f"{path}: {status}")
                page.evaluate("document.fonts.ready")
                file = out / f"{name}-{width}.png"
                page.screenshot(path=file, full_page=True)
                tall = page.evaluate("document.documentElement.scrollHeight")
                print(f"{file}  {path} at {width} px wide: {tall:,} px long")
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"), help="where to write")
    args = parser.parse_args(argv)
    reason = why_no_browser()
    if reason:
        print(f"Cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    app = create_app()
    # The screenshots and their lengths are what was asked for: not a line for every request
    # or sign-in.
    for name in ("werkzeug", "tracker"):
        logging.getLogger(name).setLevel(logging.WARNING)
    plan = pages(app)
    args.out.mkdir(parents=True, exist_ok=True)
    with served(app) as base_url, chromium() as browser:
        take(browser, base_url, plan, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

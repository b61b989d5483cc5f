"""A real browser (Debian's Chromium, driven by Playwright) against the real app, with axe-core
and HTML_CodeSniffer.

The app runs in a thread of this process on a free port of 127.0.0.1 (tests/chromium.py), on
a SQLite file built by the migrations. These tests run on SQLite only: what the pages do is
tested on both databases by the page tests in tests/web; here the question is what a browser
makes of them (scripts, focus, forms as a person fills them in) and whether two accessibility
checkers find WCAG A or AA failures on each page visited: axe-core (WCAG 2.2) and
HTML_CodeSniffer (WCAG 2.1 AA, the standard pa11y runs by default). Each catches failures the
other misses.

Without Chromium or Playwright the tests skip, saying why; with REQUIRE_BROWSER=1 (set in
CI) they fail instead.
"""

import json
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.chromium import chromium, served, why_no_browser
from tests.chromium import sign_in as chromium_sign_in
from tests.conftest import _config_dict
from tests.web.conftest import PASSWORD, create_account
from tracker import create_app
from tracker.extensions import db, limiter

ASSETS = Path(__file__).resolve().parent.parent / "browser_assets"
AXE_SOURCE = ASSETS / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA (axe tags the 2.2 A rules wcag2a or wcag21a).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
HTMLCS_SOURCE = ASSETS / "HTMLCS.js"
HTMLCS_STANDARD = "WCAG2AA"
# HTML_CodeSniffer's errors judged false positives, each as (message code, the CSS selector of
# the elements it is false for), with why. Its warnings and notices ask a person to check
# something: they fail nothing.
HTMLCS_FALSE_POSITIVES: dict[tuple[str, str], str] = {
    ("WCAG2AA.Principle1.Guideline1_3.1_3_1.F92,ARIA4", "svg[role=presentation]"): (
        "a decorative SVG (GOV.UK's crown): its shapes mean nothing, but the rule counts them"
    ),
}
# Runs HTML_CodeSniffer on the page: its errors, but the false positives, as plain data.
HTMLCS_ERRORS = """([standard, falsePositives]) => new Promise((resolve, reject) => {
    const isFalse = message => falsePositives.some(([code, selector]) => message.code === code
        && message.element instanceof Element && message.element.matches(selector));
    HTMLCS.process(standard, document, () => resolve(HTMLCS.getMessages()
        .filter(message => message.type === HTMLCS.ERROR && !isFalse(message))
        .map(message => ({
            code: message.code,
            message: message.msg,
            html: (message.element && message.element.outerHTML || '').slice(0, 200),
        }))), reject, 'en');
})"""


@pytest.fixture(scope="session")
def browser():
    reason = why_no_browser()
    if reason:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The app on a SQLite file of its own, migrated as in production. (Overrides the
    two-database ``app`` fixture of tests/conftest.py for these tests.)"""
    from flask_migrate import upgrade

    path = tmp_path_factory.mktemp("browser") / "browser.sqlite3"
    app = create_app({**_config_dict(), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(app):
    with served(app) as url:
        yield url


@pytest.fixture
def records(app):
    """``with records() as session:`` make a test's records, committed at the end of the block.

    Read what the test needs (ids, names) inside the block: SQLite has one writer at a time,
    and a transaction left open here would keep the app's requests waiting.
    """

    @contextmanager
    def records():
        with app.app_context():
            try:
                yield db.session
                db.session.commit()
            finally:
                db.session.remove()

    return records


@pytest.fixture
def page(browser, base_url):
    """A new browser tab, as a person with no cookies yet; page.errors lists the script errors
    and console errors the page has had.

    The app's Content-Security-Policy stays in force (no ``bypass_csp``): axe goes in through
    page.evaluate, which the policy does not govern, and a script of the app's own that the
    policy blocks shows up in page.errors, which assert_accessible checks.
    """
    limiter.reset()  # failed sign-ins are counted in memory shared by every test
    context = browser.new_context(base_url=base_url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    yield page
    context.close()


# tests/browser.py (the page tests' HTML helpers) has this folder's name, so this folder is not
# a package and its tests take these helpers as fixtures rather than importing them.


@pytest.fixture
def sign_in():
    """Fill in the sign-in page as a person would: sign_in(page, email[, password])."""

    def sign_in(page, email: str, password: str = PASSWORD) -> None:
        chromium_sign_in(page, email, password)

    return sign_in


@pytest.fixture
def account(records):
    """account(role, **kw): the email address of a new account of ``role`` (password
    ``PASSWORD``); keywords as tests.web.conftest.create_account."""

    def account(role, **kw) -> str:
        with records() as session:
            return create_account(session, role=role, **kw).email

    return account


@pytest.fixture(scope="session")
def axe_script() -> str:
    return AXE_SOURCE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def htmlcs_script() -> str:
    return HTMLCS_SOURCE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def checker_scripts(axe_script, htmlcs_script) -> str:
    """Both checkers, as one script to put in a page (or in each page a tab loads)."""
    return axe_script + "\n;\n" + htmlcs_script


@pytest.fixture
def assert_accessible(checker_scripts):
    """assert_accessible(page): neither axe-core nor HTML_CodeSniffer finds a WCAG A/AA
    failure, and no script failed."""
    return lambda page: _assert_accessible(page, checker_scripts)


def _describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" [{', '.join(t for t in violation['tags'] if t.startswith('wcag'))}]"
            f"\n  {violation['helpUrl']}"
        )
        for node in violation["nodes"]:
            lines.append(f"    at {json.dumps(node['target'])}: {node['html'][:200]}")
            summary = node.get("failureSummary")
            if summary:
                lines.append("      " + summary.replace("\n", "\n      "))
    return "\n".join(lines)


def _assert_accessible(page, checker_scripts: str) -> None:
    """Run axe-core and HTML_CodeSniffer on the page as it is now; fail with each WCAG A/AA
    failure either finds, and with any script error the page has had."""
    page.wait_for_load_state()
    if not page.evaluate("typeof window.axe !== 'undefined' && typeof HTMLCS !== 'undefined'"):
        page.evaluate(checker_scripts)
    results = page.evaluate(
        "options => axe.run(document, options)",
        {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
    )
    violations = results["violations"]
    assert not violations, (
        f"axe found {len(violations)} WCAG A/AA violation(s) on {page.url}:\n"
        + _describe(violations)
    )
    errors = page.evaluate(HTMLCS_ERRORS, [HTMLCS_STANDARD, list(HTMLCS_FALSE_POSITIVES)])
    assert not errors, (
        f"HTML_CodeSniffer found {len(errors)} {HTMLCS_STANDARD} error(s) on {page.url}:\n"
        + "\n".join(f"- {e['code']}: {e['message']}\n    at {e['html']}" for e in errors)
    )
    assert not page.errors, f"script errors on {page.url}: {page.errors}"

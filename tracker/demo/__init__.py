"""Demo data: a realistic, repeatable picture of the three programmes, loaded once.

``plan`` says what the demo holds at scale 1.0 (providers, settings, cohorts, how people
leave) and ``names`` the names it gives (from the lists in ``data/``). ``story`` tells each
cohort's past into ``book``, the place ledger's operations taken in memory; ``records``
writes the result in bulk and ``checks`` checks it with the ledger's own definitions.
``loader`` does all of it: ``flask tracker demo`` calls ``load_demo``.
"""

from tracker.demo.loader import DEMO_ACCOUNTS, DEMO_PASSWORD, load_demo
from tracker.demo.plan import EP, EY, NPQ, PROVIDERS, cohort_terms, setting_counts, spread_over

__all__ = [
    "DEMO_ACCOUNTS",
    "DEMO_PASSWORD",
    "EP",
    "EY",
    "NPQ",
    "PROVIDERS",
    "cohort_terms",
    "load_demo",
    "setting_counts",
    "spread_over",
]

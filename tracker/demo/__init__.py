"""Demo data: a realistic, repeatable picture of the three programmes, loaded once.

``plan`` says what the demo holds at scale 1.0 (providers, settings, cohorts, how people
leave), ``names`` the names it gives (from the lists in ``data/``), and ``loader`` loads
it: ``flask tracker demo`` calls ``load_demo``.
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

from tests import factories
from tracker import places


def test_claim(session):
    cohort = factories.create_cohort(session, places=1)
    setting = factories.create_setting(session)
    a = places.claim_place(session, cohort, full_name="A B", email="a@example.com", setting=setting)
    b = places.claim_place(session, cohort, full_name="C D", email="c@example.com", setting=setting)
    session.commit()
    assert a.claim.status == "funded"
    assert b.claim.status == "waiting"
    assert places.waiting_position(session, b.claim) == 1
    out = places.withdraw(session, a.claim, reason="left")
    assert out.promoted == [b.claim]
    session.commit()

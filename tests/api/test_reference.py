from tests import factories
from tracker.models import SettingKind


def test_programmes_list_milestones_and_targets(client, provider):
    response = client.get("/api/v1/programmes", headers=provider.headers)

    assert response.status_code == 200
    programmes = {p["code"]: p for p in response.get_json()["data"]}
    assert set(programmes) == {"npq-senco", "ey-senco-l3", "ep-doctorate"}
    assert [m["code"] for m in programmes["npq-senco"]["milestones"]] == [
        "started",
        "retained-1",
        "retained-2",
        "completed",
    ]


def test_settings_are_found_by_urn_name_and_local_authority(client, session, provider):
    factories.create_setting(session, urn="EY541824", name="Little Acorns 100%", la_code="201")
    factories.create_setting(session, urn="EY000002", name="Oak Tree", la_code="202")
    factories.create_setting(session, kind=SettingKind.SCHOOL, urn="100003", name="Acorn School")
    session.commit()

    def search(**query):
        response = client.get("/api/v1/settings", query_string=query, headers=provider.headers)
        return [s["urn"] for s in response.get_json()["data"]]

    assert search(urn="ey541824") == ["EY541824"]
    assert search(name="acorn") == ["100003", "EY541824"]
    assert search(name="100%") == ["EY541824"]
    assert search(name="_") == []
    assert search(local_authority="202") == ["EY000002"]
    assert search(local_authority="E08000016") == []  # not one of these settings' areas
    assert search(local_authority="999") == []

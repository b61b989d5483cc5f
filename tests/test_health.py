"""The health check tells a load balancer whether the database answers."""

import sqlalchemy as sa

from tracker.extensions import db


def test_healthz_answers_200_when_the_database_is_reachable(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "reachable"}


def test_healthz_answers_503_when_the_database_is_not(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", unreachable)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"

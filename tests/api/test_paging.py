"""Lists come a page at a time: the body's data, links and meta, and the X-Pagination header."""

import json

from tests import factories
from tracker.models import CohortStatus


def test_each_page_carries_its_place_in_the_list(client, session, provider):
    for n in range(5):
        factories.create_cohort(session, provider=provider.provider, name=f"C{n}")
    session.commit()

    def page(number):
        return client.get(
            "/api/v1/cohorts",
            query_string={"page": number, "page_size": 2},
            headers=provider.headers,
        )

    first, middle, last = page(1), page(2), page(3)

    assert [b.get_json()["meta"] for b in (first, middle, last)] == [
        {"page": n, "page_size": 2, "total": 5} for n in (1, 2, 3)
    ]
    assert [len(b.get_json()["data"]) for b in (first, middle, last)] == [2, 2, 1]
    assert json.loads(middle.headers["X-Pagination"]) == {
        "total": 5,
        "total_pages": 3,
        "first_page": 1,
        "last_page": 3,
        "page": 2,
        "previous_page": 1,
        "next_page": 3,
    }
    assert "next_page" not in json.loads(last.headers["X-Pagination"])


def test_a_list_gives_25_unless_asked_for_more(client, session, provider):
    for _ in range(26):
        factories.create_setting(session)
    session.commit()

    default = client.get("/api/v1/settings", headers=provider.headers).get_json()
    most = client.get("/api/v1/settings?page_size=100", headers=provider.headers).get_json()

    assert (len(default["data"]), default["meta"]["page_size"]) == (25, 25)
    assert default["links"]["next"] == "/api/v1/settings?page=2"
    assert (len(most["data"]), most["links"]["next"]) == (26, None)


def test_paging_and_filters_are_read_together_and_nothing_else_is(client, session, provider):
    for status in (CohortStatus.OPEN, CohortStatus.OPEN, CohortStatus.CLOSED):
        factories.create_cohort(session, provider=provider.provider, status=status)
    session.commit()

    both = client.get(
        "/api/v1/cohorts?status=open&page_size=1&page=2", headers=provider.headers
    ).get_json()
    misspelt = client.get("/api/v1/cohorts?status=open&pagesize=1", headers=provider.headers)

    assert (both["meta"], len(both["data"]), both["links"]["next"]) == (
        {"page": 2, "page_size": 1, "total": 2},
        1,
        None,
    )
    assert misspelt.status_code == 422
    assert misspelt.get_json()["errors"] == [{"field": "pagesize", "reason": "Unknown field."}]


def test_the_document_describes_paging_once_per_list(client):
    spec = client.get("/api/v1/openapi.json").get_json()

    for path in ("/api/v1/cohorts", "/api/v1/enrolments", "/api/v1/settings"):
        operation = spec["paths"][path]["get"]
        names = [p["name"] for p in operation["parameters"]]
        assert names.count("page") == names.count("page_size") == 1
        header = operation["responses"]["200"]["headers"]["X-Pagination"]
        assert header == {"$ref": "#/components/headers/PAGINATION"}
    # JSON text, so described by its media type: a bare `schema` would mean `name,value,...`.
    pagination = spec["components"]["headers"]["PAGINATION"]
    assert "schema" not in pagination
    assert pagination["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PaginationMetadata"
    }

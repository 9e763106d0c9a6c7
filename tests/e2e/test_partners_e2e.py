"""Partners over HTTP with every process running: write side → Kafka → evaluation read model."""
import uuid

from tests.support import wait_until


def partner_body(**over):
    body = {"name": f"Kabupaten Uji {uuid.uuid4().hex[:6]}", "kind": "daerah_lain",
            "region_code": f"15.{uuid.uuid4().int % 90 + 10}.{uuid.uuid4().int % 90 + 10}",
            "contacts": [{"name": "Budi Santoso", "position": "Kabag Kerja Sama", "phone": "+62 741 123456",
                          "email": "budi@example.go.id"}]}
    body.update(over)
    return body


def read_model(stack, partner_id, role="kerjasama"):
    r = stack.call("GET", "evaluation", "/api/v1/partners", role=role, params={"per_page": 200})
    return next((p for p in r.json()["items"] if p["id"] == partner_id), None)


def test_registered_partner_reaches_the_read_model_with_its_version(stack):
    r = stack.call("POST", "partners", "/api/v1/partners", json=partner_body(name="Kota Jambi E2E"))
    assert r.status_code == 201, r.text
    partner = r.json()
    assert r.headers["ETag"] == '"1"' and r.headers["Location"].endswith(partner["id"])
    item = wait_until(lambda: read_model(stack, partner["id"]), 30, what="partner in read model")
    assert item["version"] == 1 and item["status"] == "REGISTERED" and item["name"] == "Kota Jambi E2E"

    r = stack.call("POST", "partners", f"/api/v1/partners/{partner['id']}/verify", json={"note": "ok"},
                   headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    item = wait_until(lambda: (i := read_model(stack, partner["id"])) and i["version"] == 2 and i,
                      30, what="verification projected")
    assert item["status"] == "VERIFIED"


def test_read_model_filters_search_and_pages(stack):
    tag = uuid.uuid4().hex[:6]
    ids = []
    for i, body in enumerate([partner_body(name=f"Universitas {tag} {i}", kind="pihak_ketiga",
                                           subtype="perguruan_tinggi", region_code=None) for i in range(3)]):
        body.pop("region_code")
        ids.append(stack.call("POST", "partners", "/api/v1/partners", json=body).json()["id"])
    wait_until(lambda: stack.call("GET", "evaluation", "/api/v1/partners",
                                  params={"q": tag}).json()["total"] == 3, 30, what="three partners projected")
    page = stack.call("GET", "evaluation", "/api/v1/partners",
                      params={"q": tag.upper(), "kind": "pihak_ketiga", "per_page": 2, "sort": "-name"}).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["items"][0]["name"].endswith(" 2")
    assert stack.call("GET", "evaluation", "/api/v1/partners", params={"q": tag, "kind": "daerah_lain"}).json()["total"] == 0
    bad = stack.call("GET", "evaluation", "/api/v1/partners", params={"kind": "alien", "per_page": 0})
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"query.kind", "query.per_page"}


def test_public_role_sees_no_personal_data(stack):
    partner = stack.call("POST", "partners", "/api/v1/partners", json=partner_body()).json()
    item = wait_until(lambda: read_model(stack, partner["id"], role="publik"), 30, what="projected")
    assert "contacts" not in item
    assert "contacts" not in stack.call("GET", "partners", f"/api/v1/partners/{partner['id']}", role="publik").json()
    assert stack.call("GET", "partners", f"/api/v1/partners/{partner['id']}").json()["contacts"]


def test_stale_if_match_is_412_and_changes_nothing(stack):
    partner = stack.call("POST", "partners", "/api/v1/partners", json=partner_body()).json()
    path = f"/api/v1/partners/{partner['id']}"
    assert stack.call("POST", "partners", path + "/verify", json={}, headers={"If-Match": '"1"'}).status_code == 200
    r = stack.call("POST", "partners", path + "/deactivate", json={"reason": "dobel"}, headers={"If-Match": '"1"'})
    assert r.status_code == 412 and r.json()["current_version"] == 2
    assert stack.call("GET", "partners", path).json()["status"] == "VERIFIED"


def test_same_idempotency_key_twice_makes_one_partner(stack):
    body = partner_body()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = stack.call("POST", "partners", "/api/v1/partners", json=body, headers=key)
    second = stack.call("POST", "partners", "/api/v1/partners", json=body, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"] and second.headers["Idempotent-Replayed"] == "true"
    wait_until(lambda: stack.call("GET", "evaluation", "/api/v1/partners",
                                  params={"q": body["name"]}).json()["total"] == 1, 30, what="projected")
    # the same region cannot be registered twice under another key either
    dup = stack.call("POST", "partners", "/api/v1/partners", json=body)
    assert dup.status_code == 409 and dup.json()["rule"] == "partner_already_registered"


def partner_streams(stack):
    """Every partner stream on the write side: the source of truth (the read model may still lag)."""
    r = stack.call("GET", "partners", "/api/v1/streams", role="auditor", params={"per_page": 10000})
    assert r.status_code == 200, r.text
    return set(r.json()["items"])


def test_bad_bodies_get_field_errors_and_store_nothing(stack):
    before = partner_streams(stack)
    cases = [
        ({"name": "X", "kind": "planet", "contacts": [{"name": "B"}], "surprise": 1}, 422,
         {"name", "kind", "contacts.0.name", "contacts.0.position", "surprise"}),
        ({"name": "PT Tanpa NIB", "kind": "pihak_ketiga", "subtype": "badan_usaha"}, 422, {"identifiers.nib"}),
        ({"name": "Kota Tanpa Kode", "kind": "daerah_lain"}, 422, {"region_code"}),
        ({"name": "Bad email", "kind": "pemerintah_pusat",
          "contacts": [{"name": "Ani", "position": "Staf", "email": "not-an-email"}]}, 422, {"contacts.0.email"}),
    ]
    for body, status, fields in cases:
        r = stack.call("POST", "partners", "/api/v1/partners", json=body)
        assert r.status_code == status, r.text
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert set(r.json()["errors"]) == fields
    r = stack.call("POST", "partners", "/api/v1/partners", data=b"{oops", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = stack.call("POST", "partners", "/api/v1/partners", json={"name": "x" * 2_000_000, "kind": "pemerintah_pusat"})
    assert r.status_code == 413
    assert partner_streams(stack) == before


def test_no_token_401_wrong_role_403(stack):
    assert stack.call("POST", "partners", "/api/v1/partners", role=None, json=partner_body()).status_code == 401
    r = stack.call("POST", "partners", "/api/v1/partners", role="opd", json=partner_body())
    assert r.status_code == 403 and r.json()["status"] == 403
    assert stack.call("GET", "evaluation", "/api/v1/partners", role=None).status_code == 401


def test_stream_api_is_for_auditors_and_services_and_verifies(stack):
    partner = stack.call("POST", "partners", "/api/v1/partners", json=partner_body()).json()
    path = f"/api/v1/streams/{partner['id']}/events"
    assert stack.call("GET", "partners", path, role="kerjasama").status_code == 403
    body = stack.call("GET", "partners", path, role="auditor").json()
    assert body["chain_intact"] is True and [e["version"] for e in body["events"]] == [1]
    assert body["events"][0]["actor"]["role"] == "kerjasama"
    assert stack.call("GET", "partners", "/api/v1/streams/partner-nope/events", role="service").status_code == 404


def test_openapi_and_operational_endpoints(stack):
    spec = stack.call("GET", "partners", "/api/v1/openapi.json", role=None).json()
    assert "/api/v1/partners/{partner_id}/verify" in spec["paths"]
    assert "RegisterPartner" in spec["components"]["schemas"]
    for service in ("partners", "evaluation"):
        assert stack.call("GET", service, "/readyz", role=None).json()["status"] == "ready"
        assert "jalin_http_requests_total" in stack.call("GET", service, "/metrics", role=None).text

"""The dashboard's files and its development-only token endpoint, over HTTP (no browser)."""
from __future__ import annotations

import re
import uuid

import requests
from pymongo import MongoClient

from services.evaluation.dashboard import STATIC
from tests.support import load_stack

EXTERNAL = re.compile(r"""(?:src|href|url|import|from)\s*[=(]?\s*["']?(?:https?:)?//""", re.IGNORECASE)


def test_the_page_and_its_assets_are_served_by_the_service(browser_stack):
    base = browser_stack.urls["evaluation"]
    r = requests.get(f"{base}/dashboard", allow_redirects=False, timeout=10)
    assert r.status_code in (301, 308) and r.headers["Location"].endswith("/dashboard/")
    r = requests.get(f"{base}/dashboard/", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert 'src="assets/app.js"' in r.text
    assets = sorted(p.relative_to(STATIC / "assets").as_posix() for p in (STATIC / "assets").rglob("*") if p.is_file())
    assert {"app.js", "i18n.js", "charts.js", "dashboard.css"} <= set(assets)
    for name in assets:
        r = requests.get(f"{base}/dashboard/assets/{name}", timeout=10)
        assert r.status_code == 200, name
        if name.endswith(".js"):
            assert r.headers["Content-Type"].startswith("text/javascript"), name
        # Nothing is loaded from another host (the dashboard works on an intranet without internet).
        assert not EXTERNAL.search(r.text), name
    assert requests.get(f"{base}/dashboard/assets/../bootstrap.py", timeout=10).status_code == 404
    assert requests.get(f"{base}/dashboard/assets/nope.js", timeout=10).status_code == 404


def test_dev_tokens_work_locally(browser_stack):
    base = browser_stack.urls["evaluation"]
    offer = requests.get(f"{base}/dashboard/dev-token", timeout=10).json()
    assert offer["available"] is True and "publik" in offer["roles"] and "service" not in offer["roles"]
    minted = requests.get(f"{base}/dashboard/dev-token", params={"role": "publik"}, timeout=10)
    assert minted.status_code == 200 and minted.headers["Cache-Control"] == "no-store"
    token = minted.json()["token"]
    r = requests.get(f"{base}/api/v1/stats/overview", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200
    r = requests.get(f"{base}/api/v1/feed", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 403  # it is a real publik token
    assert requests.get(f"{base}/dashboard/dev-token", params={"role": "opd"}, timeout=10).status_code == 422
    opd = requests.get(f"{base}/dashboard/dev-token", params={"role": "opd", "opd": "dlh"}, timeout=10).json()
    assert opd["opd"] == "DLH"
    assert requests.get(f"{base}/dashboard/dev-token", params={"role": "root"}, timeout=10).status_code == 422


def test_no_dev_tokens_in_production():
    from services.evaluation.app import create_app

    profile = load_stack().PROFILES["test"]
    prefix = f"tprod{uuid.uuid4().hex[:8]}"
    app = create_app({"env": "production", "jwt_secret": "a-production-secret-" + uuid.uuid4().hex,
                      "mongo_uri": profile.mongo_uri, "kafka_bootstrap": profile.kafka_bootstrap, "prefix": prefix})
    try:
        client = app.test_client()
        assert client.get("/dashboard/dev-token").status_code == 404
        assert client.get("/dashboard/dev-token?role=admin").status_code == 404
        assert client.get("/dashboard/").status_code == 200  # the page itself is served
    finally:
        mongo = MongoClient(profile.mongo_uri)
        for name in (f"{prefix}_evaluation", f"{prefix}_evaluation_read"):  # (listing databases is slow on FerretDB)
            mongo.drop_database(name)
        mongo.close()

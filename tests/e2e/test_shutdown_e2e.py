"""Graceful shutdown: SIGTERM during a burst of commands loses nothing that was accepted."""
import dataclasses
import os
import signal
import threading
import uuid

import requests
from pymongo import MongoClient

from shared.auth import mint_token
from shared.config import Settings
from tests.support import load_stack, unique_prefix, wait_until


def test_sigterm_during_a_burst_loses_no_accepted_command():
    module = load_stack()
    profile = dataclasses.replace(module.PROFILES["test"], name="test-shutdown",
                                  api_ports={"partners": 18301, "agreements": 18302, "evaluation": 18303})
    prefix = unique_prefix("s")
    supervisor = module.Supervisor(profile, prefix=prefix, extra_env={"JALIN_WEB_WORKERS": "2"})
    supervisor.start(only=["partners-api", "partners-relay"])
    settings = Settings.from_env({"prefix": prefix})
    url = f"http://127.0.0.1:{profile.api_ports['partners']}/api/v1/partners"
    headers = {"Authorization": f"Bearer {mint_token(settings, 'kerjasama')}"}
    keys = [f"burst-{i}-{uuid.uuid4().hex[:6]}" for i in range(120)]
    accepted: dict[str, str] = {}
    refused: list[str] = []

    def send(batch):
        for key in batch:
            try:
                r = requests.post(url, json={"name": f"Mitra {key}", "kind": "pemerintah_pusat"},
                                  headers={**headers, "Idempotency-Key": key}, timeout=30)
                if r.status_code == 201:
                    accepted[key] = r.json()["id"]
                else:
                    refused.append(key)
            except requests.RequestException:
                refused.append(key)  # the server went away before answering: the client retries later

    try:
        wait_until(lambda: _ready(url.replace("/api/v1/partners", "/healthz")), 60, what="partners API up")
        threads = [threading.Thread(target=send, args=(keys[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: len(accepted) >= 20, 60, what="the burst under way")
        os.killpg(supervisor.procs["partners-api"].pid, signal.SIGTERM)     # the API is told to stop…
        os.killpg(supervisor.procs["partners-relay"].pid, signal.SIGTERM)   # …and so is the relay
        for t in threads:
            t.join()
        assert supervisor.procs["partners-api"].wait(60) == 0
        assert supervisor.procs["partners-relay"].wait(60) == 0

        db = MongoClient(profile.mongo_uri)[settings.database("partners")]
        stored = {d["stream_id"] for d in db["commits"].find({"first_version": 1}, {"stream_id": 1})}
        assert set(accepted.values()) <= stored  # every 201 is in the event store

        supervisor.start(only=["partners-api", "partners-relay"])  # back up: clients retry what failed
        wait_until(lambda: _ready(url.replace("/api/v1/partners", "/healthz")), 60, what="partners API back")
        send(list(refused))
        assert set(accepted) == set(keys)
        stored = {d["stream_id"] for d in db["commits"].find({"first_version": 1}, {"stream_id": 1})}
        assert len(stored) == len(keys) and stored == set(accepted.values())  # one partner per key
        wait_until(lambda: db["commits"].count_documents({"published": False}) == 0, 60,
                   what="the restarted relay publishes the rest")
    finally:
        supervisor.stop()


def _ready(url):
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False

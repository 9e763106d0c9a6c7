"""Events and documents the benchmarks feed the system with (realistic partner payloads)."""
from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta, timezone

from shared.domain import Aggregate
from shared.envelope import GENESIS_HASH, Actor, seal

ACTOR = Actor("bench-user", "kerjasama", "Bench Operator")

# The data of a typical partner.registered event (a university in Muaro Jambi, one contact).
PARTNER_DATA = {
    "name": "Universitas Jambi",
    "kind": "pihak_ketiga",
    "subtype": "perguruan_tinggi",
    "country": "ID",
    "identifiers": {"npwp": "0012345678901000"},
    "address": {"street": "Jl. Raya Jambi - Muara Bulian KM 15, Mendalo Darat", "city": "Muaro Jambi",
                "province": "Jambi", "postal_code": "36361"},
    "website": "https://www.unja.ac.id",
    "description": "Perguruan tinggi negeri; mitra kerja sama penelitian, magang dan pengabdian masyarakat.",
    "cooperation_scope": "dalam_negeri",
    "contacts": [{"name": "Dr. Siti Aminah", "position": "Kepala Biro Kerja Sama", "phone": "+62 741 583377",
                  "email": "kerjasama@unja.ac.id"}],
}


class Sample(Aggregate):
    """A small aggregate for the append benchmark: each command records ``k`` events."""

    stream_type = "sample"

    @classmethod
    def create(cls, stream_id: str, data: dict):
        sample = cls(stream_id)
        return sample, [sample._emit("sample.created", data)]

    def record(self, k: int, data: dict):
        return [self._emit("sample.recorded", {**data, "seq": self.version + 1}) for _ in range(k)]


def new_sid(kind: str) -> str:
    return f"{kind}-{uuid.uuid4()}"


def partner_events(count_partners: int, *, t0: datetime | None = None, tag: str = "") -> list[tuple[dict, dict]]:
    """``(registered, verified)`` sealed envelope pairs of ``count_partners`` partners (hash-chained)."""
    t0 = t0 or datetime.now(timezone.utc)
    out = []
    for i in range(count_partners):
        sid = new_sid("partner")
        data = copy.deepcopy(PARTNER_DATA)
        data["name"] = f"Universitas Jambi {tag}{i:06d}"
        data["identifiers"]["npwp"] = f"{i:016d}"
        when = t0 + timedelta(milliseconds=i)
        registered = seal(event_type="partner.registered", data=data, stream_id=sid, stream_type="partner",
                          version=1, prev_hash=GENESIS_HASH, occurred_at=when, actor=ACTOR,
                          correlation_id=str(uuid.uuid4()))
        verified = seal(event_type="partner.verified", data={"note": "dokumen legalitas lengkap"}, stream_id=sid,
                        stream_type="partner", version=2, prev_hash=registered["hash"],
                        occurred_at=when + timedelta(seconds=1), actor=ACTOR, correlation_id=str(uuid.uuid4()),
                        causation_id=registered["event_id"])
        out.append((registered, verified))
    return out


def commit_doc(envelopes: list[dict], committed_at: datetime) -> dict:
    """The document ``MongoEventStore.append`` writes for one commit (same fields, same order).

    Used to pre-fill outboxes quickly with ``insert_many``; the timed code paths always go
    through the real classes.
    """
    first, last = envelopes[0], envelopes[-1]
    return {"_id": f"{first['stream_id']}:{first['version']}", "stream_id": first["stream_id"],
            "stream_type": first["stream_type"], "first_version": first["version"],
            "last_version": last["version"], "events": list(envelopes), "committed_at": committed_at,
            "published": False}

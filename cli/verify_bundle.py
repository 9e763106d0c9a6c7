"""Offline verifier of an audit bundle written by ``jalin audit export``. Standard library only.

    python -m cli.verify_bundle BUNDLE_DIR        (or: python verify_bundle.py BUNDLE_DIR)

A bundle holds ``<service>.jsonl`` (one event envelope per line, streams in version order) and
``manifest.json`` (per file: sha256, event count; per stream: event count, last version, last
hash). The verifier recomputes every event's hash with the published rule

    canonical(x) = json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hash         = sha256(canonical(envelope without "hash")).hexdigest()

checks each stream's chain (prev_hash links from 64 zeros, versions 1, 2, 3…) and compares the
heads with the manifest, so an edited, deleted, inserted or reordered line is named.
Exit status 0 = intact, 1 = problems found, 2 = unreadable bundle.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

GENESIS = "0" * 64


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_hash(envelope: dict) -> str:
    return hashlib.sha256(canonical({k: v for k, v in envelope.items() if k != "hash"})).hexdigest()


def verify(bundle: Path) -> list[str]:
    """Every problem found in the bundle, as readable lines (empty = intact)."""
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    problems: list[str] = []
    heads: dict[str, dict] = {}
    for name, meta in sorted(manifest["files"].items()):
        path = bundle / name
        raw = path.read_bytes()
        if hashlib.sha256(raw).hexdigest() != meta["sha256"]:
            problems.append(f"{name}: file sha256 differs from the manifest")
        lines = raw.decode("utf-8").splitlines()
        if len(lines) != meta["events"]:
            problems.append(f"{name}: {len(lines)} events, manifest says {meta['events']}")
        for number, line in enumerate(lines, start=1):
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                problems.append(f"{name}:{number}: not JSON")
                continue
            sid = event.get("stream_id")
            head = heads.setdefault(sid, {"version": 0, "hash": GENESIS, "count": 0})
            where = f"{name}:{number} {sid} v{event.get('version')}"
            if event.get("version") != head["version"] + 1:
                problems.append(f"{where}: expected version {head['version'] + 1}")
            if event.get("prev_hash") != head["hash"]:
                problems.append(f"{where}: prev_hash does not link to the previous event")
            if event_hash(event) != event.get("hash"):
                problems.append(f"{where}: content does not match its hash (edited)")
            head.update(version=event.get("version") or 0, hash=event.get("hash"), count=head["count"] + 1)
    for sid, expected in sorted(manifest["streams"].items()):
        head = heads.get(sid)
        if head is None:
            problems.append(f"{sid}: in the manifest but has no events in the bundle")
        elif (head["count"], head["version"], head["hash"]) != \
                (expected["events"], expected["last_version"], expected["last_hash"]):
            problems.append(f"{sid}: head v{head['version']} ({head['count']} events) differs from the manifest's "
                            f"v{expected['last_version']} ({expected['events']} events)")
    for sid in sorted(set(heads) - set(manifest["streams"])):
        problems.append(f"{sid}: events in the bundle but not in the manifest")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        problems = verify(Path(args[0]))
    except (OSError, KeyError, ValueError) as exc:
        print(f"cannot read the bundle: {exc}", file=sys.stderr)
        return 2
    for line in problems:
        print(line)
    print("bundle intact" if not problems else f"{len(problems)} problem(s) found")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

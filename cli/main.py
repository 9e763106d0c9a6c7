"""``jalin``: operator, auditor and developer commands.

    jalin token --role ROLE [--opd CODE] [--sub NAME] [--name "Full Name"] [--ttl SECONDS]
    jalin audit verify [--json] [--no-kafka]        every stream of every service
    jalin audit export DIR                          a bundle for offline verification
    jalin audit as-of STREAM_ID (--at ISO | --version N)
    jalin replay [--only PROJECTION] [--force]      blue/green rebuild of the read models
    jalin replay --switch-back
    jalin deadletters list|show ID|retry ID|discard ID --reason "…"

Services are found through the JALIN_* settings (URLs, Kafka, MongoDB) as the services use them.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shared.auth import ROLES, mint_token
from shared.config import Settings


def cmd_token(args) -> int:
    try:
        print(mint_token(Settings.from_env(), args.role, sub=args.sub, opd=args.opd, name=args.name,
                         ttl_seconds=args.ttl))
    except ValueError as exc:
        print(f"jalin token: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_audit(args) -> int:
    from cli.audit import auditor_client, expected_events, export_bundle, format_report, verify_all

    settings = Settings.from_env()
    client = auditor_client(settings, args.token)
    if args.audit_command == "verify":
        report = verify_all(settings, client, check_kafka=not args.no_kafka, progress=None)
        print(json.dumps(report, indent=2, default=str) if args.json else format_report(report))
        return 0 if report["intact"] else 1
    if args.audit_command == "export":
        manifest = export_bundle(client, Path(args.directory), progress=None, expected=expected_events(settings))
        print(f"exported {len(manifest['streams'])} streams to {args.directory}; "
              f"verify offline with: python -m cli.verify_bundle {args.directory}")
        return 0
    if args.audit_command == "as-of":
        state = client.state(args.stream_id, args.at, args.version)
        if state is None:
            print(f"{args.stream_id}: no state at that point", file=sys.stderr)
            return 1
        print(json.dumps(state, indent=2, ensure_ascii=False))
        return 0
    return 2


def cmd_replay(args) -> int:
    from services.evaluation.bootstrap import build

    container = build(Settings.from_env())
    settings, readside = container.settings, container.read_model
    if args.switch_back:
        pointer = readside.switch_back()
        print(f"reads switched back to generation {pointer['generation']} ({pointer['database']})")
        return 0
    from services.evaluation.bootstrap import projections
    from services.evaluation.rebuild import Rebuild, closure

    keep: tuple[str, ...] = ()
    only = None
    if args.only:
        chosen = closure(projections(), set(args.only))
        if not chosen:
            print(f"unknown projection(s) {args.only}; known: {[p.name for p in projections()]}", file=sys.stderr)
            return 2
        only = {p.name for p in chosen}
        rebuilt = {c for p in chosen for c in p.collections}
        keep = tuple(c for p in projections() if p.name not in only for c in p.collections if c not in rebuilt)
    result = Rebuild(settings, readside, lambda db: container.projector_runner(db, only=only), container.source_topics,
                     keep_collections=keep).run(force=args.force)
    for name, row in result.report.items():
        print(f"  {name:22s} old {row['old_count']:>7} new {row['new_count']:>7} "
              f"{'same' if row['match'] else 'DIFFERENT'}")
    print(f"replayed {result.events} events in {result.seconds:.1f}s ({result.events_per_second:,.0f} events/s) "
          f"into generation {result.generation} ({result.database})")
    print("reads switched to the new generation" if result.switched else
          "NOT switched: the generations differ (use --force to switch anyway)")
    return 0 if result.switched else 1


def cmd_deadletters(args) -> int:
    import requests

    settings = Settings.from_env()
    token = args.token or mint_token(settings, "admin", sub="jalin-operator")
    base = f"{(settings.agreements_url if args.consumer == 'agreements' else settings.evaluation_url)}/api/v1/deadletters"
    headers = {"Authorization": f"Bearer {token}"}
    if args.dl_command == "list":
        response = requests.get(base, params={k: v for k, v in (("status", args.status),) if v}, headers=headers)
    elif args.dl_command == "show":
        response = requests.get(f"{base}/{args.id}", headers=headers)
    elif args.dl_command == "retry":
        response = requests.post(f"{base}/{args.id}/retry", json={}, headers=headers)
    else:
        response = requests.post(f"{base}/{args.id}/discard", json={"reason": args.reason}, headers=headers)
    print(json.dumps(response.json(), indent=2, ensure_ascii=False, default=str))
    return 0 if response.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jalin", description="Jalin operator, auditor and developer commands")
    sub = parser.add_subparsers(dest="command", required=True)

    token = sub.add_parser("token", help="print a bearer token the local stack accepts")
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument("--opd", help="OPD code (required for --role opd)")
    token.add_argument("--sub", help="subject (user id); default <role>-user")
    token.add_argument("--name", help="display name")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    token.set_defaults(func=cmd_token)

    audit = sub.add_parser("audit", help="verify, export, time travel")
    audit.add_argument("--token", help="auditor bearer token (default: JALIN_AUDIT_TOKEN, or minted locally)")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check every stream of every service")
    verify.add_argument("--json", action="store_true")
    verify.add_argument("--no-kafka", action="store_true", help="skip the comparison with the Kafka topics")
    export = audit_sub.add_parser("export", help="write a bundle for offline verification")
    export.add_argument("directory")
    as_of = audit_sub.add_parser("as-of", help="the state of a stream as of a moment or version")
    as_of.add_argument("stream_id")
    point = as_of.add_mutually_exclusive_group(required=True)
    point.add_argument("--at", help="ISO date-time with offset, e.g. 2025-06-30T23:59:59+07:00")
    point.add_argument("--version", type=int)
    audit.set_defaults(func=cmd_audit)

    replay = sub.add_parser("replay", help="rebuild the read models from the topics (blue/green)")
    replay.add_argument("--only", action="append", help="rebuild only this projection (repeatable)")
    replay.add_argument("--force", action="store_true", help="switch even if the generations differ")
    replay.add_argument("--switch-back", action="store_true", help="make the previous generation live again")
    replay.set_defaults(func=cmd_replay)

    dead = sub.add_parser("deadletters", help="list, inspect, retry or discard dead letters")
    dead.add_argument("--consumer", choices=("evaluation", "agreements"), default="evaluation")
    dead.add_argument("--token", help="admin bearer token (default: minted locally)")
    dead_sub = dead.add_subparsers(dest="dl_command", required=True)
    listing = dead_sub.add_parser("list")
    listing.add_argument("--status")
    for name in ("show", "retry"):
        dead_sub.add_parser(name).add_argument("id")
    discard = dead_sub.add_parser("discard")
    discard.add_argument("id")
    discard.add_argument("--reason", required=True)
    dead.set_defaults(func=cmd_deadletters)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

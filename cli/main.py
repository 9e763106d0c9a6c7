"""``jalin``: operator and developer commands.

    jalin token --role ROLE [--opd CODE] [--sub NAME] [--name "Full Name"] [--ttl SECONDS]
"""
from __future__ import annotations

import argparse
import sys

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jalin", description="Jalin operator and developer commands")
    sub = parser.add_subparsers(dest="command", required=True)
    token = sub.add_parser("token", help="print a bearer token the local stack accepts")
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument("--opd", help="OPD code (required for --role opd)")
    token.add_argument("--sub", help="subject (user id); default <role>-user")
    token.add_argument("--name", help="display name")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    token.set_defaults(func=cmd_token)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

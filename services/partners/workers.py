"""Long-running processes of the partners service: ``python -m services.partners.workers relay``."""
from __future__ import annotations

import sys

from shared.config import Settings
from shared.relay_worker import run_relay

from services.partners.bootstrap import SERVICE, build


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if args != ["relay"]:
        sys.exit("usage: python -m services.partners.workers relay")
    c = build(Settings.from_env())
    run_relay(SERVICE, c.settings, c.db, c.store)


if __name__ == "__main__":
    main()

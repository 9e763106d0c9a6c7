"""Long-running processes of the partners service: ``python -m services.partners.workers relay``."""
from __future__ import annotations

import sys

from shared.config import Settings
from shared.relay_worker import run_relay


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if args != ["relay"]:
        sys.exit("usage: python -m services.partners.workers relay")
    run_relay("partners", Settings.from_env())


if __name__ == "__main__":
    main()

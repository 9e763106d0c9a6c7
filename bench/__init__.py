"""Benchmarks of the Jalin backbone (event store, outbox relay, consumer runner, end to end).

Run with ``make bench`` (starts the ``bench`` profile of the local stack, runs ``python -m bench``,
stops the stack). Every figure is printed beside the raw limit of the same machine, measured in
the same run with plain pymongo / kafka-python / HTTP. See bench/README.md.
"""

# The benchmarks in report order (names are also the command-line selectors).
BENCHMARKS = ("append", "relay", "projection", "e2e", "agreements", "dashboard", "replay", "audit", "streamlength")
# Execution order: the projection benchmark runs last because its production-setting run leaves
# FerretDB with a database it can no longer serve (see bench/README.md).
RUN_ORDER = ("append", "relay", "e2e", "agreements", "dashboard", "replay", "audit", "streamlength", "projection")

# Opt-in benchmarks (minutes each at full size; the replay's default log is 1,000,000 events): they
# run only when named, e.g. ``python -m bench agreements dashboard replay``; a run without names
# (``make bench``) lists them as skipped and stays at about five minutes.
OPT_IN = ("agreements", "dashboard", "replay", "audit")


def requested(name: str) -> bool:
    """Whether ``name`` was named on the command line of ``python -m bench``."""
    import sys

    return name in [a for a in sys.argv[1:] if not a.startswith("-")]


def skipped(name: str, title: str) -> dict:
    return {"name": name, "title": title, "rows": [],
            "notes": [f"skipped: opt-in benchmark, run it with `python -m bench {name}`"]}

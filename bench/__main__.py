"""Run the backbone benchmarks: ``python -m bench [--quick] [append relay projection e2e]``.

Needs the bench profile of the local stack running (``make bench`` starts and stops it).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
import traceback
from datetime import datetime, timezone

from bench import BENCHMARKS, RUN_ORDER
from bench.core import RESULTS, BenchError, Context, local_stack, loadavg, machine_facts, new_run_id, \
    require_infrastructure
from bench.report import backend_table, save, text_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run, under a minute)")
    parser.add_argument("--keep", action="store_true", help="keep the run's databases and topics")
    parser.add_argument("--no-save", action="store_true", help="print only; write nothing under bench/results/")
    parser.add_argument("--backends", default="",
                        help="FerretDB storage backends to run the benchmarks on, one after the other in this run, "
                             "e.g. 'sqlite,postgresql' (default: the one the bench profile runs). Kafka keeps "
                             "running; FerretDB is restarted fresh on each backend")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    selected = [n for n in RUN_ORDER if not args.names or n in args.names]
    backends = [b for b in args.backends.split(",") if b]
    bad = [b for b in backends if b not in local_stack.DB_BACKENDS]
    if bad:
        parser.error(f"unknown backend(s) {', '.join(bad)}; choose from {', '.join(local_stack.DB_BACKENDS)}")

    logging.basicConfig(level=logging.ERROR)  # the relay/runner log warnings we report ourselves
    # kafka-python 3.0 logs harmless tracebacks when clients close; failures surface as exceptions
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    # JALIN_BENCH_PROFILE=test measures on an already running test stack (its ports come from the
    # JALIN_TEST_* variables), e.g. when several people share one machine; default: the bench profile.
    profile = local_stack.PROFILES[os.environ.get("JALIN_BENCH_PROFILE", "bench")]
    try:
        require_infrastructure(profile)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ctx = Context(stack=local_stack, profile=profile, run_id=new_run_id(), quick=args.quick, keep=args.keep)
    started = time.perf_counter()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    print(f"Jalin backbone benchmarks ({'quick' if args.quick else 'full'}): {', '.join(selected)}; "
          f"run id {ctx.run_id}; bench profile Kafka {profile.kafka_bootstrap}, FerretDB {profile.mongo_uri}", flush=True)
    facts = machine_facts(ctx)
    print(f"machine: {facts['nproc']} CPUs {facts['cpu_model']}, {facts['memory_gib']} GiB, Python {facts['python']}, "
          f"kafka-python {facts['packages']['kafka-python']}, pymongo {facts['packages']['pymongo']}, "
          f"FerretDB {facts['ferretdb'].get('version')} ({profile.db_backend}), Kafka {facts['kafka']['version']}; "
          f"load {facts['loadavg_start']}", flush=True)
    if facts["busy_processes_at_start"]:
        print("other busy processes: " + "; ".join(f"{p['cmd'][:60]} {p['cpu_share']:.0%}"
                                                   for p in facts["busy_processes_at_start"]), flush=True)
    results, failed = [], []
    for backend in backends or [profile.db_backend]:
        if backends and (len(backends) > 1 or backend != profile.db_backend):
            print(f"\n### FerretDB on {backend}", flush=True)
            local_stack.restart_ferretdb(profile, backend, fresh=True)
        run_benchmarks(ctx, selected, backend, results, failed, label=len(backends) > 1)

    results.sort(key=lambda r: BENCHMARKS.index(r["name"]))  # stable: each benchmark's backends side by side
    report = {"machine": facts, "selected": selected, "backends": backends or [profile.db_backend],
              "benchmarks": results, "failed": failed,
              "duration_s": round(time.perf_counter() - started, 1), "loadavg_end": loadavg()}
    if len(backends) > 1:
        print("\n== FerretDB backends side by side\n" + backend_table(results, backends), flush=True)
    if not args.no_save:
        json_path, md_path = save(report, RESULTS, stamp)
        print(f"\nresults: {json_path.relative_to(RESULTS.parents[1])}, {md_path.relative_to(RESULTS.parents[1])}")
    print(f"total {report['duration_s']} s" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def run_benchmarks(ctx: Context, selected: list[str], backend: str, results: list, failed: list,
                   label: bool) -> None:
    """Run the selected benchmarks on the FerretDB backend now running; append their results."""
    for name in selected:
        t0 = time.perf_counter()
        title = name
        try:
            module = importlib.import_module(f"bench.{name}")
            title = f"{module.TITLE} — FerretDB on {backend}" if label else module.TITLE
            print(f"\n== {title}", flush=True)
            result = module.run(ctx)
        except (Exception, SystemExit) as exc:  # stack helpers sys.exit on timeouts
            failed.append(f"{name} ({backend})" if label else name)
            print(f"FAILED: {exc!r}", flush=True)
            traceback.print_exc()
            result = {"name": name, "title": title, "rows": [], "notes": [], "error": repr(exc),
                      "traceback": traceback.format_exc()}
        finally:
            ctx.cleanup()
        result["backend"] = backend
        result["duration_s"] = round(time.perf_counter() - t0, 1)
        result["loadavg_end"] = loadavg()
        if result["rows"]:
            print(text_table(result), flush=True)
            for r in result["rows"]:
                if r["side"] == "jalin" and r.get("note"):
                    print(f"  * {r['case']}: {r['note']}", flush=True)
        for note in result.get("notes", []):
            print(f"  - {note}", flush=True)
        print(f"  ({result['duration_s']} s)", flush=True)
        results.append(result)


if __name__ == "__main__":
    sys.exit(main())

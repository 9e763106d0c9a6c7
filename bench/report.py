"""Tables for the terminal and Markdown, and the result files under bench/results/."""
from __future__ import annotations

import json
from pathlib import Path

COLUMNS = ("side", "case", "n", "rate", "unit", "p50 ms", "p95 ms", "p99 ms", "vs raw")


def _num(value, digits=1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.{max(digits, 2)}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def compare(r: dict, by_case: dict) -> str:
    """The system figure relative to its raw limit: a share of the raw rate, or a p50 ratio."""
    base = by_case.get(r.get("baseline") or "")
    if r.get("status"):
        return r["status"]
    if not base:
        return ""
    if r.get("rate") and base.get("rate"):
        share = 100 * r["rate"] / base["rate"]
        return f"{share:.1f}% of raw rate" if share < 10 else f"{share:.0f}% of raw rate"
    p50, bp50 = (r.get("latency_ms") or {}).get("p50"), (base.get("latency_ms") or {}).get("p50")
    if p50 and bp50:
        return f"p50 {p50 / bp50:.1f}× raw"
    return ""


def table_cells(result: dict) -> list[list[str]]:
    by_case = {r["case"]: r for r in result["rows"] if r["side"] == "raw"}
    out = []
    for r in result["rows"]:
        lat = r.get("latency_ms") or {}
        out.append([r["side"], r["case"], _num(r["n"]), _num(r.get("rate")), r["unit"] if r.get("rate") else "",
                    _num(lat.get("p50")), _num(lat.get("p95")), _num(lat.get("p99")), compare(r, by_case)])
    return out


def text_table(result: dict) -> str:
    cells = table_cells(result)
    widths = [max(len(COLUMNS[i]), *(len(c[i]) for c in cells)) if cells else len(COLUMNS[i])
              for i in range(len(COLUMNS))]
    right = {2, 3, 5, 6, 7}

    def line(values):
        return "  ".join(v.rjust(widths[i]) if i in right else v.ljust(widths[i]) for i, v in enumerate(values))
    lines = [line(COLUMNS), line(["-" * w for w in widths])] + [line(c) for c in cells]
    return "\n".join(lines)


def markdown_table(result: dict) -> str:
    cells = table_cells(result)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---:" if i in {2, 3, 5, 6, 7} else "---"
                                                            for i in range(len(COLUMNS))) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cell) + " |" for cell in cells]
    return "\n".join(lines)


def backend_table(results: list[dict], backends: list[str], markdown: bool = False) -> str:
    """Every Jalin row's rate (and p99) on each FerretDB backend, side by side."""
    figures: dict[tuple[str, str], dict[str, str]] = {}
    for result in results:
        for r in result["rows"]:
            if r["side"] != "jalin":
                continue
            p99 = (r.get("latency_ms") or {}).get("p99")
            cell = f"{_num(r.get('rate'))} {r['unit']}" if r.get("rate") else ""
            cell += f" (p99 {_num(p99)} ms)" if p99 is not None else ""
            figures.setdefault((result["name"], r["case"]), {})[result.get("backend", "")] = cell or "—"
    head = ["benchmark", "case", *backends]
    rows = [[name, case, *(cells.get(b, "—") for b in backends)] for (name, case), cells in figures.items()]
    if markdown:
        return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                         + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows])
    widths = [max(len(head[i]), *(len(row[i]) for row in rows)) if rows else len(head[i]) for i in range(len(head))]
    return "\n".join("  ".join(v.ljust(widths[i]) for i, v in enumerate(row)) for row in [head, *rows])


def row_details(r: dict) -> str:
    """Extra fields of a row worth showing (breakdowns, CPU, checks)."""
    skip = {"case", "side", "n", "seconds", "unit", "rate", "latency_ms", "baseline", "note", "status"}
    extra = {k: v for k, v in r.items() if k not in skip and v not in (None, {}, [])}
    parts = []
    if r.get("note"):
        parts.append(r["note"])
    if r.get("seconds") is not None:
        parts.append(f"{r['seconds']} s")
    for k, v in extra.items():
        parts.append(f"{k}={json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v}")
    return "; ".join(parts)


def markdown(report: dict) -> str:
    m = report["machine"]
    pk = m["packages"]
    out = [f"# Jalin backbone benchmarks — {m['utc']}", "",
           f"Mode: {'--quick' if m['quick'] else 'full'}; benchmarks: {', '.join(report['selected'])}; "
           f"total {report['duration_s']:.0f} s; raw data: `{report['json_file']}`.", "",
           "## Machine", "",
           f"- {m['nproc']} CPUs ({m['cpu_affinity']} usable), {m['cpu_model']}, {m['memory_gib']} GiB RAM, "
           f"Linux {m['kernel']}",
           f"- Python {m['python']}; kafka-python {pk['kafka-python']}, pymongo {pk['pymongo']}, flask {pk['flask']}, "
           f"gunicorn {pk['gunicorn']}, marshmallow {pk['marshmallow']}",
           f"- FerretDB {m['ferretdb'].get('version')} ({', '.join(report.get('backends') or [m['ferretdb'].get('backend')])} backend, "
           f"MongoDB wire version {m['ferretdb'].get('mongodb_compat_version')}); Apache Kafka {m['kafka']['version']} "
           f"({m['kafka']['mode']}){'' if m['kafka']['started_by_stack'] else ' — NOT the stack-started broker: ' + m['kafka']['cmdline'][:120]}",
           f"- Everything on one host, 127.0.0.1 only (bench profile: Kafka {m['profile']['kafka']}, "
           f"FerretDB {m['profile']['mongo']}, APIs {m['profile']['apis']}); load average at start "
           f"{m['loadavg_start']}, at end {report.get('loadavg_end')}",
           ]
    if m.get("busy_processes_at_start"):
        out.append("- Other processes busy at start: " + "; ".join(
            f"{p['cmd'][:80]} ({p['cpu_share']:.0%})" for p in m["busy_processes_at_start"]))
    out += ["", "`vs raw`: the Jalin figure as a share of the raw limit's rate (or the ratio of p50 latencies for "
            "latency-only rows). Latency columns are per operation unless the details say otherwise.", ""]
    if len(report.get("backends", [])) > 1:
        out += ["## FerretDB backends side by side", "",
                "Each benchmark ran on each backend in this run (FerretDB restarted fresh between them, "
                "the same Kafka); rate of every Jalin row, with its p99 where it has one.", "",
                backend_table(report["benchmarks"], report["backends"], markdown=True), ""]
    for result in report["benchmarks"]:
        out += [f"## {result['title']}", ""]
        if result.get("error"):
            out += [f"**FAILED**: {result['error']}", ""]
        if result.get("rows"):
            out += [markdown_table(result), ""]
            details = [(r["case"], row_details(r)) for r in result["rows"]]
            out += ["Details:", ""] + [f"- *{case}*: {text}" for case, text in details if text] + [""]
        for note in result.get("notes", []):
            out.append(f"- {note}")
        out.append(f"- Wall time {result.get('duration_s', 0):.1f} s; load average after {result.get('loadavg_end')}.")
        out.append("")
    return "\n".join(out)


def save(report: dict, directory: Path, stamp: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if report["machine"]["quick"] else ""
    json_path = directory / f"backbone-{stamp}{suffix}.json"
    report["json_file"] = json_path.name
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    text = markdown(report) + "\n"
    (directory / f"backbone-{stamp}{suffix}.md").write_text(text)
    md_path = directory / "backbone-latest.md"
    md_path.write_text(text)
    return json_path, md_path

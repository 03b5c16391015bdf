"""`uv run python -m bench [--quick] [--json] [--only NAME]`: the benchmarks, figures as ratios to a floor.

Each benchmark measures veza-db and the floor PostgreSQL itself sets for the same work, in the
same run on the same server, so the ratios hold on a noisy machine; the workload benchmark
(bench/workload.py) times the backend's hot paths on the Lab schema and on V1 the same way, as
ratios of V1 to Lab. `--quick` uses smaller data and fewer repetitions (under 5 minutes on 2
cores); with `--json` the last line is one JSON object of the figures; `--only` runs one
benchmark (up, port, audit or workload).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any

from bench import audit_scale, cluster, failing_file, port_floor, up_floor, workload


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def _say(text: str) -> None:
    print(text, flush=True)


def _up(server: cluster.BenchServer, quick: bool, figures: dict[str, Any]) -> None:
    up = up_floor.run(server, runs=1 if quick else 3)
    figures["up"] = up
    figures["up_vs_floor"] = up["up_vs_floor"]
    _say(
        f"up: {up['migrations']} migrations {up['up_s']} s vs psql -1 -f {up['psql_s']} s "
        f"-> {up['up_vs_floor']}x (target <= 1.2); of which fixed {up['up_at_head_s']} s, per file "
        f"{up['per_file_vs_floor']}x; V1 set {up['v1_up_s']} s; --help {up['cli_help_ms']} ms"
    )
    failing = failing_file.run(server, rows=1_000_000 if quick else 3_000_000, runs=1 if quick else 3)
    figures["failing_file"] = failing
    figures["failing_file_vs_floor"] = failing["failing_vs_floor"]
    _say(
        f"up, a failing file: {failing['up_s']} s vs psql -1 -f {failing['psql_s']} s -> "
        f"{failing['failing_vs_floor']}x (target <= 1.1); of which fixed {failing['fixed_s']} s"
    )


def _port(server: cluster.BenchServer, quick: bool, figures: dict[str, Any]) -> None:
    port = port_floor.run(server, plays=1_000_000 if quick else 10_000_000)
    figures["port"] = port
    figures["port_vs_floor"] = port["port_vs_floor"]
    figures["port_peak_rss_mb"] = port["port_peak_rss_mb"]
    _say(
        f"port: {port['rows']} track_plays at {port['port_rows_per_s']} rows/s vs psql \\copy "
        f"{port['copy_rows_per_s']} rows/s -> {port['port_vs_floor']}x (target >= 0.95); "
        f"vs psql binary \\copy {port['binary_copy_rows_per_s']} rows/s -> {port['port_vs_binary_copy']}x; "
        f"peak RSS {port['port_peak_rss_mb']} MB (target < 100)"
    )


def _audit(server: cluster.BenchServer, quick: bool, figures: dict[str, Any]) -> None:
    runs = 1 if quick else 3
    scale = audit_scale.run(server, tables=10_000, runs=runs)
    figures["audit_scale"] = scale
    figures["audit_vs_pg_dump"] = scale["audit_vs_pg_dump"]
    figures["audit_file_vs_pg_dump"] = scale["audit_file_vs_pg_dump"]
    _say(
        f"audit: {scale['tables']} tables ({scale['dump_mb']} MB dump): pg_dump -s {scale['pg_dump_s']} s; "
        f"live {scale['audit_live_s']} s -> {scale['audit_vs_pg_dump']}x (target <= 0.1); "
        f"file {scale['audit_file_s']} s -> {scale['audit_file_vs_pg_dump']}x (target <= 0.5); "
        f"squawk on the same file {scale['squawk_file_s']} s -> veza-db / squawk {scale['audit_file_vs_squawk']}x"
    )
    figures["audit_file_vs_squawk"] = scale["audit_file_vs_squawk"]
    if not quick:
        figures["audit_scale_other_majors"] = _audit_on_other_majors(server, runs)


def _audit_on_other_majors(primary: cluster.BenchServer, runs: int) -> dict[str, Any]:
    """The audit benchmark again on the machine's other PostgreSQL majors: `pg_dump -s` itself
    became about twice as fast in recent majors, and the ratios move with it."""
    from veza_db.pgcluster import system_bin_dirs

    figures: dict[str, Any] = {}
    for major, bin_dir in sorted(system_bin_dirs().items()):
        if primary.version().startswith(f"{major}."):
            continue
        with cluster.server(bin_dir) as other:
            scale = audit_scale.run(other, tables=10_000, runs=runs, breakdowns=False)
        figures[str(major)] = scale
        _say(
            f"audit on PostgreSQL {scale['postgres']}: pg_dump -s {scale['pg_dump_s']} s; "
            f"live {scale['audit_live_s']} s -> {scale['audit_vs_pg_dump']}x; "
            f"file {scale['audit_file_s']} s -> {scale['audit_file_vs_pg_dump']}x"
        )
    return figures


def _workload(server: cluster.BenchServer, quick: bool, figures: dict[str, Any]) -> None:
    hot = workload.run(server, quick=quick)
    figures["workload"] = hot["scripts"]
    figures["workload_min_ratio"] = hot["min_ratio"]
    figures["size_ratio"] = hot["size_ratio"]
    figures["workload_run"] = {
        key: value for key, value in hot.items() if key not in ("scripts", "min_ratio", "size_ratio")
    }
    _say_workload(hot)
    # The same benchmark on the machine's other PostgreSQL majors (Debian's 15 here): V1 runs on
    # 15-18, and a server built with OpenSSL generates ids several times faster than the embedded 18.
    from veza_db.pgcluster import system_bin_dirs

    others: dict[str, Any] = {}
    for major, bin_dir in sorted(system_bin_dirs().items()):
        if server.version().startswith(f"{major}."):
            continue
        with cluster.server(bin_dir) as other:
            other_hot = workload.run(other, quick=quick)
        others[str(major)] = other_hot
        _say_workload(other_hot)
    if others:
        figures["workload_other_majors"] = others


def _say_workload(hot: dict[str, Any]) -> None:
    ids = hot["ids_per_s"]
    _say(
        f"workload on PostgreSQL {hot['postgres']}: hot paths, pgbench {hot['clients']} clients, "
        f"{hot['seconds_per_run']} s runs (median second after the first), median of {hot['rounds']} rounds "
        f"(setup {hot['setup_s']} s, total {hot['total_s']} s); ids per second: uuidv7() {ids['uuidv7']:,}, "
        f"gen_random_uuid() {ids['gen_random_uuid']:,}, nextval() {ids['nextval']:,}"
    )
    for path, tps in hot["scripts"].items():
        _say(
            f"  {path:<24} Lab {tps['lab_tps']:>9} tps  V1 {tps['v1_tps']:>9}  V1-uuid4 {tps['v1_uuid4_tps']:>9}"
            f"  V1/Lab {tps['ratio']:>7}x  uuid4/Lab {tps['uuid4_ratio']:>7}x"
        )
    sizes = hot["sizes_mb"]
    _say(
        f"workload: min V1/Lab {hot['min_ratio']}x (target >= 0.95); size Lab {sizes['lab']} MB, "
        f"V1 {sizes['v1']} MB -> {hot['size_ratio']}x (target <= 1.3)"
    )


_BENCHMARKS = {"up": _up, "port": _port, "audit": _audit, "workload": _workload}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller data, fewer runs (under 5 minutes)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    parser.add_argument("--only", choices=tuple(_BENCHMARKS), help="run this benchmark alone")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"machine": machine()}
    started = time.perf_counter()
    with cluster.server() as server:
        figures["postgres"] = server.version()
        _say(
            f"PostgreSQL {figures['postgres']}, {figures['machine']['cpus']} cores, Python {figures['machine']['python']}"
        )
        for name, benchmark in _BENCHMARKS.items():
            if args.only in (None, name):
                benchmark(server, args.quick, figures)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())

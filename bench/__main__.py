"""`uv run python -m bench [--quick] [--json]`: every benchmark, figures as ratios to a floor.

Each benchmark measures veza-db and the floor PostgreSQL itself sets for the same work in the
same run on the same server, so the ratios hold on a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from typing import Any

from bench import audit_scale, cluster


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller data, one run each (under 5 minutes)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"machine": machine()}
    with cluster.server() as server:
        figures["postgres"] = server.version()
        print(f"PostgreSQL {figures['postgres']} on {figures['machine']['cpus']} cores", flush=True)
        scale = audit_scale.run(server, tables=10_000, runs=1 if args.quick else 3)
        print(
            f"audit, {scale['tables']} tables ({scale['dump_mb']} MB dump): "
            f"pg_dump -s {scale['pg_dump_s']} s; "
            f"live audit {scale['audit_live_s']} s ({scale['audit_vs_pg_dump']}x); "
            f"file audit {scale['audit_file_s']} s ({scale['audit_file_vs_pg_dump']}x)",
            flush=True,
        )
        figures["audit_scale"] = scale
        figures["audit_vs_pg_dump"] = scale["audit_vs_pg_dump"]
        figures["audit_file_vs_pg_dump"] = scale["audit_file_vs_pg_dump"]
    if args.json:
        print(json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The hot-path scripts of bench/workload.py run on both schemas and do the same work there."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench import workload

from tests.conftest import Server
from veza_db.pgcluster import embedded_bin_dir


@pytest.fixture(scope="module")
def prepared(server: Server) -> Iterator[tuple[workload.Target, workload.Databases]]:
    """Lab, V1 and V1-uuid4 holding the SMALL data set, on the primary server."""
    target = workload.Target(
        server.url, server.bin_dir or embedded_bin_dir(), prefix=f"wl_{uuid.uuid4().hex[:8]}"
    )
    try:
        yield target, workload.prepare(target, workload.SMALL)
    finally:
        workload.drop_databases(target)


def test_the_three_databases_hold_the_same_data(prepared: tuple[workload.Target, workload.Databases]) -> None:
    _, databases = prepared
    assert set(databases.urls) == set(workload.SIDES)
    assert all(count > 0 for count in databases.keys.values()), databases.keys
    assert databases.sizes["v1"] > 0
    assert databases.sizes["lab"] > 0


def test_every_script_does_its_work_on_both_schemas(
    prepared: tuple[workload.Target, workload.Databases],
) -> None:
    target, databases = prepared
    # One transaction per script and database, each checked (rows changed, nothing left behind by
    # the user delete, equal row counts across the three databases afterwards).
    workload.sanity(target, databases)
    for path in workload.PATHS:
        for side in workload.SIDES:
            url = databases.urls[side]
            defines = workload.variables(databases, url, clients=2)
            result = workload.pgbench(
                target, url, workload.script(path, side), defines, clients=2, transactions=3
            )
            assert result.transactions == 6, (path, side)


def test_a_failing_transaction_fails_the_run(
    prepared: tuple[workload.Target, workload.Databases], tmp_path: Path
) -> None:
    target, databases = prepared
    broken = tmp_path / "broken.sql"
    broken.write_text(
        "UPDATE tracks SET like_count = -1 WHERE id = (SELECT id FROM workload.tracks WHERE n = 1);\n"
    )
    # V1's like_count is a non_negative_bigint, whose rule refuses it: pgbench must not hide the error.
    with pytest.raises(RuntimeError, match=r"broken\.sql"):
        workload.pgbench(target, databases.urls["v1"], broken, {}, clients=1, transactions=1)


def test_a_script_that_changes_nothing_is_caught() -> None:
    before = {"track_plays": (10, 0, 0, 0), "playback_analytics": (5, 0, 0, 0)}
    after = {"track_plays": (10, 0, 0, 3), "playback_analytics": (6, 0, 0, 0)}
    problems = workload.unmet(before, after, {"track_plays": (1, 0, 0), "playback_analytics": (1, 0, 0)})
    assert problems == ["track_plays: (inserted, updated, deleted) = (0, 0, 0), expected (1, 0, 0)"]


def test_every_hot_path_has_a_script_per_schema() -> None:
    for path in workload.PATHS:
        for side in workload.SIDES:
            assert workload.script(path, side).is_file(), (path, side)

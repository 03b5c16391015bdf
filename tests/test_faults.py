"""Fault injection on real PostgreSQL: concurrent runners, SIGKILL at random moments, a server
stopped mid-migration, passwords under every command, and the transcode queue under contention."""

from __future__ import annotations

import json
import random
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.conftest import FIXTURES, Server
from tests.helpers import one_line_error, query, run_cli, run_sql, spawn_cli, write_migrations
from veza_db.catalog import sqlfile
from veza_db.migrate import discover
from veza_db.pgcluster import Cluster, embedded_bin_dir, free_port

TOOLING = frozenset({"schema_migrations", "schema_migrations_history"})
HEAD = len(discover.discover(discover.package_dir()))


def version_rows(url: str) -> list[tuple[object, ...]]:
    return query(url, "SELECT version, dirty FROM public.schema_migrations ORDER BY version")


def public_tables(url: str) -> frozenset[str]:
    rows = query(
        url,
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')",
    )
    return frozenset(str(r[0]) for r in rows) - TOOLING


def wait_for_runners_to_leave(url: str, timeout: float = 30) -> None:
    """A killed client's backend may still be finishing the message it received: wait for it."""
    dbname = urllib.parse.urlsplit(url).path.lstrip("/")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = query(
            url,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'veza-db' "
            f"AND datname = '{dbname}' AND pid <> pg_backend_pid()",
        )
        if rows == [(0,)]:
            return
        time.sleep(0.02)
    raise AssertionError(f"a veza-db backend is still connected to {dbname} after {timeout}s")


@cache
def v1_tables_by_version() -> dict[int, frozenset[str]]:
    """Version N -> the tables V1's migrations 1..N create, from the files themselves."""
    source = discover.package_dir()
    migrations = discover.discover(source)
    result = {0: frozenset[str]()}
    with tempfile.TemporaryDirectory() as scratch:
        for migration in migrations:
            prefix = Path(scratch) / f"upto_{migration.version}"
            prefix.mkdir()
            for other in migrations[: migration.version]:
                for script in (other.up, other.down):
                    assert script is not None  # every V1 migration has its down file
                    shutil.copy(script.path, prefix / script.path.name)
            catalog = sqlfile.load_directory(prefix)
            result[migration.version] = frozenset(t.name for t in catalog.tables if t.schema == "public")
    return result


def test_reference_of_v1_tables_per_version() -> None:
    reference = v1_tables_by_version()
    assert sorted(reference) == list(range(HEAD + 1))
    assert reference[1] == frozenset()  # 001_foundation creates functions only
    assert {"users", "roles", "permissions", "role_permissions", "user_roles"} == reference[2]
    assert len(reference[HEAD]) == 26
    for version in range(1, HEAD + 1):
        assert reference[version - 1] <= reference[version]


# ---- concurrent runners ------------------------------------------------------------------------


@pytest.mark.slow
def test_sixteen_concurrent_up_processes_apply_each_migration_once(database: str, tmp_path: Path) -> None:
    files = {
        "001_log.up.sql": "CREATE TABLE run_log (version int NOT NULL, pid int NOT NULL);\n"
        "INSERT INTO run_log VALUES (1, pg_backend_pid());\n",
        "001_log.down.sql": "DROP TABLE run_log;\n",
        "002_users.up.sql": "CREATE TABLE users (id int PRIMARY KEY);\n"
        "INSERT INTO run_log VALUES (2, pg_backend_pid());\nSELECT pg_sleep(0.3);\n",
        "002_users.down.sql": "DROP TABLE users;\n",
        "003_posts.up.sql": "CREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users);\n"
        "INSERT INTO run_log VALUES (3, pg_backend_pid());\n",
        "003_posts.down.sql": "DROP TABLE posts;\n",
        "004_tags.up.sql": "CREATE TABLE tags (id int PRIMARY KEY);\n"
        "INSERT INTO run_log VALUES (4, pg_backend_pid());\nSELECT pg_sleep(0.2);\n",
        "004_tags.down.sql": "DROP TABLE tags;\n",
    }
    migrations = write_migrations(tmp_path / "m", files)
    procs = [spawn_cli("up", "--database-url", database, "--migrations", str(migrations)) for _ in range(16)]
    results = [(p.returncode, out, err) for p in procs for out, err in [p.communicate(timeout=180)]]
    assert [code for code, _, _ in results] == [0] * 16, [err for _, _, err in results]
    for _, out, err in results:
        assert "Traceback" not in err
        assert out.rstrip().endswith("version 4 (head)"), out
    applied_lines = [line for _, out, _ in results for line in out.splitlines() if line.startswith("applied")]
    assert sorted(line.split()[1] for line in applied_lines) == [
        "001_log.up.sql",
        "002_users.up.sql",
        "003_posts.up.sql",
        "004_tags.up.sql",
    ]
    assert query(database, "SELECT version, count(*) FROM run_log GROUP BY 1 ORDER BY 1") == [
        (1, 1),
        (2, 1),
        (3, 1),
        (4, 1),
    ]
    assert version_rows(database) == [(4, False)]
    assert query(database, "SELECT version FROM schema_migrations_history ORDER BY 1") == [
        (1,),
        (2,),
        (3,),
        (4,),
    ]


# ---- SIGKILL at random moments -----------------------------------------------------------------


def _kill_at(url: str, delay: float, *, after_connect: bool) -> None:
    proc = spawn_cli("up", "--database-url", url)
    try:
        if after_connect:
            dbname = urllib.parse.urlsplit(url).path.lstrip("/")
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline:
                if query(
                    url,
                    "SELECT 1 FROM pg_stat_activity WHERE application_name = 'veza-db' "
                    f"AND datname = '{dbname}'",
                ):
                    break
                time.sleep(0.005)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _assert_whole_version(url: str) -> int:
    rows = version_rows(url) if query(url, "SELECT to_regclass('public.schema_migrations')")[0][0] else []
    assert len(rows) <= 1, rows
    version = int(str(rows[0][0])) if rows else 0
    if rows:
        assert rows[0][1] is False, f"dirty after a kill: {rows}"
    assert public_tables(url) == v1_tables_by_version()[version], f"version {version}"
    foundation = query(url, "SELECT to_regprocedure('public.set_updated_at()') IS NOT NULL")[0][0]
    assert foundation is (version >= 1), f"set_updated_at() present={foundation} at version {version}"
    if rows:
        history = query(url, "SELECT version FROM public.schema_migrations_history ORDER BY 1")
        assert [int(str(r[0])) for r in history] == list(range(1, version + 1))
    return version


@pytest.mark.slow
def test_twenty_sigkills_of_up_always_leave_a_whole_version(server: Server) -> None:
    reference = v1_tables_by_version()
    # Calibrate: how long a whole `up` takes here, and how much of it is the migrations.
    name = server.create_database("kill_ref")
    try:
        started = time.monotonic()
        full = run_cli("up", "--database-url", server.url(name))
        whole_run = time.monotonic() - started
        assert full.returncode == 0, full.stderr
        migrating = sum(int(m) for m in re.findall(r"(\d+) ms$", full.stdout, re.MULTILINE)) / 1000
        assert public_tables(server.url(name)) == reference[HEAD]
    finally:
        server.drop_database(name)

    rng = random.Random(20261125)  # noqa: S311 - seeded for reproducible kill moments, not secrets
    seen: list[int] = []
    for i in range(20):
        # Even kills: any moment of the process's life (start-up, connect, lock, migrations).
        # Odd kills: once the runner is connected, within the time the migrations take.
        after_connect = i % 2 == 1
        delay = (
            rng.uniform(0, max(migrating, 0.05) * 1.2)
            if after_connect
            else rng.uniform(0, max(0.6, whole_run))
        )
        name = server.create_database("kill")
        url = server.url(name)
        try:
            _kill_at(url, delay, after_connect=after_connect)
            wait_for_runners_to_leave(url)
            seen.append(_assert_whole_version(url))
            result = run_cli("up", "--database-url", url)
            assert result.returncode == 0, result.stderr
            assert result.stdout.rstrip().endswith(f"version {HEAD} (head)")
            assert version_rows(url) == [(HEAD, False)]
            assert public_tables(url) == reference[HEAD]
        finally:
            server.drop_database(name)
    # The kills must have landed in the middle of the run at least once, or this proves little.
    assert any(0 < v < HEAD for v in seen) or len(set(seen)) > 1, seen


# ---- the server stopped mid-migration ----------------------------------------------------------

SLOW_SECOND = {
    "001_a.up.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
    "001_a.down.sql": "DROP TABLE a;\n",
    "002_b.up.sql": "CREATE TABLE b (id int PRIMARY KEY);\nSELECT pg_sleep(5);\nCREATE TABLE b2 (id int);\n",
    "002_b.down.sql": "DROP TABLE b2;\nDROP TABLE b;\n",
    "003_c.up.sql": "CREATE TABLE c (id int PRIMARY KEY);\n",
    "003_c.down.sql": "DROP TABLE c;\n",
}


@pytest.fixture(scope="module")
def throwaway_cluster() -> Iterator[Cluster]:
    """A PostgreSQL of its own, so that stopping it hurts no other test."""
    root = Path(tempfile.mkdtemp(prefix="veza-db-faults-"))
    root.chmod(0o755)
    cluster = Cluster(bin_dir=embedded_bin_dir(), data_dir=root / "pg" / "data")
    try:
        cluster.data_dir.parent.mkdir(parents=True)
        cluster.data_dir.parent.chmod(0o755)
        cluster.initdb(free_port(), {"max_connections": "50"})
        cluster.start()
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def _stop_server_during_second_file(cluster: Cluster, migrations: Path) -> tuple[str, subprocess.Popen[str]]:
    cluster.start()
    name = f"stop_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = cluster.url(name)
    proc = spawn_cli("up", "--database-url", url, "--migrations", str(migrations))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not query(
        url,
        "SELECT 1 FROM pg_stat_activity WHERE application_name = 'veza-db' AND query LIKE '%pg_sleep(5)%'",
    ):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    cluster.stop("immediate")
    return url, proc


@pytest.mark.slow
def test_server_stopped_immediately_during_up(throwaway_cluster: Cluster, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", SLOW_SECOND)
    url, proc = _stop_server_during_second_file(throwaway_cluster, migrations)
    out, err = proc.communicate(timeout=60)
    completed = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert completed.returncode == 4, (out, err)
    one_line_error(completed)
    assert "applied      001_a.up.sql" in out
    assert "002_b" not in out

    throwaway_cluster.start()
    assert version_rows(url) == [(1, False)]  # 002 was rolled back by crash recovery, not dirty
    assert query(url, "SELECT to_regclass('b') IS NULL AND to_regclass('b2') IS NULL") == [(True,)]
    again = run_cli("up", "--database-url", url, "--migrations", str(migrations))
    assert again.returncode == 0, again.stderr
    assert again.stdout.rstrip().endswith("version 3 (head)")
    assert version_rows(url) == [(3, False)]
    assert query(url, "SELECT version FROM schema_migrations_history ORDER BY 1") == [(1,), (2,), (3,)]


@pytest.mark.slow
def test_server_stopped_during_up_names_the_file(throwaway_cluster: Cluster, tmp_path: Path) -> None:
    migrations = write_migrations(tmp_path / "m", SLOW_SECOND)
    _, proc = _stop_server_during_second_file(throwaway_cluster, migrations)
    out, err = proc.communicate(timeout=60)
    throwaway_cluster.start()
    line = one_line_error(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    assert "002_b.up.sql" in line


def _lab_with_many_plays(cluster: Cluster, plays_per_row: int) -> str:
    """A Lab database on `cluster` whose track_plays is large enough to stop the server mid-copy."""
    from bench import labgen

    name = f"lab_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = cluster.url(name)
    run_sql(url, (FIXTURES / "lab_schema.sql").read_text())
    with psycopg.connect(url) as conn:
        labgen.generate(conn, labgen.SMALL)
        columns = [
            sql.Identifier(str(r[0]))
            for r in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'track_plays'::regclass "
                "AND attnum > 0 AND NOT attisdropped AND attname <> 'id' ORDER BY attnum"
            )
        ]
        listed = sql.SQL(", ").join(columns)
        conn.execute(
            sql.SQL("INSERT INTO track_plays ({}) SELECT {} FROM track_plays, generate_series(1, %s)").format(
                listed, listed
            ),
            (plays_per_row,),
        )
    return url


def _fresh_v1(cluster: Cluster) -> str:
    name = f"v1_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = cluster.url(name)
    assert run_cli("up", "--database-url", url).returncode == 0
    return url


@pytest.mark.slow
def test_server_stopped_during_port_then_resume(throwaway_cluster: Cluster) -> None:
    throwaway_cluster.start()
    lab = _lab_with_many_plays(throwaway_cluster, plays_per_row=300)
    target = _fresh_v1(throwaway_cluster)
    proc = spawn_cli("port", "--from", lab, "--to", target)
    deadline = time.monotonic() + 120
    while not query(
        target,
        "SELECT 1 FROM pg_stat_activity WHERE application_name = 'veza-db' AND query LIKE 'COPY %track_plays%'",
    ):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the port never reached track_plays"
        time.sleep(0.02)
    throwaway_cluster.stop("immediate")
    out, err = proc.communicate(timeout=60)
    failed = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)  # no terminal: no progress
    assert failed.returncode == 4, (out, err)
    line = one_line_error(failed)
    assert "while copying track_plays" in line
    assert "--resume" in line

    throwaway_cluster.start()
    done = {str(r[0]) for r in query(target, "SELECT target FROM veza_port.tables")}
    assert done, "tables finished before the stop are recorded"
    assert "track_plays" not in done
    resumed = run_cli("port", "--from", lab, "--to", target, "--resume", "--format", "json")
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["ok"] is True
    assert {t["target"] for t in report["tables"] if t["resumed"]} == done
    plays = next(t for t in report["tables"] if t["target"] == "track_plays")
    assert plays["source_rows"] == plays["target_rows"] > 100_000


# ---- no password in any output -----------------------------------------------------------------

CORE = "Xq7Zk2Vw"  # distinctive: must never be printed, in any form
PASSWORD = f"{CORE}!@:/%pw"
ENCODED = urllib.parse.quote(PASSWORD, safe="")


def _commands(url: str, lab: str, v1: str, out: Path) -> list[tuple[tuple[str, ...], int]]:
    """Every command that takes a URL, with its exit code on success in this test."""
    return [
        (("up", "--database-url", url), 0),
        (("status", "--database-url", url), 0),
        (("status", "--json", "--database-url", url), 0),
        (("force", str(HEAD), "--database-url", url), 0),
        (("audit", url), 0),
        (("verify", url), 0),
        (("docs", "--database-url", url, "--out", str(out)), 0),
        (("roles", "--database-url", url), 0),
        (("roles", "--check", "--database-url", url), 1),  # the model's roles do not exist: differences
        (("down", "--all", "--database-url", url), 0),
        (("port", "--from", lab, "--to", v1), 0),
    ]


def _admin(server: Server, statement: sql.Composed) -> None:
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(statement)


def _assert_no_password(proc: subprocess.CompletedProcess[str], *secrets: str) -> None:
    shown = proc.stdout + proc.stderr
    for secret in (PASSWORD, ENCODED, CORE, *secrets):
        assert secret not in shown, (proc.args, shown[-2000:])


def _run(args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, timeout=180)


def _with_credentials(url: str, role: str, password: str) -> str:
    return url.replace("postgres@", f"{role}:{urllib.parse.quote(password, safe='')}@", 1)


@pytest.mark.slow
def test_no_password_in_any_output(server: Server, database: str, v1_database: str, tmp_path: Path) -> None:
    role = f"veza_pw_{uuid.uuid4().hex[:8]}"
    lab_name = server.create_database("lab")
    lab_url = server.url(lab_name)
    run_sql(lab_url, (FIXTURES / "lab_schema.sql").read_text())
    _admin(
        server,
        sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(PASSWORD)
        ),
    )
    try:
        # Success: the role exists and the password is right.
        good = [_with_credentials(u, role, PASSWORD) for u in (database, lab_url, v1_database)]
        commands = _commands(good[0], good[1], good[2], tmp_path / "docs")
        # up first, then the others side by side, then down --all
        first = next(c for c in commands if c[0][0] == "up")
        last = next(c for c in commands if c[0][0] == "down")
        middle = [c for c in commands if c not in (first, last)]
        results = [(first, _run(first[0]))]
        with ThreadPoolExecutor(max_workers=3) as pool:
            results += zip(middle, pool.map(_run, [args for args, _ in middle]), strict=True)
        results.append((last, _run(last[0])))
        for (args, code), proc in results:
            assert proc.returncode == code, (args[0], proc.stderr)
            assert "Traceback" not in proc.stderr
            _assert_no_password(proc)
        assert version_rows(database) == []  # down --all ran last on it
        # Nor in what the commands write: the reference pages and port's bookkeeping.
        pages = list((tmp_path / "docs").glob("*.md"))
        assert pages
        assert not [p.name for p in pages if CORE in p.read_text()]
        stored = query(v1_database, "SELECT source FROM veza_port.run")
        assert stored
        assert all(CORE not in str(row[0]) and "****" in str(row[0]) for row in stored), stored

        # Failure: a wrong password (which must not show either), and no server at all.
        wrong = f"{CORE}-wrong!@:%"
        refused = [_with_credentials(u, role, wrong) for u in (database, lab_url, v1_database)]
        unreachable = [
            re.sub(r"@127\.0\.0\.1:\d+/", "@127.0.0.1:1/", _with_credentials(u, role, PASSWORD))
            for u in (database, lab_url, v1_database)
        ]
        runs = [
            args
            for urls in (refused, unreachable)
            for args, _ in _commands(urls[0], urls[1], urls[2], tmp_path / "no")
        ]
        with ThreadPoolExecutor(max_workers=4) as pool:
            failures = list(pool.map(_run, runs))
        for args, proc in zip(runs, failures, strict=True):
            assert proc.returncode == 4, (args[0], proc.stderr)
            line = one_line_error(proc)
            assert "password authentication failed" in line or "Connection refused" in line, line
            _assert_no_password(proc, wrong, urllib.parse.quote(wrong, safe=""))
    finally:
        for name in (lab_name, database.rsplit("/", 1)[1], v1_database.rsplit("/", 1)[1]):
            with psycopg.connect(server.url(name), autocommit=True) as conn:
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        _admin(server, sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        server.drop_database(lab_name)


@pytest.mark.parametrize("command", ["up", "audit"])
def test_password_with_an_unencoded_at_sign_is_not_printed(command: str) -> None:
    url = f"postgresql://veza:pre@{CORE}@127.0.0.1:1/veza"
    args = ("up", "--database-url", url) if command == "up" else ("audit", url)
    proc = run_cli(*args)
    assert proc.returncode in (2, 4)
    one_line_error(proc)
    assert CORE not in proc.stdout + proc.stderr


# ---- the transcode queue under contention ------------------------------------------------------


def _dequeue_query(url: str) -> str:
    """The dequeue the table's comment documents, with psycopg placeholders."""
    comment = str(query(url, "SELECT obj_description('hls_transcode_queue'::regclass, 'pg_class')")[0][0])
    found = re.search(r"WITH next AS .*?RETURNING q\.\*;", comment, re.DOTALL)
    assert found, comment
    text = found.group(0)
    assert "FOR UPDATE SKIP LOCKED" in text
    return text.replace("$1", "%(worker)s").replace("$2", "%(lease)s")


@pytest.mark.parametrize(
    "seconds",
    [
        pytest.param(10, id="10s"),
        pytest.param(
            30,
            id="30s",
            marks=[
                pytest.mark.slow,
                # A 30 s soak only when slow tests are asked for by name: the default run has the 10 s one.
                pytest.mark.skipif(
                    "'slow' not in str(config.getoption('markexpr') or '')",
                    reason="the 30 s soak runs when slow tests are selected explicitly: pytest -m slow",
                ),
            ],
        ),
    ],
)
def test_sixteen_transcode_workers_never_double_process(v1_database: str, seconds: int) -> None:
    dequeue = _dequeue_query(v1_database)
    with psycopg.connect(v1_database, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO users (username, email, password_hash) VALUES ('uploader', 'u@example.org', 'x') "
            "RETURNING id"
        ).fetchone()
        assert row is not None
        user_id = row[0]

    stop = threading.Event()
    enqueued: list[object] = []
    completions: list[tuple[object, str]] = []
    errors: list[BaseException] = []

    def producer() -> None:
        try:
            with psycopg.connect(v1_database, autocommit=True) as conn:
                n = 0
                while not stop.is_set():
                    n += 1
                    with conn.transaction():
                        track = conn.execute(
                            "INSERT INTO tracks (user_id, title, storage_key, format, file_size_bytes) "
                            "VALUES (%s, %s, %s, 'flac', 1) RETURNING id",
                            (user_id, f"track {n}", f"k/{n}"),
                        ).fetchone()
                        assert track is not None
                        job = conn.execute(
                            "INSERT INTO hls_transcode_queue (track_id, priority) VALUES (%s, %s) RETURNING id",
                            (track[0], n % 7 - 3),
                        ).fetchone()
                        assert job is not None
                    enqueued.append(job[0])
                    time.sleep(0.001)
        except BaseException as exc:
            errors.append(exc)

    def worker(worker_id: str, seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - simulated work time, not secrets
        try:
            with psycopg.connect(v1_database, autocommit=True) as conn:
                while not stop.is_set():
                    with conn.transaction():
                        job = conn.execute(dequeue, {"worker": worker_id, "lease": "30 seconds"}).fetchone()
                    if job is None:
                        time.sleep(0.005)
                        continue
                    time.sleep(rng.uniform(0.001, 0.005))  # the "transcode"
                    done = conn.execute(
                        "UPDATE hls_transcode_queue SET status = 'succeeded', locked_by = NULL, "
                        "locked_at = NULL, lease_expires_at = NULL, finished_at = CURRENT_TIMESTAMP "
                        "WHERE id = %s AND status = 'running' AND locked_by = %s",
                        (job[0], worker_id),
                    )
                    assert done.rowcount == 1, f"{worker_id} lost its lease on {job[0]}"
                    completions.append((job[0], worker_id))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=producer)] + [
        threading.Thread(target=worker, args=(f"worker-{i}", i)) for i in range(16)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == [], errors

    completed_ids = [job for job, _ in completions]
    assert len(completed_ids) == len(set(completed_ids)), "a job was completed twice"
    assert len(enqueued) > 100, len(enqueued)
    assert len(completions) > 0.5 * len(enqueued), (len(completions), len(enqueued))
    rows = query(
        v1_database,
        "SELECT id, status, attempts, locked_by IS NULL AND locked_at IS NULL AND lease_expires_at IS NULL, "
        "finished_at IS NOT NULL FROM hls_transcode_queue",
    )
    by_id = {r[0]: r for r in rows}
    assert set(by_id) == set(enqueued), "a job was lost or appeared from nowhere"
    assert {r[1] for r in rows} <= {"succeeded", "queued", "running"}
    succeeded = {r[0] for r in rows if r[1] == "succeeded"}
    assert succeeded == set(completed_ids)
    for job in succeeded:
        _, _, attempts, lease_cleared, finished = by_id[job]
        assert (attempts, lease_cleared, finished) == (1, True, True), by_id[job]
    workers_used = {worker for _, worker in completions}
    assert len(workers_used) > 1, workers_used

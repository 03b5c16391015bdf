"""Least privilege (veza_db.roles): each role is logged in as, on real PostgreSQL, and must be able
to do its job and nothing more.

Roles are cluster-wide, so every test uses role names of its own (a random suffix) and drops
them at the end (DROP OWNED BY in the test database, then DROP ROLE).
"""

from __future__ import annotations

import shutil
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from tests.conftest import FIXTURES
from tests.helpers import query, run_cli, run_sql, write_migrations
from veza_db import api, roles
from veza_db.dburl import DatabaseUrl
from veza_db.errors import DatabaseError, LockTimeout, RefusedError, UsageError
from veza_db.migrate import discover
from veza_db.migrate.history import DEFAULT
from veza_db.migrate.superuser import migrating_as_superuser

PASSWORD = "least-privilege-test-pw"  # noqa: S105 - roles of a throwaway test server
TOKEN_TABLES = ("user_sessions", "refresh_tokens", "password_reset_tokens", "email_verification_tokens")
V1_TABLES_SQL = (
    "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' "
    "AND relname NOT IN ('schema_migrations', 'schema_migrations_history') ORDER BY 1"
)

Conn = psycopg.Connection[tuple[object, ...]]
MakeRoles = Callable[..., roles.Roles]


# ---- helpers -------------------------------------------------------------------------------------


def _admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def _drop_roles(url: str, names: list[str]) -> None:
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        found = {
            str(r[0]) for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (names,))
        }
    existing = [n for n in names if n in found]
    if not existing:
        return
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            # One role at a time, the owner last: `DROP OWNED BY owner, app` in one statement
            # fails on PostgreSQL 18 with "could not find tuple for default ACL" (the owner's
            # default privileges name the app).
            for name in reversed(existing):
                conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(name)))
    except psycopg.OperationalError:
        pass  # the test database is gone already, and with it everything the roles held there
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.SQL(", ").join(sql.Identifier(n) for n in existing)))


@pytest.fixture
def make_roles() -> Iterator[MakeRoles]:
    """`make_roles(url, **names)`: four role names unique to this test, dropped afterwards."""
    created: list[tuple[str, list[str]]] = []

    def make(url: str, *, extra: tuple[str, ...] = (), **names: str) -> roles.Roles:
        suffix = uuid.uuid4().hex[:8]
        model = roles.Roles(
            owner=names.get("owner", f"veza_owner_{suffix}"),
            app=names.get("app", f"veza_app_{suffix}"),
            readonly=names.get("readonly", f"veza_readonly_{suffix}"),
            chat=names.get("chat", f"veza_chat_{suffix}"),
        )
        created.append((url, [*model.all, *extra]))
        return model

    yield make
    for url, names in created:
        _drop_roles(url, names)


def enable_login(url: str, *names: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            conn.execute(
                sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(PASSWORD))
            )


def login(url: str, role: str) -> Conn:
    """A connection to the test database as `role` (with its password: the server demands scram)."""
    return psycopg.connect(url, user=role, password=PASSWORD, autocommit=True)


def role_url(url: str, role: str) -> str:
    parts = urllib.parse.urlsplit(url)
    netloc = f"{urllib.parse.quote(role, safe='')}:{PASSWORD}@{parts.hostname}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def refused(conn: Conn, statement: str | sql.Composed, params: tuple[object, ...] | None = None) -> None:
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute(statement, params)


def chat_init() -> str:
    """The chat fixture as the chat server runs it: the schema exists already (apply made it).

    PostgreSQL checks CREATE on the database before `IF NOT EXISTS`, so a chat server that is
    not allowed to create schemas must not say `CREATE SCHEMA IF NOT EXISTS chat`.
    """
    text = (FIXTURES / "chat_schema_init.sql").read_text()
    assert "CREATE SCHEMA IF NOT EXISTS chat;" in text
    return text.replace("CREATE SCHEMA IF NOT EXISTS chat;", "")


def deploy(url: str, model: roles.Roles) -> None:
    """Apply the model, let every role log in, and let the chat server create its schema's tables."""
    applied = roles.apply(DatabaseUrl(url), model)
    assert applied.findings == []
    enable_login(url, *model.all)
    with login(url, model.chat) as chat:
        chat.execute(chat_init().encode())


def v1_tables(url: str) -> list[str]:
    return [str(r[0]) for r in query(url, V1_TABLES_SQL)]


def table(name: str) -> sql.Identifier:
    return sql.Identifier("public", name)


def one(conn: Conn, statement: str, params: tuple[object, ...] = ()) -> object:
    row = conn.execute(statement, params).fetchone()
    assert row is not None
    return row[0]


def insert_user(conn: Conn, name: str = "ada") -> object:
    return one(
        conn,
        "INSERT INTO public.users (username, email, password_hash) VALUES (%s, %s, 'argon2id$x') RETURNING id",
        (name, f"{name}@example.com"),
    )


# ---- each role at work ---------------------------------------------------------------------------


def test_app_has_full_dml_and_nothing_else(any_v1_database: str, make_roles: MakeRoles) -> None:
    url = any_v1_database
    model = make_roles(url)
    deploy(url, model)
    tables = v1_tables(url)
    assert len(tables) == 26
    with login(url, model.app) as app:
        user_id = insert_user(app)  # uuidv7() default: on 15-17 public.uuidv7(), EXECUTE needed
        track_id = one(
            app,
            "INSERT INTO tracks (user_id, title, storage_key, format, file_size_bytes) "
            "VALUES (%s, 'Song', 'k/1', 'mp3', 10) RETURNING id",
            (user_id,),
        )
        playlist_id = one(
            app, "INSERT INTO playlists (user_id, title) VALUES (%s, 'Mix') RETURNING id", (user_id,)
        )
        app.execute(
            "INSERT INTO playlist_tracks (playlist_id, track_id, added_by, position) VALUES (%s, %s, %s, 0)",
            (playlist_id, track_id, user_id),
        )
        for name in tables:
            app.execute(sql.SQL("SELECT * FROM {}").format(table(name))).fetchall()
        assert one(app, "SELECT password_hash FROM users WHERE id = %s", (user_id,)) == "argon2id$x"
        app.execute("UPDATE users SET display_name = 'Ada' WHERE id = %s", (user_id,))
        app.execute("UPDATE tracks SET status = 'ready' WHERE id = %s", (track_id,))
        app.execute("DELETE FROM playlist_tracks WHERE playlist_id = %s", (playlist_id,))
        app.execute("DELETE FROM playlists WHERE id = %s", (playlist_id,))

        refused(app, "CREATE TABLE public.app_table (id int)")
        refused(app, "ALTER TABLE tracks ADD COLUMN extra int")
        refused(app, "DROP TABLE tracks")
        refused(app, "TRUNCATE tracks")
        refused(app, "CREATE INDEX ON tracks (title)")
        refused(app, "CREATE SCHEMA app_schema")
        refused(app, "CREATE TABLE chat.app_table (id int)")
        refused(app, "SELECT * FROM chat.messages")
        refused(app, "INSERT INTO chat.conversations DEFAULT VALUES")
        refused(app, "SELECT * FROM schema_migrations")
        refused(app, "UPDATE schema_migrations SET dirty = true")
        refused(app, "DELETE FROM schema_migrations_history")

    # A user the chat side refers to can still be deleted: ON DELETE SET NULL on chat.messages
    # runs as the owner of chat.messages (the chat role), not as the app.
    with login(url, model.chat) as chat:
        conversation = one(
            chat, "INSERT INTO chat.conversations (created_by) VALUES (%s) RETURNING id", (user_id,)
        )
        chat.execute(
            "INSERT INTO chat.messages (conversation_id, sender_id, body) VALUES (%s, %s, 'hi')",
            (conversation, user_id),
        )
    with login(url, model.app) as app:
        app.execute("DELETE FROM users WHERE id = %s", (user_id,))
    assert query(url, "SELECT sender_id FROM chat.messages") == [(None,)]


def test_readonly_reads_and_never_writes(v1_database: str, make_roles: MakeRoles) -> None:
    url = v1_database
    model = make_roles(url)
    deploy(url, model)
    columns = {
        str(t): str(c)
        for t, c in query(
            url,
            "SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
            "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum = 1",
        )
    }
    with psycopg.connect(url, autocommit=True) as admin:
        insert_user(admin)
    with login(url, model.readonly) as ro:
        for name in v1_tables(url):
            if name in ("users", "refresh_tokens", "password_reset_tokens", "email_verification_tokens"):
                continue
            ro.execute(sql.SQL("SELECT * FROM {}").format(table(name))).fetchall()
        assert one(ro, "SELECT username || ' ' || email FROM users") == "ada ada@example.com"
        ro.execute("SELECT id, user_id, expires_at FROM refresh_tokens").fetchall()
        assert one(ro, "SELECT count(*) FROM schema_migrations_history") == 9
        # Credentials stay with the owner and the app.
        refused(ro, "SELECT password_hash FROM users")
        refused(ro, "SELECT * FROM users")
        refused(ro, "SELECT token_hash FROM refresh_tokens")
        refused(ro, "SELECT token_hash FROM email_verification_tokens")
        for name, first in sorted(columns.items()):
            t = table(name)
            refused(ro, sql.SQL("INSERT INTO {} DEFAULT VALUES").format(t))
            refused(
                ro, sql.SQL("UPDATE {} SET {} = {}").format(t, sql.Identifier(first), sql.Identifier(first))
            )
            refused(ro, sql.SQL("DELETE FROM {}").format(t))
            refused(ro, sql.SQL("TRUNCATE {}").format(t))
        refused(ro, "CREATE TABLE public.ro_table (id int)")
        refused(ro, "SELECT * FROM chat.conversations")


def test_chat_owns_its_schema_and_reads_only_public_profiles(
    any_v1_database: str, make_roles: MakeRoles
) -> None:
    url = any_v1_database
    model = make_roles(url)
    deploy(url, model)  # the chat init runs as the chat role
    owners = query(
        url,
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'chat'::regnamespace "
        "UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'chat'",
    )
    assert owners == [(model.chat,)]
    with psycopg.connect(url, autocommit=True) as admin:
        user_id = insert_user(admin)
    with login(url, model.chat) as chat:
        assert chat.execute("SELECT id, username, display_name, avatar_url FROM public.users").fetchall() == [
            (user_id, "ada", None, None)
        ]
        conversation = one(
            chat,
            "INSERT INTO chat.conversations (kind, created_by) VALUES ('group', %s) RETURNING id",
            (user_id,),
        )
        chat.execute(
            "INSERT INTO chat.messages (conversation_id, sender_id, body) VALUES (%s, %s, 'hello')",
            (conversation, user_id),
        )
        chat.execute("CREATE TABLE chat.reactions (message_id uuid, emoji text)")
        chat.execute("UPDATE chat.messages SET body = 'hello!'")
        assert one(chat, "SELECT count(*) FROM chat.messages") == 1
        refused(chat, "SELECT password_hash FROM public.users")
        refused(chat, "SELECT email FROM public.users")
        refused(chat, "SELECT * FROM public.users")
        for name in TOKEN_TABLES:
            refused(chat, sql.SQL("SELECT id FROM {}").format(table(name)))
        refused(chat, "SELECT * FROM public.tracks")
        refused(chat, "INSERT INTO public.users (username, email, password_hash) VALUES ('x', 'x@x', 'x')")
        refused(chat, "UPDATE public.users SET display_name = 'Eve'")
        refused(chat, "DELETE FROM public.users")
        refused(chat, "CREATE TABLE public.chat_table (id int)")
        refused(chat, "CREATE INDEX ON public.users (display_name)")


def test_tables_of_a_later_migration_get_the_grants(
    v1_database: str, make_roles: MakeRoles, tmp_path: Path
) -> None:
    url = v1_database
    model = make_roles(url)
    deploy(url, model)
    migrations = tmp_path / "m"
    shutil.copytree(discover.package_dir(), migrations)
    write_migrations(
        migrations,
        {
            "010_new_thing.up.sql": "CREATE TABLE new_thing (\n    id uuid NOT NULL DEFAULT uuidv7(),\n"
            "    label text NOT NULL,\n    CONSTRAINT pk_new_thing PRIMARY KEY (id)\n);\n",
            "010_new_thing.down.sql": "DROP TABLE new_thing;\n",
        },
    )
    api.hash_migrations(migrations)
    status = api.up(role_url(url, model.owner), migrations)  # migrations run as the owner
    assert (status.current, status.applied[-1].applied_by) == (10, model.owner)
    assert roles.check(DatabaseUrl(url), model) == []
    with login(url, model.app) as app:
        thing = one(app, "INSERT INTO new_thing (label) VALUES ('a') RETURNING id")
        app.execute("UPDATE new_thing SET label = 'b' WHERE id = %s", (thing,))
        assert one(app, "SELECT label FROM new_thing") == "b"
        app.execute("DELETE FROM new_thing")
        refused(app, "TRUNCATE new_thing")
    with login(url, model.readonly) as ro:
        ro.execute("SELECT * FROM new_thing").fetchall()
        refused(ro, "INSERT INTO new_thing (label) VALUES ('x')")
    with login(url, model.chat) as chat:
        refused(chat, "SELECT * FROM new_thing")

    # A table created by another role (a migration run as the superuser) is reported, and apply fixes it.
    run_sql(url, "CREATE TABLE public.rogue (id int)")
    findings = roles.check(DatabaseUrl(url), model)
    assert (
        "public.rogue is owned by postgres, not " + model.owner + ": run `veza-db roles --apply`" in findings
    )
    assert f"public.rogue: {model.app} lacks SELECT, INSERT, UPDATE, DELETE" in findings
    assert roles.apply(DatabaseUrl(url), model).findings == []


# ---- idempotence, names, check, render, failures -------------------------------------------------

SNAPSHOT_SQL = """
WITH objects AS (
    SELECT 'relation ' || c.oid::regclass::text AS obj, pg_get_userbyid(c.relowner) AS owner, c.relacl AS acl
    FROM pg_class c WHERE c.relnamespace IN ('public'::regnamespace, to_regnamespace('chat'))
    UNION ALL
    SELECT 'column ' || c.oid::regclass::text || '.' || a.attname, NULL, a.attacl
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace IN ('public'::regnamespace, to_regnamespace('chat')) AND a.attnum > 0
      AND NOT a.attisdropped
    UNION ALL
    SELECT 'schema ' || n.nspname, pg_get_userbyid(n.nspowner), n.nspacl
    FROM pg_namespace n WHERE n.nspname IN ('public', 'chat')
    UNION ALL
    SELECT 'routine ' || p.oid::regprocedure::text, pg_get_userbyid(p.proowner), p.proacl
    FROM pg_proc p WHERE p.pronamespace IN ('public'::regnamespace, to_regnamespace('chat'))
    UNION ALL
    SELECT 'default ' || pg_get_userbyid(d.defaclrole) || ' ' || d.defaclnamespace::regnamespace::text
        || ' ' || d.defaclobjtype::text, NULL, d.defaclacl
    FROM pg_default_acl d
    UNION ALL
    SELECT 'database', pg_get_userbyid(datdba), datacl FROM pg_database WHERE datname = current_database()
)
SELECT o.obj, o.owner, CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,
    pg_get_userbyid(x.grantor), x.privilege_type, x.is_grantable
FROM objects o LEFT JOIN LATERAL aclexplode(o.acl) x ON true
"""
SNAPSHOT_VIEWS_SQL = """
SELECT 'table_grant', grantor, grantee, table_schema, table_name, NULL, privilege_type, is_grantable
FROM information_schema.role_table_grants WHERE table_schema IN ('public', 'chat')
UNION ALL
SELECT 'column_grant', grantor, grantee, table_schema, table_name, column_name, privilege_type, is_grantable
FROM information_schema.column_privileges WHERE table_schema IN ('public', 'chat')
UNION ALL
SELECT 'role', rolname, rolsuper::text, rolinherit::text, rolcreaterole::text, rolcreatedb::text,
    rolcanlogin::text, rolbypassrls::text
FROM pg_roles WHERE rolname !~ '^pg_'
"""


def snapshot(url: str) -> list[tuple[str, ...]]:
    rows = query(url, SNAPSHOT_SQL) + query(url, SNAPSHOT_VIEWS_SQL)
    return sorted(tuple(str(v) for v in row) for row in rows)


def test_applying_twice_changes_nothing(v1_database: str, make_roles: MakeRoles) -> None:
    url = v1_database
    model = make_roles(url)
    deploy(url, model)
    before = snapshot(url)
    assert any(model.app in row for row in before)
    again = roles.apply(DatabaseUrl(url), model)
    assert snapshot(url) == before
    assert again.created_roles == []
    assert not [s for s in again.statements if "CREATE ROLE" in s or "OWNER TO" in s or "CREATE SCHEMA" in s]
    assert again.findings == []


def test_chat_schema_created_before_apply_is_handed_to_chat(v1_database: str, make_roles: MakeRoles) -> None:
    url = v1_database
    run_sql(url, (FIXTURES / "chat_schema_init.sql").read_text())  # as the superuser
    model = make_roles(url)
    applied = roles.apply(DatabaseUrl(url), model)
    assert 'ALTER SCHEMA "chat" OWNER TO ' + sql.Identifier(model.chat).as_string() in applied.statements
    assert applied.findings == []
    owners = query(
        url,
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'chat'::regnamespace",
    )
    assert owners == [(model.chat,)]


def test_role_names_with_quotes_spaces_and_capitals(v1_database: str, make_roles: MakeRoles) -> None:
    url = v1_database
    suffix = uuid.uuid4().hex[:6]
    model = make_roles(
        url,
        owner=f"Veza Owner {suffix}",
        app=f'Veza "App" 1 {suffix}',
        readonly=f"READ'only;-- {suffix}",
        chat=f"Chat\\Ω {suffix}",
    )
    script = roles.render(DatabaseUrl(url), model)
    assert f'CREATE ROLE "Veza ""App"" 1 {suffix}" NOLOGIN;' in script
    deploy(url, model)
    assert roles.check(DatabaseUrl(url), model) == []
    with login(url, model.app) as app:
        user_id = insert_user(app)
        refused(app, "TRUNCATE users")
    with login(url, model.readonly) as ro:
        assert one(ro, "SELECT username FROM users") == "ada"
        refused(ro, "DELETE FROM users")
    with login(url, model.chat) as chat:
        assert one(chat, "SELECT id FROM public.users") == user_id
        refused(chat, "SELECT email FROM public.users")
    # The owner can run a migration; the app gets the new table's privileges.
    with login(url, model.owner) as owner:
        owner.execute("CREATE TABLE public.later (id int)")
    with login(url, model.app) as app:
        app.execute("INSERT INTO later VALUES (1)")


def test_check_reports_what_differs_from_the_model(v1_database: str, make_roles: MakeRoles) -> None:
    url = v1_database
    model = make_roles(url)
    target = DatabaseUrl(url)
    app, chat, owner = (sql.Identifier(n).as_string() for n in (model.app, model.chat, model.owner))
    deploy(url, model)
    assert roles.check(target, model) == []

    run_sql(url, "GRANT SELECT ON public.users TO PUBLIC")
    assert roles.check(target, model) == [
        "public.users: PUBLIC has SELECT, which the model does not grant",
        f"public.users.password_hash: PUBLIC (every role) can read it (only {model.owner} and {model.app} may read it)",
    ]
    run_sql(url, "REVOKE SELECT ON public.users FROM PUBLIC")
    assert roles.check(target, model) == []

    run_sql(url, f"GRANT CREATE ON SCHEMA public TO {app}")
    assert roles.check(target, model) == [
        f"schema public: {model.app} can create objects in it (a runtime role creates nothing)"
    ]
    run_sql(url, f"REVOKE CREATE ON SCHEMA public FROM {app}")

    run_sql(url, f"GRANT SELECT (password_hash) ON public.users TO {chat}")
    assert roles.check(target, model) == [
        f"public.users.password_hash: {model.chat} has SELECT, which the model does not grant",
        f"public.users.password_hash: {model.chat} can read it (only {model.owner} and {model.app} may read it)",
    ]

    # More at once, then apply puts everything back (role membership is the operator's: reported only).
    run_sql(
        url,
        f"GRANT SELECT ON public.users TO PUBLIC; GRANT CREATE ON SCHEMA public TO {app}; "
        f"GRANT USAGE ON SCHEMA chat TO {app}; GRANT TRUNCATE ON public.tracks TO {app}; "
        f"REVOKE DELETE ON public.playlists FROM {app}; GRANT {owner} TO {app}",
    )
    findings = roles.check(target, model)
    for expected in (
        f"schema chat: {model.app} can use it (it belongs to the chat server)",
        f"public.tracks: {model.app} has TRUNCATE, which the model does not grant",
        f"public.playlists: {model.app} lacks DELETE",
        f"role {model.app} is a member of {model.owner}: it can act as the owner of every V1 object",
    ):
        assert expected in findings
    assert all("\n" not in line for line in findings)
    assert roles.apply(target, model).findings == [
        f"role {model.app} is a member of {model.owner}: it can act as the owner of every V1 object",
        f"schema public: {model.app} can create objects in it (a runtime role creates nothing)",  # as owner
    ]
    run_sql(url, f"REVOKE {owner} FROM {app}")
    assert roles.check(target, model) == []


def test_check_before_apply_names_what_is_missing(v1_database: str, make_roles: MakeRoles) -> None:
    model = make_roles(v1_database)
    findings = roles.check(DatabaseUrl(v1_database), model)
    for name in model.all:
        assert f"role {name} does not exist: run `veza-db roles --apply`" in findings
    assert f"public.users is owned by postgres, not {model.owner}: run `veza-db roles --apply`" in findings
    assert "schema chat does not exist: run `veza-db roles --apply`" in findings


def test_render_prints_the_plan_and_changes_nothing(v1_database: str, make_roles: MakeRoles) -> None:
    url = v1_database
    model = make_roles(url)
    script = roles.render(DatabaseUrl(url), model)
    assert script.startswith("BEGIN;\n")
    assert script.endswith("COMMIT;\n")
    assert 'ALTER TABLE "public"."users" OWNER TO' in script
    assert query(url, f"SELECT count(*) FROM pg_roles WHERE rolname LIKE '%{model.app[-8:]}'") == [(0,)]
    run_sql(url, script)  # what an operator would do with psql
    assert roles.check(DatabaseUrl(url), model) == []


def test_apply_is_all_or_nothing(v1_database: str, make_roles: MakeRoles) -> None:
    url = v1_database
    creator = f"veza_creator_{uuid.uuid4().hex[:8]}"
    model = make_roles(url, extra=(creator,))
    run_sql(url, f"CREATE ROLE {creator} LOGIN CREATEROLE PASSWORD '{PASSWORD}'")
    # It may create roles, but not take the tables from their owner: everything is rolled back.
    with pytest.raises(DatabaseError) as failure:
        roles.apply(DatabaseUrl(role_url(url, creator)), model)
    message = str(failure.value)
    assert "\n" not in message
    assert "nothing was changed" in message
    assert "superuser" in message
    assert query(
        url,
        "SELECT count(*) FROM pg_roles WHERE rolname = ANY(ARRAY["
        + ", ".join(sql.Literal(n).as_string() for n in model.all)
        + "])",
    ) == [(0,)]
    assert query(
        url, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'public.users'::regclass"
    ) == [("postgres",)]


def test_apply_refuses_a_database_without_v1(database: str, make_roles: MakeRoles) -> None:
    model = make_roles(database)
    with pytest.raises(RefusedError, match=r"public\.users does not exist .*veza-db up"):
        roles.apply(DatabaseUrl(database), model)
    assert query(database, f"SELECT count(*) FROM pg_roles WHERE rolname = '{model.owner}'") == [(0,)]


@pytest.mark.parametrize(
    ("names", "match"),
    [
        ({"app": "same", "readonly": "same"}, "must be distinct"),
        ({"owner": "pg_owner"}, "reserves"),
        ({"chat": "public"}, "reserves"),
        ({"app": "x" * 64}, "1 to 63 bytes"),
        ({"app": ""}, "1 to 63 bytes"),
        ({"readonly": "two\nlines"}, "control characters"),
    ],
)
def test_bad_role_names_are_usage_errors(names: dict[str, str], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        roles.Roles(**names).validate()


def test_apply_gives_up_on_a_held_lock(v1_database: str, make_roles: MakeRoles) -> None:
    url = v1_database
    model = make_roles(url)
    with psycopg.connect(url) as holder:
        holder.execute("LOCK TABLE public.tracks IN ACCESS SHARE MODE")  # a long read, say
        with pytest.raises(
            LockTimeout, match=r"no lock within 0\.2 s while running `ALTER TABLE \"public\"\.\"tracks\""
        ):
            roles.apply(DatabaseUrl(url), model, lock_timeout=0.2)
        holder.rollback()
    assert query(url, f"SELECT count(*) FROM pg_roles WHERE rolname = '{model.owner}'") == [(0,)]


def test_migrating_as_a_superuser_is_flagged(v1_database: str, make_roles: MakeRoles) -> None:
    url = v1_database
    model = make_roles(url)
    with psycopg.connect(url, autocommit=True) as admin:
        assert migrating_as_superuser(admin, DEFAULT) is None  # no model here yet
    deploy(url, model)
    with psycopg.connect(url, autocommit=True) as admin:
        warning = migrating_as_superuser(admin, DEFAULT)
    assert warning is not None
    assert f"but {model.owner} owns this database's tables" in warning
    with login(url, model.owner) as owner:
        assert migrating_as_superuser(owner, DEFAULT) is None
    # `veza-db up` says so on stderr, and still works.
    proc = run_cli("up", "--database-url", url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("warning: running as a superuser")
    assert run_cli("up", "--database-url", role_url(url, model.owner)).stderr == ""


def test_views_sequences_and_types_follow_the_model(v1_database: str, make_roles: MakeRoles) -> None:
    url = v1_database
    run_sql(
        url,
        "CREATE TYPE public.mood AS ENUM ('calm', 'loud'); "
        "CREATE TABLE public.counters (n serial PRIMARY KEY, mood public.mood); "
        "CREATE SEQUENCE public.tickets; "
        "CREATE VIEW public.live_users AS SELECT id, username FROM public.users WHERE deleted_at IS NULL",
    )
    model = make_roles(url)
    deploy(url, model)
    owners = query(
        url,
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
        "UNION SELECT pg_get_userbyid(typowner) FROM pg_type WHERE oid = 'public.mood'::regtype",
    )
    assert owners == [(model.owner,)]
    with login(url, model.app) as app:
        assert one(app, "INSERT INTO counters (mood) VALUES ('calm') RETURNING n") == 1  # serial: USAGE
        assert one(app, "SELECT nextval('tickets')") == 1
        insert_user(app)
        assert one(app, "SELECT username FROM live_users") == "ada"
        refused(app, "SELECT setval('tickets', 100)")
    with login(url, model.readonly) as ro:
        assert one(ro, "SELECT count(*) FROM live_users") == 1
        refused(ro, "SELECT nextval('tickets')")

"""A column holds a token, secret or password in clear.

What it checks: text and bytea columns whose name says they hold a credential (`token`,
`session_token`, `api_key`, `password`, `secret`, `client_secret`...) and does not end in a
hash suffix (`_hash`, `_digest`).

Why: a database dump, a replica or a read-only role would hand out live credentials. V1 keeps
tokens as a SHA-256 `token_hash` (compare by hashing what the client sends) and passwords as a
slow hash in `password_hash` (S8).

Bad:
    token text NOT NULL UNIQUE

Good:
    token_hash bytea NOT NULL,  -- sha256(token); CONSTRAINT uq_refresh_tokens_token_hash UNIQUE (token_hash)
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from functools import lru_cache

from veza_db.audit.findings import Context, Hit

ID = "plaintext-secret"
SEVERITY = "error"
SUMMARY = "credential stored in clear"
_SECRET_WORDS = {"token", "password", "passwd", "secret", "apikey", "credential", "credentials", "pin"}
_SECRET_PAIRS = {("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key")}
_HASH_SUFFIXES = {"hash", "hashed", "digest", "hmac", "sha256", "bcrypt", "argon2", "encrypted"}
_TEXT_TYPES = ("text", "character varying", "character", "bytea", "citext")


_HINTS = ("token", "pass", "secret", "key", "credential", "pin")


@lru_cache(maxsize=65536)  # the same columns come back in table after table
def holds_secret(name: str, type_: str) -> bool:
    lowered = name.lower()
    if not any(hint in lowered for hint in _HINTS):
        return False  # most columns: no need to split the name into words
    # Words of the name however it is written: snake_case, "Spaced Words", camelCase.
    parts = [w for w in re.split(r"[^0-9a-z]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()) if w]
    if not parts:
        return False
    if parts[-1] in _HASH_SUFFIXES or not type_.startswith(_TEXT_TYPES):
        return False
    pairs = set(itertools.pairwise(parts))
    return bool(_SECRET_WORDS & set(parts)) or bool(_SECRET_PAIRS & pairs)


def check(ctx: Context) -> Iterator[Hit]:
    for table in ctx.tables():
        for column in table.columns:
            if holds_secret(column.name, column.type):
                yield Hit(
                    table.schema,
                    table.name,
                    f"{column.name} stores a credential in clear",
                    column=column.name,
                    current=f"{column.name} {column.type}",
                    expected=f"{column.name.removesuffix('s')}_hash (SHA-256)",
                    where=column.where,
                )

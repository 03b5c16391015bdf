"""The directory's integrity file, `veza.sum`, in the spirit of Atlas's `atlas.sum`.

Line one is `h1:` and the base64 SHA-256 of the whole directory; then one line per file, in
version order, with a hash chained over every file before it. Editing, inserting, removing or
renumbering any migration changes its line and every line after it, so the file names the
first migration that moved, and CI fails until `veza-db hash` is run on purpose.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from veza_db.errors import RefusedError
from veza_db.migrate.discover import SUM_FILE, Migration


def _entries(migrations: list[Migration]) -> list[tuple[str, str]]:
    chain = hashlib.sha256()
    entries = []
    for migration in migrations:
        for script in (migration.up, migration.down):
            if script is None:
                continue
            chain.update(script.path.name.encode() + b"\x00" + script.normalised.encode() + b"\x00")
            entries.append((script.path.name, "h1:" + base64.b64encode(chain.copy().digest()).decode()))
    return entries


def render(migrations: list[Migration]) -> str:
    entries = _entries(migrations)
    total = (
        "h1:"
        + base64.b64encode(
            hashlib.sha256("".join(f"{n} {h}\n" for n, h in entries).encode()).digest()
        ).decode()
    )
    return total + "\n" + "".join(f"{name} {digest}\n" for name, digest in entries)


def write(directory: Path, migrations: list[Migration]) -> Path:
    path = directory / SUM_FILE
    path.write_text(render(migrations))
    return path


def check(directory: Path, migrations: list[Migration]) -> None:
    """Refuse when the directory's sum file exists and no longer matches its migrations."""
    path = directory / SUM_FILE
    if not path.is_file():
        return
    expected = path.read_text().splitlines()
    actual = render(migrations).splitlines()
    if expected == actual:
        return
    recorded = dict(line.split(" ", 1) for line in expected[1:] if " " in line)
    for line in actual[1:]:
        name, digest = line.split(" ", 1)
        if recorded.get(name) != digest:
            what = "is new" if name not in recorded else "was edited, inserted or renumbered"
            break
    else:
        gone = sorted(set(recorded) - {line.split(" ", 1)[0] for line in actual[1:]})
        name, what = (gone[0] if gone else SUM_FILE), "was removed"
    if what == "is new" and actual[-1].startswith(f"{name} "):  # a new file after all the others
        advice = "record it with `veza-db hash`"
    else:
        advice = (
            "applied migrations must not change (add a new one instead); if this change is "
            "intended, run `veza-db hash`"
        )
    raise RefusedError(f"{SUM_FILE} does not match the migrations: {name} {what}; {advice}")

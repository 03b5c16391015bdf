"""Keeps passwords out of every line veza-db prints.

Every password veza-db learns (from a URL it parses) is registered here, and every message
that reaches a user goes through `mask`, including errors raised by the driver, which may
quote a connection string.
"""

from __future__ import annotations

import re
import urllib.parse

MASK = "****"

_known: set[str] = set()

# A URL's userinfo part (`scheme://user:password@`); the password may be percent-encoded.
_USERINFO = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?=@)")
# libpq keyword form: `password=secret` or `password='se cret'`.
_KEYWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def register(password: str | None) -> None:
    """Remember a password so that `mask` hides it wherever it appears."""
    if password:
        _known.add(password)
        _known.add(urllib.parse.quote(password, safe=""))


def mask(text: str) -> str:
    """Return `text` with every known password, URL password and `password=` value hidden."""
    text = _USERINFO.sub(lambda m: m.group("head") + (MASK if m.group("pw") else ""), text)
    text = _KEYWORD.sub(lambda m: m.group("head") + MASK, text)
    for secret in sorted(_known, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text

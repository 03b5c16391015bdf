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

# libpq keyword form: `password=secret` or `password='se cret'`.
_KEYWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def register(password: str | None) -> None:
    """Remember a password so that `mask` hides it wherever it appears."""
    if password:
        _known.add(password)
        _known.add(urllib.parse.quote(password, safe=""))


def mask(text: str) -> str:
    """Return `text` with every known password, URL password and `password=` value hidden."""
    text = _mask_url_passwords(text)
    text = _KEYWORD.sub(lambda m: m.group("head") + MASK, text)
    for secret in sorted(_known, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_AUTHORITY_ENDS = frozenset("/?#") | frozenset(" \t\n\r\f\v")


def _mask_url_passwords(text: str) -> str:
    """Hide the password of every `scheme://user:password@host` in `text`, in linear time.

    The userinfo runs to the LAST `@` of the authority: a password holding an unencoded `@` is
    hidden whole, whichever way a URL parser would split it.
    """
    pieces, done, search = [], 0, 0
    while (separator := text.find("://", search)) >= 0:
        search = separator + 3
        scheme_start = separator
        while scheme_start > done and text[scheme_start - 1] in _SCHEME_CHARS:
            scheme_start -= 1
        if scheme_start == separator or not text[scheme_start].isalpha():
            continue
        end = search
        while end < len(text) and text[end] not in _AUTHORITY_ENDS:
            end += 1
        at = text.rfind("@", search, end)
        colon = text.find(":", search, at) if at >= 0 else -1
        if colon >= 0 and colon + 1 < at:
            pieces += [text[done : colon + 1], MASK]
            done = at
        search = max(search, end)
    pieces.append(text[done:])
    return "".join(pieces)

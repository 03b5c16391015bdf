"""Password masking: every spelling of a URL or keyword password is hidden, nothing else is."""

from __future__ import annotations

import pytest

from veza_db import secrets


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://u:s3cret@h:5432/db", "postgresql://u:****@h:5432/db"),
        ("postgresql://u:pre@s3cret@h/db", "postgresql://u:****@h/db"),  # unencoded '@' kept whole
        ("postgres://u:s%40c@h", "postgres://u:****@h"),
        ("error: 'postgresql://u:s3cret@h/db' failed", "error: 'postgresql://u:****@h/db' failed"),
        ("a postgresql://u@h/db b", "a postgresql://u@h/db b"),  # no password: unchanged
        ("http://u:@h", "http://u:@h"),
        (
            "two postgresql://a:x1@h/d postgresql://b:y2@k/e",
            "two postgresql://a:****@h/d postgresql://b:****@k/e",
        ),
        ("host=h password=s3cret user=u", "host=h password=**** user=u"),
        ("password = 'se cret' dbname=d", "password = **** dbname=d"),
        ("no url :// here @ all", "no url :// here @ all"),
        ("://u:p@h", "://u:p@h"),  # no scheme: not a URL
    ],
)
def test_mask(text: str, masked: str) -> None:
    assert secrets.mask(text) == masked


def test_registered_password_is_masked_anywhere() -> None:
    secrets.register("Zq9 !x")
    assert secrets.mask("said Zq9 !x and Zq9%20%21x") == "said **** and ****"

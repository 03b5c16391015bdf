"""The audit rules, one module each; the module docstring is the rule's documentation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from veza_db.audit.findings import Context, Hit
from veza_db.audit.rules import (
    fk_missing_on_delete,
    fk_not_indexed,
    fk_type_mismatch,
    inconsistent_timestamp_default,
    missing_primary_key,
    missing_soft_delete,
    missing_table_comment,
    naming_convention,
    outside_owned_schema,
    pk_not_uuid,
    plaintext_secret,
    set_null_on_not_null,
    timestamp_contract,
    timestamp_without_time_zone,
    unique_ignores_soft_delete,
    uses_sequence,
)


class Rule(Protocol):
    ID: str
    SEVERITY: str
    SUMMARY: str

    def check(self, ctx: Context) -> Iterable[Hit]: ...


RULES: tuple[Rule, ...] = (
    pk_not_uuid,
    missing_primary_key,
    fk_type_mismatch,
    uses_sequence,
    timestamp_without_time_zone,
    inconsistent_timestamp_default,
    timestamp_contract,
    missing_soft_delete,
    unique_ignores_soft_delete,
    fk_missing_on_delete,
    set_null_on_not_null,
    fk_not_indexed,
    outside_owned_schema,
    plaintext_secret,
    naming_convention,
    missing_table_comment,
)
RULE_IDS = frozenset(rule.ID for rule in RULES)


def by_id(rule_id: str) -> Rule | None:
    return next((rule for rule in RULES if rule_id == rule.ID), None)


def documentation(rule: Rule) -> str:
    """The rule's documentation: its module docstring."""
    import inspect

    return inspect.cleandoc(rule.__doc__ or "")

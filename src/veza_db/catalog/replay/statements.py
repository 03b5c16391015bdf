"""Which statements can change what the model holds, and how a warning names a statement.

A statement kind is either followed (the builder has a handler for it), known to change nothing
the model holds (below), or reported as not followed: a kind PostgreSQL adds later is reported
until it is classified, never skipped in silence.
"""

from __future__ import annotations

from veza_db.catalog.replay.state import Json

# Statement kinds that never change tables, columns, keys, indexes, triggers, sequences, views,
# functions or comments on tables and columns: data, privileges, roles, session and transaction
# control, and objects the model does not hold (types, domains, extensions' own objects,
# operators, policies, publications, statistics, text search, servers...).
INERT = frozenset(
    {
        "AlterCollationStmt", "AlterDatabaseRefreshCollStmt", "AlterDatabaseSetStmt", "AlterDatabaseStmt",
        "AlterDefaultPrivilegesStmt", "AlterDomainStmt", "AlterEnumStmt", "AlterEventTrigStmt",
        "AlterExtensionStmt", "AlterFdwStmt", "AlterForeignServerStmt", "AlterFunctionStmt",
        "AlterObjectDependsStmt", "AlterOpFamilyStmt", "AlterOperatorStmt", "AlterOwnerStmt",
        "AlterPolicyStmt", "AlterPublicationStmt", "AlterRoleSetStmt", "AlterRoleStmt", "AlterStatsStmt",
        "AlterSubscriptionStmt", "AlterSystemStmt", "AlterTSConfigurationStmt", "AlterTSDictionaryStmt",
        "AlterTableMoveAllStmt", "AlterTableSpaceOptionsStmt", "AlterTypeStmt", "AlterUserMappingStmt",
        "CallStmt", "CheckPointStmt", "ClosePortalStmt", "ClusterStmt",
        "ConstraintsSetStmt", "CopyStmt", "CreateAmStmt", "CreateCastStmt", "CreateConversionStmt",
        "CreateEventTrigStmt", "CreateExtensionStmt", "CreateFdwStmt",
        "CreateForeignServerStmt", "CreateOpClassStmt", "CreateOpFamilyStmt", "CreatePLangStmt",
        "CreatePolicyStmt", "CreatePublicationStmt", "CreateRoleStmt", "CreateStatsStmt",
        "CreateSubscriptionStmt", "CreateTableSpaceStmt", "CreateTransformStmt", "CreateUserMappingStmt",
        "CreatedbStmt", "DeallocateStmt", "DeclareCursorStmt", "DeleteStmt", "DiscardStmt",
        "DropRoleStmt", "DropSubscriptionStmt", "DropTableSpaceStmt", "DropUserMappingStmt", "DropdbStmt",
        "ExecuteStmt", "ExplainStmt", "FetchStmt", "GrantRoleStmt", "GrantStmt", "InsertStmt",
        "ListenStmt", "LoadStmt", "LockStmt", "MergeStmt", "NotifyStmt", "PrepareStmt",
        "ReassignOwnedStmt", "RefreshMatViewStmt", "ReindexStmt", "ReplicaIdentityStmt", "SecLabelStmt",
        "TransactionStmt", "TruncateStmt", "UnlistenStmt", "UpdateStmt", "VacuumStmt", "VariableShowStmt",
    }
)  # fmt: skip

_WORDS = {
    "AlterExtensionContentsStmt": "ALTER EXTENSION ... ADD/DROP",
    "ImportForeignSchemaStmt": "IMPORT FOREIGN SCHEMA",
    "DropOwnedStmt": "DROP OWNED",
    "DoStmt": "DO",
}
_REASONS = {
    "AlterExtensionContentsStmt": "an extension's members are left out of a database's audit; the model"
    " does not follow which objects belong to one",
    "ImportForeignSchemaStmt": "the foreign tables it creates are known only to the foreign server",
    "DropOwnedStmt": "the objects a role owns are not in the model",
}
_OBJECT_WORDS = {
    "OBJECT_MATVIEW": "MATERIALIZED VIEW",
    "OBJECT_TABCONSTRAINT": "TABLE ... CONSTRAINT",
    "OBJECT_FOREIGN_TABLE": "FOREIGN TABLE",
}


def _object(objtype: str) -> str:
    return _OBJECT_WORDS.get(objtype, objtype.removeprefix("OBJECT_").replace("_", " "))


def words(kind: str, node: Json) -> str:
    """How a warning names a statement: `IMPORT FOREIGN SCHEMA`, `ALTER TYPE ... RENAME`..."""
    if kind in _WORDS:
        return _WORDS[kind]
    if kind == "RenameStmt":
        return f"ALTER {_object(str(node.get('renameType')))} ... RENAME"
    if kind == "AlterObjectSchemaStmt":
        return f"ALTER {_object(str(node.get('objectType')))} ... SET SCHEMA"
    if kind == "DropStmt":
        return f"DROP {_object(str(node.get('removeType')))}"
    return spelled(kind.removesuffix("Stmt"))


def spelled(camel: str) -> str:
    """A parse-tree name in SQL's words: `CreateForeignServer` -> `CREATE FOREIGN SERVER`."""
    words, word = [], ""
    for char in camel:
        if char.isupper() and word:
            words.append(word)
            word = ""
        word += char
    return " ".join([*words, word]).upper()


def reason(kind: str) -> str:
    return _REASONS.get(kind, "the model does not follow this kind of statement")


def changes_schema(kind: str, node: Json) -> bool:
    """Whether a statement may change what the model holds (a query or SET does not)."""
    if kind in INERT:
        return False
    if kind == "SelectStmt":
        return bool(node.get("intoClause"))
    if kind == "VariableSetStmt":
        return node.get("name") == "search_path"
    return True

"""Every table distributes by organization (Citus): `org_id` is in every primary key, in
every foreign key and in every unique constraint, on the models and on the migrated
database. docs/operations.md ("Scale-out design") lists the distribution columns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import UniqueConstraint, inspect

from service.db import Base, database
from service.models import load_all

# The organizations table is distributed by its own id (the organization id itself).
DISTRIBUTION_COLUMN = {"organizations": "id"}
# Unique constraints that deliberately do not include org_id, with the reason.
GLOBAL_UNIQUES = {
    # /oauth/token looks a client up by client_id alone, before it knows the organization.
    # On Citus this becomes unique (org_id, client_id) plus a plain index on client_id; ids
    # are 128 random bits, so they stay globally unique without the constraint.
    ("integration_clients", ("client_id",)),
}


def tables() -> dict[str, Any]:
    load_all()
    return dict(Base.metadata.tables)


def column_of(table: str) -> str:
    return DISTRIBUTION_COLUMN.get(table, "org_id")


def test_every_table_is_keyed_by_organization() -> None:
    found = tables()
    assert len(found) >= 20
    for name, table in found.items():
        pk = [c.name for c in table.primary_key.columns]
        assert column_of(name) in pk, f"{name}: primary key {pk} lacks {column_of(name)}"
        if name not in DISTRIBUTION_COLUMN:
            assert pk[0] == "org_id", f"{name}: org_id leads the primary key"


def test_every_foreign_key_includes_the_organization() -> None:
    for name, table in tables().items():
        for fk in table.foreign_key_constraints:
            local = [c.name for c in fk.columns]
            remote = [e.column.name for e in fk.elements]
            target = fk.referred_table.name
            assert column_of(name) in local, f"{name} -> {target}: {local} lacks {column_of(name)}"
            pairs = dict(zip(local, remote, strict=True))
            assert pairs[column_of(name)] == column_of(target), (
                f"{name} -> {target}: the organization column must reference the organization column"
            )


def test_every_unique_constraint_includes_the_organization() -> None:
    for name, table in tables().items():
        uniques = [tuple(c.name for c in u.columns) for u in table.constraints if isinstance(u, UniqueConstraint)]
        uniques += [tuple(c.name for c in i.columns) for i in table.indexes if i.unique]
        for cols in uniques:
            if (name, cols) in GLOBAL_UNIQUES:
                continue
            assert column_of(name) in cols, f"{name}: unique {cols} lacks {column_of(name)}"


def test_the_exceptions_are_still_real() -> None:
    """An exception that no longer exists must be removed from the list (and docs/operations.md)."""
    found = tables()
    for name, cols in GLOBAL_UNIQUES:
        table = found[name]
        uniques = {tuple(c.name for c in u.columns) for u in table.constraints if isinstance(u, UniqueConstraint)}
        assert cols in uniques


def _reflect(sync_conn) -> dict[str, dict[str, Any]]:
    insp = inspect(sync_conn)
    out: dict[str, dict[str, Any]] = {}
    for name in insp.get_table_names():
        if name == "alembic_version":
            continue
        out[name] = {
            "pk": insp.get_pk_constraint(name)["constrained_columns"],
            "fks": [
                (fk["constrained_columns"], fk["referred_table"], fk["referred_columns"])
                for fk in insp.get_foreign_keys(name)
            ],
            "uniques": [tuple(u["column_names"]) for u in insp.get_unique_constraints(name)]
            + [tuple(i["column_names"]) for i in insp.get_indexes(name) if i["unique"]],
        }
    return out


async def test_the_migrated_database_follows_the_same_rule() -> None:
    async with database.engine.connect() as conn:
        schema = await conn.run_sync(_reflect)
    assert set(tables()) <= set(schema), "every model table exists in the migrated database"
    for name, info in schema.items():
        col = column_of(name)
        assert col in info["pk"], f"{name}: primary key {info['pk']}"
        for local, target, remote in info["fks"]:
            assert dict(zip(local, remote, strict=True)).get(col) == column_of(target), (name, target, local)
        for cols in info["uniques"]:
            assert col in cols or (name, cols) in GLOBAL_UNIQUES, f"{name}: unique {cols}"

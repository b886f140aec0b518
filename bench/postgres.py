"""A scratch PostgreSQL database for a benchmark: created empty, dropped afterwards.

The server is BENCH_DATABASE_URL, TEST_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/postgres;
the scratch database lives beside the one named there, under a random name.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL", "").replace("+psycopg", "")
        or DEFAULT_SERVER
    )


def with_database(url: str, name: str) -> str:
    """The same server and role, another database (as a libpq conninfo string)."""
    return make_conninfo(url, dbname=name)


def sqlalchemy_url(conninfo: str) -> str:
    from sqlalchemy.engine import URL

    parts = conninfo_to_dict(conninfo)
    return URL.create(
        "postgresql+psycopg",
        username=parts.get("user"),
        password=parts.get("password"),
        host=parts.get("host"),
        port=int(parts["port"]) if parts.get("port") else None,
        database=parts.get("dbname"),
    ).render_as_string(hide_password=False)


class Unreachable(Exception):
    """No PostgreSQL server answered: there is nothing to measure on this machine."""


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """Yield a libpq conninfo for a new empty database; drop it on the way out.

    Raises Unreachable when the server does not answer or refuses to create it.
    """
    base = server_url()
    if not base.startswith(("postgresql://", "postgres://")):
        # A SQLite TEST_DATABASE_URL, say: use the default server instead.
        base = DEFAULT_SERVER
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = with_database(base, "postgres")
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    except psycopg.Error as error:
        raise Unreachable(f"PostgreSQL is not reachable at {base}: {error}") from error
    try:
        yield with_database(base, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )

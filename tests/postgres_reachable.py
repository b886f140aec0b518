"""Exit 0 when the PostgreSQL server in TEST_DATABASE_URL answers (used by make test)."""

import os
import sys

import psycopg


def main() -> int:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return 1
    try:
        with psycopg.connect(url, connect_timeout=3) as connection:
            connection.execute("select 1")
    except psycopg.Error:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared fixtures: the bundled real list files and a real store per test.

The store is a SQLite file; under tests/store, tests/registry, tests/screening and tests/api every
test that takes `db_url` (or `store`) also runs on PostgreSQL, in a fresh database copied from a
migrated template, on the server named by LISTWATCH_TEST_PG (`make test` starts one: tools/pg.sh).
Without that variable the PostgreSQL variants skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from listwatch.store import Store, open_store

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "lists"
SDN_2019 = EXAMPLES / "ofac_sdn_csv" / "2019-01"
SDN_2021 = EXAMPLES / "ofac_sdn_csv" / "2021-07"
CONS_2025_03 = EXAMPLES / "ofac_cons_csv" / "2025-03"
CONS_2025_04 = EXAMPLES / "ofac_cons_csv" / "2025-04"
CCMC_1237 = EXAMPLES / "us_dod_1237_ccmc" / "designations.csv"
DOD_1260H = EXAMPLES / "us_dod_1260h" / "sanctions.csv"
UN_2018_10 = EXAMPLES / "un_sc" / "UN_consolidated_2018-10.xml"
OFSI_2020_03 = EXAMPLES / "uk_ofsi" / "ConList_excerpt_2020-03.csv"
CSL_2019 = EXAMPLES / "us_csl" / "csl_excerpt_2019.csv"
CSL_2025 = EXAMPLES / "us_csl" / "consolidated_excerpt_2025.csv"
DPL_2019_06 = EXAMPLES / "bis_dpl" / "dpl_2019-06.txt"
DPL_2022_09 = EXAMPLES / "bis_dpl" / "dpl_2022-09.txt"
FTM_EU_SAMPLE = EXAMPLES / "opensanctions" / "eu_fsf_sample.ftm.json"


TESTS = Path(__file__).resolve().parent
#: Test folders whose `db_url` tests run on both databases.
BOTH_DATABASES = frozenset({"store", "registry", "screening", "api"})
#: The PostgreSQL server for the tests, as a SQLAlchemy URL (its database is only used to connect).
PG_ENV = "LISTWATCH_TEST_PG"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    try:
        folder = Path(metafunc.definition.path).resolve().relative_to(TESTS).parts[0]
    except (ValueError, IndexError):
        return
    if folder not in BOTH_DATABASES:
        return
    if "db_url" in metafunc.fixturenames:
        metafunc.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
    elif "module_db_url" in metafunc.fixturenames:
        metafunc.parametrize("module_db_url", ["sqlite", "postgresql"], indirect=True, scope="module")


def _pg_server() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server to test on (`make test` starts one)")
    return url


def _pg_url(server: str, database: str) -> str:
    return make_url(server).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An autocommit connection pool to the test server, for CREATE and DROP DATABASE."""
    engine = create_engine(_pg_server(), isolation_level="AUTOCOMMIT", pool_size=1)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_admin: Engine) -> Iterator[str]:
    """A database migrated to head once per session; each test copies it (CREATE DATABASE ... TEMPLATE)."""
    name = f"lw_template_{os.getpid()}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    open_store(_pg_url(_pg_server(), name)).close()  # no session may stay on a template
    yield name
    with pg_admin.connect() as conn:
        for database in [name, *_SPARE_PG_DATABASES]:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    _SPARE_PG_DATABASES.clear()


#: Databases a finished test left with the current schema, emptied and ready for the next test:
#: TRUNCATE takes tens of milliseconds where CREATE DATABASE ... TEMPLATE takes about a second.
_SPARE_PG_DATABASES: list[str] = []


def new_pg_database(pg_admin: Engine, template: str) -> str:
    """A fresh, migrated, empty database on the test server; returns its URL."""
    if _SPARE_PG_DATABASES:
        return _pg_url(_pg_server(), _SPARE_PG_DATABASES.pop())
    name = f"lw_{uuid.uuid4().hex[:16]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return _pg_url(_pg_server(), name)


def _emptied(pg_admin: Engine, url: str) -> bool:
    """Empty the database for the next test (ids restart at 1) when its schema is still the
    template's; False when it is not, or it cannot be emptied, and it must be dropped."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    from listwatch.store import SCHEMA_REVISION
    from listwatch.store.tables import metadata

    name = make_url(url).database
    with pg_admin.connect() as conn:  # sessions a test left open (stores it did not close)
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": name},
        )
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '2s'"))
            tables = set(inspect(conn).get_table_names())
            if tables != set(metadata.tables) | {"alembic_version"}:
                return False
            if conn.execute(text("SELECT version_num FROM alembic_version")).scalar() != SCHEMA_REVISION:
                return False
            names = ", ".join(f'"{table}"' for table in sorted(metadata.tables))
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return True
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def drop_pg_database(pg_admin: Engine, url: str) -> None:
    """Hand the database to the next test, emptied, or drop it."""
    if _emptied(pg_admin, url):
        _SPARE_PG_DATABASES.append(str(make_url(url).database))
        return
    name = make_url(url).database
    with pg_admin.connect() as conn:  # WITH (FORCE): stores a test left open are disconnected
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _fresh_db_url(request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{folder / 'listwatch.db'}"
        return
    admin = request.getfixturevalue("pg_admin")
    url = new_pg_database(admin, request.getfixturevalue("pg_template"))
    yield url
    drop_pg_database(admin, url)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database URL: a SQLite file, or (param "postgresql") a database on the test server."""
    yield from _fresh_db_url(request, tmp_path)


@pytest.fixture(scope="module")
def module_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`db_url` for a store a whole module shares (loaded once: the SDN files take seconds)."""
    yield from _fresh_db_url(request, tmp_path_factory.mktemp("module-db"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = open_store(db_url)
    yield store
    store.close()

"""The run's records in a real PostgreSQL: exact money, big integers, one transaction."""

import os
from decimal import Decimal

import pytest
import sqlalchemy as sa

from sim import runner
from sim.scenario import load_scenario
from tests import postgres

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture(scope="module")
def pg_url():
    if url := os.environ.get("TELCOLAB_TEST_POSTGRES_URL"):
        yield url
        return
    try:
        with postgres.private_server() as url:
            yield url
    except postgres.Unavailable as exc:
        if os.environ.get("TELCOLAB_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (TELCOLAB_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(str(exc))


@pytest.fixture
def database(pg_url):
    """An empty database of its own for each test."""
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"telcolab_{os.getpid()}_{abs(hash(os.urandom(4)))}"
    with admin.connect() as con:
        con.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as con:
        con.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_run_stores_every_record_in_postgresql_with_exact_money(database, write_scenario, tmp_path):
    path = write_scenario({"population.customers": 60, "duration_days": 30})
    result = runner.run(load_scenario(path), tmp_path / "run", db_url=database)
    assert not (tmp_path / "run" / "run.db").exists()
    engine = sa.create_engine(database)
    with engine.connect() as con:
        amounts = [row[0] for row in con.execute(sa.text("select amount from customer_bill"))]
        assert amounts and all(isinstance(a, Decimal) for a in amounts)
        assert sum(amounts) == Decimal(result.summary["revenue"]["invoiced"])
        lines = con.execute(sa.text("select sum(amount) from bill_line")).scalar_one()
        assert lines == sum(amounts)
        # Link capacities above 2^31 need BIGINT.
        assert con.execute(sa.text("select max(capacity_bps) from resource")).scalar_one() > 2**31
        assert con.execute(sa.text("select count(*) from customer")).scalar_one() == 60
    engine.dispose()


def test_a_database_holding_a_run_is_refused_untouched(database, write_scenario, tmp_path):
    from oss_bss.errors import BackendUnavailable

    path = write_scenario({"population.customers": 10, "duration_days": 2})
    runner.run(load_scenario(path), tmp_path / "a", db_url=database)
    with pytest.raises(BackendUnavailable, match="already holds a run"):
        runner.run(load_scenario(path), tmp_path / "b", db_url=database)
    assert not (tmp_path / "b").exists()
    engine = sa.create_engine(database)
    with engine.connect() as con:
        assert con.execute(sa.text("select count(*) from customer")).scalar_one() == 10
    engine.dispose()

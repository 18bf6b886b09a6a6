"""The operator's records in a SQL database, through SQLAlchemy 2 Core.

SQLite by default (one file per run), PostgreSQL or any SQLAlchemy URL
otherwise. Domain objects stay plain dataclasses: the mapping to rows is
here, table by table. A run's records are written in one transaction at the
end of the run, so a failed run leaves no half-written database behind.

Money is exact: ``NUMERIC(18, 6)`` where the database has an exact decimal
type, canonical decimal text on SQLite (whose NUMERIC would store floats).
"""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    create_engine,
    insert,
    inspect,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from oss_bss.catalog import Catalog
from oss_bss.errors import BackendUnavailable
from oss_bss.records import Records


class DecimalText(TypeDecorator):
    """A Decimal kept as its exact text (SQLite has no exact decimal type)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else format(Decimal(value), "f")

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)


Money = Numeric(18, 6, asdecimal=True).with_variant(DecimalText(), "sqlite")

metadata = MetaData()

product_offering = Table(
    "product_offering", metadata,
    Column("id", String(80), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("lifecycle_status", String(20), nullable=False),
    Column("bandwidth_bps", BigInteger, nullable=False),
    Column("monthly_price", Money, nullable=False),
    Column("usage_price_per_gb", Money, nullable=False),
)
customer = Table(
    "customer", metadata,
    Column("id", String(20), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("segment", String(40), nullable=False),
    Column("email", String(200), nullable=False),
    Column("address", Text, nullable=False),
    Column("site", String(200), nullable=False),
    Column("billing_account_id", String(20), nullable=False),
    Column("registered_at", Float, nullable=False),
    Column("state", String(20), nullable=False),
)
billing_account = Table(
    "billing_account", metadata,
    Column("id", String(20), primary_key=True),
    Column("customer_id", String(20), ForeignKey("customer.id"), nullable=False),
    Column("bill_cycle_day", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("opened_at", Float, nullable=False),
    Column("last_billed_at", Float),
)
product_order = Table(
    "product_order", metadata,
    Column("id", String(20), primary_key=True),
    Column("customer_id", String(20), ForeignKey("customer.id"), nullable=False),
    Column("offering_id", String(80), ForeignKey("product_offering.id"), nullable=False),
    Column("state", String(20), nullable=False),
    Column("submitted_at", Float, nullable=False),
    Column("completed_at", Float),
    Column("service_order_id", String(20)),
    Column("failure_code", String(40)),
    Column("failure_reason", Text),
)
service_order = Table(
    "service_order", metadata,
    Column("id", String(20), primary_key=True),
    Column("product_order_id", String(20), ForeignKey("product_order.id"), nullable=False),
    Column("customer_id", String(20), ForeignKey("customer.id"), nullable=False),
    Column("service_id", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("completed_at", Float),
    Column("failure_code", String(40)),
    Column("failure_reason", Text),
)
work_order = Table(
    "work_order", metadata,
    Column("id", String(20), primary_key=True),
    Column("service_order_id", String(20), ForeignKey("service_order.id"), nullable=False),
    Column("customer_id", String(20), ForeignKey("customer.id"), nullable=False),
    Column("site", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("state", String(20), nullable=False),
    Column("issued_at", Float, nullable=False),
    Column("completed_at", Float),
)
service = Table(
    "service", metadata,
    Column("id", String(20), primary_key=True),
    Column("key", Integer, nullable=False, unique=True),
    Column("customer_id", String(20), ForeignKey("customer.id"), nullable=False),
    Column("offering_id", String(80), ForeignKey("product_offering.id"), nullable=False),
    Column("product_order_id", String(20), ForeignKey("product_order.id"), nullable=False),
    Column("site", String(200), nullable=False),
    Column("bandwidth_bps", BigInteger, nullable=False),
    Column("state", String(20), nullable=False),
    Column("operational_state", String(20), nullable=False),
    Column("network_ref", BigInteger, nullable=False),
    Column("path", Text, nullable=False),  # JSON list of node names, site first
    Column("links", Text, nullable=False),  # JSON list of link ids
    Column("created_at", Float, nullable=False),
    Column("activated_at", Float),
    Column("terminated_at", Float),
)
resource = Table(
    "resource", metadata,
    Column("id", String(300), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("a", String(200)),
    Column("b", String(200)),
    Column("capacity_bps", BigInteger),
    Column("latency_s", Float),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("gateway", Boolean, nullable=False),
)
customer_bill = Table(
    "customer_bill", metadata,
    Column("id", String(20), primary_key=True),
    Column("billing_account_id", String(20), ForeignKey("billing_account.id"), nullable=False),
    Column("customer_id", String(20), ForeignKey("customer.id"), nullable=False),
    Column("period_start", Float, nullable=False),
    Column("period_end", Float, nullable=False),
    Column("issued_at", Float, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(20), nullable=False),
    Column("amount", Money, nullable=False),
)
bill_line = Table(
    "bill_line", metadata,
    Column("id", String(30), primary_key=True),
    Column("bill_id", String(20), ForeignKey("customer_bill.id"), nullable=False),
    Column("service_id", String(20), ForeignKey("service.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("description", Text, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("amount", Money, nullable=False),
)


def _rows(records: Records, catalog: Catalog) -> dict[Table, list[dict]]:
    r = records
    return {
        product_offering: [
            dict(
                id=o.id, name=o.name, lifecycle_status=o.lifecycle_status, bandwidth_bps=o.bandwidth_bps,
                monthly_price=o.monthly_price, usage_price_per_gb=o.usage_price_per_gb,
            )
            for o in catalog
        ],
        customer: [
            dict(
                id=x.id, name=x.name, segment=x.segment, email=x.email, address=x.address, site=x.site,
                billing_account_id=x.billing_account_id, registered_at=x.registered_at, state=x.state,
            )
            for x in r.customers.values()
        ],
        billing_account: [
            dict(
                id=a.id, customer_id=a.customer_id, bill_cycle_day=a.bill_cycle_day, currency=a.currency,
                opened_at=a.opened_at, last_billed_at=a.last_billed_at,
            )
            for a in r.accounts.values()
        ],
        product_order: [
            dict(
                id=o.id, customer_id=o.customer_id, offering_id=o.offering_id, state=o.state,
                submitted_at=o.submitted_at, completed_at=o.completed_at, service_order_id=o.service_order_id,
                failure_code=o.failure_code, failure_reason=o.failure_reason,
            )
            for o in r.product_orders.values()
        ],
        service_order: [
            dict(
                id=o.id, product_order_id=o.product_order_id, customer_id=o.customer_id, service_id=o.service_id,
                state=o.state, created_at=o.created_at, completed_at=o.completed_at, failure_code=o.failure_code,
                failure_reason=o.failure_reason,
            )
            for o in r.service_orders.values()
        ],
        work_order: [
            dict(
                id=w.id, service_order_id=w.service_order_id, customer_id=w.customer_id, site=w.site, kind=w.kind,
                state=w.state, issued_at=w.issued_at, completed_at=w.completed_at,
            )
            for w in r.work_orders.values()
        ],
        service: [
            dict(
                id=s.id, key=s.key, customer_id=s.customer_id, offering_id=s.offering_id,
                product_order_id=s.product_order_id, site=s.site, bandwidth_bps=s.bandwidth_bps, state=s.state,
                operational_state=s.operational_state, network_ref=s.network_ref, path=json.dumps(list(s.path)),
                links=json.dumps(list(s.links)), created_at=s.created_at, activated_at=s.activated_at,
                terminated_at=s.terminated_at,
            )
            for s in r.services
        ],
        resource: [
            dict(
                id=x.id, kind=x.kind, a=x.a, b=x.b, capacity_bps=x.capacity_bps, latency_s=x.latency_s,
                latitude=x.latitude, longitude=x.longitude, gateway=x.gateway,
            )
            for x in r.resources.values()
        ],
        customer_bill: [
            dict(
                id=b.id, billing_account_id=b.billing_account_id, customer_id=b.customer_id,
                period_start=b.period_start, period_end=b.period_end, issued_at=b.issued_at, currency=b.currency,
                state=b.state, amount=b.amount,
            )
            for b in r.bills.values()
        ],
        bill_line: [
            dict(
                id=line.id, bill_id=line.bill_id, service_id=line.service_id, kind=line.kind,
                description=line.description, quantity=line.quantity, amount=line.amount,
            )
            for b in r.bills.values()
            for line in b.lines
        ],
    }


def connect(url: str) -> Engine:
    """An engine for ``url``; a bad URL or a missing driver is BackendUnavailable."""
    try:
        return create_engine(url)
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise BackendUnavailable(f"database {url!r}: {exc}") from None


def save(records: Records, catalog: Catalog, url: str) -> None:
    """Write every record of the run in one transaction into an empty database."""
    engine = connect(url)
    try:
        existing = set(inspect(engine).get_table_names()) & set(metadata.tables)
        if existing:
            raise BackendUnavailable(
                f"database {engine.url.render_as_string(hide_password=True)} already holds a run "
                f"(tables {', '.join(sorted(existing))}); give an empty database"
            )
        with engine.begin() as conn:
            metadata.create_all(conn)
            for table, rows in _rows(records, catalog).items():
                if rows:
                    conn.execute(insert(table), rows)
    except SQLAlchemyError as exc:
        raise BackendUnavailable(f"database {engine.url.render_as_string(hide_password=True)}: {exc}") from None
    finally:
        engine.dispose()

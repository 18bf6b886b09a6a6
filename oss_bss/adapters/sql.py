"""The operator's records in a SQL database, through SQLAlchemy 2 Core.

SQLite by default (one file per run), PostgreSQL or any SQLAlchemy URL
otherwise. Domain objects stay plain dataclasses: the mapping to rows is
here, table by table. A run's records are written in one transaction at the
end of the run, so a failed run leaves no half-written database behind.

Money is exact: ``NUMERIC(18, 6)`` where the database has an exact decimal
type, canonical decimal text on SQLite (whose NUMERIC would store floats).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from types import SimpleNamespace
from decimal import Decimal
from operator import attrgetter

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
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from oss_bss.alarms import AlarmList
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
    Column("protected", Boolean, nullable=False),
    Column("sla_name", String(80)),
    Column("prepaid", Boolean, nullable=False),
)
# TMF620 ProductOfferingPrice: one row per price version of an offering.
product_offering_price = Table(
    "product_offering_price", metadata,
    Column("offering_id", String(80), ForeignKey("product_offering.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("valid_from", Float, nullable=False),  # seconds from the run's start
    Column("monthly", Money, nullable=False),
    Column("one_time", Money, nullable=False),
    Column("included_gb", Money, nullable=False),
    Column("tiers", Text, nullable=False),  # JSON [[from_gb, price_per_gb], ...] as decimal strings
    Column("hour_percent", Text, nullable=False),  # JSON list of 24 percentages
)
promotion = Table(
    "promotion", metadata,
    Column("id", String(80), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("offering_ids", Text, nullable=False),
    Column("percent_off", Money, nullable=False),
    Column("duration", Float, nullable=False),
    Column("order_from", Float),
    Column("order_until", Float),
)
bundle = Table(
    "bundle", metadata,
    Column("id", String(80), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("offering_ids", Text, nullable=False),
    Column("percent_off", Money, nullable=False),
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
    Column("party_type", String(20), nullable=False),
)
billing_account = Table(
    "billing_account", metadata,
    Column("id", String(20), primary_key=True),
    Column("customer_id", String(20), ForeignKey("customer.id"), nullable=False),
    Column("bill_cycle_day", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("opened_at", Float, nullable=False),
    Column("last_billed_at", Float),
    Column("dunning_state", String(20), nullable=False),
    Column("parent_id", String(20)),
    Column("payment_type", String(20), nullable=False),
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
    Column("billing_account_id", String(20), ForeignKey("billing_account.id")),
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
    Column("attempts", Integer, nullable=False),
)
work_order = Table(
    "work_order", metadata,
    Column("id", String(20), primary_key=True),
    Column("service_order_id", String(20), ForeignKey("service_order.id")),  # installations
    Column("customer_id", String(20), ForeignKey("customer.id")),
    Column("incident_id", String(20)),  # repairs
    Column("site", String(300), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("state", String(20), nullable=False),
    Column("issued_at", Float, nullable=False),
    Column("started_at", Float),
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
    Column("billing_account_id", String(20), ForeignKey("billing_account.id"), nullable=False),
    Column("suspension_reason", String(60)),
    Column("offering_history", Text, nullable=False),  # JSON [[until, earlier offering id], ...]
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
    Column("due_at", Float),
    Column("paid", Money, nullable=False),
    Column("settled_at", Float),
    Column("reminded_at", Float),
)
bill_line = Table(
    "bill_line", metadata,
    Column("id", String(30), primary_key=True),
    Column("bill_id", String(20), ForeignKey("customer_bill.id"), nullable=False),
    Column("service_id", String(20), ForeignKey("service.id")),  # none for tax
    Column("kind", String(20), nullable=False),
    Column("description", Text, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("amount", Money, nullable=False),
)




alarm = Table(
    "alarm", metadata,
    Column("id", String(20), primary_key=True),
    Column("alarmed_object", String(300), nullable=False),
    Column("alarmed_object_type", String(10), nullable=False),
    Column("alarm_type", String(40), nullable=False),
    Column("perceived_severity", String(20), nullable=False),
    Column("probable_cause", String(60), nullable=False),
    Column("specific_problem", Text, nullable=False),
    Column("state", String(20), nullable=False),
    Column("ack_state", String(20), nullable=False),
    Column("raised_time", Float, nullable=False),
    Column("cleared_time", Float),
    Column("ack_time", Float),
    Column("count", Integer, nullable=False),
    Column("is_root_cause", Boolean, nullable=False),
    Column("parent_id", String(20)),
    Column("incident_id", String(20)),
    Column("planned", Boolean, nullable=False),
    Column("history", Text, nullable=False),  # JSON list of [at, what]
)
incident = Table(
    "incident", metadata,
    Column("id", String(20), primary_key=True),
    Column("root_alarm_id", String(20), nullable=False),
    Column("opened_at", Float, nullable=False),
    Column("resolved_at", Float),
    Column("state", String(20), nullable=False),
    Column("planned", Boolean, nullable=False),
    Column("alarm_ids", Text, nullable=False),  # JSON lists
    Column("resources", Text, nullable=False),
    Column("services", Text, nullable=False),
    Column("protected", Text, nullable=False),
    Column("customers", Text, nullable=False),
    Column("slas", Text, nullable=False),  # impacted services with an SLA
    Column("revenue_at_risk", Money, nullable=False),
)


trouble_ticket = Table(
    "trouble_ticket", metadata,
    Column("id", String(20), primary_key=True),
    Column("customer_id", String(20), ForeignKey("customer.id"), nullable=False),
    Column("service_ids", Text, nullable=False),
    Column("incident_id", String(20)),
    Column("channel", String(20), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("description", Text, nullable=False),
    Column("state", String(20), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("in_progress_at", Float),
    Column("resolved_at", Float),
    Column("closed_at", Float),
    Column("calls", Integer, nullable=False),
    Column("notes", Text, nullable=False),
)


customer_experience = Table(
    "customer_experience", metadata,
    Column("billing_account_id", String(20), ForeignKey("billing_account.id"), primary_key=True),
    Column("period_end", Float, primary_key=True),
    Column("customer_id", String(20), ForeignKey("customer.id"), nullable=False),
    Column("segment", String(40), nullable=False),
    Column("index", Float, nullable=False),
    Column("outage_minutes", Float, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("loss", Float, nullable=False),
    Column("ticket_hours", Float, nullable=False),
    Column("bill_shock", Boolean, nullable=False),
)


def _rows(table: Table, objects) -> list[dict]:
    """Rows for ``table`` from objects whose attributes are named like its columns."""
    names = tuple(column.name for column in table.columns)
    get = attrgetter(*names)
    rows = [dict(zip(names, get(obj))) for obj in objects]
    # Collections (paths, id sets, histories) are kept as JSON lists in Text columns.
    listed = [c.name for c in table.columns if isinstance(c.type, Text)]
    for row in rows:
        for name in listed:
            value = row[name]
            if isinstance(value, (tuple, list, set)):
                row[name] = json.dumps(sorted(value) if isinstance(value, set) else list(value))
    return rows


def _tables(records: Records, catalog: Catalog) -> list[tuple[Table, object]]:
    """Each table with the objects that fill it, parents before children."""
    r = records
    return [
        (product_offering, catalog),
        (product_offering_price, _prices(catalog)),
        (promotion, [SimpleNamespace(**{**{f: getattr(p, f) for f in p.__dataclass_fields__}, **_window(p)})
                     for p in catalog.promotions]),  # fmt: skip
        (bundle, catalog.bundles.values()),
        (customer, r.customers.values()),
        (billing_account, r.accounts.values()),
        (product_order, r.product_orders.values()),
        (service_order, r.service_orders.values()),
        (work_order, r.work_orders.values()),
        (service, r.services),
        (resource, r.resources.values()),
        (customer_bill, r.bills.values()),
        (bill_line, (line for bill in r.bills.values() for line in bill.lines)),
        (customer_experience, r.experience),
    ]


def _window(p) -> dict:
    """A promotion's order window, an open end as NULL."""
    return {k: (v if abs(v) != float("inf") else None) for k, v in (("order_from", p.order_from),
                                                                       ("order_until", p.order_until))}  # fmt: skip


def _prices(catalog: Catalog) -> list:
    """Price versions as row objects (tiers and hours as JSON)."""
    rows = []
    for offering in catalog:
        for number, v in enumerate(offering.prices.versions):
            rows.append(SimpleNamespace(
                offering_id=offering.id, version=number, valid_from=v.valid_from, monthly=v.monthly,
                one_time=v.one_time, included_gb=v.included_gb,
                tiers=json.dumps([[str(t.from_gb), str(t.price_per_gb)] for t in v.tiers]),
                hour_percent=json.dumps(list(v.hour_percent)),
            ))  # fmt: skip
    return rows


def _assurance_tables(assurance) -> list[tuple[Table, object]]:
    return [(alarm, assurance.alarms), (incident, assurance.incidents.values()),
            (trouble_ticket, assurance.tickets.values())]  # fmt: skip


def connect(url: str) -> Engine:
    """An engine for ``url``; a bad URL or a missing driver is BackendUnavailable."""
    try:
        return create_engine(url)
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise BackendUnavailable(f"database {url!r}: {exc}") from None


def save(records: Records, catalog: Catalog, url: str, assurance=None) -> None:
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
            extra = _assurance_tables(assurance) if assurance is not None else []
            for table, objects in _tables(records, catalog) + extra:
                if rows := _rows(table, objects):
                    conn.execute(insert(table), rows)
    except SQLAlchemyError as exc:
        raise BackendUnavailable(f"database {engine.url.render_as_string(hide_password=True)}: {exc}") from None
    finally:
        engine.dispose()


# -- reading a run back ---------------------------------------------------------


def _restore(cls, row: dict):
    """A domain object from its row: stored columns by name, JSON lists decoded, the rest at their defaults."""
    obj = object.__new__(cls)
    for f in dataclasses.fields(cls):
        if f.name in row:
            value = row[f.name]
            kind = str(f.type)
            if isinstance(value, str) and kind.startswith(("list[", "tuple[", "set[")):
                items = json.loads(value)
                if "tuple[" in kind[5:] or kind.startswith("list[list"):  # a list of pairs
                    items = [tuple(x) if isinstance(x, list) else x for x in items]
                value = tuple(items) if kind.startswith("tuple[") else set(items) if kind.startswith("set[") else items
        elif f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            value = None
        setattr(obj, f.name, value)
    return obj


@dataclass
class StoredRecords:
    """What :func:`load` reads back: the records, and assurance's alarms, incidents and tickets."""

    records: Records
    alarms: AlarmList
    incidents: dict
    tickets: dict


def load(url: str) -> StoredRecords:
    """Read a run's records back from the database :func:`save` wrote (for serving a finished run)."""
    from oss_bss.alarms import Alarm
    from oss_bss.assurance import Incident
    from oss_bss.billing import BillLine, CustomerBill
    from oss_bss.experience import Experience
    from oss_bss.inventory import Resource, Service
    from oss_bss.ordering import ProductOrder, ServiceOrder, WorkOrder
    from oss_bss.party import BillingAccount, Customer
    from oss_bss.tickets import TroubleTicket

    engine = connect(url)
    try:
        missing = {"customer", "service", "customer_bill"} - set(inspect(engine).get_table_names())
        if missing:
            raise BackendUnavailable(f"database {engine.url.render_as_string(hide_password=True)} holds no run "
                                     f"(no table {', '.join(sorted(missing))})")  # fmt: skip
        with engine.connect() as conn:
            def rows(table: Table, cls, order: str = "id") -> list:
                return [_restore(cls, r._asdict()) for r in conn.execute(select(table).order_by(table.c[order]))]

            r = Records()
            r.customers = {x.id: x for x in rows(customer, Customer)}
            r.accounts = {x.id: x for x in rows(billing_account, BillingAccount)}
            r.product_orders = {x.id: x for x in rows(product_order, ProductOrder)}
            r.service_orders = {x.id: x for x in rows(service_order, ServiceOrder)}
            r.work_orders = {x.id: x for x in rows(work_order, WorkOrder)}
            for s in rows(service, Service, order="key"):
                r.services.add(s)
                r.services_by_customer[s.customer_id].append(s.id)
                r.services_by_account[s.billing_account_id].append(s.id)
            r.resources = {x.id: x for x in rows(resource, Resource)}
            r.bills = {x.id: x for x in rows(customer_bill, CustomerBill)}
            for line in rows(bill_line, BillLine):
                r.bills[line.bill_id].lines.append(line)
            r.experience = rows(customer_experience, Experience, order="period_end")
            alarms = AlarmList()
            for a in rows(alarm, Alarm):
                alarms.all[a.id] = a
            incidents = {x.id: x for x in rows(incident, Incident)}
            tickets = {x.id: x for x in rows(trouble_ticket, TroubleTicket)}
    except SQLAlchemyError as exc:
        raise BackendUnavailable(f"database {engine.url.render_as_string(hide_password=True)}: {exc}") from None
    finally:
        engine.dispose()
    return StoredRecords(r, alarms, incidents, tickets)

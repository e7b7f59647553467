"""The schema, in SQLAlchemy Core. Portable SQL only: the same tables serve SQLite and PostgreSQL.

Layout: a list has snapshots; a snapshot holds record versions (content-addressed per entity, so an
unchanged entry costs one link row per snapshot); names and identifiers of each version are indexed
for lookup; events are the history derived from snapshots or stated by dated sources.

The audit trail: a screening run keeps its parameters, the snapshots it rested on, its input rows
(as queries) and its hits, each with the record version it matched; reviews are analysts' decisions
on hits, appended and never changed.

Monitoring: a watch is a registered file re-screened after every ingest; its state is what the last
evaluation found; alerts are what changed between evaluations; webhook deliveries post alerts out.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "alerts",
    "api_audit",
    "api_keys",
    "entities",
    "events",
    "identifiers",
    "links",
    "lists",
    "metadata",
    "names",
    "records",
    "reviews",
    "run_hits",
    "run_rows",
    "run_snapshots",
    "runs",
    "snapshot_records",
    "snapshots",
    "watch_states",
    "watches",
    "webhook_deliveries",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

lists = Table(
    "lists",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("authority", Text, nullable=False),
    Column("country", String(8), nullable=False),
    Column("url", Text, nullable=False),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list_id", String(64), ForeignKey("lists.id"), nullable=False),
    Column("published", Date, nullable=False),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("format", String(32), nullable=False),
    Column("record_count", Integer, nullable=False),
    Column("sources", JSON, nullable=False),  # [{"name", "sha256", "bytes", "encoding"}]
    Column("warnings", JSON, nullable=False),
    UniqueConstraint("list_id", "sha256"),
    Index("ix_snapshots_list_published", "list_id", "published"),
)

entities = Table(
    "entities",
    metadata,
    Column("id", String(160), primary_key=True),
    Column("list_id", String(64), ForeignKey("lists.id"), nullable=False),
    Column("source_key", String(255), nullable=False),
    Column("schema", String(32), nullable=False),
    Column("caption", Text, nullable=False),
    UniqueConstraint("list_id", "source_key"),
)

records = Table(
    "records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity_id", String(160), ForeignKey("entities.id"), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    UniqueConstraint("entity_id", "fingerprint"),
)

snapshot_records = Table(
    "snapshot_records",
    metadata,
    Column("snapshot_id", Integer, ForeignKey("snapshots.id"), primary_key=True),
    Column("record_id", Integer, ForeignKey("records.id"), primary_key=True),
    Index("ix_snapshot_records_record", "record_id"),
)

names = Table(
    "names",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("value", Text, nullable=False),
    Column("key", Text, nullable=False),  # model.name_key(value)
    Column("kind", String(16), nullable=False),
    Index("ix_names_key", "key"),
    Index("ix_names_record", "record_id"),
)

identifiers = Table(
    "identifiers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("scheme", String(32), nullable=False),
    Column("value", Text, nullable=False),
    Column("key", Text, nullable=False),  # identifiers.identifier_key(scheme, value)
    Column("exchange", String(32)),
    Column("country", String(64)),
    Index("ix_identifiers_scheme_key", "scheme", "key"),
    Index("ix_identifiers_record", "record_id"),
)

links = Table(
    "links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("relation", String(32), nullable=False),
    Column("target_name", Text, nullable=False),
    Column("target_key", Text, nullable=False),  # model.name_key(target_name)
    Index("ix_links_record", "record_id"),
    Index("ix_links_target_key", "target_key"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity_id", String(160), ForeignKey("entities.id"), nullable=False),
    Column("list_id", String(64), ForeignKey("lists.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("date_basis", String(16), nullable=False),
    # The snapshot that shows the change (diffed lists) or that carried the notice (dated lists).
    Column("snapshot_id", Integer, ForeignKey("snapshots.id"), nullable=False),
    Column("record_id", Integer, ForeignKey("records.id")),  # the version in force after the event
    Column("citation", Text),
    Column("source_url", Text),
    Column("authority", Text),
    Column("legal_basis", Text),
    Column("note", Text),
    Column("changes", JSON),  # amended: {field: {"before": ..., "after": ...}}
    Index("ix_events_entity", "entity_id", "effective_on"),
    Index("ix_events_list", "list_id", "snapshot_id"),
)

# -- screening runs and reviews -------------------------------------------------------------------

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # shown as run-0001
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("analyst", Text, nullable=False),
    Column("input_name", Text, nullable=False),
    Column("input_sha256", String(64), nullable=False),
    Column("input_bytes", Integer, nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("parameters", JSON, nullable=False),  # screening.runs.RunParameters.to_dict()
    # Digest of the events and record versions the run's live set was replayed from.
    Column("basis_sha256", String(64), nullable=False),
    Column("software", String(64), nullable=False),
    Column("rerun_of", Integer, ForeignKey("runs.id")),
)

run_snapshots = Table(
    "run_snapshots",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("snapshot_id", Integer, ForeignKey("snapshots.id"), primary_key=True),
)

run_rows = Table(
    "run_rows",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("row_number", Integer, primary_key=True),
    Column("key", Text, nullable=False),
    Column("own_key", Text),  # the key column's value, when the run named one
    Column("name_key", Text),  # model.name_key of the row's first name
    Column("query", JSON),  # the MatchQuery, so a rerun needs no input file
    Column("error", Text),
)

run_hits = Table(
    "run_hits",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("row_number", Integer, primary_key=True),
    Column("rank", Integer, primary_key=True),
    Column("number", Integer, nullable=False),  # 1-based within the run, in row and rank order
    Column("entity_id", String(160), ForeignKey("entities.id"), nullable=False),
    Column("list_id", String(64), nullable=False),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("score", Float, nullable=False),
    Column("match", Boolean, nullable=False),
    Column("summary", Text, nullable=False),
    Column("data", JSON, nullable=False),  # Hit.to_dict()
    UniqueConstraint("run_id", "number"),
    Index("ix_run_hits_entity", "entity_id"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("entity_id", String(160), ForeignKey("entities.id"), nullable=False),
    Column("own_key", Text),
    Column("name_key", Text),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("decision", String(16), nullable=False),  # true_match | false_positive
    Column("comment", Text, nullable=False),
    Column("analyst", Text, nullable=False),
    Column("reviewed_at", DateTime(timezone=True), nullable=False),
    Index("ix_reviews_entity", "entity_id"),
    Index("ix_reviews_run", "run_id"),
)

# -- monitoring: watches, their last state, alerts, webhook deliveries -------------------------------

watches = Table(
    "watches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),  # unique among active watches (checked on add)
    Column("kind", String(16), nullable=False),  # counterparties | portfolio
    Column("path", Text, nullable=False),  # absolute
    Column("file_sha256", String(64), nullable=False),  # at registration
    Column("options", JSON, nullable=False),  # screening.monitoring.WatchOptions.to_dict()
    Column("webhook_url", Text),  # a URL, or env:NAME read at delivery time
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("removed_at", DateTime(timezone=True)),
    Column("last_evaluated_at", DateTime(timezone=True)),
    Column("last_error", Text),  # why the last evaluation failed; None after a good one
    Index("ix_watches_name", "name"),
)

watch_states = Table(
    "watch_states",
    metadata,
    Column("watch_id", Integer, ForeignKey("watches.id"), primary_key=True),
    # Evaluations stored so far: a write only succeeds from the sequence it read (no lost update).
    Column("sequence", Integer, nullable=False),
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("basis_sha256", String(64), nullable=False),  # registry.provenance.screening_basis digest
    Column("snapshot_ids", JSON, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("findings", JSON, nullable=False),  # subject -> hits and effects (screening.alerts)
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("watch_id", Integer, ForeignKey("watches.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("kind", String(24), nullable=False),  # screening.alerts.ALERT_KINDS
    Column("subject", Text, nullable=False),  # the row or holding
    Column("entity_id", String(160), ForeignKey("entities.id")),
    Column("list_id", String(64)),
    Column("detail", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("acknowledged", Boolean, nullable=False),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("acknowledged_by", Text),
    Index("ix_alerts_watch", "watch_id", "id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("watch_id", Integer, ForeignKey("watches.id"), nullable=False),
    Column("alert_ids", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # pending | retrying | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("last_status", Integer),  # the HTTP status of the last attempt, when one came back
    Column("last_error", Text),
    Column("next_retry_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Index("ix_webhook_deliveries_status", "status", "next_retry_at"),
)

# -- the HTTP API: keys (hashed) and the audit log of changing requests ---------------------------

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),  # unique among keys not revoked (checked on create)
    Column("role", String(16), nullable=False),  # viewer | analyst | admin
    Column("secret_sha256", String(64), nullable=False),  # of the secret; the secret is never stored
    Column("prefix", String(16), nullable=False),  # the secret's first characters, to tell keys apart
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Text, nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    Index("ix_api_keys_secret_sha256", "secret_sha256", unique=True),
    Index("ix_api_keys_name", "name"),
)

api_audit = Table(
    "api_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("key_name", String(64)),  # None: anonymous (open read access) or no valid key
    Column("role", String(16)),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("detail", JSON, nullable=False),  # e.g. the run or job the request created
    Index("ix_api_audit_at", "at"),
)

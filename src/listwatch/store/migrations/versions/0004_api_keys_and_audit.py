"""api keys and audit: hashed API keys with roles, and the log of requests that change something

`listwatch keys create` stores the SHA-256 of a random secret (never the secret); every API
request that changes something (POST, PUT, PATCH, DELETE) is logged with the key's name.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 01:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index("ix_api_keys_secret_sha256", ["secret_sha256"], unique=True)
        batch_op.create_index("ix_api_keys_name", ["name"], unique=False)

    op.create_table(
        "api_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_name", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_audit")),
    )
    with op.batch_alter_table("api_audit", schema=None) as batch_op:
        batch_op.create_index("ix_api_audit_at", ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_api_audit_at")
    op.drop_table("api_audit")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_name")
        batch_op.drop_index("ix_api_keys_secret_sha256")
    op.drop_table("api_keys")

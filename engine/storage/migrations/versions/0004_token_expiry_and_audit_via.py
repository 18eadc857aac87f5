"""tokens expire and record their revocation; audit events say how the actor was identified

``api_tokens.expires_at``: when the token stops working (a token issued before this
migration has none and expires ``PROMOFLOW_TOKEN_DAYS`` after it was created);
``api_tokens.revoked_at``: when ``revoked`` was set. ``audit_events.via``: how the actor
of an event was identified (``cli-asserted``, ``token``, ``session``, ``password``,
``system``); NULL on events written before it, whose hash never covered it (see
docs/audit.md). Adding a nullable column rewrites no row, so the PostgreSQL guard on
``audit_events`` (0002) is not touched.

Hand-written (``make migration`` regenerates only 0001).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import promoflow.engine.storage.models.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TIME = promoflow.engine.storage.models.base.AwareDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", _TIME, nullable=True))
        batch_op.add_column(sa.Column("revoked_at", _TIME, nullable=True))
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("via", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("via")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")

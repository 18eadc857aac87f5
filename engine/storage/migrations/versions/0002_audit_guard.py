"""audit guard: PostgreSQL refuses UPDATE, DELETE and TRUNCATE of audit events

The audit trail is append-only. On PostgreSQL the database itself enforces it: a row
trigger rejects every UPDATE or DELETE of ``audit_events``, a statement trigger rejects
TRUNCATE, and the head (``audit_head``) may only move forward and never be deleted.
SQLite has no users or privileges to protect it with, so there the hash chain and
``promoflow audit verify`` are the guard (this revision does nothing on SQLite).

Hand-written (``make migration`` regenerates only 0001).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE OR REPLACE FUNCTION promoflow_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION promoflow_audit_append_only();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION promoflow_audit_append_only();

CREATE OR REPLACE FUNCTION promoflow_audit_head_forward() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.seq >= OLD.seq AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_head only moves forward: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_head_forward_only
    BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION promoflow_audit_head_forward();

CREATE TRIGGER audit_head_no_truncate
    BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION promoflow_audit_head_forward();
"""

DOWNGRADE = r"""
DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_head;
DROP TRIGGER IF EXISTS audit_head_forward_only ON audit_head;
DROP FUNCTION IF EXISTS promoflow_audit_head_forward();
DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events;
DROP TRIGGER IF EXISTS audit_events_no_update_delete ON audit_events;
DROP FUNCTION IF EXISTS promoflow_audit_append_only();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(UPGRADE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DOWNGRADE)

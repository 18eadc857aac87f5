"""Console users, their roles, API tokens and login sessions.

Passwords and tokens are never stored: only an argon2 hash (passwords) or a SHA-256
digest (random tokens and session ids, which are long enough not to need a slow hash).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from promoflow.engine.storage.models.base import Base


class User(Base):
    """A person who signs in to the console or calls the API."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    #: preferred UI language, ``zh`` or ``en``
    language: Mapped[str] = mapped_column(String(8), default="zh")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class UserRole(Base):
    """One role held by one user (``viewer``, ``hr_officer``, ``hr_manager``, …)."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("username", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    role: Mapped[str] = mapped_column(String(32))


class ApiToken(Base):
    """A bearer token for integrations; acts with its owner's roles."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    #: when the token stops working; None on tokens issued before expiry existed (they
    #: expire ``PROMOFLOW_TOKEN_DAYS`` after ``created_at``)
    expires_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(default=False)
    revoked_at: Mapped[datetime | None]


class LoginSession(Base):
    """A signed-in browser: the cookie holds a random id, the table its digest."""

    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_username", "username"),)

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]

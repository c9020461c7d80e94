"""Tables of single sign-on: the identities linked to users, and the sign-ins under way."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from ..sealing import SealedText


class SsoIdentity(Base):
    """A person at a provider, linked to one platform user. The provider's subject is kept only
    as a keyed SM3 digest: some 统一身份认证 systems use the 身份证号 as the subject."""

    __tablename__ = "sso_identities"
    __table_args__ = (UniqueConstraint("provider", "subject_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    subject_digest: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SsoLogin(Base):
    """One sign-in under way: what the callback must find again (state, nonce, PKCE verifier).
    Keyed by the SM3 digest of the state; deleted when the callback uses it (so each is good once)."""

    __tablename__ = "sso_logins"
    __table_args__ = (Index("ix_sso_logins_created_at", "created_at"),)

    state_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(SealedText)
    code_verifier: Mapped[str] = mapped_column(SealedText)
    next_url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SsoCasSession(Base):
    """Which local session a CAS service ticket opened, for the CAS server's single logout (its
    logoutRequest names the ticket). Both kept as SM3 digests only: the row can neither open nor
    name a session by itself."""

    __tablename__ = "sso_cas_sessions"
    __table_args__ = (Index("ix_sso_cas_sessions_created_at", "created_at"),)

    ticket_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    session_digest: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""Single sign-on users: turning an identity provider's verified claims into a local user. The
web side does the OpenID Connect exchange and verifies the ID token; this module owns what the
claims mean here: which claims name the user, their display name, e-mail and organisation, how
the groups claim maps onto our groups (`ClaimMapping`, from the OIDC_* settings), and the link
from the provider's stable subject (issuer, `sub`) to a local user (`SsoIdentity`), so that a
renamed account at the provider stays the same person here. Groups named in the map are the
provider's to set (added and removed at every sign-in, audited); groups outside the map are left
as local administrators set them; claim values the map does not name are dropped. A deactivated
user is refused. SSO users get no usable password: they sign in only through the provider."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core import audit, clock, users
from engine.core.errors import InvalidData, Unauthorized
from engine.core.models import Base, User

# never a werkzeug hash (those always hold "$"), so no password ever matches it
NO_PASSWORD = "!sso"
_TEXT_LENGTH = 200


class SsoIdentity(Base):
    """The provider's subject (`iss`, `sub`) a local user signs in as."""

    __tablename__ = "sso_identities"
    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    last_sign_in_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_sso_identities_subject"),)


class _MappingSettings(Schema):
    username_claim = fields.String(load_default="preferred_username", validate=validate.Length(min=1))
    display_name_claim = fields.String(load_default="name")
    email_claim = fields.String(load_default="email")
    org_claim = fields.String(load_default="")
    groups_claim = fields.String(load_default="groups")
    group_map = fields.Dict(keys=fields.String(validate=validate.Length(min=1)),
                            values=fields.String(validate=validate.Length(min=1, max=80)),
                            load_default=dict)
    adopt_local_users = fields.Boolean(load_default=False)


@dataclass(frozen=True)
class ClaimMapping:
    """Which claims mean what. Claim names may be dotted paths into nested claims (Keycloak's
    `realm_access.roles`); an empty claim name means "not taken from the provider"."""

    username_claim: str = "preferred_username"
    display_name_claim: str = "name"
    email_claim: str = "email"
    org_claim: str = ""
    groups_claim: str = "groups"
    group_map: Mapping[str, str] = field(default_factory=dict)
    # a local account of the same name is taken over by its first SSO sign-in only when the
    # operator says the provider's user names are the same people (else it is refused)
    adopt_local_users: bool = False

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "ClaimMapping":
        """From the OIDC_* settings (the prefix dropped, lower case); OIDC_GROUP_MAP may be a
        JSON object in a string, as it comes from the environment."""
        raw = {k: v for k, v in settings.items() if v is not None}
        if isinstance(raw.get("group_map"), str):
            try:
                raw["group_map"] = json.loads(raw["group_map"] or "{}")
            except ValueError as error:
                raise InvalidData("OIDC_GROUP_MAP is not JSON", {"group_map": [str(error)]}) from None
        try:
            loaded = _MappingSettings().load(raw, unknown="exclude")
        except ValidationError as error:
            raise InvalidData("invalid single sign-on settings", error.normalized_messages()) from None
        return cls(**loaded)

    @property
    def managed_groups(self) -> frozenset[str]:
        return frozenset(self.group_map.values())

    def groups_from(self, claims: Mapping[str, Any]) -> set[str]:
        values = claim(claims, self.groups_claim)
        if isinstance(values, str):
            values = values.replace(",", " ").split()
        if not isinstance(values, (list, tuple)):
            return set()
        return {self.group_map[v] for v in values if isinstance(v, str) and v in self.group_map}


def claim(claims: Mapping[str, Any], name: str) -> Any:
    """The claim `name` (a dotted path into nested objects), or None."""
    value: Any = claims
    for part in name.split(".") if name else ():
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value if name else None


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claim(claims, name)
    return value.strip()[:_TEXT_LENGTH] or None if isinstance(value, str) else None


def sign_in(session: Session, issuer: str, claims: Mapping[str, Any], mapping: ClaimMapping) -> User:
    """The local user for verified ID-token claims: found by the provider's subject, else created
    (or, with `adopt_local_users`, a local account of that name linked); display name, e-mail,
    organisation and the mapped groups are brought up to date. Raises Unauthorized, whose
    `details["reason"]` says why ("disabled", "name_taken", "no_username", "bad_username"), for a
    deactivated user or claims that cannot name one; the command then writes nothing."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthorized("the identity provider sent no subject", reason="no_username")
    identity = session.scalar(select(SsoIdentity).where(SsoIdentity.issuer == issuer,
                                                        SsoIdentity.subject == subject))
    user = session.get(User, identity.user_id) if identity else _first_sign_in(session, issuer, subject,
                                                                              claims, mapping)
    if user is None or not user.active:
        raise Unauthorized("this account is disabled", reason="disabled")
    _update_profile(user, claims, mapping)
    _set_groups(session, user, mapping.groups_from(claims), mapping)
    if identity is not None:
        identity.last_sign_in_at = clock.now()
    audit.record(session, "signed_in_sso", user.username, username=user.username, issuer=issuer)
    return user


def _first_sign_in(session: Session, issuer: str, subject: str, claims: Mapping[str, Any],
                   mapping: ClaimMapping) -> User:
    username = claim(claims, mapping.username_claim)
    if not isinstance(username, str) or not username.strip():
        raise Unauthorized(f"the identity provider sent no '{mapping.username_claim}' claim",
                           reason="no_username")
    username = username.strip()
    user = users.find(session, username)
    if user is not None:
        linked = session.scalar(select(SsoIdentity.id).where(SsoIdentity.user_id == user.id))
        if linked is not None or not mapping.adopt_local_users:
            raise Unauthorized(f"the user name '{username}' belongs to another account here",
                               reason="name_taken")
        audit.record(session, "sso_account_linked", username, username=username, issuer=issuer)
    else:
        user = _create(session, username, issuer)
    session.add(SsoIdentity(issuer=issuer, subject=subject, user_id=user.id, last_sign_in_at=clock.now()))
    return user


def _create(session: Session, username: str, issuer: str) -> User:
    # the same rule as create_user's, so an SSO name is one a local account could have
    if not users.valid_username(username):
        raise Unauthorized(f"the user name '{username[:80]}' cannot be used here", reason="bad_username")
    user = User(username=username, password_hash=NO_PASSWORD, display_name=username, created_at=clock.now())
    session.add(user)
    session.flush()
    audit.record(session, "user_created", None, username=username, via="sso", issuer=issuer)
    return user


def _update_profile(user: User, claims: Mapping[str, Any], mapping: ClaimMapping) -> None:
    display_name = _text(claims, mapping.display_name_claim)
    if display_name:
        user.display_name = display_name
    email = _text(claims, mapping.email_claim)
    if email:
        user.email = email
    if mapping.org_claim:
        # the organisation decides which projects a person's unit may see (runtime.access), so
        # the provider's word is final: someone who left an organisation loses it here too
        user.org = _text(claims, mapping.org_claim)


def _set_groups(session: Session, user: User, mapped: set[str], mapping: ClaimMapping) -> None:
    """The provider decides the groups the map names; the others stay as they are."""
    current = user.group_names
    wanted = (current - mapping.managed_groups) | mapped
    if wanted == current:
        return
    user.groups = [g for g in user.groups if g.name in wanted] + \
        [users.ensure_group(session, name) for name in sorted(wanted - current)]
    audit.record(session, "sso_groups_changed", None, username=user.username,
                 added=sorted(wanted - current), removed=sorted(current - wanted))


def signs_in_elsewhere(session: Session, username: str) -> bool:
    """Whether this user has no password here (made by single sign-on): their password is the
    identity provider's to change, so the account page offers no form."""
    return session.scalar(select(User.password_hash).where(User.username == username)) == NO_PASSWORD

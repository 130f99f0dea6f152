"""The password policy and password hashing: a new password has at least ten characters, is not
one of the common passwords in common_passwords.txt (compared case-insensitively) and does not
contain the user name. Every engine function that sets a password asks `check` first; only the
demo loader and test fixtures may skip it (see `users.create_user`). Hashes are werkzeug's salted
scrypt; `DUMMY_HASH` is checked against when a sign-in names nobody, so that an unknown user
name costs the same work as a known one."""
from __future__ import annotations

from functools import cache
from pathlib import Path

from werkzeug.security import generate_password_hash

from engine.core.errors import InvalidData

MIN_LENGTH = 10
MAX_LENGTH = 200
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")

TOO_SHORT = f"Use at least {MIN_LENGTH} characters."
TOO_LONG = f"Use at most {MAX_LENGTH} characters."
TOO_COMMON = "This password is too common; choose another."
HAS_USERNAME = "The password must not contain the user name."


@cache
def _common() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def problems(password: str, username: str) -> list[str]:
    """What is wrong with `password` for `username`, in English; empty when it may be used."""
    found: list[str] = []
    if len(password) < MIN_LENGTH:
        found.append(TOO_SHORT)
    if len(password) > MAX_LENGTH:
        found.append(TOO_LONG)
    if password.lower() in _common():
        found.append(TOO_COMMON)
    if username and username.lower() in password.lower():
        found.append(HAS_USERNAME)
    return found


def check(password: str, username: str, field: str = "password") -> None:
    found = problems(password, username)
    if found:
        raise InvalidData("the password does not meet the password policy", {field: found})


@cache
def dummy_hash() -> str:
    """A hash of a password nobody knows, made with the same method as real ones."""
    import secrets
    return generate_password_hash(secrets.token_urlsafe(16))

"""The bearer-token check every API call makes (`users.actor_for_token`): a good token gives its
user's name and every group; an unknown, expired or ended token, or a disabled account, is
refused, as `users.user_for_token` refuses them."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.core import clock, commands, users
from engine.core.errors import Unauthorized
from engine.core.models import User


def _token_for(db, name: str, groups: list[str]) -> str:  # type: ignore[no-untyped-def]
    commands.execute(db, users.create_user, name, "pw-secret", groups, password_policy=False)
    user = commands.query(db, users.find, name)
    token, _expires = commands.execute(db, users.issue_token, user)
    return token


def test_a_good_token_gives_the_user_with_all_their_groups(db):
    token = _token_for(db, "rita", ["reviewers", "experts"])
    actor = commands.query(db, users.actor_for_token, token)
    assert actor.username == "rita" and actor.groups == frozenset({"reviewers", "experts"})
    assert actor == users.actor_of(commands.query(db, users.user_for_token, token))


def test_a_user_in_no_group_is_still_recognised(db):
    actor = commands.query(db, users.actor_for_token, _token_for(db, "loner", []))
    assert actor.username == "loner" and actor.groups == frozenset()


def test_an_unknown_token_is_refused(db):
    with pytest.raises(Unauthorized):
        commands.query(db, users.actor_for_token, "no-such-token")


def test_an_expired_token_is_refused(db):
    token = _token_for(db, "rita", [])
    with clock.frozen_at(clock.now() + users.TOKEN_LIFETIME + timedelta(minutes=1)):
        with pytest.raises(Unauthorized):
            commands.query(db, users.actor_for_token, token)


def test_a_disabled_account_is_refused_even_with_a_live_token(db):
    token = _token_for(db, "rita", [])

    def disable(session) -> None:  # type: ignore[no-untyped-def]
        session.query(User).filter_by(username="rita").update({"active": False})

    commands.execute(db, disable)
    with pytest.raises(Unauthorized, match="disabled"):
        commands.query(db, users.actor_for_token, token)


def test_deactivating_a_user_ends_their_token_at_once(db):
    token = _token_for(db, "rita", ["reviewers"])
    commands.execute(db, users.deactivate, "rita")
    with pytest.raises(Unauthorized):
        commands.query(db, users.actor_for_token, token)

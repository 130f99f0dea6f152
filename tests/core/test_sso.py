"""What an identity provider's claims mean here (engine/core/sso.py), without the web: the OIDC_*
settings are checked when the app starts, groups come only from mapped claim values (a list, a
space- or comma-separated string, or a nested claim such as Keycloak's), the provider's subject
keeps a renamed account the same person, and a local account is taken over only when the
operator says so."""
from __future__ import annotations

import pytest

from engine.core import commands, sso, users
from engine.core.errors import InvalidData, Unauthorized

ISSUER = "https://ids.kjj.gov.example"
MAPPING = sso.ClaimMapping(group_map={"sci-staff": "institution_staff", "sci-experts": "experts"})


def _claims(**changes: object) -> dict[str, object]:
    return {"iss": ISSUER, "sub": "S-1", "preferred_username": "li.na", "name": "李娜",
            "email": "li.na@kjj.gov.example", "groups": ["sci-staff"], **changes}


def test_settings_come_from_the_environment_as_strings_and_a_bad_group_map_is_refused():
    mapping = sso.ClaimMapping.from_settings({"group_map": '{"sci-staff": "institution_staff"}',
                                              "adopt_local_users": "1", "org_claim": "organisation"})
    assert mapping.group_map == {"sci-staff": "institution_staff"} and mapping.adopt_local_users
    assert mapping.username_claim == "preferred_username" and mapping.org_claim == "organisation"
    with pytest.raises(InvalidData) as not_json:
        sso.ClaimMapping.from_settings({"group_map": "{sci-staff: staff"})
    assert "group_map" in not_json.value.fields
    with pytest.raises(InvalidData):
        sso.ClaimMapping.from_settings({"group_map": '{"sci-staff": ["a", "b"]}'})


@pytest.mark.parametrize("claims, groups", [
    ({"groups": ["sci-staff", "sci-experts", "canteen"]}, {"institution_staff", "experts"}),
    ({"groups": "sci-staff canteen"}, {"institution_staff"}),
    ({"groups": "sci-staff,sci-experts"}, {"institution_staff", "experts"}),
    ({"groups": [{"id": "sci-staff"}, 7, None]}, set()),
    ({"groups": None}, set()),
    ({}, set()),
])
def test_only_mapped_claim_values_become_groups(claims, groups):
    assert MAPPING.groups_from(claims) == groups


def test_a_nested_groups_claim_is_read_by_its_dotted_path():
    mapping = sso.ClaimMapping(groups_claim="realm_access.roles", group_map={"sci-staff": "institution_staff"})
    assert mapping.groups_from({"realm_access": {"roles": ["sci-staff"]}}) == {"institution_staff"}
    assert mapping.groups_from({"realm_access": "sci-staff"}) == set()


def test_the_subject_keeps_a_renamed_account_the_same_person(db):
    # given Li Na signed in once
    first = commands.execute(db, sso.sign_in, ISSUER, _claims(), MAPPING)
    # when the provider renames her account and she signs in again
    again = commands.execute(db, sso.sign_in, ISSUER, _claims(preferred_username="li.na2", name="李娜娜"), MAPPING)
    # then it is the same account here, its display name brought up to date
    assert again.id == first.id and again.username == "li.na" and again.display_name == "李娜娜"


def test_the_same_subject_at_another_issuer_is_another_person(db):
    commands.execute(db, sso.sign_in, ISSUER, _claims(), MAPPING)
    with pytest.raises(Unauthorized) as refused:
        commands.execute(db, sso.sign_in, "https://elsewhere.example", _claims(), MAPPING)
    assert refused.value.details["reason"] == "name_taken"


def test_a_local_account_is_taken_over_only_when_the_operator_says_so(db):
    commands.execute(db, users.create_user, "li.na", "pw-secret", ["supervisors"], password_policy=False)
    with pytest.raises(Unauthorized):
        commands.execute(db, sso.sign_in, ISSUER, _claims(), MAPPING)
    adopting = sso.ClaimMapping(group_map=MAPPING.group_map, adopt_local_users=True)
    user = commands.execute(db, sso.sign_in, ISSUER, _claims(), adopting)
    # the local groups the map does not name stay; the mapped one is added
    assert user.group_names == {"supervisors", "institution_staff"}


@pytest.mark.parametrize("claims, reason", [
    (_claims(sub=""), "no_username"),
    (_claims(preferred_username=None), "no_username"),
    (_claims(preferred_username="李 娜"), "bad_username"),
])
def test_claims_that_cannot_name_a_user_are_refused_and_nothing_is_written(db, claims, reason):
    with pytest.raises(Unauthorized) as refused:
        commands.execute(db, sso.sign_in, ISSUER, claims, MAPPING)
    assert refused.value.details["reason"] == reason
    assert commands.query(db, lambda s: s.query(sso.SsoIdentity).count()) == 0


def test_the_organisation_follows_the_provider_when_its_claim_is_configured(db):
    mapping = sso.ClaimMapping(org_claim="organisation", group_map=MAPPING.group_map)
    user = commands.execute(db, sso.sign_in, ISSUER, _claims(organisation="杭州先进材料研究院"), mapping)
    assert user.org == "杭州先进材料研究院"
    # she left the institute: the provider no longer names one, so neither do we
    moved = commands.execute(db, sso.sign_in, ISSUER, _claims(), mapping)
    assert moved.org is None
    # without OIDC_ORG_CLAIM the organisation is left as set here
    commands.execute(db, lambda s: setattr(users.find(s, "li.na"), "org", "市科学技术局"))
    assert commands.execute(db, sso.sign_in, ISSUER, _claims(), MAPPING).org == "市科学技术局"

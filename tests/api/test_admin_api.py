"""/api/v1/admin (web/api/admin.py): admins list users, deactivate and reactivate them, and list
and revoke their tokens; a revoked token and a deactivated user's token get 401 at once, and
nobody else may call any of it."""
from __future__ import annotations

from datetime import date, timedelta


def test_only_admins_use_the_admin_api(api):
    staff = api("wang", ["supervisors"])
    assert staff.get("/admin/users")[0] == 403
    assert staff.post("/admin/users/wang/deactivate")[0] == 403


def test_an_admin_lists_users_by_group_and_search(api, make_user):
    boss = api("root", ["admins"])
    make_user("li.na", ["applicants"])
    make_user("liu.yang", ["experts"])
    status, body = boss.get("/admin/users?group=experts")
    assert status == 200 and [u["username"] for u in body["items"]] == ["liu.yang"] and body["total"] == 1
    assert [u["username"] for u in boss.get("/admin/users?q=li.")[1]["items"]] == ["li.na"]
    assert boss.get("/admin/users?per_page=0")[0] == 422


def test_a_deactivated_users_token_gets_401_and_reactivation_lets_them_sign_in_again(api, client):
    boss = api("root", ["admins"])
    worker = api("li.na", ["applicants"])
    assert worker.get("/tasks")[0] == 200
    status, body = boss.post("/admin/users/li.na/deactivate")
    assert status == 200 and body["active"] is False
    assert worker.get("/tasks")[0] == 401
    assert client.post("/api/v1/auth/token", json={"username": "li.na", "password": "pw-secret"}).status_code == 401
    assert boss.post("/admin/users/li.na/reactivate")[1]["active"] is True
    assert client.post("/api/v1/auth/token", json={"username": "li.na", "password": "pw-secret"}).status_code == 201
    assert boss.post("/admin/users/root/deactivate")[0] == 422
    assert boss.post("/admin/users/nobody/deactivate")[0] == 404


def test_a_revoked_token_gets_401_at_once(api, client):
    boss = api("root", ["admins"])
    robot = api("robot", ["integrations"])
    assert robot.get("/tasks")[0] == 200
    status, tokens = boss.get("/admin/users/robot/tokens")
    assert status == 200 and len(tokens) == 1 and robot.token not in str(tokens)
    response = client.delete(f"/api/v1/admin/users/robot/tokens/{tokens[0]['handle']}",
                             headers={"Authorization": f"Bearer {boss.token}"})
    assert response.status_code == 204
    assert robot.get("/tasks")[0] == 401
    assert client.delete(f"/api/v1/admin/users/robot/tokens/{tokens[0]['handle']}",
                         headers={"Authorization": f"Bearer {boss.token}"}).status_code == 404


def test_a_long_lived_token_is_issued_once_to_an_integration_and_works_until_revoked(api, client, make_user):
    boss = api("root", ["admins"])
    make_user("robot", ["integrations"])
    make_user("li.na", ["applicants"])
    until = (date.today() + timedelta(days=180)).isoformat()
    assert boss.post("/admin/users/li.na/tokens", {"name": "OA", "expires_on": until})[0] == 422
    assert boss.post("/admin/users/robot/tokens", {"name": "OA"})[0] == 422
    status, issued = boss.post("/admin/users/robot/tokens", {"name": "OA", "expires_on": until})
    assert status == 201 and issued["long_lived"] is True and issued["expires_at"].startswith(until + "T15:59:59")  # 23:59:59 in Beijing
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {issued['token']}"}).status_code == 200
    listed = boss.get("/admin/users/robot/tokens")[1]
    assert [t["name"] for t in listed] == ["OA"] and "token" not in listed[0]


def test_an_admin_creates_a_user_resets_the_password_with_a_reason_and_sets_groups(api, client):
    boss = api("root", ["admins"])
    # given a new account created through the API
    status, user = boss.post("/admin/users", {"username": "zhou.qi", "password": "Spring-2027-bureau",
                                              "display_name": "周琪", "groups": ["experts"]})
    assert status == 201 and user["groups"] == ["experts"] and user["display_name"] == "周琪"
    token = client.post("/api/v1/auth/token", json={"username": "zhou.qi", "password": "Spring-2027-bureau"})
    assert token.status_code == 201
    # bad input changes nothing: a weak password, an unknown group, a missing reason, a second create
    assert boss.post("/admin/users", {"username": "wu.yi", "password": "123"})[0] == 422
    assert boss.post("/admin/users", {"username": "wu.yi", "password": "Spring-2027-bureau",
                                      "groups": ["no_such_group"]})[0] == 422
    assert boss.get("/admin/users?q=wu.yi")[1]["total"] == 0
    assert boss.post("/admin/users", {"username": "zhou.qi", "password": "Spring-2027-bureau"})[0] in (409, 422)
    assert boss.post("/admin/users/zhou.qi/password", {"password": "Autumn-2027-bureau"})[0] == 422
    # when the password is reset with a reason, the old one and the old token stop working
    old = token.get_json()["token"]
    assert client.post("/api/v1/admin/users/zhou.qi/password", headers={"Authorization": f"Bearer {boss.token}"},
                       json={"password": "Autumn-2027-bureau", "reason": "忘记密码"}).status_code == 204
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "zhou.qi", "password": "Autumn-2027-bureau"}).status_code == 201
    # and the groups are replaced as a whole
    response = client.put("/api/v1/admin/users/zhou.qi/groups", headers={"Authorization": f"Bearer {boss.token}"},
                          json={"groups": ["experts", "institution_staff"]})
    assert response.status_code == 200 and sorted(response.get_json()["groups"]) == ["experts", "institution_staff"]
    assert api("wang", ["supervisors"]).post("/admin/users", {"username": "x", "password": "Spring-2027-bureau"})[0] == 403

"""A real OpenID Connect provider for the single sign-on tests: Authlib's authorization server
(authlib.integrations.flask_oauth2 with the authorization-code grant, PKCE, and
authlib.oidc.core's OpenIDCode extension and UserInfoEndpoint) in its own small Flask app, served by werkzeug in a
thread on a free port, with discovery, a JWKS of an RS256 key generated here, a sign-in form and
in-memory clients, codes and tokens. The tests play the provider's administrator through
`people` (who exists there and in which groups); the ID token carries the profile and the groups,
the organisation comes from the userinfo endpoint only, as some providers keep it."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo, UserInfoEndpoint
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, render_template_string, request
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

CLIENT_ID, CLIENT_SECRET = "scitech-workflow", "client-secret-for-tests"
SIGN_IN_FORM = """<!doctype html><title>Government identity</title>
<form method="post"><p>{{ error }}</p>
<label>Account <input id="idp-username" name="username"></label>
<label>Password <input id="idp-password" name="password" type="password"></label>
<button id="idp-sign-in" type="submit">Sign in</button></form>"""


@dataclass
class Person:
    sub: str
    username: str
    password: str
    name: str
    email: str
    groups: list[str] = field(default_factory=list)
    org: str = ""


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    client_metadata: dict[str, Any] = field(default_factory=dict)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in ("openid", "profile", "email"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    person: Person
    auth_time: int
    code_challenge: str | None = None
    code_challenge_method: str | None = None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass
class Token:
    access_token: str
    scope: str
    client: Client
    person: Person
    expires_at: float

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.expires_at - time.time())

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return False

    def get_client(self) -> Client:
        return self.client

    def get_user(self) -> Person:
        return self.person


def _id_token_claims(person: Person, scope: str) -> UserInfo:
    claims = {"sub": person.sub, "preferred_username": person.username, "groups": list(person.groups)}
    if "profile" in scope:
        claims["name"] = person.name
    if "email" in scope:
        claims["email"] = person.email
    return UserInfo(claims)


class Provider:
    """The provider app and its stores; `start()` serves it and sets `issuer`."""

    def __init__(self) -> None:
        self.people: dict[str, Person] = {}
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, Token] = {}
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self.issuer = ""
        self.app = self._build()

    def add(self, person: Person) -> Person:
        self.people[person.username] = person
        return person

    def register_redirect_uri(self, redirect_uri: str) -> None:
        self.clients.setdefault(CLIENT_ID, Client(CLIENT_ID, CLIENT_SECRET, [])).redirect_uris.append(redirect_uri)

    def start(self) -> "Provider":
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)

    def _build(self) -> Flask:
        provider = self
        app = Flask("oidc_provider")
        app.config["SECRET_KEY"] = secrets.token_hex(16)

        class CodeGrant(AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, req: Any) -> None:
                provider.codes[code] = Code(code, req.client.client_id, req.payload.redirect_uri,
                                            req.payload.scope, req.payload.data.get("nonce"), req.user,
                                            int(time.time()), req.payload.data.get("code_challenge"),
                                            req.payload.data.get("code_challenge_method"))

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, code: Code) -> None:
                provider.codes.pop(code.code, None)

            def authenticate_user(self, code: Code) -> Person:
                return code.person

        class IdToken(OpenIDCode):
            def exists_nonce(self, nonce: str, req: Any) -> bool:
                return any(c.nonce == nonce for c in provider.codes.values())

            def resolve_client_private_key(self, client: Client) -> RSAKey:
                return provider.key

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": provider.issuer, "aud": [client.client_id]}

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": "test-key"}

            def generate_user_info(self, person: Person, scope: str) -> UserInfo:
                return _id_token_claims(person, scope)

        class UserInfoAnswer(UserInfoEndpoint):
            def generate_user_info(self, person: Person, scope: str) -> UserInfo:
                return UserInfo({**_id_token_claims(person, scope), "organisation": person.org})

        class Bearer(BearerTokenValidator):
            def authenticate_token(self, token_string: str) -> Token | None:
                return provider.tokens.get(token_string)

        def save_token(token: dict[str, Any], req: Any) -> None:
            provider.tokens[token["access_token"]] = Token(token["access_token"], token.get("scope", ""),
                                                           req.client, req.user,
                                                           time.time() + token.get("expires_in", 3600))

        server = AuthorizationServer(app, query_client=self.clients.get, save_token=save_token)
        # PKCE checked whenever the client sends a challenge (our app does unless OIDC_PKCE=0)
        server.register_grant(CodeGrant, [IdToken(require_nonce=True), CodeChallenge(required=False)])
        protector = ResourceProtector()
        protector.register_token_validator(Bearer())
        server.register_endpoint(UserInfoAnswer(resource_protector=protector))

        @app.get("/.well-known/openid-configuration")
        def discovery():  # type: ignore[no-untyped-def]
            return jsonify(issuer=provider.issuer, authorization_endpoint=provider.issuer + "/authorize",
                           token_endpoint=provider.issuer + "/token", jwks_uri=provider.issuer + "/jwks",
                           userinfo_endpoint=provider.issuer + "/userinfo",
                           response_types_supported=["code"], subject_types_supported=["public"],
                           id_token_signing_alg_values_supported=["RS256"],
                           scopes_supported=["openid", "profile", "email"],
                           token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"])

        @app.get("/jwks")
        def jwks():  # type: ignore[no-untyped-def]
            return jsonify(keys=[provider.key.as_dict(private=False)])

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize():  # type: ignore[no-untyped-def]
            if request.method == "GET":
                server.get_consent_grant(end_user=None)
                return render_template_string(SIGN_IN_FORM, error="")
            person = provider.people.get(request.form.get("username", ""))
            if person is None or request.form.get("password") != person.password:
                return render_template_string(SIGN_IN_FORM, error="Wrong account or password"), 401
            return server.create_authorization_response(grant=server.get_consent_grant(end_user=person),
                                                        grant_user=person)

        @app.post("/token")
        def token():  # type: ignore[no-untyped-def]
            return server.create_token_response()

        @app.route("/userinfo", methods=["GET", "POST"])
        def userinfo():  # type: ignore[no-untyped-def]
            return server.create_endpoint_response("userinfo")

        return app

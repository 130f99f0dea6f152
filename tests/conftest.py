"""Shared fixtures: one migrated database per test session (SQLite in a temp folder, or
$DATABASE_URL, e.g. PostgreSQL in CI), emptied before every test and built without Flask (engine
tests need nothing of the web app); the Flask app on the same Database, and its clients;
users; an API client that signs in through the real token endpoint."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def db(database_url: str):  # type: ignore[no-untyped-def]
    """The engine's Database, migrated, without Flask: engine tests need nothing of the web app."""
    from engine.core.db import Database
    database = Database(database_url)
    migrate(database)
    yield database
    database.engine.dispose()


def migrate(database: Any, revision: str = "head") -> None:
    """Alembic's upgrade of migrations/ on this Database (what `flask db upgrade` runs)."""
    from alembic import command
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["engine"] = database.engine
    command.upgrade(config, revision)


@pytest.fixture(scope="session")
def app(db, database_url: str):  # type: ignore[no-untyped-def]
    from web import create_app
    return create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test-secret",
                       "ENGINE_DATABASE": db})


@pytest.fixture(autouse=True)
def _empty_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that touches the database starts from empty tables."""
    if "db" not in request.fixturenames and "app" not in request.fixturenames:
        yield
        return
    empty_tables(request.getfixturevalue("db"))
    yield


def empty_tables(database: Any) -> None:
    """Delete every row (a module that builds its world once calls this itself)."""
    from engine.runtime import access, store
    from engine.schema import Base
    store.CACHE.clear()
    access.forget_submitted_keys()  # ids start again at 1 once the tables are emptied
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.is_sqlite:
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))
        else:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def make_user(db):  # type: ignore[no-untyped-def]
    from engine.core import commands, users

    def _make(name: str, groups: list[str] | tuple[str, ...] = (), password: str = "pw-" + "secret") -> Any:
        commands.execute(db, users.create_user, name, password, list(groups), password_policy=False)
        return name

    return _make


class ApiUser:
    """A signed-in API caller: `get`/`post` return (status, json)."""

    def __init__(self, client: Any, token: str) -> None:
        self.client, self.token = client, token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        response = self.client.get(f"/api/v1{path}", headers=self._headers(), **kwargs)
        return response.status_code, response.get_json()

    def post(self, path: str, json: Any = None, **kwargs: Any) -> tuple[int, Any]:
        response = self.client.post(f"/api/v1{path}", headers=self._headers(),
                                    json=json if json is not None or "data" in kwargs else {}, **kwargs) \
            if "data" not in kwargs else \
            self.client.post(f"/api/v1{path}", headers=self._headers(), **kwargs)
        return response.status_code, response.get_json()


@pytest.fixture
def api(client, make_user):  # type: ignore[no-untyped-def]
    def _as(name: str, groups: list[str] | tuple[str, ...] = ()) -> ApiUser:
        make_user(name, groups)
        response = client.post("/api/v1/auth/token", json={"username": name, "password": "pw-secret"})
        assert response.status_code == 201, response.get_json()
        return ApiUser(client, response.get_json()["token"])

    return _as


def read_fixture(*names: str) -> list[tuple[str, bytes]]:
    return [(name, (FIXTURES / name).read_bytes()) for name in names]


@pytest.fixture
def deploy(db):  # type: ignore[no-untyped-def]
    from engine.core import commands
    from engine.definitions import deployment

    def _deploy(*names: str) -> list[Any]:
        return commands.execute(db, deployment.deploy, read_fixture(*names), "test")

    return _deploy

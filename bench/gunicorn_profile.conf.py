"""The deployment's gunicorn config (deploy/gunicorn.conf.py) plus, when LOAD_BENCH_PROFILE
names a file, a cProfile of the workers: every request runs under its thread's profiler
(cProfile follows one thread), and each worker merges its threads' into `<file>.<pid>` when it
exits (with keep-alive clients one worker may get every connection, so all are profiled).
Used by bench/load_bench.py only."""
import cProfile
import os
import threading
import time
from pathlib import Path

_DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"
exec(compile(_DEPLOY.read_text(), str(_DEPLOY), "exec"))  # noqa: S102 - our own config file

_PROFILE_PATH = os.environ.get("LOAD_BENCH_PROFILE")
_deploy_post_worker_init = globals().get("post_worker_init")
_deploy_worker_exit = globals().get("worker_exit")


class _Profiled:
    """Wraps the WSGI app: one profiler per request thread, enabled around each request and
    timing the thread's CPU (not wall-clock: waits on the database or the GIL are not the
    worker's cost). Sign-ins are left out: a client signs in once, and scrypt would dominate."""

    def __init__(self, app):  # type: ignore[no-untyped-def]
        self.app = app
        self.local = threading.local()
        self.profiles: list[cProfile.Profile] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        if environ.get("PATH_INFO", "").endswith("/auth/token"):
            return list(self.app(environ, start_response))
        profile = getattr(self.local, "profile", None)
        if profile is None:
            profile = self.local.profile = cProfile.Profile(time.thread_time)
            with self.lock:
                self.profiles.append(profile)
        profile.enable()
        try:
            return list(self.app(environ, start_response))
        finally:
            profile.disable()

    def dump(self, path: str) -> None:
        import pstats
        with self.lock:
            profiles = [p for p in self.profiles]
        if not profiles:
            return
        for profile in profiles:
            profile.create_stats()
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            stats.add(profile)
        stats.dump_stats(path)


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    if _deploy_post_worker_init:
        _deploy_post_worker_init(worker)
    if _PROFILE_PATH:
        worker.wsgi = _Profiled(worker.wsgi)


def worker_exit(server, worker):  # type: ignore[no-untyped-def]
    if _deploy_worker_exit:
        _deploy_worker_exit(server, worker)
    if _PROFILE_PATH and isinstance(worker.wsgi, _Profiled):
        worker.wsgi.dump(f"{_PROFILE_PATH}.{worker.pid}")

"""Running sandboxed scripts and expressions in separate worker processes, so that a runaway
cannot stall the server. This module owns both ends of that: the parent side (a pool of
reusable workers per server process, one checked out per running script, the wall-clock limit,
the kill, the size cap on what comes back, and the script services the worker calls back) and
the worker's main loop (`python -m engine.script_worker`, started by exec, never by forking the
threaded server; it compiles and runs the restricted code with `sandbox.LocalEnvironment` under
RLIMIT_AS, RLIMIT_CPU, no files and no child processes).

A job carries the source, the task data fields that are plain data (each pickled alone; the
others stay in the server, unseen), the constant globals, and the names of the callable
globals; in the worker those are proxies that send ("call", name, args) back over the pipe. The
parent runs the real function in its own thread, so script services keep writing in the
calling command's transaction, and sends the result (or the error, raised in the worker as the
same kind of error). While it waits the parent sits in `poll()` without the GIL; past the time
limit (plus a short grace, since the worker's own cooperative deadline stops ordinary loops at
their line first) it SIGKILLs the worker and raises `ScriptTimeout`; time the server spends
serving a call is not counted. The worker sends back only the fields the script changed.
Everything it sends is pickled without memo (shared parts are written out in full, so the size
cap measures what task data would store) and unpickled by a restricted Unpickler that knows
only the sandbox's data types. A worker exits on EOF of its pipe and, on Linux, when the
server dies (PR_SET_PDEATHSIG); its CPU rlimit bounds it even then."""
from __future__ import annotations

import atexit
import builtins
import copyreg
import decimal
import io
import math
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback
import zoneinfo
from typing import Any, Callable

from engine.scripting import sandbox
from engine.scripting.sandbox import ScriptLimitExceeded, ScriptRejected, ScriptTimeout, timeout_message

MEMORY_LIMIT_MB = 512  # RLIMIT_AS of a worker
MAX_RESULT_BYTES = 16 * 1024 * 1024  # what a script may hand back (task data, a value, call args)
KILL_GRACE_SECONDS = 0.5  # past the limit, before the kill (the worker's own deadline comes first)
IDLE_WORKERS = 4  # workers kept warm per server process
WORKER_CPU_SECONDS = 600  # hard RLIMIT_CPU over a worker's life; it retires well before
START_TIMEOUT_SECONDS = 30.0

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_HEADER = struct.Struct("!I")
_PROTOCOL = 5
_ENVELOPE = 32 * 1024  # a reply's bytes beyond the values it carries
_EXIT_MEMORY = 86  # the worker ran out of memory and could not even say so
_PR_SET_PDEATHSIG = 1


def memory_message() -> str:
    return f"the script used more than its memory limit of {MEMORY_LIMIT_MB} MB"


def result_message(what: str) -> str:
    return (f"{what} is larger than the limit of {MAX_RESULT_BYTES // (1024 * 1024)} MB "
            "that a script may hand back")


# ---------------------------------------------------------------------------------------------
# Serialization: pickle, restricted on the way in.

_ALLOWED_CLASSES = {
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"),
    ("datetime", "timedelta"), ("datetime", "timezone"), ("decimal", "Decimal"),
    ("uuid", "UUID"), ("zoneinfo", "ZoneInfo"), ("builtins", "range"),
}


class _DataUnpickler(pickle.Unpickler):
    """Builds only what pickle's own opcodes make (None, bool, numbers, str, bytes, list,
    tuple, dict, set) plus the data classes the sandbox accepts in task data."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_CLASSES:
            raise pickle.UnpicklingError(f"{module}.{name} is not plain data")
        return super().find_class(module, name)


def _loads(payload: bytes) -> Any:
    return _DataUnpickler(io.BytesIO(payload)).load()


# ZoneInfo pickles through builtins.getattr; by its key it needs only the class.
_DISPATCH = dict(copyreg.dispatch_table)
_DISPATCH[zoneinfo.ZoneInfo] = lambda zone: (zoneinfo.ZoneInfo, (zone.key,))


class _TooLarge(Exception):
    pass


class _CappedWriter:
    def __init__(self, cap: int) -> None:
        self.cap, self.size, self.parts = cap, 0, [_HEADER.pack(0)]

    def write(self, chunk: Any) -> int:
        self.size += len(chunk)
        if self.size > self.cap:
            raise _TooLarge
        self.parts.append(bytes(chunk))
        return len(chunk)


def _dumps(message: Any, cap: int | None = None) -> bytes:
    """A frame: length header and the pickle. With `cap`, shared objects are written out in
    full (no memo), and more than `cap` bytes raise _TooLarge before they are all built."""
    writer = _CappedWriter(cap if cap is not None else 2 ** 32 - 1)
    pickler = pickle.Pickler(writer, _PROTOCOL)
    pickler.dispatch_table = _DISPATCH
    if cap is not None:
        pickler.fast = True
    pickler.dump(message)
    writer.parts[0] = _HEADER.pack(writer.size)
    return b"".join(writer.parts)


def _write_all(fd: int, frame: bytes) -> None:
    view = memoryview(frame)
    while view:
        view = view[os.write(fd, view):]


class _Gone(Exception):
    """The other end closed the pipe."""


class _Overtime(Exception):
    pass


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    parts, missing = [], size
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    while missing:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(remaining * 1000):
                raise _Overtime
        chunk = os.read(fd, min(missing, 1 << 20))
        if not chunk:
            raise _Gone
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)


def _read_frame(fd: int, deadline: float | None, cap: int) -> bytes:
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))
    if size > cap:
        raise _TooLarge
    return _read_exactly(fd, size, deadline)


# ---------------------------------------------------------------------------------------------
# Errors across the pipe.

def _known_errors() -> dict[str, type[BaseException]]:
    known: dict[str, type[BaseException]] = {}
    for module in (builtins, decimal):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Exception):
                known[f"{value.__module__}.{value.__qualname__}"] = value
    for cls in (ScriptRejected, ScriptTimeout, ScriptLimitExceeded):
        known[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return known


_KNOWN_ERRORS = _known_errors()


def _describe(error: BaseException, lineno: int | None = None) -> dict[str, Any]:
    args = error.args
    try:
        _dumps(args, 64 * 1024)
    except Exception:  # noqa: BLE001 - anything unpicklable or large travels as its text
        args = (str(error),)
    return {"kinds": [f"{c.__module__}.{c.__qualname__}" for c in type(error).__mro__],
            "name": type(error).__name__, "args": args, "lineno": lineno,
            "call": getattr(error, "_service_call", None)}


_FOREIGN: dict[tuple[str, type[BaseException]], type[BaseException]] = {}


def _rebuild(info: dict[str, Any]) -> BaseException:
    """The error, as the nearest class both ends know; a class only the far end knows (an
    engine error raised by a script service) keeps its name on a subclass of that."""
    base: type[BaseException] = Exception
    for kind in info["kinds"]:
        if kind in _KNOWN_ERRORS:
            base = _KNOWN_ERRORS[kind]
            break
    cls = base
    if base.__name__ != info["name"]:
        key = (info["name"], base)
        cls = _FOREIGN.setdefault(key, type(info["name"], (base,), {"__module__": "scripts"}))
    try:
        error = cls(*info["args"])
    except Exception:  # noqa: BLE001 - a constructor with other arguments
        error = cls(*(str(a) for a in info["args"][:1]))
    if isinstance(error, ScriptRejected):
        error.lineno = info.get("lineno")
    return error


def _error_line(error: BaseException) -> int | None:
    if isinstance(error, SyntaxError):
        return error.lineno
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == sandbox.SCRIPT_FILENAME:
            line = frame.lineno
    return line if line is not None else getattr(error, "lineno", None)


# ---------------------------------------------------------------------------------------------
# The parent side: workers, the pool, a job.

class _Worker:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.to_fd = process.stdin.fileno()  # type: ignore[union-attr]
        self.from_fd = process.stdout.fileno()  # type: ignore[union-attr]
        self.broken = False
        self.retire = False

    def send(self, message: Any) -> None:
        _write_all(self.to_fd, _dumps(message))

    def receive(self, deadline: float | None) -> Any:
        return _loads(_read_frame(self.from_fd, deadline, MAX_RESULT_BYTES + _ENVELOPE))

    def kill(self) -> None:
        self.broken = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.close()

    def close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _start_process() -> subprocess.Popen[bytes]:
    # -E -s: no PYTHON* variables, no user site; the environment carries nothing of the server's
    command = [sys.executable, "-E", "-s", "-m", "engine.scripting.script_worker", str(os.getpid()),
               str(MEMORY_LIMIT_MB), str(WORKER_CPU_SECONDS)]
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    if "TZ" in os.environ:  # scripts see the same local time as the server
        environment["TZ"] = os.environ["TZ"]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=_ROOT,
                            env=environment, close_fds=True)


class _Spawner:
    """Starts workers from one long-lived thread: PR_SET_PDEATHSIG fires when the *thread*
    that started a child ends, and web request threads come and go."""

    def __init__(self) -> None:
        self.requests: queue.Queue[queue.Queue[Any]] = queue.Queue()
        threading.Thread(target=self._serve, name="script-worker-spawner", daemon=True).start()

    def _serve(self) -> None:
        while True:
            reply = self.requests.get()
            try:
                reply.put(_start_process())
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                reply.put(error)

    def start(self) -> subprocess.Popen[bytes]:
        reply: queue.Queue[Any] = queue.Queue(maxsize=1)
        self.requests.put(reply)
        result = reply.get()
        if isinstance(result, BaseException):
            raise result
        return result


class WorkerPool:
    """Reusable workers of this server process: one is checked out per running script, a
    killed or retired one is dropped and a new one started when next needed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._spawner: _Spawner | None = None
        self._pid = os.getpid()

    def checkout(self) -> _Worker:
        with self._lock:
            if self._pid != os.getpid():  # a forked copy of the server: these are not ours
                self._idle, self._spawner, self._pid = [], None, os.getpid()
            while self._idle:
                worker = self._idle.pop()
                if worker.process.poll() is None:
                    return worker
                worker.close()
            if self._spawner is None:
                self._spawner = _Spawner()
            spawner = self._spawner
        return self._start(spawner)

    def _start(self, spawner: _Spawner) -> _Worker:
        worker = _Worker(spawner.start())
        try:
            ready = worker.receive(time.monotonic() + START_TIMEOUT_SECONDS)
        except (_Gone, _Overtime, _TooLarge, pickle.UnpicklingError) as error:
            worker.kill()
            raise RuntimeError("the script worker could not be started") from error
        if ready != ("ready",):
            worker.kill()
            raise RuntimeError("the script worker could not be started")
        return worker

    def checkin(self, worker: _Worker) -> None:
        if worker.broken or worker.retire or worker.process.poll() is not None:
            worker.kill()
            return
        with self._lock:
            if self._pid == os.getpid() and len(self._idle) < IDLE_WORKERS:
                self._idle.append(worker)
                return
        worker.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()

    def worker_ids(self) -> list[int]:
        """Process ids of the idle workers (for tests and diagnostics)."""
        with self._lock:
            return [w.process.pid for w in self._idle]


POOL = WorkerPool()
atexit.register(POOL.close)


def run(mode: str, source: str, data: dict[str, Any], constants: dict[str, Any],
        functions: dict[str, Callable[..., Any]], limit: float) -> Any:
    """Run `source` in a worker, over the task data `data`. "eval": returns the expression's
    value. "exec": returns (changed, deleted), the task data fields the script set or changed
    (with their new values) and those it deleted. Fields that are not plain data are not sent
    (the script does not see them) and never come back. Script errors are raised here as the
    same kind of error, at the script's line."""
    fields = {}
    for key, value in data.items():
        try:
            fields[key] = _dumps_value(value)
        except Exception:  # noqa: BLE001 - not data: it stays in the server, untouched
            continue
    worker = POOL.checkout()
    try:
        answer = _converse(worker, {"mode": mode, "source": source, "data": fields,
                                    "constants": constants, "functions": sorted(functions),
                                    "limit": limit, "max_result": MAX_RESULT_BYTES},
                           functions, limit)
    finally:
        POOL.checkin(worker)
    if mode == "eval":
        return _loads(answer)
    changed, deleted = answer
    return {key: _loads(value) for key, value in changed.items()}, list(deleted)


def _dumps_value(value: Any, cap: int | None = None) -> bytes:
    """One value, pickled without memo (so equal values give equal bytes) and without header."""
    return _dumps(value, cap if cap is not None else 2 ** 32 - 1)[_HEADER.size:]


def _converse(worker: _Worker, job: dict[str, Any], functions: dict[str, Callable[..., Any]],
              limit: float) -> Any:
    service_errors: dict[int, BaseException] = {}
    completed = False
    try:
        worker.send(("run", job))
        deadline = time.monotonic() + limit + KILL_GRACE_SECONDS
        while True:
            message = worker.receive(deadline)
            kind = message[0]
            if kind == "call":
                serving = time.monotonic()
                _serve_call(worker, message, functions, service_errors)
                deadline += time.monotonic() - serving  # the server's time, not the script's
            elif kind == "done":
                completed = True
                worker.retire = message[2]
                return message[1]
            elif kind == "error":
                completed = True
                worker.retire = message[2]
                _raise_script_error(message[1], service_errors)
            elif kind == "memory":
                completed = True
                worker.retire = True
                raise ScriptLimitExceeded(memory_message())
            else:
                raise RuntimeError(f"the script worker sent {kind!r}")
    except _Overtime:
        raise ScriptTimeout(timeout_message(limit)) from None
    except _TooLarge:
        raise ScriptLimitExceeded(result_message("what the script handed back")) from None
    except (_Gone, BrokenPipeError):
        returncode = worker.process.wait()
        if returncode == -signal.SIGXCPU:
            raise ScriptTimeout(timeout_message(limit)) from None
        if returncode in (_EXIT_MEMORY, -signal.SIGKILL):  # a SIGKILL not ours: the OOM killer
            raise ScriptLimitExceeded(memory_message()) from None
        raise RuntimeError(f"the script worker stopped unexpectedly (exit code {returncode})") \
            from None
    finally:
        if not completed:
            worker.kill()


def _serve_call(worker: _Worker, message: Any, functions: dict[str, Callable[..., Any]],
                service_errors: dict[int, BaseException]) -> None:
    _, call_id, name, args, kwargs = message
    function = functions.get(name)
    try:
        if function is None:
            raise NameError(f"name '{name}' is not defined")
        value = function(*args, **kwargs)
        frame = _dumps(("value", value))
    except Exception as error:  # noqa: BLE001 - the script sees it, as it would in-process
        service_errors[call_id] = error
        frame = _dumps(("raise", _describe(error)))
    _write_all(worker.to_fd, frame)


def _raise_script_error(info: dict[str, Any], service_errors: dict[int, BaseException]) -> None:
    original = service_errors.get(info.get("call"))  # type: ignore[arg-type]
    error = original.with_traceback(None) if original is not None else _rebuild(info)
    if isinstance(error, SyntaxError):
        raise error
    sandbox.raise_at_line(error, info.get("lineno"))


# ---------------------------------------------------------------------------------------------
# The worker process.

class _Channel:
    def __init__(self, in_fd: int, out_fd: int) -> None:
        self.in_fd, self.out_fd = in_fd, out_fd
        self.calls = 0

    def receive(self) -> Any:
        return _loads(_read_frame(self.in_fd, None, 2 ** 32 - 1))

    def send(self, message: Any, cap: int | None = None) -> None:
        _write_all(self.out_fd, _dumps(message, cap))

    def proxy(self, name: str, cap: int) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            call_id = self.calls
            try:
                self.send(("call", call_id, name, args, kwargs), cap)
            except _TooLarge:
                raise ScriptLimitExceeded(result_message(f"what the script passed to {name}()")) \
                    from None
            except (TypeError, pickle.PicklingError, ValueError, RecursionError):
                raise TypeError(f"{name}() takes plain data (text, numbers, dates, lists, "
                                "objects)") from None
            waiting = time.monotonic()
            reply = self.receive()
            sandbox.pause_deadline(time.monotonic() - waiting)
            if reply[0] == "value":
                return reply[1]
            error = _rebuild(reply[1])
            error._service_call = call_id  # type: ignore[attr-defined]
            raise error
        call.__name__ = call.__qualname__ = name
        return call


def _worker_limits(memory_mb: int, cpu_seconds: int) -> None:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 1024 * 1024,) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def _cpu_used() -> float:
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _allow_cpu(limit: float, hard: int) -> bool:
    """Give this job its CPU allowance (RLIMIT_CPU is cumulative); False when the worker's
    lifetime budget cannot cover one more job and it should retire after it."""
    import resource
    soft = math.ceil(_cpu_used() + limit + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (min(soft, hard), hard))
    return soft + limit + 1 < hard


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the server died before the signal was armed
        os._exit(0)


def _take_pipes() -> tuple[int, int]:
    """The protocol moves to private descriptors; stdin/stdout become /dev/null, so nothing a
    library prints can corrupt it."""
    in_fd, out_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    return in_fd, out_fd


def _job(channel: _Channel, job: dict[str, Any]) -> tuple[str, Any]:
    cap = job["max_result"]
    proxies = {name: channel.proxy(name, cap) for name in job["functions"]}
    environment = sandbox.LocalEnvironment({**job["constants"], **proxies},
                                           time_limit=job["limit"])
    received: dict[str, bytes] = {}
    context: dict[str, Any] = {}
    for key, encoded in job["data"].items():
        try:
            context[key] = _loads(encoded)
        except pickle.UnpicklingError:
            continue  # holds something that is not data: the script does not see it
        received[key] = encoded
    if job["mode"] == "exec":
        environment.execute(job["source"], context)
        return "done", _changes(received, context, cap)
    value = environment.evaluate(job["source"], context)
    try:
        return "done", _dumps_value(value, cap)
    except _TooLarge:
        raise ScriptLimitExceeded(result_message("the value of the expression")) from None
    except (TypeError, pickle.PicklingError, AttributeError, ValueError):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise TypeError(f"the expression's value, a {type(value).__name__}, cannot be used "
                            "outside the script") from None
    try:  # map/filter/zip objects and dict views, as a list
        return "done", _dumps_value(list(value), cap)
    except _TooLarge:
        raise ScriptLimitExceeded(result_message("the value of the expression")) from None


def _changes(received: dict[str, bytes], context: dict[str, Any],
             cap: int) -> tuple[dict[str, bytes], list[str]]:
    """The fields the script set or changed, pickled, and the fields it deleted. A field is
    unchanged when it pickles to the same bytes (so 1 -> 1.0 or True is a change)."""
    changed: dict[str, bytes] = {}
    size = 0
    for key, value in context.items():
        try:
            encoded = _dumps_value(value, cap - size)
        except _TooLarge:
            raise ScriptLimitExceeded(result_message("the task data the script left")) from None
        if received.get(key) != encoded:
            changed[key] = encoded
            size += len(encoded)
    return changed, [key for key in received if key not in context]


def main(argv: list[str]) -> None:
    parent, memory_mb, cpu_seconds = int(argv[0]), int(argv[1]), int(argv[2])
    _die_with_parent(parent)
    in_fd, out_fd = _take_pipes()
    _worker_limits(memory_mb, cpu_seconds)
    channel = _Channel(in_fd, out_fd)
    memory_note = _dumps(("memory",))  # built now: after a MemoryError there may be no room
    channel.send(("ready",))
    while True:
        try:
            message = channel.receive()
        except _Gone:
            os._exit(0)
        job = message[1]
        cap = job["max_result"]
        keep_going = _allow_cpu(job["limit"], cpu_seconds)
        try:
            try:
                kind, value = _job(channel, job)
                reply: tuple[Any, ...] = (kind, value, not keep_going)
            except MemoryError:
                raise
            except Exception as error:  # noqa: BLE001 - reported to the parent
                reply = ("error", _describe(error, _error_line(error)), not keep_going)
            del job, message
            try:
                channel.send(reply, cap + _ENVELOPE)
            except _TooLarge:
                what = "the task data the script left" if reply[0] == "done" else "the error"
                error = ScriptLimitExceeded(result_message(what))
                channel.send(("error", _describe(error), not keep_going))
        except MemoryError:
            reply = ()  # drop everything the job built before saying so
            try:
                _write_all(out_fd, memory_note)
            except BaseException:  # noqa: BLE001
                pass
            os._exit(_EXIT_MEMORY)  # its heap may be fragmented: a fresh worker replaces it
        except _Gone:
            os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])

"""The consumers of a replay in a second process, one commit behind ingest.

A replay alternates: commit a chunk of input, then settle (``shared.app.settle``).
Decoding the next chunk and feeding it to the state machine change nothing in the state
(ingest holds its charger states in memory until it commits), so on two cores that can
run while the consumers settle the last commit. ``Beside`` forks a process that owns the
settles, with its own SQLite connection to the same state (the replaying process closes
its own for the fork, ``Store.released``, so none is inherited). The replaying process
decodes and feeds chunk k+1 while it settles chunk k and, before it writes anything
(``Ingest.before_commit``), waits until that settle is done. The state therefore goes
through exactly the steps of a one-process run (every settle sees the state its commit
left, nothing else), and so do the files.

The process dies with the replay (``PR_SET_PDEATHSIG``: Linux only, see ``can_fork``), so
a run killed anywhere is a run killed at one point of the one-process order and resumes
like one. It ignores Ctrl-C: the replay stops it after its current settle. Its log
records and any error it raises come back to the replaying process, which logs and
raises them.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import pickle
import signal
import sys
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NoReturn

from shared.app.compose import open_beside
from shared.app.settle import Settle, Settled
from shared.config.loader import Config

__all__ = ["Beside", "ConsumerProcessError", "can_fork"]

_PR_SET_PDEATHSIG = 1


class ConsumerProcessError(RuntimeError):
    """The consumers' process failed: ``original`` is the exception it raised (the replay
    raises that one), None when it ended without saying why (killed, out of memory).
    Not a data error, so a commit waiting for the process never takes it for one."""

    def __init__(self, text: str, original: BaseException | None = None) -> None:
        super().__init__(text)
        self.original = original


def can_fork() -> bool:
    """Linux with two cores or more for this process. Linux only: elsewhere nothing ends
    the second process with a killed replay, and macOS system libraries that httpx may
    load (proxy settings) are not safe in a forked child."""
    if not sys.platform.startswith("linux"):
        return False
    return len(os.sched_getaffinity(0)) >= 2


class Beside:
    """The settles of a replay, in a forked process; the same calls as ``Settle``."""

    def __init__(self, config: Config, location: str, out: Path) -> None:
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, self._conn, config, location, out, os.getpid()),
            name="chargeops-consumers", daemon=True,
        )  # fmt: skip
        self._process.start()
        child.close()
        self._busy = False
        self._failed: ConsumerProcessError | None = None

    def begin(self, clock: datetime | None) -> None:
        self._send(("begin", clock))

    def __call__(self, clock: datetime | None) -> None:
        self.wait()
        self._send(("settle", clock))

    def wait(self) -> None:
        """Until the last settle is done (its log records logged here on the way)."""
        if self._failed is not None:
            raise self._failed
        while self._busy:
            self._answer()

    def result(self) -> Settled:
        self.wait()
        self._send(("result", None))
        settled = None
        while self._busy:  # log records may come first
            settled = self._answer()
        if not isinstance(settled, Settled):
            raise ConsumerProcessError(f"the consumers' process answered {settled!r}")
        return settled

    def close(self) -> None:
        """Let the process finish its settle and end; killed if it does not in 60 s."""
        with contextlib.suppress(OSError):
            self._conn.close()
        self._process.join(60)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    def _send(self, message: tuple[str, Any]) -> None:
        if self._failed is not None:
            raise self._failed
        try:
            self._conn.send(message)
        except OSError:
            self._fail(None)
        self._busy = True

    def _answer(self) -> Any:
        try:
            kind, value = self._conn.recv()
        except (EOFError, OSError):
            self._fail(None)
        if kind == "log":
            logging.getLogger(value.name).handle(value)
            return None
        self._busy = False
        if kind == "error":
            self._fail(_rebuilt(*value))
        return value

    def _fail(self, original: BaseException | None) -> NoReturn:
        """Remember the failure, so every later call raises it too, and raise it."""
        self._busy = False
        if original is None:
            self._process.join(1)
            text = f"the consumers' process ended (exit {self._process.exitcode})"
        else:
            text = f"the consumers' process failed: {type(original).__name__}: {original}"
        self._failed = ConsumerProcessError(f"{text}; run again to resume", original)
        raise self._failed


def _serve(
    conn: Connection, other_end: Connection, config: Config, location: str, out: Path, parent: int
) -> None:
    """The forked process: settle on request until the pipe closes."""
    other_end.close()  # inherited: held open here, the replay's close would never reach us
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the replay decides when to stop
    logging.root.handlers = [_Forward(conn)]
    app = None
    try:
        app = open_beside(config, location)
        settle = Settle(app, out)
        while True:
            try:
                kind, clock = conn.recv()
            except EOFError:
                return
            if kind == "begin":
                settle.begin(clock)
            elif kind == "settle":
                settle(clock)
            else:
                conn.send(("result", _with_rss(settle.result())))
                continue
            conn.send(("done", None))
    except BaseException as exc:
        with contextlib.suppress(OSError):
            conn.send(("error", _portable(exc)))
    finally:
        if app is not None:
            app.close()
        # the inherited connection of the replaying process is never touched here, and
        # multiprocessing ends this process with os._exit: no finalizer closes it


def _die_with(parent: int) -> None:
    """SIGKILL when the replaying process dies (Linux); end now if it already has."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _with_rss(settled: Settled) -> Settled:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                settled.peak_rss_mb = round(int(line.split()[1]) / 1024, 1)
    return settled


class _Forward(logging.Handler):
    """Log records to the replaying process, ready to pickle (message and traceback as
    text), where its own handlers write them."""

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self._conn = conn

    def emit(self, record: logging.LogRecord) -> None:
        try:
            record.msg, record.args = record.getMessage(), None
            if record.exc_info:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
                record.exc_info = None
            self._conn.send(("log", record))
        except Exception:
            self.handleError(record)


def _portable(exc: BaseException) -> tuple[bytes | None, str]:
    """The exception pickled when it can be (so the replay raises the same type: a
    configuration error stays exit 2), and its text either way."""
    text = f"{type(exc).__name__}: {exc}"
    try:
        data = pickle.dumps(exc)
        pickle.loads(data)  # noqa: S301 - our own bytes, checked before they are sent
    except Exception:
        return None, text
    return data, text


def _rebuilt(data: bytes | None, text: str) -> BaseException:
    if data is not None:
        exc = pickle.loads(data)  # noqa: S301 - from our own forked process
        if isinstance(exc, BaseException):
            return exc
    return RuntimeError(text)

"""Azurite (the Azure Storage emulator) for tests: started per test session on a free port,
in memory, telemetry off, and stopped afterwards. ``scripts/tools/azurite.sh`` installs it
(``./test.sh`` runs it first); a missing install fails the tests, it never skips them."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.storage.table import TableStore
from tests.support.receivers import free_port

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / ".tools" / "azurite" / "node_modules" / ".bin" / "azurite-table"
ACCOUNT = "devstoreaccount1"
# Azurite's documented well-known development key (public, not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class Azurite:
    """A running Azurite table service."""

    def __init__(self, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.port, self.proc = port, proc
        self.connection_string = (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"TableEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
        )

    def env(self, table: str | None = None) -> dict[str, str]:
        """App settings pointing chargeops at this emulator (a fresh table unless named)."""
        return {"CHARGEOPS_STORAGE": self.connection_string, "CHARGEOPS_TABLE": table or fresh()}

    def store(self, table: str | None = None) -> TableStore:
        return TableStore.from_settings(self.env(table))


def fresh() -> str:
    """A table name nobody used yet (letters and digits, starts with a letter)."""
    return "t" + uuid.uuid4().hex[:16]


def _ready(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"GET /devstoreaccount1/Tables HTTP/1.1\r\nHost: x\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/1.1")
    except OSError:
        return False


def start(workdir: Path) -> Azurite:
    if not BINARY.exists():
        pytest.fail(
            f"Azurite is not installed ({BINARY.relative_to(ROOT)} missing): run "
            "scripts/tools/azurite.sh (./test.sh does this before the tests)",
            pytrace=False,
        )
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen(
            [
                str(BINARY),
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--silent",
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                str(port),
            ],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if _ready(port):
                return Azurite(port, proc)
            time.sleep(0.05)
        stop(proc)  # lost the port to someone else, or slow to start: try another
    pytest.fail("Azurite did not start (5 attempts on free ports)", pytrace=False)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    if proc.stderr is not None:
        proc.stderr.close()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One emulator per test process (each xdist worker gets its own port)."""
    emulator = start(tmp_path_factory.mktemp("azurite"))
    try:
        yield emulator
    finally:
        stop(emulator.proc)

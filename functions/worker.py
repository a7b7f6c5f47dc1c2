"""Per-worker resources for the functions: built on first use (never at import, so
``import function_app`` stays fast) and shared by every invocation of this worker.

The configuration is loaded lazily and retried while it fails (a Key Vault reference may
resolve later); the runtime is built fresh per invocation, because it is cheap and so no
in-memory cache (registry lookups, charger states, a tripped breaker) outlives the
invocation that made it while other instances write the same store.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from shared.adapters.app_settings import AppSettings
    from shared.adapters.servicebus import MessageSender
    from shared.adapters.telemetry import Counters
    from shared.app.compose import Runtime
    from shared.app.ingest_unit import Ingest
    from shared.config.loader import Config
    from shared.storage.base import Store
    from shared.zaptec.client import ZaptecClient

__all__ = ["Worker", "current", "from_env", "install", "uninstall"]

APP_ROOT = Path(__file__).resolve().parent.parent


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Worker:
    """Everything an invocation needs besides its trigger."""

    env: Mapping[str, str]
    store: Store
    http: httpx.Client
    counters: Counters
    settings: AppSettings
    sender_factory: Callable[[], MessageSender]
    clock: Callable[[], datetime] = _utcnow
    zaptec_factory: Callable[[Config, Store], ZaptecClient] | None = None
    _config: Config | None = None
    _sender: MessageSender | None = None
    _zaptec: ZaptecClient | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> datetime:
        return self.clock()

    def config(self) -> Config:
        """The YAML configuration (ConfigError until it is valid; then cached)."""
        if self._config is None:
            self._config = load_app_config(self.env)
        return self._config

    def ingest(self, *, data_clock: bool = False) -> Ingest:
        """Just ingest (no targets): it needs only the detection rules."""
        from shared.app.ingest_unit import Ingest  # noqa: PLC0415
        from shared.registry.view import RegistryView  # noqa: PLC0415

        rules = self.config().detection.rules()
        return Ingest(self.store, rules, RegistryView(self.store), data_clock=data_clock)

    def runtime(self, *, data_clock: bool = False) -> Runtime:
        from shared.app.compose import build_runtime  # noqa: PLC0415

        return build_runtime(self.config(), self.store, data_clock=data_clock, http=self.http)

    def zaptec(self) -> ZaptecClient | None:
        """The Zaptec API client, one per worker (it keeps the login token); None when the
        config has no Zaptec credentials."""
        config = self.config()
        if not (config.zaptec.username and config.zaptec.password):
            return None
        with self._lock:
            if self._zaptec is None:
                if self.zaptec_factory is not None:
                    self._zaptec = self.zaptec_factory(config, self.store)
                else:
                    from shared.zaptec.client import ZaptecClient  # noqa: PLC0415

                    self._zaptec = ZaptecClient(config.zaptec, self.store)
            return self._zaptec

    def sender(self) -> MessageSender:
        """Our topic's sender, opened once; sends are serialised (the SDK's sender is not
        thread-safe and the worker runs invocations on a thread pool)."""
        with self._lock:
            if self._sender is None:
                self._sender = _Serialised(self.sender_factory())
            return self._sender


class _Serialised:
    def __init__(self, inner: MessageSender) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def send_messages(self, message: Any, **kwargs: Any) -> None:
        with self._lock:
            self._inner.send_messages(message, **kwargs)


def load_app_config(env: Mapping[str, str]) -> Config:
    """CHARGEOPS_CONFIG (inline YAML), else CHARGEOPS_CONFIG_PATH (relative to the app),
    else the built-in default (every event to an outbox under the temp directory)."""
    from shared.config.loader import default_config, load_config  # noqa: PLC0415

    if env.get("CHARGEOPS_CONFIG"):
        return load_config(text=env["CHARGEOPS_CONFIG"], env=env)
    if env.get("CHARGEOPS_CONFIG_PATH"):
        path = Path(env["CHARGEOPS_CONFIG_PATH"])
        return load_config(path if path.is_absolute() else APP_ROOT / path, env=env)
    return default_config(Path(tempfile.gettempdir()) / "chargeops")


def from_env(env: Mapping[str, str]) -> Worker:
    """The worker as app settings describe it (see docs/azure.md)."""
    import httpx  # noqa: PLC0415

    from shared.adapters.app_settings import AppSettings, bus_target  # noqa: PLC0415
    from shared.adapters.servicebus import open_client  # noqa: PLC0415
    from shared.adapters.telemetry import Counters, setup  # noqa: PLC0415
    from shared.storage.factory import open_store  # noqa: PLC0415

    setup(env)
    settings = AppSettings.from_env(env)

    def sender() -> MessageSender:
        return open_client(bus_target(env)).get_topic_sender(settings.topic)

    return Worker(
        env=env,
        store=open_store("table", env),
        http=httpx.Client(headers={"user-agent": "chargeops"}, follow_redirects=False),
        counters=Counters(),
        settings=settings,
        sender_factory=sender,
    )


_current: Worker | None = None
_build_lock = threading.Lock()


def current() -> Worker:
    """This worker's resources, built from the app settings on first use."""
    global _current  # noqa: PLW0603 - one per worker process, by design
    if _current is None:
        with _build_lock:
            if _current is None:
                _current = from_env(dict(os.environ))
    return _current


def install(worker: Worker) -> None:
    """Use ``worker`` instead of building one from app settings (tests, local hosting)."""
    global _current  # noqa: PLW0603
    _current = worker


def uninstall() -> None:
    global _current  # noqa: PLW0603
    _current = None

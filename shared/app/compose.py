"""The composition root: one object graph for ``chargeops replay`` and the Azure functions.

``App`` holds what lives as long as a process (the store, one HTTP client, counters, the
clock, our topic, the Zaptec client with its login token) and builds what lives as long
as a unit of work (the ingest unit, the consumers), because scaled-out instances write
the same store and no in-memory cache may outlive the work that made it.

The two ways of running differ only in what is chosen here, never in the use cases:
- ``open_local``: the data clock (time is the newest timestamp seen) and the event log
  as our topic (local subscriptions read it with cursors); consumers batch their sends.
- ``from_env``: the wall clock (the watchdog timer moves time), Service Bus as our topic,
  Table Storage; a consumer handles one message and raises unless it was delivered.

Nothing here runs at import: ``import function_app`` stays fast (bench/bench_import.py).
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shared.config.loader import Config, ConfigError, default_config, load_config

if TYPE_CHECKING:
    import httpx

    from shared.adapters.app_settings import AppSettings
    from shared.adapters.telemetry import Counters
    from shared.app.ingest_unit import Ingest
    from shared.app.topic import Topic
    from shared.notify.dispatch import Deliverer
    from shared.storage.base import Store
    from shared.zaptec.client import ZaptecClient

__all__ = [
    "APP_ROOT",
    "KEY_VAULT_REFERENCE",
    "App",
    "AppSettingsView",
    "Consumer",
    "Consumers",
    "config_from_env",
    "from_env",
    "open_local",
]

APP_ROOT = Path(__file__).resolve().parents[2]  # beside function_app.py


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Consumer(Protocol):
    """What a consumer of our topic offers (tickets, finance, the outage ledger)."""

    def handle(self, event: dict[str, Any]) -> None: ...

    def tick(self, now: datetime) -> None: ...


@dataclass
class Consumers:
    """The consumers of one unit of work, sharing one deliverer."""

    deliverer: Deliverer
    tickets: Consumer
    finance: Consumer
    uptime: Consumer


@dataclass
class App:
    """Everything a use case needs besides its input."""

    store: Store
    http: httpx.Client
    counters: Counters
    topic: Topic
    env: Mapping[str, str] = field(default_factory=dict)
    settings: AppSettings | None = None
    clock: Callable[[], datetime] = _utcnow
    sleep: Callable[[float], None] = time.sleep  # holding a failed message (consume)
    data_clock: bool = False  # time is the newest input's (replay), not the wall clock
    zaptec_factory: Callable[[Config, Store], ZaptecClient] | None = None
    lookups: bool = True  # ask Zaptec about chargers the registry does not know yet
    _config: Config | None = None
    _zaptec: ZaptecClient | None = None
    _templates_tried: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> datetime:
        return self.clock()

    def config(self) -> Config:
        """The YAML configuration (ConfigError until it is valid; then kept)."""
        if self._config is None:
            self._config = config_from_env(self.env)
        return self._config

    def ingest_unit(self, *, data_clock: bool | None = None) -> Ingest:
        """A unit of work for ingest: it needs only the detection rules and the registry.
        The data clock is a replay's; the watchdog also runs one to fire every charger's
        due deadlines in timestamp order (``shared.app.timers.deadlines``)."""
        from shared.app.ingest_unit import Ingest  # noqa: PLC0415
        from shared.registry.view import RegistryView  # noqa: PLC0415

        rules = self.config().detection.rules()
        clock = self.data_clock if data_clock is None else data_clock
        return Ingest(self.store, rules, RegistryView(self.store), data_clock=clock)

    def consumers(self, *, per_message: bool = False) -> Consumers:
        """Tickets, finance and the outage ledger over one deliverer. ``per_message``: a
        Service Bus consumer sends each event's notices at once and raises unless all
        were delivered (the message comes back); otherwise sends are batched."""
        from shared.adapters.http import Sender  # noqa: PLC0415
        from shared.consumers.finance.consumer import FinanceConsumer  # noqa: PLC0415
        from shared.consumers.finance.ledger import Ledger  # noqa: PLC0415
        from shared.consumers.finance.sites import SiteResolver  # noqa: PLC0415
        from shared.consumers.tickets.consumer import (  # noqa: PLC0415
            TicketsConsumer,
            log_backlog,
        )
        from shared.consumers.tickets.repo import AlertRepo, SilenceRepo  # noqa: PLC0415
        from shared.consumers.tickets.silences import with_stored  # noqa: PLC0415
        from shared.consumers.tickets.template_trial import try_templates  # noqa: PLC0415
        from shared.consumers.uptime.ledger import OutageLedger, OutageRecorder  # noqa: PLC0415
        from shared.events.log import EventLog  # noqa: PLC0415
        from shared.notify.dispatch import Deliverer  # noqa: PLC0415
        from shared.notify.outbox import DeliveryLog  # noqa: PLC0415
        from shared.notify.targets import build_targets  # noqa: PLC0415
        from shared.registry.view import RegistryView  # noqa: PLC0415

        if not self._templates_tried:  # once per worker: ConfigError before any send
            try_templates(self.config())
            self._templates_tried = True
        store = self.store
        # silences added by command live in the state: read per unit of work, no redeploy
        config = with_stored(self.config(), SilenceRepo(store).all())
        deliverer = Deliverer(config, build_targets(config), DeliveryLog(store), Sender(self.http))
        backlog = log_backlog(EventLog(store)) if self.data_clock else None
        tickets = TicketsConsumer(
            config, AlertRepo(store), deliverer, backlog=backlog, strict=per_message
        )
        sites = SiteResolver(config.finance, RegistryView(store))
        finance = FinanceConsumer(Ledger(store, config.finance, sites), deliverer)
        uptime = OutageRecorder(OutageLedger(store))
        return Consumers(deliverer, tickets, finance, uptime)

    def zaptec(self) -> ZaptecClient | None:
        """The Zaptec API client, one per process (it keeps the login token); None when
        the config has no Zaptec credentials or lookups are off."""
        config = self.config()
        if not (self.lookups and config.zaptec.username and config.zaptec.password):
            return None
        with self._lock:
            if self._zaptec is None:
                if self.zaptec_factory is not None:
                    self._zaptec = self.zaptec_factory(config, self.store)
                else:
                    from shared.zaptec.client import ZaptecClient  # noqa: PLC0415

                    self._zaptec = ZaptecClient(config.zaptec, self.store)
            return self._zaptec

    def close(self) -> None:
        self.http.close()
        self.store.close()


KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("


class AppSettingsView(Mapping[str, str]):
    """App settings as the configuration reads them: a Key Vault reference the platform
    could not resolve (the secret is not written yet, or the app's identity may not read
    it) arrives as its literal ``@Microsoft.KeyVault(…)`` text; reading one is a
    ConfigError naming the setting, never a secret that is silently wrong."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def __getitem__(self, name: str) -> str:
        value = self._env[name]
        if value.lstrip().startswith(KEY_VAULT_REFERENCE):
            raise ConfigError(
                f"app setting {name} is an unresolved Key Vault reference: write the secret "
                "(deploy.sh does) and let the app's identity read it; chargeops tries again "
                "on the next message"
            )
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)


def config_from_env(
    env: Mapping[str, str], *, out: Path | None = None, needs: Collection[str] | None = None
) -> Config:
    """The one resolver: ``CHARGEOPS_CONFIG`` (inline YAML), else ``CHARGEOPS_CONFIG_PATH``
    (a relative path is taken from the app root, beside function_app.py, in Azure and on
    the command line alike), else the built-in default: every event to ``OUT/outbox/``
    (the temp directory when there is no OUT). Unresolved Key Vault references refuse."""
    env = AppSettingsView(env)
    if env.get("CHARGEOPS_CONFIG"):
        # Inline YAML names its template files relative to the app, as a path setting does.
        return load_config(text=env["CHARGEOPS_CONFIG"], env=env, needs=needs, folder=APP_ROOT)
    if env.get("CHARGEOPS_CONFIG_PATH"):
        path = Path(env["CHARGEOPS_CONFIG_PATH"])
        return load_config(path if path.is_absolute() else APP_ROOT / path, env=env, needs=needs)
    return default_config(out or Path(tempfile.gettempdir()) / "chargeops")


def http_client() -> httpx.Client:
    import httpx  # noqa: PLC0415

    from shared.adapters.deadline import deadline_transport  # noqa: PLC0415

    return httpx.Client(
        headers={"user-agent": "chargeops"},
        follow_redirects=False,
        transport=deadline_transport(),  # a target's timeout bounds the whole answer
    )


def open_local(
    config: Config, store: Store, *, data_clock: bool = True, http: httpx.Client | None = None
) -> App:
    """The App on this machine, for ``chargeops replay`` (data clock) and the commands that
    deliver (``reconcile``: wall clock): the event log is the topic."""
    from shared.adapters.telemetry import Counters  # noqa: PLC0415
    from shared.app.topic import LocalTopic  # noqa: PLC0415

    return App(
        store=store,
        http=http or http_client(),
        counters=Counters(),
        topic=LocalTopic(),
        data_clock=data_clock,
        lookups=False,  # a dry run asks Zaptec nothing; `chargeops registry refresh` does
        _config=config,
    )


def state_file(app: App) -> str | None:
    """The SQLite file of a local App's state, which another process can open beside this
    one (``shared.app.beside``); None for a state in memory or in Table Storage."""
    from shared.storage.sqlite import SqliteStore  # noqa: PLC0415

    store = app.store
    if isinstance(store, SqliteStore) and store.location != ":memory:":
        return store.location
    return None


def open_beside(config: Config, location: str) -> App:
    """``open_local`` on a connection of its own to the state file ``location``."""
    from shared.storage.sqlite import SqliteStore  # noqa: PLC0415

    return open_local(config, SqliteStore(location))


def from_env(env: Mapping[str, str]) -> App:
    """The App as the function app's settings describe it (see docs/azure.md)."""
    from shared.adapters.app_settings import AppSettings, bus_target  # noqa: PLC0415
    from shared.adapters.servicebus import open_client  # noqa: PLC0415
    from shared.adapters.telemetry import Counters, setup  # noqa: PLC0415
    from shared.app.topic import ServiceBusTopic  # noqa: PLC0415
    from shared.events.log import EventLog  # noqa: PLC0415
    from shared.storage.factory import open_store  # noqa: PLC0415

    setup(env)
    settings = AppSettings.from_env(env)
    store = open_store("table", env)
    return App(
        store=store,
        http=http_client(),
        counters=Counters(),
        topic=ServiceBusTopic(
            EventLog(store), lambda: open_client(bus_target(env)).get_topic_sender(settings.topic)
        ),
        env=env,
        settings=settings,
    )

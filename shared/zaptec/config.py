"""Config section ``zaptec``: API base, credentials and the API budget.

The limits default to what Zaptec documents (zaptec.md "Limits and registry budget") and
are declared here once; every Zaptec call is checked against them before it is sent. They
can be lowered (or, for the simulator, shortened) in the config.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr, field_validator

from shared.config.fields import ConfigModel, Duration, SafeUrl

__all__ = ["Limits", "RateLimit", "Window", "ZaptecConfig"]


class Window(ConfigModel):
    """At most ``requests`` in any ``per`` long interval (a sliding window)."""

    requests: int = Field(ge=1)
    per: Duration

    @field_validator("per")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("per must be longer than 0s")
        return value


class RateLimit(ConfigModel):
    """Zaptec's token bucket per user: ``per_second`` refill, ``burst`` capacity."""

    per_second: float = Field(default=10.0, gt=0)
    burst: int = Field(default=15, ge=1)


def _windows(*pairs: tuple[int, timedelta]) -> list[Window]:
    return [Window(requests=n, per=w) for n, w in pairs]


class Limits(ConfigModel):
    """Documented limits (zaptec.md): one budget per Zaptec user, shared via the store."""

    rate: RateLimit = RateLimit()
    api: list[Window] = Field(default_factory=lambda: _windows((1000, timedelta(minutes=1))))
    lists: list[Window] = Field(
        default_factory=lambda: _windows((30, timedelta(minutes=1)), (150, timedelta(minutes=30)))
    )
    # Our own cap on unknown-charger lookups (they spend the lists budget).
    lookups: list[Window] = Field(default_factory=lambda: _windows((10, timedelta(minutes=30))))
    # ⚠ single source (zaptec.md "Auth"): 1 token request per second per IP.
    token: list[Window] = Field(default_factory=lambda: _windows((1, timedelta(seconds=1))))
    state_cache: Duration = timedelta(seconds=15)
    # Share of every api/lists window that background work (the refresh) leaves unused,
    # so an unknown charger can still be looked up while a big refresh runs.
    reserve: float = Field(default=0.05, ge=0, lt=1)
    # Added to every window and kept off the burst: latency and clock skew between our
    # send time and Zaptec's arrival time must never turn into a 429.
    margin: Duration = timedelta(seconds=1)
    burst_margin: int = Field(default=3, ge=0)


class ZaptecConfig(ConfigModel):
    """``zaptec:`` in the YAML config. Only ``username``/``password`` are needed to refresh."""

    api_base: SafeUrl = "https://api.zaptec.com"
    username: str | None = None
    password: SecretStr | None = None
    user_group_id: str | None = None  # messaging connection details check
    installation_id: str | None = None  # the deprecated per-installation details
    page_size: int = Field(default=100, ge=1, le=100)
    refresh_interval: Duration = timedelta(hours=1)
    run_limit: Duration = timedelta(minutes=9)  # inside host.json functionTimeout (10 min)
    timeout: Duration = timedelta(seconds=30)
    circuits: bool = False  # fetch hierarchies of new/changed sites for circuit names
    removal_checks: int = Field(default=50, ge=0)
    lookup_negative_ttl: Duration = timedelta(hours=1)
    interactive_max_wait: Duration = timedelta(seconds=30)
    messaging_idle_alert: Duration = timedelta(days=10)  # Zaptec removes it at 14 days
    attempts: int = Field(default=6, ge=1, le=20)  # per call: 429, 5xx, token 503
    backoff: Duration = timedelta(seconds=1)
    max_backoff: Duration = timedelta(minutes=5)
    limits: Limits = Limits()

    @field_validator("api_base")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        """One spelling: paths are joined as ``f"{api_base}/oauth/token"`` and the shared
        budget is keyed by ``api_base``, so ``…com/`` and ``…com`` must be the same."""
        return url.rstrip("/")

    def secret(self) -> str:
        """The password in clear, for the token request only."""
        return self.password.get_secret_value() if self.password else ""

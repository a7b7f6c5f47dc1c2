"""Config section ``finance``: OCPI party, tariffs per site, locations, cost allocation,
token pseudonymisation, carbon factors and the EOSVOLT history client.

Money and rates are ``Decimal`` read from their text (never through float), so
``energy_per_kwh: "0.30"`` and ``energy_per_kwh: 0.30`` both mean exactly 0.30.
Unknown keys are errors: a misspelt tariff key must not silently price at zero.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from shared.config.fields import (
    WEEKDAYS,
    Clock,
    ConfigModel,
    Duration,
    SafeUrl,
    TimeZone,
    Weekday,
)

__all__ = [
    "WEEKDAYS",
    "Allocation",
    "AllocationConfig",
    "CarbonConfig",
    "EmissionFactor",
    "EosvoltConfig",
    "FinanceConfig",
    "Location",
    "Tariff",
    "TimeOfUse",
    "instant",
    "minor_units",
]

# ISO 4217 minor units that differ from the usual 2 (the rest of the world uses cents).
_MINOR_UNITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    "CLF": 4,
    "UYW": 4,
}


# IEC 61851 / IEC 62196 ceilings: 1-phase 32 A x 230 V, 3-phase 63 A x 400 V, DC 400 kW.
_MAX_POWER_KW = {
    "AC_1_PHASE": Decimal("7.4"),
    "AC_2_PHASE": Decimal("14.7"),
    "AC_2_PHASE_SPLIT": Decimal("14.7"),
    "AC_3_PHASE": Decimal("43.6"),
    "DC": Decimal(400),
}


def _span(t: Tariff) -> str:
    start = t.valid_from.isoformat() if t.valid_from else "the beginning"
    end = t.valid_to.isoformat() if t.valid_to else "open end"
    return f"{start} - {end}"


def _tariff_key(key: str, tariff: Tariff) -> str:
    if tariff.id:
        return tariff.id
    if tariff.valid_from is not None:
        return f"{key[:25]}-{tariff.valid_from:%Y%m%d}"
    return key


def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit (ISO 4217; 2 unless listed)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError('a number is expected, e.g. "0.30"')
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _non_negative(value: Any) -> Decimal:
    number = _decimal(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _rate(value: Any) -> Decimal:
    number = _non_negative(value)
    if number >= 1:
        raise ValueError('a fraction below 1 is expected, e.g. "0.25" for 25 %')
    return number


Amount = Annotated[Decimal, BeforeValidator(_non_negative)]
Rate = Annotated[Decimal, BeforeValidator(_rate)]


class TimeOfUse(ConfigModel):
    """A price that applies on given weekdays between two local times (site's time zone).

    ``end`` before ``start`` wraps past midnight; ``start == end`` is the whole day. The
    weekday is that of the local time being priced.
    """

    name: str = Field(min_length=1, max_length=36)
    start: Clock = time(0)
    end: Clock = None
    days: list[Weekday] | None = None
    energy_per_kwh: Price

    def contains(self, weekday: int, at: time) -> bool:
        """True when a local instant (weekday 0=Monday, wall time) falls in this period."""
        if self.days is not None and WEEKDAYS[weekday] not in self.days:
            return False
        start, end = self.start or time(0), self.end
        if end is None:
            return at >= start
        if start == end:
            return True
        if start < end:
            return start <= at < end
        return at >= start or at < end


def instant(value: Any) -> datetime | None:
    """A tariff validity bound: an RFC 3339 time (a naive one is UTC) or a date (its UTC
    midnight); None stays None (open)."""
    if value is None or isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f'not a date or RFC 3339 time: {value!r}, e.g. "2026-05-01"') from None
    else:
        raise ValueError(f'not a date or RFC 3339 time: {value!r}, e.g. "2026-05-01"')
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


Instant = Annotated[datetime | None, BeforeValidator(instant)]
# Prices reach OCPI receivers as numbers with at most 4 decimals (types.asciidoc).
Price = Annotated[Decimal, BeforeValidator(_non_negative), Field(decimal_places=4)]


class Tariff(ConfigModel):
    """An operator tariff: energy price, optional session fee and time-of-use prices.

    ``valid_from``/``valid_to`` bound when it is in force (by the session's start:
    OCPI prices a CDR with the tariffs "as they were at the start of the charging
    session"); ``id`` is its OCPI ``tariff_id`` (default: the key, plus the start date
    for a dated version)."""

    id: str | None = Field(default=None, min_length=1, max_length=36, pattern=r"^[A-Za-z0-9*._-]+$")
    valid_from: Instant = None
    valid_to: Instant = None
    energy_per_kwh: Price
    vat_rate: Rate = Decimal(0)
    session_fee: Amount = Decimal(0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    time_of_use: list[TimeOfUse] = Field(default_factory=list)

    def in_force(self, at: datetime) -> bool:
        """True when a session starting at ``at`` is priced by this tariff."""
        return (self.valid_from is None or self.valid_from <= at) and (
            self.valid_to is None or at < self.valid_to
        )

    @model_validator(mode="after")
    def _ordered(self) -> Tariff:
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self

    @field_validator("time_of_use")
    @classmethod
    def _unique_names(cls, periods: list[TimeOfUse]) -> list[TimeOfUse]:
        names = [p.name for p in periods]
        if len(set(names)) != len(names):
            raise ValueError("time_of_use names must be unique")
        return periods


def _entry_kind(value: Any) -> str:
    return "<tariff history>" if isinstance(value, list) else "<tariff>"


# One tariff, or a site's tariff history. The tags name the branch in pydantic's error
# locations; the config loader leaves ``<…>`` out, so errors name the keys as written.
TariffEntry = Annotated[
    Annotated[Tariff, Tag("<tariff>")] | Annotated[list[Tariff], Tag("<tariff history>")],
    Discriminator(_entry_kind),
]


class Coordinates(ConfigModel):
    latitude: str = Field(pattern=r"^-?[0-9]{1,2}\.[0-9]{5,7}$")
    longitude: str = Field(pattern=r"^-?[0-9]{1,3}\.[0-9]{5,7}$")


class Location(ConfigModel):
    """What the OCPI ``cdr_location`` needs that the charger registry does not hold."""

    name: str | None = Field(default=None, max_length=255)
    address: str | None = Field(default=None, max_length=45)
    city: str | None = Field(default=None, max_length=45)
    postal_code: str | None = Field(default=None, max_length=10)
    state: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")  # ISO 3166 alpha-3
    coordinates: Coordinates | None = None
    time_zone: TimeZone | None = None  # overrides the registry's zone for this site
    connector_standard: str = "IEC_62196_T2"
    connector_format: Literal["SOCKET", "CABLE"] = "SOCKET"
    power_type: Literal["AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"] = (
        "AC_3_PHASE"
    )


class Allocation(ConfigModel):
    """Who pays: cost centre, tenant, employee reference (any may be empty)."""

    cost_centre: str | None = None
    tenant: str | None = None
    employee_ref: str | None = None
    contract_id: str | None = Field(default=None, max_length=36)


class AllocationConfig(ConfigModel):
    tokens: dict[str, Allocation] = Field(default_factory=dict)  # raw token -> allocation
    default: Allocation = Allocation(cost_centre="UNALLOCATED")

    def lookup(self, token: str | None) -> tuple[Allocation, bool]:
        """The allocation for a token (case-insensitive) and whether the map knew it."""
        if token:
            wanted = token.strip().casefold()
            for key, allocation in self.tokens.items():
                if key.strip().casefold() == wanted:
                    return allocation, True
        return self.default, False


class EmissionFactor(ConfigModel):
    g_per_kwh: Amount
    source: str = Field(min_length=1)
    method: str = Field(min_length=1)  # e.g. location-based, market-based, residual mix
    year: int | None = None


class CarbonConfig(ConfigModel):
    sites: dict[str, EmissionFactor] = Field(default_factory=dict)
    countries: dict[str, EmissionFactor] = Field(default_factory=dict)  # alpha-2 or alpha-3


class EosvoltConfig(ConfigModel):
    """EOSVOLT v1 REST API (finance.md "EOSVOLT"; route and fields of the export ⚠)."""

    environment: Literal["production", "staging"] = "production"
    base_url: SafeUrl | None = None  # overrides environment (e.g. a local test server)
    token: str | None = None
    version: str = Field(default="v1", pattern=r"^v\d+$")
    sessions_path: str = "sessions/export"
    pagination: Literal["page", "offset"] = "page"
    page_size: int = Field(default=100, ge=1, le=1000)
    from_param: str = "from"
    to_param: str = "to"
    timeout: Duration = timedelta(seconds=30)
    attempts: int = Field(default=5, ge=1, le=20)
    backoff: Duration = timedelta(seconds=1)
    max_backoff: Duration = timedelta(seconds=60)
    max_pages: int = Field(default=10_000, ge=1)

    def root(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/") + "/"
        if self.environment == "staging":
            return "https://api-staging.eosvolt.com/"
        return "https://api.eosvolt.com/"


class FinanceConfig(ConfigModel):
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    country_code: str = Field(default="NO", min_length=2, max_length=2)
    party_id: str = Field(default="CPO", min_length=3, max_length=3)
    # site id or "default": one tariff, or its history (versions with valid_from/valid_to)
    tariffs: dict[str, TariffEntry] = Field(default_factory=dict)
    locations: dict[str, Location] = Field(default_factory=dict)  # site id or "default"
    default_time_zone: TimeZone = "UTC"  # when neither the registry nor locations know the zone
    allocation: AllocationConfig = AllocationConfig()
    pseudonymise_tokens: bool = True
    token_hash_key: str | None = None  # HMAC key; set it from the environment: ${NAME}
    carbon: CarbonConfig = CarbonConfig()
    energy_basis: Literal["signed", "session"] = "signed"
    energy_tolerance_kwh: Amount = Decimal("0.01")
    minor_units: int | None = Field(default=None, ge=0, le=4)
    billing_register: str = Field(default="1-0:1.8.0", min_length=3, max_length=40)  # OBIS
    meter_keys: dict[str, str] = Field(default_factory=dict)  # meter serial -> public key
    max_power_kw: dict[str, Amount] = Field(default_factory=dict)  # power type -> kW
    match_lookback: Duration = timedelta(days=3)
    time_tolerance: Duration = timedelta(minutes=2)
    eosvolt: EosvoltConfig = EosvoltConfig()

    @field_validator("country_code", "party_id")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _fees_in_minor_units(self) -> FinanceConfig:
        """A fee finer than the currency's minor unit would make the totals unrounded."""
        for key, tariff in self._versions():
            currency = tariff.currency or self.currency
            places = self.minor_units if self.minor_units is not None else minor_units(currency)
            if tariff.session_fee != tariff.session_fee.quantize(Decimal(1).scaleb(-places)):
                raise ValueError(
                    f"tariffs.{key}.session_fee: {tariff.session_fee} is finer than the "
                    f"{currency} minor unit ({places} decimals)"
                )
        return self

    @model_validator(mode="after")
    def _history_is_contiguous(self) -> FinanceConfig:
        """A site's tariff versions must follow each other without overlap or gap: a
        session must never have two prices, nor fall between two tariffs."""
        for key, entry in self.tariffs.items():
            if not isinstance(entry, list):
                continue
            if not entry:
                raise ValueError(f"tariffs.{key}: an empty list; give at least one tariff")
            ordered = sorted(entry, key=lambda t: t.valid_from or datetime.min.replace(tzinfo=UTC))
            for a, b in itertools.pairwise(ordered):
                if a.valid_to is None or b.valid_from is None or a.valid_to > b.valid_from:
                    raise ValueError(
                        f"tariffs.{key}: versions overlap ({_span(a)} and {_span(b)}); each "
                        "needs valid_to equal to the next one's valid_from"
                    )
                if a.valid_to < b.valid_from:
                    raise ValueError(
                        f"tariffs.{key}: a gap between {_span(a)} and {_span(b)}; set "
                        "valid_to equal to the next one's valid_from"
                    )
            ids = [t.id for t in entry if t.id]
            if len(set(ids)) != len(ids):
                raise ValueError(f"tariffs.{key}: tariff ids must be unique")
        return self

    def _versions(self) -> list[tuple[str, Tariff]]:
        found: list[tuple[str, Tariff]] = []
        for key, entry in self.tariffs.items():
            if isinstance(entry, list):
                found.extend((f"{key}[{i}]", t) for i, t in enumerate(entry))
            else:
                found.append((key, entry))
        return found

    def tariff_for(
        self, site_id: str | None, at: datetime | None = None
    ) -> tuple[str, Tariff] | None:
        """The tariff in force at ``at`` (the session's start; None: any version, the
        newest) for the site, else ``default``, else None (records are then unpriced).

        The key returned is the OCPI tariff id: the tariff's ``id``, else the config key,
        plus ``-<valid_from date>`` for a dated version."""
        for key in (site_id, "default"):
            if key is None or key not in self.tariffs:
                continue
            entry = self.tariffs[key]
            versions = entry if isinstance(entry, list) else [entry]
            chosen = [t for t in versions if at is None or t.in_force(at)]
            if chosen:
                tariff = max(chosen, key=lambda t: t.valid_from or datetime.min.replace(tzinfo=UTC))
                return _tariff_key(key, tariff), tariff
        return None

    def max_power(self, power_type: str) -> Decimal:
        """The most a connector of this power type can deliver (kW), for plausibility."""
        return self.max_power_kw.get(power_type, _MAX_POWER_KW.get(power_type, Decimal(400)))

    def location_for(self, site_id: str | None) -> Location:
        for key in (site_id, "default"):
            if key is not None and key in self.locations:
                return self.locations[key]
        return Location()

    def places(self, currency: str) -> int:
        return self.minor_units if self.minor_units is not None else minor_units(currency)

"""Zaptec API simulator: pages, documented limits with 429 + Retry-After, token expiry.

A dev tool for tests, benches and the local demo, not part of the deployed app. It
implements what chargeops uses (zaptec.md "REST endpoints"): the password grant,
``/api/installation`` and ``/api/chargers`` lists (PageSize default 50, max 100;
NameFilter; IncludeDisabled), single objects, hierarchies, ``/state`` (cached 15 s),
``/api/chargehistory`` and the messaging connection details. Its limits are enforced, not
just declared: a per-user token bucket (10/s, burst 15), 1000/min, the lists' 30/min and
150/30 min, and 1 token request/s, each answered with 429 and ``Retry-After`` when
exceeded. Tests can inject 503s on the token endpoint, forced 429s, revoked tokens, field
drift and fleet changes. A request arriving before a Retry-After it was given has passed
counts as ``early`` (Zaptec cuts such clients off).

Fleet file (JSON; also what ``simulators.traffic.Fleet.as_json`` writes)::

    {"installations": [{"Id", "Name", "TimeZoneIanaName", "Active",
                        "Circuits": [{"Id", "Name", "MaxCurrent"}],      # optional
                        "chargers": [{"Id", "DeviceId", "Name", "DeviceType",
                                      "InstallationId", "CircuitId", "Active", "IsOnline"}]}]}

Run: ``python -m simulators.zaptec_api --port 8765 --chargers 2000 --seed 7`` (or
``--fleet FILE``); any username/password is accepted unless ``--username/--password``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

__all__ = ["SimLimits", "VirtualClock", "ZaptecSimulator", "generate_fleet", "main"]

ZONES = ("Europe/Oslo", "Europe/Stockholm", "Europe/Copenhagen", "Europe/Helsinki")
PREFIXES = (("ZAP", 4), ("GPN", 4), ("ZCS", 1), ("ZPR", 1))
Reply = tuple[int, dict[str, str], bytes]
_BAD_LOGIN = "The user name or password is incorrect."


class VirtualClock:
    """Shared fake time: ``sleep`` advances it, so a bench spans hours in seconds."""

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self._now, self._lock = start, threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)


class _WallClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class SimLimits:
    rate_per_second: float = 10.0
    burst: int = 15
    api: list[tuple[int, float]] = field(default_factory=lambda: [(1000, 60.0)])
    lists: list[tuple[int, float]] = field(default_factory=lambda: [(30, 60.0), (150, 1800.0)])
    token: list[tuple[int, float]] = field(default_factory=lambda: [(1, 1.0)])
    state_cache: float = 15.0
    token_ttl: float = 86399.0
    page_default: int = 50
    page_max: int = 100


def _gid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate_fleet(chargers: int, seed: int = 0, per_site: int = 10) -> dict[str, Any]:
    """A seeded fleet in the fleet-file format: sites of ``per_site`` chargers each."""
    rng = random.Random(seed)
    sites: list[dict[str, Any]] = []
    for index in range(chargers):
        if index % per_site == 0:
            kind = rng.choice(("Garage", "Office", "Borettslag", "Depot"))
            circuits = [{"Id": _gid(rng), "Name": f"Circuit {n + 1}"} for n in range(2)]
            site: dict[str, Any] = {"Id": _gid(rng), "Name": f"Site {len(sites) + 1:04d} {kind}"}
            site.update(TimeZoneIanaName=ZONES[len(sites) % 4], Active=True, Circuits=circuits)
            site["chargers"] = []
            sites.append(site)
        site, (prefix, device_type) = sites[-1], rng.choice(PREFIXES)
        n = len(site["chargers"])
        site["chargers"].append(
            {"Id": _gid(rng), "DeviceId": f"{prefix}{100000 + index:06d}",
             "Name": f"Charger {n + 1}", "DeviceType": device_type, "InstallationId": site["Id"],
             "CircuitId": site["Circuits"][n % 2]["Id"], "Active": True,
             "IsOnline": rng.random() > 0.05}
        )  # fmt: skip
    return {"installations": sites}


class _Windows:
    """Sliding-window logs: accepted request times per key."""

    def __init__(self) -> None:
        self.log: dict[str, list[float]] = {}

    def retry_after(self, key: str, limits: list[tuple[int, float]], now: float) -> float:
        times = self.log.setdefault(key, [])
        longest = max((w for _, w in limits), default=0.0)
        times[:] = [t for t in times if t > now - longest]
        wait = 0.0
        for n, window in limits:
            inside = [t for t in times if t > now - window]
            if len(inside) >= n:
                wait = max(wait, inside[len(inside) - n] + window - now)
        return wait

    def add(self, key: str, now: float) -> None:
        self.log.setdefault(key, []).append(now)


class ZaptecSimulator:
    """The API state and rules; ``handle`` is transport-agnostic (HTTP server or mock)."""

    def __init__(
        self,
        fleet: dict[str, Any],
        *,
        limits: SimLimits | None = None,
        clock: Any = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.limits, self.clock = limits or SimLimits(), clock or _WallClock()
        self.username, self.password = username, password
        self.installations: dict[str, dict[str, Any]] = {}
        self.chargers: dict[str, dict[str, Any]] = {}
        for inst in fleet.get("installations", []):
            site = {k: v for k, v in inst.items() if k != "chargers"}
            site.setdefault(
                "Circuits",
                [{"Id": str(uuid.uuid5(uuid.NAMESPACE_URL, site["Id"])), "Name": "Main"}],
            )
            self.installations[site["Id"]] = site
            for charger in inst.get("chargers", []):
                self.add_charger({"InstallationId": site["Id"], **charger})
        self.messaging = {
            "Type": 0, "Host": "zap-p-installations-sbus.servicebus.windows.net", "Port": 5671,
            "UseSSL": True, "Username": "installations-listen", "Password": "c2VjcmV0LWtleS0x",
            "Topic": "zaptec-installations", "Subscription": "default",
        }  # fmt: skip
        self.omit_fields: set[str] = set()
        self.tokens: dict[str, tuple[str, float]] = {}
        self.stats: dict[str, int] = {"requests": 0, "throttled": 0, "early": 0, "logins": 0}
        self.calls: dict[str, int] = {}
        self.state_calls: dict[str, list[float]] = {}
        self._lock = threading.RLock()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._windows = _Windows()
        self._retry_at: dict[str, float] = {}
        self._fail_token = 0
        self._force: list[float] = []
        self._state_cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    # -- fleet and fault controls ------------------------------------------------------

    def add_charger(self, item: dict[str, Any]) -> None:
        site = self.installations.get(item.get("InstallationId", ""))
        if site is not None and not item.get("CircuitId"):
            item = {**item, "CircuitId": site["Circuits"][0]["Id"]}
        self.chargers[item["Id"]] = {"Active": True, "IsOnline": True, **item}

    def remove_charger(self, charger_id: str) -> None:
        with self._lock:
            self.chargers.pop(charger_id, None)

    def fail_token_requests(self, count: int) -> None:
        """The next ``count`` token requests answer 503 (zaptec.md: transient 503s)."""
        self._fail_token = count

    def throttle_next(self, count: int, retry_after: float) -> None:
        """The next ``count`` API requests answer 429 with this Retry-After."""
        self._force.extend([retry_after] * count)

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    # -- transports --------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            status, headers, body = self.handle(
                request.method, request.url.path, dict(request.url.params), dict(request.headers),
                request.read(),
            )  # fmt: skip
            return httpx.Response(status, headers=headers, content=body)

        return httpx.MockTransport(handler)

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve on a real socket in a thread; yields the base URL."""
        server = ThreadingHTTPServer((host, port), _handler_for(self))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://{host}:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()

    # -- request handling --------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Reply:
        with self._lock:
            self.stats["requests"] += 1
            now = self.clock.now()
            path = path.rstrip("/")
            if path == "/oauth/token" and method == "POST":
                return self._token(body, now)
            auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
            user = self._user(auth.removeprefix("Bearer ").strip(), now)
            if user is None:
                return _json(401, {"Message": "Authorization has been denied for this request."})
            lists = method == "GET" and path.lower() in ("/api/chargers", "/api/installation")
            throttled = self._throttle(user, lists, now)
            if throttled is not None:
                return throttled
            name = path if lists else _shape(path)
            self.calls[name] = self.calls.get(name, 0) + 1
            return self._route(method, path, {k.lower(): v for k, v in query.items()}, now)

    def _token(self, body: bytes, now: float) -> Reply:
        wait = self._windows.retry_after("token", self.limits.token, now)
        if wait > 0:
            return self._too_many("token", wait, now)
        self._windows.add("token", now)
        if self._fail_token > 0:
            self._fail_token -= 1
            return 503, {"content-type": "text/plain"}, b"Service Unavailable"
        form = dict(parse_qsl(body.decode()))
        user, secret = form.get("username", ""), form.get("password", "")
        good = bool(form.get("grant_type") == "password" and user and secret)
        if self.username is not None:
            good = good and user == self.username and secret == self.password
        if not good:
            return _json(400, {"error": "invalid_grant", "error_description": _BAD_LOGIN})
        token = uuid.uuid4().hex
        self.tokens[token] = (user, now + self.limits.token_ttl)
        self.stats["logins"] += 1
        ttl = int(self.limits.token_ttl)
        return _json(200, {"access_token": token, "token_type": "Bearer", "expires_in": ttl})

    def _user(self, token: str, now: float) -> str | None:
        found = self.tokens.get(token)
        return found[0] if found and found[1] > now else None

    def _throttle(self, user: str, lists: bool, now: float) -> Reply | None:
        for cls in ("api", "lists") if lists else ("api",):
            if now < self._retry_at.get(f"{user}|{cls}", 0.0):
                self.stats["early"] += 1
        if self._force:
            return self._too_many(f"{user}|{'lists' if lists else 'api'}", self._force.pop(0), now)
        level, at = self._buckets.get(user, (float(self.limits.burst), now))
        level = min(float(self.limits.burst), level + (now - at) * self.limits.rate_per_second)
        if level < 1.0:
            return self._too_many(f"{user}|api", (1.0 - level) / self.limits.rate_per_second, now)
        wait = self._windows.retry_after(f"{user}|api", self.limits.api, now)
        if wait > 0:
            return self._too_many(f"{user}|api", wait, now)
        if lists:
            wait = self._windows.retry_after(f"{user}|lists", self.limits.lists, now)
            if wait > 0:
                return self._too_many(f"{user}|lists", wait, now)
            self._windows.add(f"{user}|lists", now)
        self._buckets[user] = (level - 1.0, now)
        self._windows.add(f"{user}|api", now)
        return None

    def _too_many(self, key: str, wait: float, now: float) -> Reply:
        seconds = max(1, math.ceil(wait))
        self._retry_at[key] = max(self._retry_at.get(key, 0.0), now + seconds)
        self.stats["throttled"] += 1
        return (
            429,
            {"retry-after": str(seconds), "content-type": "application/json"},
            b'{"Message":"Too many requests"}',
        )

    def _route(self, method: str, path: str, q: dict[str, str], now: float) -> Reply:
        parts = path.strip("/").split("/")[1:] if path.startswith("/api/") else []
        if method != "GET" or not parts:
            return _json(404, {"Message": "No HTTP resource was found."})
        head, rest = parts[0].lower(), parts[1:]
        if head == "installation" and not rest:
            return self._page(list(self.installations.values()), q)
        if head == "installation" and len(rest) == 1:
            return self._one(self.installations.get(rest[0]), _public_site)
        if head == "installation" and rest[1:] == ["hierarchy"]:
            return self._one(self.installations.get(rest[0]), self._hierarchy)
        if head in ("installation", "usergroups") and rest[1:] == ["messagingConnectionDetails"]:
            return _json(200, self.messaging)
        if head == "chargers" and not rest:
            return self._chargers(q)
        if head == "chargers" and len(rest) == 1:
            return self._one(self.chargers.get(rest[0]), self._charger_item)
        if head == "chargers" and rest[1:] == ["state"]:
            return self._state(rest[0], now)
        if head == "chargehistory":
            return self._history(q)
        return _json(404, {"Message": "No HTTP resource was found."})

    def _page(self, items: list[Any], q: dict[str, str], shape: Any = None) -> Reply:
        size = min(self.limits.page_max, max(1, int(q.get("pagesize") or self.limits.page_default)))
        index = max(0, int(q.get("pageindex") or 0))
        pages = max(1, math.ceil(len(items) / size)) if items else 0
        data = items[index * size : (index + 1) * size]
        return _json(200, {"Pages": pages, "Data": [shape(i) for i in data] if shape else data})

    def _chargers(self, q: dict[str, str]) -> Reply:
        items = list(self.chargers.values())
        if q.get("includedisabled", "false").lower() != "true":
            items = [c for c in items if c.get("Active")]
        needle = q.get("namefilter", "").lower()
        if needle:
            items = [
                c for c in items if needle in f"{c.get('Name', '')}|{c.get('DeviceId', '')}".lower()
            ]
        return self._page(items, q, self._charger_item)

    def _charger_item(self, c: dict[str, Any]) -> dict[str, Any]:
        item = {k: v for k, v in c.items() if k not in self.omit_fields}
        return {
            **item,
            "OperatingMode": 1,
            "SignedMeterValueKwh": 1234.5,
            "FieldFromTheFuture": {"x": 1},
        }

    def _hierarchy(self, site: dict[str, Any]) -> dict[str, Any]:
        circuits = []
        for circuit in site["Circuits"]:
            members = [c for c in self.chargers.values() if c.get("CircuitId") == circuit["Id"]]
            keep = ("Id", "DeviceId", "Name", "Active", "DeviceType")
            circuits.append({**circuit, "Chargers": [{k: c.get(k) for k in keep} for c in members]})
        return {"Id": site["Id"], "Name": site["Name"], "NetworkType": 4, "Circuits": circuits}

    def _one(self, obj: dict[str, Any] | None, shape: Any) -> Reply:
        if obj is None:
            return _json(404, {"errorCode": 512, "message": "Object not found."})
        return _json(200, shape(obj))

    def _state(self, charger_id: str, now: float) -> Reply:
        if charger_id not in self.chargers:
            return _json(404, {"errorCode": 512, "message": "Charger not found."})
        self.state_calls.setdefault(charger_id, []).append(now)
        cached = self._state_cache.get(charger_id)
        if cached is None or now - cached[0] >= self.limits.state_cache:
            stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
            online = "1" if self.chargers[charger_id].get("IsOnline") else "0"
            rows = [(-2, online), (710, "1"), (-1, None), (804, "0")]
            snap = [
                {"ChargerId": charger_id, "StateId": s, "Timestamp": stamp, "ValueAsString": v}
                for s, v in rows
            ]
            cached = self._state_cache[charger_id] = (now, snap)
        return _json(200, cached[1])

    def _history(self, q: dict[str, str]) -> Reply:
        start = datetime.fromisoformat(q.get("from", "2026-01-01T00:00:00").replace("Z", "+00:00"))
        end = datetime.fromisoformat(q.get("to", "2026-01-02T00:00:00").replace("Z", "+00:00"))
        rows: list[dict[str, Any]] = []
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end:
            for n, c in enumerate(sorted(self.chargers.values(), key=lambda c: c["Id"])):
                begin = day + timedelta(hours=8 + n % 10)
                if (n + day.toordinal()) % 3 == 0 and start <= begin < end:
                    rows.append(_session(c, begin))
            day += timedelta(days=1)
        return self._page(rows, q)

    # -- conveniences for tests ----------------------------------------------------------

    def list_calls(self) -> int:
        return self.calls.get("/api/chargers", 0) + self.calls.get("/api/installation", 0)


def _session(c: dict[str, Any], begin: datetime) -> dict[str, Any]:
    end = begin + timedelta(hours=2)
    return {
        "Id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{c['Id']}|{begin.isoformat()}")),
        "DeviceId": c.get("DeviceId"), "ChargerId": c["Id"], "DeviceName": c.get("Name"),
        "StartDateTime": begin.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "EndDateTime": end.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "Energy": 11.5, "ExternallyEnded": False, "SignedSession": None,
    }  # fmt: skip


def _public_site(site: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in site.items() if k != "Circuits"}


def _shape(path: str) -> str:
    """``/api/chargers/<id>/state`` -> ``/api/chargers/{id}/state`` for call counts."""
    parts = path.split("/")
    return "/".join("{id}" if len(p) >= 32 or p.isdigit() else p for p in parts)


def _json(status: int, body: Any) -> Reply:
    return status, {"content-type": "application/json"}, json.dumps(body).encode()


def _handler_for(sim: ZaptecSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            status, headers, payload = sim.handle(
                self.command, url.path, dict(parse_qsl(url.query)), dict(self.headers), body
            )
            self.send_response(status)
            for name, value in {**headers, "content-length": str(len(payload))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve  # noqa: N815 - http.server's naming

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests and benches read counters instead."""

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.zaptec_api", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=8765)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--fleet", type=Path, help="fleet JSON file (format in the module doc)")
    source.add_argument("--chargers", type=int, default=200, help="generate this many chargers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-site", type=int, default=10)
    parser.add_argument("--write-fleet", type=Path, help="also write the fleet to this file")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--token-ttl", type=float, default=86399.0)
    args = parser.parse_args(argv)
    fleet = (
        json.loads(args.fleet.read_text("utf-8"))
        if args.fleet
        else generate_fleet(args.chargers, args.seed, args.per_site)
    )
    if args.write_fleet:
        args.write_fleet.write_text(json.dumps(fleet, indent=1), "utf-8")
    sim = ZaptecSimulator(
        fleet,
        limits=SimLimits(token_ttl=args.token_ttl),
        username=args.username,
        password=args.password,
    )
    with sim.serve(port=args.port) as url:
        sites, chargers = len(sim.installations), len(sim.chargers)
        print(f"Zaptec API simulator on {url}: {sites} sites, {chargers} chargers", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

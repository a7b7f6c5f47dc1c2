"""Config section ``ocpi``: the Sender interface chargeops serves (versions, credentials,
CDRs). Party identity (``country_code``, ``party_id``) is the finance section's, so the
CDRs we serve and the credentials we present name the same CPO.

```yaml
ocpi:
  registration_token: ${OCPI_TOKEN_A}   # CREDENTIALS_TOKEN_A, given to the peer out of band
  base_url: https://chargeops.example.com/api   # where /ocpi/... is reachable from outside
  business_name: Example Charging
```
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from shared.config.fields import ConfigModel, Duration, SafeUrl

__all__ = ["OcpiConfig"]


class OcpiConfig(ConfigModel):
    # CREDENTIALS_TOKEN_A: lets one peer read versions and register (POST credentials);
    # refused once that peer has registered. None: registration closed.
    registration_token: str | None = Field(default=None, min_length=16, max_length=64)
    # Public base of the API (the function app's https://…/api, or serve's address):
    # versions, endpoints and Link headers name absolute URLs built on it. None: taken
    # from each request's own scheme and host.
    base_url: SafeUrl | None = None
    business_name: str = Field(default="chargeops", min_length=1, max_length=100)
    website: SafeUrl | None = None
    # Most CDRs one page holds (X-Limit); a larger ``limit`` asked for is cut to it.
    page_limit: int = Field(default=100, ge=1, le=1000)
    # How long the credentials handshake waits for the peer's versions endpoints.
    peer_timeout: Duration = timedelta(seconds=10)

    @field_validator("registration_token")
    @classmethod
    def _ascii(cls, token: str | None) -> str | None:
        if token is not None and not (token.isascii() and token.isprintable()):
            raise ValueError("the registration token must be printable ASCII (OCPI string(64))")
        return token

    @field_validator("base_url")
    @classmethod
    def _no_slash(cls, url: str | None) -> str | None:
        return url.rstrip("/") if url else url

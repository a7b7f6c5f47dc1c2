"""Values target settings take that need checking beyond their type: Standard Webhooks
secrets and the links a page carries. Beside ``config.py``, which uses them."""

from __future__ import annotations

import base64
import binascii

from pydantic import field_validator

from shared.config.fields import ConfigModel, is_safe_url

__all__ = ["LINK_FIELDS", "MIN_WEBHOOK_KEY", "Link", "check_link", "check_webhook_secret"]

MIN_WEBHOOK_KEY = 24  # bytes; Standard Webhooks: whsec_ + base64 of 24..64 random bytes


def check_webhook_secret(secret: str) -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of at least 24 bytes. Anything else
    would sign with bytes no standard verifier derives from it, so it is refused here
    (the message never repeats the secret)."""
    if not secret.startswith("whsec_"):
        raise ValueError("a webhook secret must start with whsec_ (Standard Webhooks)")
    try:
        key = base64.b64decode(secret[6:], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the part after whsec_ is not valid base64") from None
    if len(key) < MIN_WEBHOOK_KEY:
        raise ValueError(
            f"the secret is {len(key)} bytes; Standard Webhooks needs at least "
            f"{MIN_WEBHOOK_KEY} (e.g. whsec_ + base64 of 32 random bytes)"
        )
    return secret


class Link(ConfigModel):
    """A link shown with a page (PagerDuty ``links``): ``href`` may name ``{charger_id}``,
    ``{serial}`` or ``{site_id}``, filled in per alert."""

    href: str
    text: str = ""

    @field_validator("href")
    @classmethod
    def _placeholders(cls, href: str) -> str:
        check_link(href)
        return href


LINK_FIELDS = ("charger_id", "serial", "site_id")


def check_link(href: str) -> None:
    """Only the known placeholders, and a safe URL once they are filled in."""
    try:
        filled = href.format(**dict.fromkeys(LINK_FIELDS, "x"))
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"{href!r}: placeholders are {{charger_id}}, {{serial}}, {{site_id}} ({exc})"
        ) from None
    if not is_safe_url(filled):
        raise ValueError(f"{href!r}: links need https://")

"""Config section ``zaptec`` (API base and credentials)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ZaptecConfig"]


class ZaptecConfig(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    api_base: str = "https://api.zaptec.com"
    username: str | None = None
    password: str | None = None

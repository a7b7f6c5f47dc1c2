"""This worker process's ``App`` (``shared.app.compose``): built from the app settings on
first use, never at import, so ``import function_app`` stays fast; shared by every
invocation of the worker."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.app.compose import App

__all__ = ["current", "install", "uninstall"]

_current: App | None = None
_build_lock = threading.Lock()


def current() -> App:
    """This worker's App, built from the app settings on first use."""
    global _current  # noqa: PLW0603 - one per worker process, by design
    if _current is None:
        with _build_lock:
            if _current is None:
                from shared.app.compose import from_env  # noqa: PLC0415

                _current = from_env(dict(os.environ))
    return _current


def install(app: App) -> None:
    """Use ``app`` instead of building one from app settings (tests, local hosting)."""
    global _current  # noqa: PLW0603
    _current = app


def uninstall() -> None:
    global _current  # noqa: PLW0603
    _current = None

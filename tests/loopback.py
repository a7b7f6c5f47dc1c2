"""A real HTTP server on 127.0.0.1 (a free port) for the length of a ``with`` block:
the stand-in for vendors, billing systems and receivers in tests and benches."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["serving"]


@contextmanager
def serving(
    handler: type[BaseHTTPRequestHandler],
    server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer,
    poll: float = 0.05,
    **attributes: Any,
) -> Iterator[str]:
    """Serve ``handler`` in a thread; ``attributes`` are set on the server (handlers read
    them as ``self.server.<name>``). Yields the base URL."""
    server = server_class(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    for name, value in attributes.items():
        setattr(server, name, value)
    thread = threading.Thread(target=server.serve_forever, args=(poll,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

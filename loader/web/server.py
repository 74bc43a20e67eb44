"""
``bulkload serve``: bind the socket first (a port in use is a message, exit 2), print the
URL, run uvicorn with no access log (a first visit's URL carries the token), and on
Ctrl-C stop the runs as Ctrl-C stops the CLI's. ``serving`` runs the same server in a
thread for a block (browser tests, the benchmark). [I/O: a socket]
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn

from loader.errors import ConfigError
from loader.run.runner import Wiring
from loader.web.app import create_app
from loader.web.options import ServeOptions


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one)."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(128)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="choose another --port (or --host)",
        ) from exc
    return listener


def _server(options: ServeOptions, wiring: Wiring | None) -> uvicorn.Server:
    """uvicorn for the page: no access log, no server header, a bounded shutdown."""
    config = uvicorn.Config(
        create_app(options, wiring),
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=5,
        limit_concurrency=100,
    )
    return uvicorn.Server(config)


def serve(options: ServeOptions, announce: Callable[[str], None]) -> None:
    """Serve the page until Ctrl-C; ``announce`` gets the URL to open."""
    listener = bind(options.host, options.port)
    announce(options.url(listener.getsockname()[1]))
    _server(options, None).run(sockets=[listener])


@contextmanager
def serving(options: ServeOptions, wiring: Wiring | None = None) -> Iterator[str]:
    """The page on ``options.host`` and a free port, in a thread, for the block; its URL."""
    listener = bind(options.host, 0)
    server = _server(options, wiring)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="bulkload-page", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the page's server did not start")
        time.sleep(0.01)
    try:
        yield options.url(listener.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(15)
        listener.close()

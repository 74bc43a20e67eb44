"""Running the simulator on loopback: in a background thread (tests, demo) or in the foreground."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from loader.sim.app import create_app, new_state
from loader.sim.config import SimConfig
from loader.sim.state import SimState

HOST = "127.0.0.1"


@dataclass
class RunningSim:
    """A started simulator: where it listens and what it holds."""

    url: str
    state: SimState
    config: SimConfig


def _server(config: SimConfig, port: int) -> tuple[uvicorn.Server, SimState]:
    """A uvicorn server for the app; h11, so that injected resets reach the transport."""
    state = new_state(config)
    app = create_app(config, state)
    uvicorn_config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        http="h11",
        log_level="critical",
        access_log=False,
        lifespan="off",
        date_header=False,  # the app dates its answers by the simulated wall clock
    )
    return uvicorn.Server(uvicorn_config), state


@contextmanager
def running_simulator(config: SimConfig | None = None, port: int = 0) -> Iterator[RunningSim]:
    """Serve the simulator on a free loopback port in a thread for the block's duration."""
    config = config or SimConfig()
    server, state = _server(config, port)
    thread = threading.Thread(target=server.run, name="vias-sim", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the simulator did not start")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningSim(f"http://{HOST}:{bound}", state, config)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def serve_forever(config: SimConfig, port: int) -> None:
    """Serve in the foreground until interrupted (``bulkload simulate``)."""
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    server, _ = _server(config, port)
    server.run()

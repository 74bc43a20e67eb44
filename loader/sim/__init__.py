"""The simulated VIAS server: the embedded default of ``demo``, the peer of integration tests."""

from __future__ import annotations

from loader.sim.app import create_app
from loader.sim.config import FAULTS, MUTATION_FAULTS, SimConfig
from loader.sim.server import RunningSim, running_simulator, serve_forever
from loader.sim.state import SimState

__all__ = [
    "FAULTS",
    "MUTATION_FAULTS",
    "RunningSim",
    "SimConfig",
    "SimState",
    "create_app",
    "running_simulator",
    "serve_forever",
]

"""What ``bulkload demo`` says of registration: what the simulator holds, by name."""

from __future__ import annotations

import pytest

from loader.commands import demo
from loader.sim import RunningSim, SimConfig
from loader.sim.app import new_state
from loader.sim.registry import SimGroup


def test_the_demo_shows_what_the_simulator_registered(capsys: pytest.CaptureFixture[str]) -> None:
    """Each registered group with its members' names, after the server's counts."""
    config = SimConfig()
    state = new_state(config)
    group = state.registry.create_group(
        {"video_group_name": "bulkload", "access_type": "cloud"}, 1.0
    )
    assert isinstance(group, SimGroup)
    for n in (1, 2):
        body = {
            "video_source_name": f"Demo Street {n}",
            "access_type": "cloud",
            "type": "url",
            "type_config": "<xml/>",
            "video_group_ids": [group.id],
        }
        state.registry.create_source(body, 1.0, set())

    demo.show_registered(RunningSim("http://127.0.0.1:1", state, config))

    assert capsys.readouterr().err.splitlines() == [
        "simulator: 2 video sources and 1 group registered",
        "  group bulkload: Demo Street 1, Demo Street 2",
    ]

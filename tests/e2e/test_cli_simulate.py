"""``bulkload simulate``'s flags: each registration option reaches the simulator's
configuration, and the banner says which are in force."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import loader.sim
from loader.cli import app
from loader.sim import SimConfig

runner = CliRunner()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[SimConfig, int]]:
    """The configurations ``simulate`` would serve, instead of serving them."""
    seen: list[tuple[SimConfig, int]] = []
    monkeypatch.setattr(loader.sim, "serve_forever", lambda c, p: seen.append((c, p)))
    return seen


def test_registration_flags_reach_the_simulator(served: list[tuple[SimConfig, int]]) -> None:
    """--registered-only, both quotas, --unique-group-names and --type-config-format zh
    configure the simulator as asked; the banner names them."""
    result = runner.invoke(
        app,
        [
            "simulate",
            "--port=9001",
            "--registered-only",
            "--source-quota=40",
            "--group-quota=3",
            "--unique-group-names",
            "--type-config-format=zh",
        ],
    )
    (config, port), *_ = served

    assert (
        port,
        config.registered_only,
        config.source_quota,
        config.group_quota,
        config.unique_group_names,
        config.type_config_formats,
    ) == (9001, True, 40, 3, True, frozenset({"zh"}))
    assert result.stderr.splitlines()[1] == (
        "  quotas: 40 video sources, 3 groups; type_config: zh; unique group names;"
        " batch tasks need registered sources"
    )


def test_without_registration_flags_the_simulator_keeps_its_defaults(
    served: list[tuple[SimConfig, int]],
) -> None:
    """No flag: the console manual's 5,000 sources, 1,000 groups, both XML formats, names
    not unique and tasks created for sources nobody registered, as before the flags."""
    runner.invoke(app, ["simulate"])
    (config, port), *_ = served

    assert (
        port,
        config.registered_only,
        config.source_quota,
        config.group_quota,
        config.unique_group_names,
        config.type_config_formats,
    ) == (8080, False, 5000, 1000, False, frozenset({"sdk", "zh"}))


def test_an_unknown_type_config_format_is_refused(served: list[tuple[SimConfig, int]]) -> None:
    """--type-config-format xml: a usage error (exit 2) naming the three choices; nothing
    served."""
    result = runner.invoke(app, ["simulate", "--type-config-format=xml"])

    assert (result.exit_code, "sdk" in result.stderr, served) == (2, True, [])

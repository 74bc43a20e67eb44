"""
``bulkload simulate``: its flags made into a ``SimConfig`` (the registration options of
issue 23 among them: quotas, group name uniqueness, the ``type_config`` formats taken,
batch tasks refused for unregistered sources), then the simulator served on the loopback.
``cli.py`` registers the command; the simulator is imported only when it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loader.commands import flags, parsing
from loader.commands.flags import TypeConfigFormat
from loader.commands.terminal import err, guarded

if TYPE_CHECKING:
    from loader.sim import SimConfig

FORMATS = {
    TypeConfigFormat.SDK: frozenset({"sdk"}),
    TypeConfigFormat.ZH: frozenset({"zh"}),
    TypeConfigFormat.BOTH: frozenset({"sdk", "zh"}),
}


def simulate(
    port: flags.SimPortOpt = 8080,
    rate: flags.SimRateOpt = None,
    latency: flags.SimLatencyOpt = 0.0,
    fault: flags.SimFaultOpt = None,
    lag: flags.SimLagOpt = 0.0,
    seed: flags.SimSeedOpt = 0,
    registered_only: flags.RegisteredOnlyOpt = False,
    source_quota: flags.SourceQuotaOpt = None,
    group_quota: flags.GroupQuotaOpt = None,
    unique_group_names: flags.UniqueGroupNamesOpt = False,
    type_config_format: flags.TypeConfigFormatOpt = TypeConfigFormat.BOTH,
) -> None:
    """Serve the simulated VIAS API on 127.0.0.1 (token: sim-token; IAM: sim-user/sim-password)."""
    config = guarded(
        lambda: sim_config(
            rate=rate,
            latency=latency,
            fault=fault or [],
            lag=lag,
            seed=seed,
            registered_only=registered_only,
            source_quota=source_quota,
            group_quota=group_quota,
            unique_group_names=unique_group_names,
            type_config_format=type_config_format,
        )
    )
    serve(config, port)


def sim_config(
    *,
    rate: float | None,
    latency: float,
    fault: list[str],
    lag: float,
    seed: int,
    registered_only: bool = False,
    source_quota: int | None = None,
    group_quota: int | None = None,
    unique_group_names: bool = False,
    type_config_format: TypeConfigFormat = TypeConfigFormat.BOTH,
) -> SimConfig:
    """The simulator's configuration from the command's flags (a quota not given: the
    simulator's default); a misspelt fault is a ConfigError."""
    from loader.sim import SimConfig

    return SimConfig(
        rate=rate,
        latency=latency,
        faults=parsing.faults(fault),
        list_lag=lag,
        seed=seed,
        registered_only=registered_only,
        unique_group_names=unique_group_names,
        type_config_formats=FORMATS[type_config_format],
        source_quota=SimConfig.source_quota if source_quota is None else source_quota,
        group_quota=SimConfig.group_quota if group_quota is None else group_quota,
    )


def serve(config: SimConfig, port: int) -> None:
    """Announce the simulator, with its registration options, and serve until Ctrl-C."""
    from loader.sim import serve_forever

    err().print(
        f"simulated VIAS on http://127.0.0.1:{port}  project {config.project_id}  (Ctrl-C stops)"
    )
    err().print(sim_line(config), highlight=False, soft_wrap=True)
    serve_forever(config, port)


def sim_line(config: SimConfig) -> str:
    """The registration options in force, in a line (quotas, formats, strictness)."""
    formats = " and ".join(sorted(config.type_config_formats))
    return (
        f"  quotas: {config.source_quota:,} video sources, {config.group_quota:,} groups;"
        f" type_config: {formats}"
        + ("; unique group names" if config.unique_group_names else "")
        + ("; batch tasks need registered sources" if config.registered_only else "")
    )

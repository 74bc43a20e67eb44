"""
How the simulated VIAS API behaves: one plain config object, its defaults named here.

Faults apply to ``POST .../batch-tasks`` (the call that must never create a task twice):
``5xx-before`` (500, nothing created), ``5xx-after`` (created, then 500), ``reset-before``
(connection dropped, nothing created), ``commit-reset`` (created, then dropped), ``slow``
(created, answered after ``slow_seconds``), ``slow-commit`` (created, then 500 as for
``5xx-after``, and the batch shows in list calls only ``slow_commit_seconds`` later), ``429``
(refused as throttled). They are drawn from ``fault_sequence`` for the first creates
(``"none"`` is a create without a fault), then at random by ``faults`` probabilities.

Mutation faults apply to the calls that change what exists (UpdateTask, DeleteTask,
StartStopTask, UpdateBatchTask, DeleteBatchTask, BatchStartStopTask), drawn the same way
from ``mutation_fault_sequence`` then ``mutation_faults`` (apart from the create faults, so
a create's fault never moves): ``5xx-before`` (500 VIAS.00010006, nothing changed),
``5xx-after`` (changed, then 500), ``reset-before`` (connection dropped, nothing changed),
``commit-reset`` (changed, then dropped), ``429`` (throttled as the gateway does, nothing
changed), ``slow`` (changed, answered after ``slow_seconds``). A call the service refuses
(400, or 500 VIAS.00010012) answers its refusal whatever fault was drawn "after" it.

Registration faults apply to the calls that register or change a video source or group
(Create/Update/DeleteVideoSource, Create/Update/DeleteVideoGroup), drawn from
``registration_fault_sequence`` then ``registration_faults``, apart from the other two
draws: the kinds of the mutation faults, with the same meaning (a create's ``5xx-after``
and ``commit-reset`` leave the source or group created). ``registered_only`` refuses a batch
task (an ``error_list`` entry, as an unknown source) whose source is not registered in its
group; off by default, so that bodies naming sources and groups nobody registered keep
creating tasks as before. ``source_quota`` is the console manual's default (5,000);
``group_quota`` has no published default (ours: 1,000).

Task states move on ``SimState.clock``: PENDING, STARTING ``starting_after`` s after the
create or start, then RUNNING (or START_FAILED for ``start_fail_percent`` of the sources,
and every time for ``always_fail_sources``) at ``running_after``; sources in
``abnormal_sources`` turn ABNORMAL ``abnormal_after`` s after RUNNING. A stop shows STOPPING
for ``stopping_after`` s, then STOPPED; a delete shows DELETING for ``deleting_after`` s,
then the task is gone.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

FAULTS = ("5xx-before", "5xx-after", "reset-before", "commit-reset", "slow", "slow-commit", "429")
MUTATION_FAULTS = ("5xx-before", "5xx-after", "reset-before", "commit-reset", "429", "slow")
# The research notes find both spellings of the throttling code in Huawei's pages.
THROTTLE_CODES = ("APIG.0308", "APIGW.0308")
MAX_BODY_BYTES = 12 * 1024 * 1024  # "Request body over 12 MB: 413 APIG.0201"; MB read as MiB
DEFAULT_ACCESS_KEYS = {"SIMAK0000000000000001": "sim-secret-key-0123456789abcdef"}
# CreateVideoGroupDto: video_group_name is 1..20 of Chinese, a-z, A-Z and 0-9.
GROUP_NAME = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9]{1,20}")


@dataclass
class SimConfig:
    """How the simulated API behaves."""

    project_id: str = "sim-project"
    rate: float | None = None  # requests per second before a throttling answer (None: unlimited)
    throttle_code: str = "APIG.0308"  # or "APIGW.0308"
    retry_after: str | None = "seconds"  # None, "seconds" or "date" on 429 answers
    retry_after_seconds: float = 1.0
    app_quota: int | None = None  # API calls admitted before every further one gets APIGW.0501
    max_body_bytes: int = MAX_BODY_BYTES  # larger bodies get 413 APIG.0201
    faults: dict[str, float] = field(default_factory=dict)
    fault_sequence: list[str] = field(default_factory=list)
    seed: int = 0
    slow_seconds: float = 3.0
    slow_commit_seconds: float = 5.0  # a slow-commit batch is missing from lists this long
    latency: float = 0.0  # seconds every API answer takes
    list_lag: float = 0.0  # seconds before a created batch shows in list calls
    list_failures: float = 0.0  # share of ListBatchTasks calls answered 500
    unique_names: bool = True  # a second create with a used name is refused (VIAS.00010011)
    refuse_services: frozenset[str] = frozenset()  # bodies naming these get 400 VIAS.00010001
    iam_user: str = "sim-user"
    iam_password: str = "sim-password"
    iam_domain: str = "sim-domain"
    static_tokens: frozenset[str] = frozenset({"sim-token"})
    token_uses: int | None = None  # a token expires after this many API calls
    access_keys: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ACCESS_KEYS))
    security_tokens: dict[str, str] = field(default_factory=dict)  # temporary AK -> its token
    wall_clock: Callable[[], float] = time.time  # the gateway's clock for X-Sdk-Date (epoch s)
    unknown_sources: frozenset[str] = frozenset()
    anonymous_errors: bool = False  # error_list entries that do not name the source
    source_names: dict[str, str] = field(default_factory=dict)  # video source id -> name
    start_fail_percent: int = 5
    starting_after: float = 0.5
    running_after: float = 1.5
    always_fail_sources: frozenset[str] = frozenset()  # fail to start after every start too
    abnormal_sources: frozenset[str] = frozenset()  # go ABNORMAL abnormal_after s after RUNNING
    abnormal_after: float = 3.0
    stopping_after: float = 1.0  # STOPPING this long, then STOPPED
    deleting_after: float = 1.0  # DELETING this long, then gone
    group_names: dict[str, str] = field(default_factory=dict)  # group id -> its name
    mutation_faults: dict[str, float] = field(default_factory=dict)
    mutation_fault_sequence: list[str] = field(default_factory=list)
    registration_faults: dict[str, float] = field(default_factory=dict)
    registration_fault_sequence: list[str] = field(default_factory=list)
    registered_only: bool = False  # batch tasks need their source registered in the group
    source_quota: int = 5000  # ListVideoSources' quota_number; creates past it: VIAS.0010047
    group_quota: int = 1000  # ListVideoGroups' quota_number (no default is published)
    unique_group_names: bool = False  # a used group name refused (VIAS.00010003); undocumented
    type_config_formats: frozenset[str] = frozenset({"sdk", "zh"})  # XML formats taken

    def __post_init__(self) -> None:
        """Refuse a misspelt fault or code here, not as a silent no-op mid-test."""
        if self.throttle_code not in THROTTLE_CODES:
            raise ValueError(f"throttle_code must be one of {THROTTLE_CODES}")
        unknown = (set(self.faults) | set(self.fault_sequence)) - {*FAULTS, "none"}
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; kinds: {', '.join(FAULTS)}")
        unknown = (set(self.mutation_faults) | set(self.mutation_fault_sequence)) - {
            *MUTATION_FAULTS,
            "none",
        }
        if unknown:
            raise ValueError(
                f"unknown mutation faults {sorted(unknown)}; kinds: {', '.join(MUTATION_FAULTS)}"
            )
        unknown = (set(self.registration_faults) | set(self.registration_fault_sequence)) - {
            *MUTATION_FAULTS,
            "none",
        }
        if unknown:
            raise ValueError(
                f"unknown registration faults {sorted(unknown)};"
                f" kinds: {', '.join(MUTATION_FAULTS)}"
            )
        if not self.type_config_formats or self.type_config_formats - {"sdk", "zh"}:
            raise ValueError("type_config_formats takes sdk, zh or both")
        unfit = sorted(g for g, name in self.group_names.items() if not GROUP_NAME.fullmatch(name))
        if unfit:
            raise ValueError(
                f"group_names of {unfit} are no VIAS group names (1-20 of Chinese, a-z, A-Z, 0-9)"
            )
        missing = set(self.security_tokens) - set(self.access_keys)
        if missing:
            raise ValueError(f"security_tokens names access keys with no secret: {sorted(missing)}")

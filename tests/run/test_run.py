"""Whole runs against the simulated VIAS server on loopback: counted at the server."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from loader.run.options import RunOptions
from loader.run.runner import resume_run, start_run
from loader.send.credentials import Credentials
from loader.sim import SimConfig, running_simulator
from tests.conftest import write_inventory

IAM = {"iam_user": "sim-user", "iam_password": "sim-password-9f8e", "iam_domain": "sim-domain"}


def settings_for(url: str, folder: Path, **overrides: object) -> RunOptions:
    """RunOptions pointing at the simulator, with the test mapping and a fixed run dir."""
    values: dict[str, object] = {
        "mapping": str(folder / "flat-test.toml"),
        "endpoint": url,
        "project_id": "sim-project",
        "run_dir": folder / "run",
        "credentials": Credentials(token="sim-token"),
        "rate": 50.0,
        "timeout": 1.0,
        "settle": 0.3,
    }
    values.update(overrides)
    return RunOptions.of(**values)


def expected_cameras(groups: int, per_group: int) -> Counter[tuple[str, str]]:
    return Counter(
        {
            (f"grp-{g:05d}", f"cam-{g:05d}-{n:03d}"): 1
            for g in range(groups)
            for n in range(per_group)
        }
    )


def busiest_second(times: list[float]) -> int:
    """The most requests that arrived within any one-second window."""
    ordered = sorted(times)
    return max(
        (sum(1 for t in ordered if start <= t < start + 1.0) for start in ordered), default=0
    )


@pytest.mark.slow
def test_every_camera_once_under_every_fault(tmp_path: Path) -> None:
    """5xx before/after commit, resets before/after, slow answers, lagging lists: 0 lost, 0 twice."""
    sheet = write_inventory(tmp_path, groups=1500, per_group=2)
    config = SimConfig(
        faults={
            "5xx-before": 0.1,
            "5xx-after": 0.1,
            "reset-before": 0.1,
            "commit-reset": 0.1,
            "slow": 0.05,
        },
        slow_seconds=1.5,
        list_lag=0.2,
        seed=11,
    )

    with running_simulator(config) as sim:
        report = start_run(sheet, settings_for(sim.url, tmp_path))
        counts = sim.state.task_counts()

    assert (counts, report.exit_code, report.counts["accepted"]) == (
        expected_cameras(1500, 2),
        0,
        15,
    )
    assert report.retries > 0


@pytest.mark.slow
def test_rate_limit_holds_in_every_second(tmp_path: Path) -> None:
    """At --rate 8, no one-second window at the server holds more than 8 requests."""
    sheet = write_inventory(tmp_path, groups=2400, per_group=1)

    with running_simulator(SimConfig(latency=0.05)) as sim:
        report = start_run(sheet, settings_for(sim.url, tmp_path, rate=8.0))
        arrivals = [t for t, method, _, _ in sim.state.requests]

    # 24 creates (a load lists no task: a change finds the ids it needs), under the rate
    assert (report.exit_code, len(arrivals), busiest_second(arrivals)) == (0, 24, 8)


@pytest.mark.slow
def test_throttling_server_with_retry_after_dates(tmp_path: Path) -> None:
    """A server slower than --rate answers 429 with HTTP-date Retry-After; all land once."""
    sheet = write_inventory(tmp_path, groups=1000, per_group=1)
    config = SimConfig(rate=4, retry_after="date", retry_after_seconds=1)

    with running_simulator(config) as sim:
        report = start_run(sheet, settings_for(sim.url, tmp_path, rate=20.0))
        refused = sum(1 for *_, status in sim.state.requests if status == 429)
        counts = sim.state.task_counts()

    assert (counts, report.exit_code) == (expected_cameras(1000, 1), 0)
    assert refused > 0


@pytest.mark.slow
def test_batch_already_created_by_an_earlier_run_is_found_not_duplicated(tmp_path: Path) -> None:
    """Without the first run's ledger, the same payloads: names exist, lookups find them."""
    sheet = write_inventory(tmp_path, groups=150, per_group=1)

    with running_simulator() as sim:
        start_run(sheet, settings_for(sim.url, tmp_path))
        other_ledger = tmp_path / "elsewhere" / "ledger.sqlite"
        again = start_run(
            sheet, settings_for(sim.url, tmp_path, run_dir=tmp_path / "run2", ledger=other_ledger)
        )
        counts = sim.state.task_counts()

    assert (counts, again.exit_code, again.counts["accepted"]) == (expected_cameras(150, 1), 0, 2)


@pytest.mark.slow
def test_token_expiring_mid_run_is_renewed_through_iam(tmp_path: Path) -> None:
    """Each token lasts 3 calls: IAM is asked again on every 401; the run completes."""
    sheet = write_inventory(tmp_path, groups=800, per_group=1)
    config = SimConfig(token_uses=3, iam_password=IAM["iam_password"])

    with running_simulator(config) as sim:
        credentials = Credentials(iam_url=sim.url, **IAM)
        report = start_run(sheet, settings_for(sim.url, tmp_path, credentials=credentials))
        counts = sim.state.task_counts()

    assert (counts, report.exit_code) == (expected_cameras(800, 1), 0)


@pytest.mark.slow
def test_expired_fixed_token_stops_resumably_then_resume_finishes(tmp_path: Path) -> None:
    """A given token that expires: exit 3 with nothing lost; resume with IAM completes."""
    sheet = write_inventory(tmp_path, groups=600, per_group=1)
    config = SimConfig(token_uses=2, iam_password=IAM["iam_password"])

    with running_simulator(config) as sim:
        first = start_run(sheet, settings_for(sim.url, tmp_path, concurrency=1))
        credentials = Credentials(iam_url=sim.url, **IAM)
        second = resume_run(
            tmp_path / "run", settings_for(sim.url, tmp_path, credentials=credentials)
        )
        counts = sim.state.task_counts()

    assert (first.exit_code, first.counts["accepted"], first.stop_reason[:29]) == (
        3,
        2,
        "the API refused the run: 401 ",
    )
    assert (second.exit_code, counts) == (0, expected_cameras(600, 1))


@pytest.mark.slow
def test_unknown_sources_fail_inside_a_200(tmp_path: Path) -> None:
    """Cameras the API does not know: the batch is accepted, failed_count counted, exit 1."""
    sheet = write_inventory(tmp_path, groups=10, per_group=3)
    config = SimConfig(unknown_sources=frozenset({"cam-00002-001", "cam-00007-000"}))

    with running_simulator(config) as sim:
        report = start_run(sheet, settings_for(sim.url, tmp_path))

    batch = next(iter(report.state.batches.values()))
    assert (report.exit_code, batch.total, batch.failed, len(batch.error_list)) == (1, 30, 2, 2)


@pytest.mark.slow
def test_secrets_never_reach_files_or_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """IAM password, tokens and webhook header values appear nowhere in the run directory."""
    sheet = write_inventory(tmp_path, groups=300, per_group=1)
    mapping = (
        (tmp_path / "flat-test.toml")
        .read_text()
        .replace(
            "event_center = true",
            'webhook_url = "https://hooks.example/vias"\nwebhook_headers = { Authorization = "Bearer ${HOOK_SECRET}" }',
        )
    )
    (tmp_path / "flat-test.toml").write_text(mapping)
    hook_secret = "hook-value-77aa"
    config = SimConfig(
        token_uses=2, iam_password=IAM["iam_password"], faults={"5xx-after": 0.3}, seed=2
    )

    with running_simulator(config) as sim:
        settings = settings_for(
            sim.url,
            tmp_path,
            credentials=Credentials(iam_url=sim.url, **IAM),
            environment={"HOOK_SECRET": hook_secret},
        )
        report = start_run(sheet, settings)
        tokens = list(sim.state.issued)
        sent_headers = [b.webhook_headers for b in sim.state.batches.values()]

    secrets = [IAM["iam_password"], hook_secret, *tokens]
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    written = b"".join(p.read_bytes() for p in files)
    captured = capsys.readouterr()
    assert report.exit_code == 0
    assert len(tokens) >= 2
    assert sent_headers == [{"Authorization": f"Bearer {hook_secret}"}] * 3
    assert [s for s in secrets if s.encode() in written or s in captured.out + captured.err] == []
    first_payload = sorted((tmp_path / "run" / "payloads").iterdir())[0]
    assert b"Bearer ${HOOK_SECRET}" in first_payload.read_bytes()


@pytest.mark.parametrize(
    ("credentials", "environment", "message"),
    [
        pytest.param(Credentials(), {}, "no credentials", id="no-credentials"),
        pytest.param(
            Credentials(token="sim-token"),
            {},
            "refers to ${HOOK_SECRET}, which is not set",
            id="unset-header-variable",
        ),
    ],
)
def test_missing_secrets_stop_before_a_run_directory_exists(
    tmp_path: Path, credentials: Credentials, environment: dict[str, str], message: str
) -> None:
    """No credentials, or a webhook header variable unset: ConfigError, nothing created."""
    from loader.errors import ConfigError

    sheet = write_inventory(tmp_path, groups=2, per_group=1)
    mapping = (
        (tmp_path / "flat-test.toml")
        .read_text()
        .replace(
            "event_center = true",
            'webhook_url = "https://h/x"\nwebhook_headers = { A = "${HOOK_SECRET}" }',
        )
    )
    (tmp_path / "flat-test.toml").write_text(mapping)
    settings = settings_for(
        "http://127.0.0.1:9", tmp_path, credentials=credentials, environment=environment
    )

    with pytest.raises(ConfigError) as caught:
        start_run(sheet, settings)

    assert (message in caught.value.message, (tmp_path / "run").exists()) == (True, False)

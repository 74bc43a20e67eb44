"""The options a command runs with: typed construction, one set of bounds shared by the
CLI and the page, one ledger path, journals of older versions read back."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from loader.cli import app
from loader.errors import ConfigError
from loader.run.options import LedgerScope, PlanChoices, RunOptions
from loader.send.credentials import Credentials
from loader.web.runs import SendChoices
from loader.web.security import Refused

SAMPLE = Path(__file__).resolve().parents[2] / "sample_sheets" / "site_rollout.xlsx"


@pytest.mark.parametrize(
    ("rate", "said"),
    [
        pytest.param(
            "5000", "rate 5,000 is out of bounds: 0.01 to 1,000 requests per second", id="high"
        ),
        pytest.param(
            "0.001", "rate 0.001 is out of bounds: 0.01 to 1,000 requests per second", id="low"
        ),
    ],
)
def test_the_cli_and_the_page_refuse_a_rate_with_the_same_words(rate: str, said: str) -> None:
    """The same out-of-range rate: the CLI exits 2 and the page answers 400, both saying
    the message ``RunOptions.checked`` makes, before anything is read or sent."""
    cli = CliRunner().invoke(app, ["run", str(SAMPLE), "--rate", rate, "--endpoint", "x"])
    with pytest.raises(Refused) as page:
        SendChoices.from_form({"rate": rate})

    assert (cli.exit_code, said in cli.output, page.value.status, page.value.reason) == (
        2,
        True,
        400,
        said,
    )


def test_a_payload_cap_above_the_default_is_refused_with_its_hint() -> None:
    """--max-payload-bytes may only lower the cap that keeps bodies under the gateway's 12 MB."""
    with pytest.raises(ConfigError) as caught:
        RunOptions.of(max_payload_bytes=20_000_000).checked()

    assert (caught.value.message, "413 APIG.0201" in caught.value.hint) == (
        "max-payload-bytes 20,000,000 is out of bounds: 1,024 to 10,485,760 bytes",
        True,
    )


@pytest.mark.parametrize(
    ("ledger", "run_dir", "expected"),
    [
        pytest.param(None, None, Path("runs/ledger.sqlite"), id="default"),
        pytest.param(None, Path("elsewhere/run-1"), Path("elsewhere/ledger.sqlite"), id="beside"),
        pytest.param(Path("my.sqlite"), Path("elsewhere/run-1"), Path("my.sqlite"), id="given"),
    ],
)
def test_the_ledger_is_resolved_once(
    ledger: Path | None, run_dir: Path | None, expected: Path
) -> None:
    """--ledger, else ledger.sqlite beside the run directory, else runs/ledger.sqlite."""
    options = RunOptions.of(ledger=ledger, run_dir=run_dir, endpoint="http://e", project_id="p")

    assert (options.ledger, options.ledger_scope()) == (
        expected,
        LedgerScope("http://e", "p", expected),
    )


def test_a_journal_of_flat_names_is_read_back_typed() -> None:
    """A journal's flat names (as older versions wrote them) land in their groups; an option
    the journal does not hold keeps the value given here."""
    journaled = {"rate": 3.5, "only": ["failed"], "ledger": "old/ledger.sqlite", "prune": "stop"}

    resumed = RunOptions.of(json=True, timeout=9.0).resumed_from(
        journaled, endpoint="http://e", project_id="p"
    )

    assert (
        resumed.pacing.rate,
        resumed.pacing.timeout,
        resumed.reading.only,
        resumed.ledger,
        resumed.prune,
        resumed.json,
        (resumed.target.endpoint, resumed.target.project_id),
    ) == (
        3.5,
        9.0,
        frozenset({"failed"}),
        Path("old/ledger.sqlite"),
        "stop",
        True,
        ("http://e", "p"),
    )


def test_journaled_options_read_back_the_same() -> None:
    """What a run journals, a resume reads back to equal options."""
    options = RunOptions.of(rate=2.0, concurrency=3, canary=5, only=frozenset({"failed"}))

    resumed = RunOptions.of().resumed_from(options.journaled(), endpoint="", project_id="")

    assert resumed.journaled() == options.journaled()


def test_a_plan_takes_only_its_choices() -> None:
    """The options that shape a plan, and nothing else, reach run.plan."""
    options = RunOptions.of(retry_failed=True, prune="delete", max_payload_bytes=4096, canary=7)

    assert options.plan_choices == PlanChoices(
        retry_failed=True, deleting=True, max_payload_bytes=4096, canary=7
    )


def test_concurrency_means_requests_in_flight() -> None:
    """--concurrency N: N requests in flight, and N + 2 HTTP connections kept open."""
    pacing = RunOptions.of(concurrency=5).pacing
    connection = RunOptions.of(
        concurrency=5, endpoint="http://e", project_id="p", credentials=Credentials(token="t")
    ).connection()

    assert (pacing.concurrency, pacing.connections, connection.connections) == (5, 7, 7)

"""The one fold of a run's events that the terminal's bars and the run's page both render:
what counts as done, and that both views say the same."""

from __future__ import annotations

from loader.state.events import (
    BatchAccepted,
    BatchAmbiguous,
    BatchGaveUp,
    BatchPlanned,
    BatchRejected,
    BatchRetrying,
    BatchSending,
    Event,
    RunStarted,
)
from loader.web.feed import Live, RunFeed
from tests.report.test_progress import _bars, _notes


def test_a_batch_given_up_for_now_is_left_not_done_on_the_bars_and_the_page() -> None:
    """Ctrl-C gives up a batch in doubt and one never sent: resume sends them, so neither
    is done, on the terminal's bars as on the page; one given up for good (the API refused
    the run) is done on both."""
    events: list[Event] = [
        BatchPlanned(batch="b1", cameras=40),
        BatchPlanned(batch="b2", cameras=40),
        BatchPlanned(batch="b3", cameras=40),
        RunStarted(batches=3, cameras=120),
        BatchSending(batch="b1", attempt=1),
        BatchAmbiguous(batch="b1", attempt=1, reason="500", status=500),
        BatchGaveUp(batch="b1", reason="in doubt: interrupted"),
        BatchGaveUp(batch="b2", reason="interrupted"),
    ]
    final = [BatchGaveUp(batch="b3", reason="not sent: no permission", final=True)]
    page = RunFeed()
    for seq, event in enumerate([*events, *final], 1):
        page.apply(seq, 0.0, event)
    shown = page.snapshot(Live(), now=0.0)

    assert _bars(events) == ((0, 3), (0, 120))
    assert _bars([*events, *final]) == ((1, 3), (0, 120))
    assert (shown["done"], shown["gave_up"], shown["refused"]) == (1, 2, 1)


def test_the_terminal_and_the_page_show_the_same_counts() -> None:
    """One fold: after retries, a lost answer found by name and a refusal, the bars and
    the page say the same batches done, cameras accepted, retries and answers lost."""
    events: list[Event] = [
        BatchPlanned(batch="b1", cameras=40),
        BatchPlanned(batch="b2", cameras=30),
        BatchPlanned(batch="b3", cameras=20),
        RunStarted(batches=3, cameras=90),
        BatchSending(batch="b1", attempt=1),
        BatchRetrying(batch="b1", attempt=1, reason="429"),
        BatchSending(batch="b1", attempt=2),
        BatchAccepted(batch="b1", batch_id="i1", total=40, succeeded=40),
        BatchSending(batch="b2", attempt=1),
        BatchAmbiguous(batch="b2", attempt=1, reason="reset", status=0),
        BatchAccepted(batch="b2", batch_id="i2", found_by_lookup=True),
        BatchSending(batch="b3", attempt=1),
        BatchRejected(batch="b3", status=400, code="VIAS.0001", message="bad"),
    ]
    page = RunFeed()
    for seq, event in enumerate(events, 1):
        page.apply(seq, 0.0, event)
    shown = page.snapshot(Live(), now=0.0)
    note, _, _ = _notes(events)

    assert _bars(events) == ((shown["done"], shown["batches"]), (70, 90))
    assert (shown["done"], shown["cameras_accepted"], shown["refused"]) == (3, 70, 1)
    assert f"retries {shown['retried']}  in doubt {shown['in_doubt']}" in note
    assert (shown["retried"], shown["in_doubt"]) == (1, 1)

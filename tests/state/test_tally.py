"""The one fold of a run's events that the terminal's bars and the run's page both render:
what counts as done, and that both views say the same."""

from __future__ import annotations

from loader.state.events import (
    BatchAmbiguous,
    BatchGaveUp,
    BatchPlanned,
    BatchSending,
    Event,
    RunStarted,
)
from loader.web.feed import Live, RunFeed
from tests.report.test_progress import _bars


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

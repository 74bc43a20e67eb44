"""
Creates: the ``Submitter`` settles each batch exactly once, with the settler's rules
(``settle``: workers, the limit in flight, backoff, refusals, give-up and the check of a
lost answer). What is the creates' own (``Creates``):

- The request: CreateBatchTask with the batch's exact bytes; "name exists" (VIAS.00010011)
  is an answer that may mean this batch was created already, verified like a lost one.
- A lost answer is verified by looking the batch up (``Lookups``) over a lookup window
  that covers the list's lag, the read timeout and the batch's size (a big batch may still
  be committing when its answer is lost): found, it is accepted; absent in lookups that
  span the whole window, it is sent again; anything less leaves it in doubt. Each lookup
  is a read of a round (``rounds``) shared by every batch in doubt: one listing for all,
  or by exact name when fewer batches are in doubt than the listing has pages.
- A refusal of the run for good (permissions, project) fails the batches never sent, or
  whose every send provably never arrived: nothing can have been created.

The ``Submitter`` and the run's ``Changer`` share the pass's ``Sender`` (its control's
retry budget covers every piece of work of the run). ``SubmitOptions``, ``RunControl``,
``Sender`` and ``Emit`` are re-exported here for the callers that import them from this
module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from loader.errors import SubmitError
from loader.model.vias import BatchTaskResponse
from loader.send.answers import Outcome
from loader.send.client import ReadFailed, ViasClient
from loader.send.control import RunControl as RunControl
from loader.send.control import Sender as Sender
from loader.send.control import SubmitOptions as SubmitOptions
from loader.send.pacing import Clock
from loader.send.rounds import Rounds
from loader.send.settle import Events, Finding, Settler
from loader.state.events import (
    BatchAbsent,
    BatchAccepted,
    BatchAmbiguous,
    BatchGaveUp,
    BatchLookedUp,
    BatchRejected,
    BatchRetrying,
    BatchSending,
    Event,
    LookupFailed,
)
from loader.state.events import Emit as Emit
from loader.state.runstate import BatchState, BatchStatus

MIN_LOOKUP_STEP: Final = 1.0  # seconds between lookups past the lookup delays, at least
_EPSILON: Final = 1e-6  # clock arithmetic slack when checking that the window has passed


@dataclass
class Job:
    """One batch to settle: its name, exact bytes (secrets resolved) and folded state."""

    name: str
    content: bytes
    state: BatchState


class Submitter(Settler[Job]):
    """Settles batches to create with the pass's ``Sender``; ``run`` returns when all are
    settled or given up."""

    def _kind(self) -> Creates:
        """Batches created."""
        return Creates(self.client, self.clock, self.options)


class Creates:
    """The kind of work of a ``Submitter``: batches created by CreateBatchTask."""

    events = Events(retrying=BatchRetrying, ambiguous=BatchAmbiguous, refused=BatchRejected)

    def __init__(self, client: ViasClient, clock: Clock, options: SubmitOptions) -> None:
        self.client = client
        self.clock = clock
        self.options = options
        self.rounds = Rounds(client, clock.now)  # the lookups every batch in doubt shares

    def key(self, job: Job) -> dict[str, str]:
        """A batch's events name it by its name."""
        return {"batch": job.name}

    def in_doubt(self, job: Job) -> bool:
        """Sent, and neither answered clearly nor looked up absent since."""
        return job.state.status == BatchStatus.IN_DOUBT

    def sending(self, job: Job) -> Event:
        """From here the batch may exist."""
        self.rounds.sent(job.name)
        return BatchSending(batch=job.name, attempt=job.state.attempts + 1)

    async def request(self, job: Job) -> Outcome:
        """POST the batch's exact bytes."""
        return await self.client.create_batch(job.content)

    def accepted(self, job: Job, outcome: Outcome) -> Event:
        """A 200: the API's id, counts and error_list."""
        if outcome.response is None:  # classify accepts a create only with its answer read
            raise ValueError(f"{job.name}: accepted without the API's answer")
        self.rounds.accepted(outcome.response.id)
        return _accepted(job.name, outcome.response, outcome.request_id)

    def moot(self, job: Job, outcome: Outcome) -> bool:
        """A refused create is never what was wanted."""
        return False

    def gave_up(self, job: Job, reason: str, *, final: bool) -> Event:
        """After a refusal for good, a batch that cannot exist fails: nothing is left to resume."""
        if final:
            reason = f"{'not created' if job.state.attempts else 'not sent'}: {reason}"
        return BatchGaveUp(batch=job.name, reason=reason, final=final)

    def verification(self, job: Job, *, lost: bool) -> Lookups:
        """Lookups over the batch's window, whenever the answer was lost; each joins a
        round shared with the other batches in doubt."""
        return Lookups(self.rounds, self.clock, self.options, job)


class Lookups:
    """Looks a batch up, in the pass's shared rounds, until its lookup window has passed.

    Absent only when every lookup that answered found nothing, at least
    ``len(lookup_delays)`` answered, and the last went out after the whole window; a round
    that could not vouch for absence (``Answer.covered``) is not counted as answered.
    """

    def __init__(self, rounds: Rounds, clock: Clock, options: SubmitOptions, job: Job) -> None:
        self.rounds, self.clock, self.job = rounds, clock, job
        self.delays = options.lookup_delays
        slow_commit = options.lookup_window + job.state.cameras * options.window_per_camera
        self.window = max(sum(self.delays), slow_commit)  # lag, read timeout, batch size
        self.began = clock.now()
        self.answered = 0

    def waits(self, backoff: Callable[[int], float]) -> Iterator[float]:
        """The lookup delays, then doubling until the window is spanned; then all again.

        Each wait is told to the rounds first: a round about to leave waits for the batch.
        """
        for wait in lookup_schedule(self.delays, self.window) * 2:
            self.rounds.waiting(self.job.name, wait)
            yield wait

    async def read(self, number: int) -> tuple[Finding, list[Event]]:
        """One lookup (the round's): found, accepted; absent once the window is spanned
        and every read that could say so said so (a round that could not is not counted)."""
        name = self.job.name
        spanned = self.clock.now() - self.began >= self.window - _EPSILON
        found = await self.rounds.read(name)
        found_id = found.ids[0] if found.ids else ""
        left = 0.0 if found_id else max(0.0, self.window - (self.clock.now() - self.began))
        looked_up = BatchLookedUp(
            batch=name,
            found_id=found_id,
            lookup=number,
            request_id=found.request_id,
            window_left=round(left, 1),
        )
        if found_id:
            accepted = BatchAccepted(
                batch=name, batch_id=found_id, found_by_lookup=True, request_id=found.request_id
            )
            return Finding.SETTLED, [looked_up, accepted]
        if not found.covered:
            return Finding.UNSURE, [looked_up]
        self.answered += 1
        if spanned and self.answered >= len(self.delays):
            return Finding.ABSENT, [looked_up, BatchAbsent(batch=name, lookups=self.answered)]
        return Finding.UNSURE, [looked_up]

    def failed(self, exc: SubmitError) -> Event:
        """A lookup that got no answer, with the request id of the one that came."""
        request_id = exc.request_id if isinstance(exc, ReadFailed) else ""
        return LookupFailed(
            batch=self.job.name, what="lookup by name", reason=exc.message, request_id=request_id
        )

    def close(self) -> None:
        """No round waits for this batch any more."""
        self.rounds.ended(self.job.name)

    def undecided(self, failure: str) -> str:
        """Lookups failed, or did not span the window: the batch may exist."""
        reason = f"lookups failed ({failure})" if failure else "lookups did not span the window"
        return f"{reason}: it may or may not exist"


def lookup_schedule(delays: Sequence[float], window: float) -> list[float]:
    """Waits before each lookup: the lookup delays, then doubling, until they span the window.

    The last wait is cut so that the last lookup goes out when the window ends.
    """
    schedule = list(delays) or [0.0]
    while window - sum(schedule) > _EPSILON:
        step = max(2 * schedule[-1], MIN_LOOKUP_STEP)
        schedule.append(min(step, window - sum(schedule)))
    return schedule


def _accepted(name: str, answer: BatchTaskResponse, request_id: str) -> BatchAccepted:
    """The event for a 200: the API's id, counts and error_list."""
    return BatchAccepted(
        batch=name,
        batch_id=answer.id,
        total=answer.total_count,
        failed=answer.failed_count,
        succeeded=answer.succeed_count,
        error_list=list(answer.error_list),
        request_id=request_id,
    )

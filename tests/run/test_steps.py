"""A pass is a short sequence of named steps: each ``async def step(run, sender)``, said in a line."""

from __future__ import annotations

import inspect

import pytest

from loader.run import steps


def test_a_start_is_the_steps_in_their_order() -> None:
    """A start (and a resume) runs these steps in this order; a reconcile only observes."""
    names = [step.__name__ for step in steps.START], [s.__name__ for s in steps.RECONCILE]

    assert names == (
        [
            "give_up_taken",
            "canary",
            "creates",
            "count_found",
            "learn_tasks",
            "changes",
            "delete_sources",
        ],
        ["observe_all"],
    )


@pytest.mark.parametrize("step", [*steps.START, *steps.RECONCILE], ids=lambda s: s.__name__)
def test_every_step_takes_the_run_and_the_sender_and_says_what_it_does(step: steps.Step) -> None:
    """A step is a coroutine of (run, sender) whose docstring opens with one line."""
    summary = (inspect.getdoc(step) or "").split("\n\n")[0]

    parameters = list(inspect.signature(step).parameters)
    assert (inspect.iscoroutinefunction(step), parameters, bool(summary)) == (
        True,
        ["run", "sender"],
        True,
    )
    assert "\n" not in summary

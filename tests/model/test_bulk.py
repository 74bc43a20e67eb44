"""The collector pause around bulk stages, and the frozen heap of a run that sends, restore
the collector's state."""

from __future__ import annotations

import gc
import weakref

import pytest

from loader.bulk import bulk, freeze_survivors, frozen_heap, kept, kept_to_exit, paused_gc
from tests.conftest import printed


@pytest.mark.parametrize("enabled", [True, False])
def test_paused_gc_restores_previous_state(enabled: bool) -> None:
    """Off inside the block; as before after it, even when the block raises."""
    seen = []

    def stage() -> None:
        with paused_gc():
            seen.append(gc.isenabled())
            raise RuntimeError

    (gc.enable if enabled else gc.disable)()
    try:
        with pytest.raises(RuntimeError):
            stage()
        assert (seen, gc.isenabled()) == ([False], enabled)
    finally:
        gc.enable()


def test_bulk_decorator_runs_the_function_paused() -> None:
    """A decorated stage sees the collector off and returns its result."""

    @bulk
    def stage(value: int) -> tuple[int, bool]:
        return value * 2, gc.isenabled()

    assert (stage(21), gc.isenabled()) == ((42, False), True)


@pytest.mark.parametrize("enabled", [True, False])
def test_frozen_heap_collects_inside_and_restores(enabled: bool) -> None:
    """On and frozen inside the block (even opened with the collector off); as before
    after it, nothing left frozen."""
    (gc.enable if enabled else gc.disable)()
    try:
        with frozen_heap():
            seen = (gc.isenabled(), gc.get_freeze_count() > 0)
        assert (seen, gc.isenabled(), gc.get_freeze_count()) == ((True, True), enabled, 0)
    finally:
        gc.enable()


def test_what_a_sending_run_keeps_is_frozen_and_its_young_cycles_collected() -> None:
    """Inside the frozen heap, ``freeze_survivors`` leaves what is still held out of
    collections, and a young cycle that died before it is collected, not frozen."""

    class Node:
        def __init__(self) -> None:
            self.me = self

    with frozen_heap():
        held = [Node()]
        dying = Node()
        died = weakref.ref(dying)
        del dying
        freeze_survivors()
        out_of_reach = all(seen is not held for seen in gc.get_objects())

    assert (out_of_reach, died(), gc.get_freeze_count()) == (True, None, 0)


def test_kept_to_exit_runs_paused_and_freezes_what_the_stage_made() -> None:
    """A command's stage runs with the collector off; what it returns is frozen before the
    collector is on again, so that no collection walks it."""

    @kept_to_exit
    def stage() -> tuple[list[int], bool]:
        return [1, 2, 3], gc.isenabled()

    try:
        (made, enabled_inside) = stage()
        assert (enabled_inside, gc.is_tracked(made), gc.isenabled()) == (False, True, True)
        assert gc.get_freeze_count() > 0
        assert all(seen is not made for seen in gc.get_objects())  # frozen: out of reach
    finally:
        gc.unfreeze()


def test_kept_runs_a_block_paused_and_freezes_what_it_made() -> None:
    """A command's imports run with the collector off; what they made is frozen after."""
    try:
        with kept():
            made, enabled_inside = [1, 2, 3], gc.isenabled()

        assert (enabled_inside, gc.isenabled()) == (False, True)
        assert all(seen is not made for seen in gc.get_objects())  # frozen: out of reach
    finally:
        gc.unfreeze()


def test_what_kept_froze_is_unfrozen_before_the_interpreter_tears_down() -> None:
    """At exit (after the handlers registered later), nothing is left frozen: a frozen heap
    with a daemon thread running crashed CPython 3.11's teardown one time in two."""
    code = (
        "import atexit, gc\n"
        "from loader.bulk import kept\n"
        "atexit.register(lambda: print(gc.get_freeze_count()))\n"  # runs last
        "with kept():\n"
        "    pass\n"
        "with kept():\n"
        "    pass\n"
        "print(gc.get_freeze_count() > 0)\n"
    )
    shown = printed(code)

    assert shown == ["True", "0"]

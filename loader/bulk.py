"""
Keeping CPython's cyclic garbage collector off the millions of small objects of a run.

- ``paused_gc`` / ``bulk``: while a stage builds them. The stages allocate row tuples,
  strings and dicts by the million and create no reference cycles; the collector would
  still walk every young container again and again (measured: 1M camera tuples take
  0.79 s with it running, 0.18 s paused). Reference counting still frees everything as
  usual; the collector's state is restored on exit.
- ``kept`` / ``kept_to_exit``: a one-shot command's stage (``plan``) whose objects live
  until the process ends: run paused, then frozen before the collector is on again, so
  that no collection ever walks them (the next young one walked a 1M-row plan's, 0.3-0.5
  s). A run's imports too: modules and classes live to the exit, and the collections
  made while pandas, httpx, pydantic and bulkload were imported walked every object
  imported before them again and again (0.05 s of a run's start). Unfrozen at exit,
  before the interpreter's teardown.
- ``frozen_heap``: while a run sends. The inventory and the plan live until the run ends;
  each full collection walked them all again, a pause of 0.4 s every few seconds for
  60,000 cameras, in which no request left. Frozen, they are left out of collections
  (``gc.freeze``) until the block ends; the collector runs in the block (the requests'
  objects), whatever its state outside. A run is opened under ``paused_gc`` and frozen
  before the collector is on again: turned on first, its next young collection walked
  every object the stages had made (0.18 s for 600,000 cameras), between two stages
  and again before the first request. What the run keeps while it sends (the ledger's
  entry of every camera sent, each batch's state) is frozen as it grows:
  ``freeze_survivors`` every ``FREEZE_EVERY`` seconds. Left young, it was walked by every
  full collection, 0.1 to 0.3 s at a time every few seconds of a 600,000-camera run (3 s
  in all): the pacer's calls waited, and each wait delayed the calls of the next second.
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Final, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block with the cyclic collector off (restored to its previous state)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def bulk(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a stage so that it runs under ``paused_gc``."""

    @wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with paused_gc():
            return function(*args, **kwargs)

    return run


FREEZE_EVERY: Final = 1.0  # seconds between two ``freeze_survivors`` of a sending run


def freeze_survivors() -> None:
    """Collect the young generations, then freeze everything that is left: what a
    sending run made and still holds joins the frozen heap (``frozen_heap``). A cycle
    among frozen objects that dies later waits for the block's end to be collected:
    the young collection first leaves few of them (a request's own die within it)."""
    gc.collect(1)
    gc.freeze()


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Run the block with every object that exists now left out of collections, and the
    collector on (its previous state restored after)."""
    gc.freeze()
    was_enabled = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        if not was_enabled:
            gc.disable()
        gc.unfreeze()


@contextmanager
def kept() -> Iterator[None]:
    """Run a command's block under ``paused_gc`` whose objects stay until the process
    exits: what exists when it ends is frozen out of collections until the exit. For
    commands only: a cycle among frozen objects that dies before is never collected."""
    with paused_gc():
        try:
            yield
        finally:
            gc.freeze()
            # Back in the collector's reach before the interpreter tears down (a process
            # that ends without ``fast_exit``'s shortcut: an error): CPython 3.11 crashed
            # in that teardown, one time in two, with them frozen and a daemon thread (the
            # TLS context made ahead) still running. Registered once, however many blocks.
            atexit.unregister(gc.unfreeze)
            atexit.register(gc.unfreeze)


def kept_to_exit(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command's stage to run in ``kept``."""

    @wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with kept():
            return function(*args, **kwargs)

    return run

"""
Wiring a run together, the only place that knows every stage: the options of a command
(``options``), a run's context built or rebuilt from its journal (``context``), and the
drivers of run, resume and reconcile (``runner``) with the canary that may go first
(``canary``) and the changes to existing tasks that follow the creates (``apply``),
``bulkload refresh`` (``refresh``), a plan's drift check (``drift``), the preflight
checks of ``bulkload doctor`` (``doctor``); ``logs`` configures structlog for a run.

May import: every stage, ``model``, ``errors``.
"""

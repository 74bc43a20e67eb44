"""
Wiring a run together, the only place that knows every stage: the options of a command
(``options``), the plan every command shares (``plan``), a run opened new or from its
journal (``open``) into an immutable ``run.Run``, the steps a pass is a sequence of
(``steps``: the canary, the creates, the task lists, the changes of ``apply``) driven by
``runner`` with one ``Sender`` and one ``recorder``, and its end (``conclude``); a
sheet of names found in the project (``registration``, for ``plan`` and a run) and
registered before its batches are planned (``register``),
``bulkload refresh`` (``refresh``), a plan's drift check (``drift``), the preflight
checks of ``bulkload doctor`` (``doctor``); ``logs`` configures structlog for a run.

May import: every stage, ``model``, ``errors``.
"""

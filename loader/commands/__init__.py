"""
What the ``bulkload`` commands do beyond declaring flags and rendering results, so that
``cli.py`` reads as the list of commands: the flags, each declared once (``flags``), the
terminal's console, ``--version`` and error mapping (``terminal``), the parsing of flag
values and of a bare ``--prune`` (``parsing``), the prune prompt (``prune``), the plan
command's work (``plan``), learning the project (``refresh``), the simulator's flags and
start (``simulate``), a starter mapping written (``starter``), the demo (``demo``), structlog
imported without rich for the commands that run (``logging_import``) and the fast exit
after a run (``fast_exit``).
Above every stage but ``cli``; like the CLI it may start the simulator (the demo and
``simulate`` do).
"""

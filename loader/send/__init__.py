"""
Talking to VIAS: the credentials a command was given (``credentials``: plain data), how
it connects, set up once (``connect``), how credentials go on a request (``auth``, with
AK/SK signing in ``signing``), what every answer means by the documented error table (``answers``:
``classify``), the client that paces and authenticates each call (``client``), pacing and
adaptive concurrency (``pacing``), the settler that settles each piece of work exactly
once (``settle``: workers, the limit in flight, backoff, refusals, give-up, and verifying
a lost answer before any resend), whose kinds are the batches to create (``engine``: the
``Submitter``) and the updates, starts, stops and deletes of existing tasks (``changes``:
the ``Changer``), what a run's settlers and its canary share (``control``: options, the
run's stop switch, budget and streak; the settlers also share one limit in flight and
the client's pacer), asking the API what became of accepted batches and finding
tasks by their video sources' names (``observe``), learning a whole project into the
ledger (``learn``), the batches' per-state counts a plan reads (``drift``), and secrets
in payloads and logs (``secrecy``). [I/O: HTTP]

May import: ``state``, ``planning``, ``check``, ``read``, ``model``, ``errors``.
"""

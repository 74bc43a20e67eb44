"""
Talking to VIAS: where credentials come from and how they go on a request (``auth``, with
AK/SK signing in ``signing``), what every answer means by the documented error table
(``answers``: ``classify``), the client that paces and authenticates each call
(``client``), pacing and adaptive concurrency (``pacing``), the submitter that
settles each batch exactly once (``engine``) and the changer that settles each update,
start, stop and delete of an existing task exactly once (``changes``, sharing ``control``),
asking the API what became of accepted batches (``observe``), learning a whole project
into the ledger (``learn``), the batches' per-state counts a plan reads (``drift``), and
secrets in payloads and logs (``secrecy``).
[I/O: HTTP]

May import: ``state``, ``planning``, ``check``, ``read``, ``model``, ``errors``.
"""

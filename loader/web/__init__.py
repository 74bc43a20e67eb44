"""
The local web page for rollout teams (``bulkload serve``): load a sheet, see every
problem, plan, send, watch the run live and download its results, in a browser.

``options`` (what the server runs with, checked once), ``security`` (the token, the CSRF
check, hosts, safe names, contained paths), ``uploads`` (streamed to disk under a cap,
then the input guard), ``sheets`` (loaded inventories, kept in memory a few at a time),
``problems`` (filter, sort and page a problem list; its CSV), ``views`` (what each page
shows, as data), ``runs`` (runs in background threads, their history and files),
``feed`` (a run's progress folded from its journal, sent as server-sent events),
``render`` (Jinja2, autoescaped), ``pages`` and ``results`` (the handlers), ``app`` (the
routes) and ``server`` (uvicorn on a bound socket). [I/O: HTTP in, files, threads]

May import: every stage (``run`` included), ``model``, ``errors``. Only the CLI imports it,
inside ``bulkload serve``: starlette and Jinja2 never load for other commands.
"""

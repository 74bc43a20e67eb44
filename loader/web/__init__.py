"""
The local web page for rollout teams (``bulkload serve``): load a sheet and land on its
problems, load the fixed version, plan in the sheet's words, confirm what a run deletes
or registers,
send, stop, resume, check the tasks and see every camera that failed, in a browser.

``options`` (what the server runs with, checked once), ``security`` (the token, the CSRF
check, hosts, safe names, contained paths), ``uploads`` (streamed to disk under a cap,
then the input guard), ``sheets`` (loaded inventories, kept in memory a few at a time),
``problems`` (filter, sort and page a problem list, in the sheet's words; its CSV),
``views`` (what the Plan and Send pages show, as data: the plan step, the changes by
column, what a run would take away), ``runs`` (runs, resumes and task checks in
background threads, their history and files), ``feed`` (a run's progress folded from its
journal, in words, sent as server-sent events), ``outcomes`` (where a run stands and the
cameras that need attention, from its journal and results.xlsx), ``words`` (a change's
fields by the sheet's columns), ``registering`` (the cameras a sheet names, found or
registered, as the pages say it),
``render`` (Jinja2, autoescaped), ``pages`` and ``results`` (the handlers), ``app`` (the
routes) and ``server`` (uvicorn on a bound socket). [I/O: HTTP in, files, threads]

May import: every stage (``run`` included), ``model``, ``errors``. Only the CLI imports it,
inside ``bulkload serve``: starlette and Jinja2 never load for other commands.
"""

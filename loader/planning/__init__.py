"""
From cameras to requests: the minimum number of batches under the API's rules with
deterministic names (``batches``), and the ledger's verdict on each camera: what to send,
what is unchanged or changed (``delta``). Pure.

May import: ``check``, ``read``, ``model``, ``errors``.
"""

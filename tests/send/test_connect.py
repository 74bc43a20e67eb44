"""A connection's TLS context made ahead on a thread: the client uses it, and a context
that cannot be made stops the command where the client is made, as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from loader.errors import ConfigError
from loader.send.auth import StaticToken
from loader.send.connect import Connection, tls_ahead
from loader.send.pacing import SystemClock


def connection(**changes: object) -> Connection:
    return Connection(
        endpoint="https://vias.example",
        project_id="p1",
        auth=StaticToken("t"),
        rate=10.0,
        connections=4,
        timeout=5.0,
        **changes,  # type: ignore[arg-type]
    )


@pytest.mark.anyio
async def test_the_client_uses_the_context_made_ahead() -> None:
    """The context the thread made is the one the client's connections use."""
    tls = tls_ahead()

    async with connection(tls=tls).open(SystemClock()) as client:
        used = client.http._transport._pool._ssl_context  # type: ignore[attr-defined]

    assert used is tls.result()


@pytest.mark.anyio
async def test_a_context_that_cannot_be_made_is_a_config_error_at_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_FILE naming no file: the thread keeps the error, ``open`` reports it."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    tls = tls_ahead()

    with pytest.raises(ConfigError) as refused:
        async with connection(tls=tls).open(SystemClock()):
            pass

    assert refused.value.message.startswith("cannot set up TLS: ")
    assert refused.value.hint.startswith("check SSL_CERT_FILE and SSL_CERT_DIR")


@pytest.mark.anyio
async def test_without_a_context_made_ahead_the_client_makes_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ``tls``: the same error from the client's own context, at the same place."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))

    with pytest.raises(ConfigError) as refused:
        async with connection().open(SystemClock()):
            pass

    assert refused.value.message.startswith("cannot set up TLS: ")

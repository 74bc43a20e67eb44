"""Webhook header references resolve only at send time; secrets are scrubbed from text."""

from __future__ import annotations

import json

import pytest

from loader.errors import ConfigError
from loader.send.secrecy import Scrubber, references, resolve

BODY = {
    "name": "n",
    "description": "costs ${NOT_A_HEADER}",
    "output": {
        "webhook": {
            "url": "https://h",
            "headers": {"Authorization": "Bearer ${HOOK_TOKEN}", "X-Site": "sz"},
        }
    },
}


def test_resolve_replaces_only_header_references() -> None:
    """Headers get the value; the same text elsewhere stays as written."""
    content = json.dumps(BODY).encode()

    resolved, used = resolve(content, {"HOOK_TOKEN": "tok-abc-123", "NOT_A_HEADER": "leak"})

    body = json.loads(resolved)
    assert body["output"]["webhook"]["headers"] == {
        "Authorization": "Bearer tok-abc-123",
        "X-Site": "sz",
    }
    assert (body["description"], used, references(content)) == (
        "costs ${NOT_A_HEADER}",
        ["tok-abc-123"],
        ["HOOK_TOKEN", "NOT_A_HEADER"],
    )


def test_unset_reference_is_a_config_error_naming_it() -> None:
    """A missing variable stops the run before anything is sent."""
    with pytest.raises(ConfigError, match=r"refers to \$\{HOOK_TOKEN\}, which is not set"):
        resolve(json.dumps(BODY).encode(), {})


def test_scrubber_masks_fixed_and_changing_secrets() -> None:
    """Known values and values a source reports later (a refreshed token) are masked."""
    tokens = ["token-one"]
    scrub = Scrubber(lambda: tokens)
    scrub.add(["pa55word", "abc"])  # too short to mask safely: ignored
    tokens.append("token-two")

    assert scrub("pa55word token-one token-two abc") == "*** *** *** abc"


def test_scrubber_as_structlog_processor() -> None:
    """Every string field of a log event is scrubbed."""
    scrub = Scrubber()
    scrub.add(["hunter22"])

    assert scrub.processor(None, "info", {"event": "x", "message": "pw hunter22", "n": 3}) == {
        "event": "x",
        "message": "pw ***",
        "n": 3,
    }

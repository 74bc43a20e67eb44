"""
The choices a mapping's ``[registration]`` table makes: which ``type_config`` XML format
the bodies are written in, and what becomes of a group too large for UpdateVideoGroup.

Apart from the bodies (``model.sources``) and the rules (``check.registration``) that use
them: every run reads a mapping, and only a mapping that registers needs those.
"""

from __future__ import annotations

from enum import StrEnum


class TypeConfigFormat(StrEnum):
    """The two documented ``type_config`` XML formats."""

    SDK = "sdk"  # the SDK's and the international pages': <type>…</type><config>…</config>
    ZH = "zh"  # the Chinese pages of 2025-11 and 2025-12: <type_config>…</type_config>

    @property
    def other(self) -> TypeConfigFormat:
        """The format to try when the server refuses this one."""
        return TypeConfigFormat.ZH if self is TypeConfigFormat.SDK else TypeConfigFormat.SDK


class GroupSplit(StrEnum):
    """What to do with a group of more sources than one UpdateVideoGroup holds."""

    SPLIT = "split"  # numbered groups: Lobby, Lobby2, Lobby3, ...
    REFUSE = "refuse"

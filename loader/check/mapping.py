"""
Mapping files: where a layout keeps its data and how its columns become API fields.

A mapping (TOML, see ``mappings/``) names the cameras sheet and optionally a groups sheet
joined on the ``group`` field, says for each field which column holds it (with aliases, a
default and named transforms), and gives task settings defaults in ``[task]``. Every field
is text; ``transforms.py`` holds the named transforms. Loading reads one small file; the
rest of this module is pure.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from loader.check import transforms
from loader.errors import ConfigError
from loader.model.choices import GroupSplit, TypeConfigFormat

# Fields a camera row may carry. ``group`` becomes video_source_group_id.
# ``group`` joins cameras to groups and is the video_source_group_id unless ``group_id`` is
# mapped too (a legacy group code as the key, the VIAS id beside it).
CAMERA_FIELDS: Final = (
    "video_source_id",
    "group",
    "group_id",
    "target_roi",
    "camera_name",
    "group_name",
    "settings",  # a JSON object of settings fields (the results workbook's api.settings)
)
# Fields that register a camera known by name (``camera_name``) and its group: read only
# when mapped (no empty column is added for them), checked by ``check.sources``.
URL_FIELDS: Final = ("stream_url", "restful_url", "restful_rtsp_url")
SECRET_FIELDS: Final = ("vcn_password",)  # must be a ${VAR} or a column marked secret
REGISTRATION_FIELDS: Final = (
    "stream_url",
    "vcn_data_source_id",
    "vcn_ip",
    "vcn_port",
    "vcn_user_name",
    "vcn_password",
    "vcn_stream_type",
    "restful_url",
    "restful_rtsp_url",
    "restful_http_check",
    "edge_camera_id",
    "access_type",
    "latitude",
    "longitude",
    "tags",
    "group_description",
)
GROUP_SHEET_FIELDS: Final = ("group", "group_id", "group_name", "group_description")
SCHEDULE_FIELDS: Final = ("timezone", "days_of_week", "periods")
OUTPUT_FIELDS: Final = (
    "obs_bucket",
    "obs_path",
    "obs_data_category",
    "dis_stream",
    "dis_data_category",
    "webhook_url",
    "webhook_data_category",
    "event_center",
)
# Fields that decide a task's settings; a row's value, else its group's, else [task]'s.
SETTINGS_FIELDS: Final = (
    "service_name",
    "service_version",
    "resource_order_id",
    "description",
    "is_saved_as_template",
    *SCHEDULE_FIELDS,
    *OUTPUT_FIELDS,
    "config_common",
    "name_prefix",
)
FIELDS: Final = CAMERA_FIELDS + REGISTRATION_FIELDS + SETTINGS_FIELDS
# Parsers every value of a field goes through after the mapping's own transforms.
INTRINSIC: Final = {
    "timezone": transforms.timezone,
    "days_of_week": transforms.days,
    "periods": transforms.periods,
    "target_roi": transforms.roi,
    "is_saved_as_template": transforms.boolean,
    "event_center": transforms.boolean,
    "config_common": transforms.json_object,
    "settings": transforms.json_object,
    "access_type": transforms.access_type,
    "tags": transforms.tags,
    "latitude": transforms.number_text,
    "longitude": transforms.number_text,
}
ALL_SHEETS: Final = "*"  # sheet = "*": every sheet with the key column, read as one

_STRICT = ConfigDict(extra="forbid", frozen=True)
# The parts of a mapping are validated inside Mapping, whose validator holds their schemas:
# their own validators are built on first use outside it (a test's, a default's), not at
# import: 0.005 s of every command's start that reads a mapping (measured with the
# module's source executed 25 times, pydantic warm).
_LATER = ConfigDict(defer_build=True)


class MapSpec(BaseModel):
    """``{map = {...}, strict = false}``: replace known values."""

    model_config = _STRICT | _LATER
    map: dict[str, str]
    strict: bool = False


class LookupTable(BaseModel):
    """Where a lookup's table is: a sheet of the same workbook, or a file beside it."""

    model_config = _STRICT | _LATER
    sheet: str | None = None
    file: str | None = None
    key: str
    value: str
    header_row: int | None = None

    @model_validator(mode="after")
    def _one_place(self) -> LookupTable:
        if (self.sheet is None) == (self.file is None) and self.file is None:
            raise ValueError("a lookup needs sheet = ... or file = ...")
        return self


class LookupSpec(BaseModel):
    """``{lookup = {sheet|file, key, value}}``: replace a key by another table's value."""

    model_config = _STRICT | _LATER
    lookup: LookupTable


class ZfillSpec(BaseModel):
    """``{zfill = 6}``: pad with leading zeros to a width."""

    model_config = _STRICT | _LATER
    zfill: int = Field(ge=1, le=100)


class AffixSpec(BaseModel):
    """``{prefix = "..."}`` and/or ``{suffix = "..."}``."""

    model_config = _STRICT | _LATER
    prefix: str = ""
    suffix: str = ""


class ReplaceSpec(BaseModel):
    """``{replace = "regex", with = "text"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True) | _LATER
    replace: str
    replacement: str = Field(alias="with")
    must_match: bool = False  # a value the pattern does not find is refused, not passed on

    @field_validator("replace")
    @classmethod
    def _compiles(cls, value: str) -> str:
        return _compiled(value, "replace")


class ExtractSpec(BaseModel):
    """``{extract = "regex"}``: the pattern's first group (or whole match), else a refusal."""

    model_config = _STRICT | _LATER
    extract: str

    @field_validator("extract")
    @classmethod
    def _compiles(cls, value: str) -> str:
        return _compiled(value, "extract")


def _compiled(pattern: str, key: str) -> str:
    """``pattern`` if it compiles; a ValueError naming the key otherwise."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{key} pattern does not compile: {exc}") from exc
    return pattern


SimpleName = Literal[
    "strip",
    "upper",
    "lower",
    "collapse_spaces",
    "int",
    "bool",
    "days",
    "periods",
    "roi",
    "json",
    "timezone",
]
TransformSpec = (
    SimpleName | MapSpec | LookupSpec | ZfillSpec | ReplaceSpec | ExtractSpec | AffixSpec
)


class ColumnSpec(BaseModel):
    """Where one field comes from: a column (or aliases), or a template of columns."""

    model_config = _STRICT | _LATER
    column: str | None = None
    aliases: list[str] = Field(default_factory=list)
    template: str | None = None
    default: str | None = None
    required: bool = False
    fill_down: bool = False  # an empty cell repeats the one above (merged or grouped cells)
    secret: bool = False  # its cells are passwords: kept as references, never written
    transforms: list[TransformSpec] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """``field = "Header"`` and ``field = ["Header", "Alias"]`` are short for columns."""
        if isinstance(value, str):
            return {"column": value}
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return {"column": value[0], "aliases": value[1:]}
        return value

    @model_validator(mode="after")
    def _has_source(self) -> ColumnSpec:
        if self.column is None and self.template is None and self.default is None:
            raise ValueError("give column, template or default")
        return self

    @property
    def names(self) -> list[str]:
        """The header names this field may have, first the preferred one."""
        return [n for n in [self.column, *self.aliases] if n]

    @property
    def template_columns(self) -> list[str]:
        """The headers a template reads, in order."""
        return re.findall(r"\{([^{}]+)\}", self.template or "")


class RowRule(BaseModel):
    """``{ column = "Type", values = ["UPS"], pattern = "^Video Push", reason = "..." }``:
    rows whose cell in ``column`` is one of ``values`` (without case or spaces) or holds a
    match of ``pattern`` (a regular expression, case-insensitive)."""

    model_config = _STRICT | _LATER
    column: str
    values: list[str] = Field(default_factory=list)
    pattern: str | None = None
    reason: str | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return None if value is None else _compiled(value, "pattern")

    @model_validator(mode="after")
    def _tests_something(self) -> RowRule:
        if not self.values and self.pattern is None:
            raise ValueError("a row rule needs values = [...] or pattern = ...")
        return self


class SheetSpec(BaseModel):
    """One sheet of a layout: which sheet, where its header is, what its columns mean."""

    model_config = _STRICT | _LATER
    file: str | None = None  # another file beside the input (groups.csv), else the input
    sheet: str | int | list[str] | None = None
    header: bool = True  # false: no header row; columns named by letter ("A") or position ("1")
    header_row: int | None = Field(default=None, ge=1)
    columns: dict[str, ColumnSpec]
    ignore: list[str] = Field(default_factory=list)
    comment_marker: str | None = None  # rows whose first value starts so are notes, skipped
    skip: list[RowRule] = Field(default_factory=list)  # rows any rule matches are left out
    keep: list[RowRule] = Field(default_factory=list)  # rows some rule misses are left out
    unquote: bool = False  # drop the ' bulkload's results workbook puts before = + - @
    secret_columns: list[str] = Field(default_factory=list)  # passwords: references only
    footer_markers: list[str] = Field(
        default_factory=lambda: [
            "total",
            "合计",
            "总计",
            "generated",
            "exported",
            "end of",
            "page ",
        ]
    )

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, ColumnSpec]) -> dict[str, ColumnSpec]:
        for name in value:
            if name not in FIELDS:  # the task fields first: the usual typo is one of them
                close = did_you_mean(name, CAMERA_FIELDS + SETTINGS_FIELDS)
                close = close or did_you_mean(name, REGISTRATION_FIELDS)
                raise ValueError(f"unknown field {name!r}{close}")
        return value

    @property
    def sheet_names(self) -> list[str | int]:
        """Candidate sheet names (or a 1-based index)."""
        if self.sheet is None:
            return []
        return list(self.sheet) if isinstance(self.sheet, list) else [self.sheet]


class TaskDefaults(BaseModel):
    """``[task]``: settings for rows whose sheet has no value; text like a cell's."""

    model_config = ConfigDict(extra="forbid", frozen=True) | _LATER
    name_prefix: str = "bulkload"
    service_name: str | None = None
    service_version: str | None = None
    resource_order_id: str | None = None
    description: str | None = None
    is_saved_as_template: bool | None = None
    timezone: str | None = None
    days_of_week: str | list[int] | None = None
    periods: str | list[str] | None = None
    obs_bucket: str | None = None
    obs_path: str | None = None
    obs_data_category: list[str] | None = None
    dis_stream: str | None = None
    dis_data_category: list[str] | None = None
    webhook_url: str | None = None
    webhook_headers: dict[str, str] | None = None
    webhook_data_category: list[str] | None = None
    event_center: bool | None = None
    config_common: dict[str, Any] | None = None

    def as_text(self) -> dict[str, str]:
        """Defaults in the text form cells have (lists joined, booleans as words)."""
        texts: dict[str, str] = {}
        for name in SETTINGS_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool):
                texts[name] = "true" if value else "false"
            elif isinstance(value, dict):
                texts[name] = transforms.json_object(json.dumps(value))
            elif isinstance(value, list):
                texts[name] = ",".join(str(v) for v in value)
            else:
                texts[name] = str(value)
        return texts


class RegistrationSpec(BaseModel):
    """``[registration]``: how cameras known by name are registered."""

    model_config = _STRICT | _LATER
    type_config_format: TypeConfigFormat = TypeConfigFormat.SDK
    large_groups: GroupSplit = GroupSplit.SPLIT


class Mapping(BaseModel):
    """A whole mapping file."""

    model_config = _STRICT
    name: str
    description: str = ""
    cameras: SheetSpec
    groups: SheetSpec | None = None
    task: TaskDefaults = Field(default_factory=TaskDefaults)
    registration: RegistrationSpec = Field(default_factory=RegistrationSpec)
    source: Annotated[str, Field(exclude=True)] = ""

    @model_validator(mode="after")
    def _coherent(self) -> Mapping:
        if not {"video_source_id", "camera_name"} & set(self.cameras.columns):
            raise ValueError("cameras.columns must map video_source_id or camera_name")
        if self.groups is not None:
            if "group" not in self.groups.columns or "group" not in self.cameras.columns:
                raise ValueError("with a groups sheet, both sheets must map the field group")
            extra = set(self.groups.columns) - set(SETTINGS_FIELDS) - set(GROUP_SHEET_FIELDS)
            if extra:
                raise ValueError(f"groups.columns may not hold camera fields {sorted(extra)}")
        return self

    @property
    def camera_key(self) -> str:
        """The field that names a camera: its id, else its name (found or registered)."""
        return "video_source_id" if "video_source_id" in self.cameras.columns else "camera_name"

    @property
    def by_name(self) -> bool:
        """Whether cameras or groups are known by name: registration has work to do."""
        cameras = self.cameras.columns
        group_fields = set(cameras) | set(self.groups.columns if self.groups else {})
        return (
            "video_source_id" not in cameras
            or bool(set(REGISTRATION_FIELDS) & set(cameras))
            or groups_by_name(group_fields)
        )

    def fields_from_columns(self) -> set[str]:
        """Fields some sheet of this mapping reads from a column."""
        specs = [self.cameras, *([self.groups] if self.groups else [])]
        return {f for s in specs for f, c in s.columns.items() if c.column or c.template}


def groups_by_name(fields: Collection[str]) -> bool:
    """Whether groups are named, not given by id: they are found or registered."""
    return "group_name" in fields and not {"group", "group_id"} & set(fields)


def bundled_dir() -> Path:
    """The folder of bundled mapping files (the repo's, or the wheel's copy)."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package.parent / "mappings", package / "_bundled" / "mappings"):
        if candidate.is_dir():
            return candidate
    return package.parent / "mappings"


def bundled() -> list[Mapping]:
    """Every bundled mapping, by name: those `bulkload mappings` and the page list, and
    those the automatic choice weighs (vendor exports known by name among them)."""
    return [load_mapping(p) for p in sorted(bundled_dir().glob("*.toml"))]


def find_mapping(name_or_path: str) -> Mapping:
    """A mapping by bundled name (``vms-flat``) or by file path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError(f"mapping file {path} does not exist", hint="check the path")
        return load_mapping(path)
    candidate = bundled_dir() / f"{name_or_path}.toml"
    if candidate.is_file():
        return load_mapping(candidate)
    names = [p.stem for p in sorted(bundled_dir().glob("*.toml"))]
    raise ConfigError(
        f"no mapping named {name_or_path!r}{did_you_mean(name_or_path, names)}",
        hint=f"bundled mappings: {', '.join(names)}; or give a path to a .toml file",
    )


def load_mapping(path: Path) -> Mapping:
    """Read and check one mapping file; any mistake is a ConfigError naming the key."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read mapping {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"mapping {path} is not valid TOML: {exc}", hint="fix the syntax"
        ) from exc
    document.setdefault("name", path.stem)
    try:
        mapping = Mapping.model_validate(document)
    except ValidationError as exc:
        details = "; ".join(_describe(error) for error in exc.errors(include_url=False))
        raise ConfigError(
            f"mapping {path} is invalid: {details}", hint="see mappings/README.md"
        ) from exc
    return mapping.model_copy(update={"source": str(path)})


def _describe(error: Any) -> str:
    """One pydantic error about a mapping, in the mapping's key names."""
    location = ".".join(str(p) for p in error["loc"] if not isinstance(p, int) or p >= 0)
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        key = str(error["loc"][-1]) if error["loc"] else ""
        message = f"is not a known key{did_you_mean(key, _known_keys())}"
    return f"{location}: {message}"


def _known_keys() -> set[str]:
    """Every key some table of a mapping file may hold (a typo is close to one of them)."""
    models: list[type[BaseModel]] = [
        Mapping,
        SheetSpec,
        ColumnSpec,
        TaskDefaults,
        RegistrationSpec,
        MapSpec,
        LookupSpec,
        LookupTable,
        ZfillSpec,
        AffixSpec,
        ReplaceSpec,
        ExtractSpec,
        RowRule,
    ]
    return {
        info.alias or name
        for model in models
        for name, info in model.model_fields.items()
        if name != "source"
    }


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close choice exists."""
    close = difflib.get_close_matches(word, list(choices), n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""

"""Cameras and groups known by name: the mapping keys, the secret columns, every
registration problem reported at once in the sheet's words, and the vendor mappings."""

from __future__ import annotations

import csv
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from loader.check.load import load
from loader.check.mapping import load_mapping
from loader.check.starter import starter_mapping
from loader.check.validate import STATUS
from loader.errors import ConfigError, InputError
from loader.model.registering import SheetRegistration
from loader.model.sources import UrlStream
from loader.read.sheets import read_workbook
from tests.conftest import SAMPLES

STREAMS = """
name = "t"
[cameras.columns]
camera_name = { column = "Camera", required = true }
stream_url = { column = "URL" }
group_name = { column = "Group", default = "Yard" }
latitude = "Lat"
longitude = "Lon"
tags = "Tags"
[task]
service_name = "c-smoke-and-fire-cloud"
service_version = "3.0"
event_center = true
"""


def _write(folder: Path, rows: list[list[str]], mapping: str = STREAMS) -> tuple[Path, Path]:
    """A CSV and its mapping in ``folder``."""
    sheet, toml = folder / "cams.csv", folder / "t.toml"
    with sheet.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(rows)
    toml.write_text(mapping, encoding="utf-8")
    return sheet, toml


def _registration(sheet: Path, toml: Path) -> SheetRegistration:
    """The registration values of a loaded sheet."""
    registration = load(sheet, load_mapping(toml)).checked.registration
    assert registration is not None
    return registration


@pytest.mark.parametrize(
    ("sample", "mapping", "cameras"),
    [
        pytest.param("milestone_hardware.csv", "milestone-pstools", 17, id="milestone"),
        pytest.param("ivms4200_devices.csv", "hikvision-ivms", 12, id="ivms"),
        pytest.param("stream_list.csv", "streams", 8, id="streams"),
    ],
)
def test_vendor_exports_get_their_mapping_by_header(
    sample: str, mapping: str, cameras: int
) -> None:
    """Without -m, each vendor sample is read by its by-name mapping, every camera valid."""
    loaded = load(SAMPLES / sample)

    assert (loaded.mapping.name, len(loaded.checked.cameras), loaded.checked.count("rejected")) == (
        mapping,
        cameras,
        0,
    )


def test_hikvision_address_is_the_rtsp_template_with_the_password_hidden() -> None:
    """iVMS-4200: rtsp://{User Name}:{Password}@{Address}:554/Streaming/Channels/101, the
    password a reference whose value only the in-memory table holds."""
    checked = load(SAMPLES / "ivms4200_devices.csv").checked

    assert checked.registration is not None
    first = checked.registration.sources[0]
    assert first.stream == UrlStream(
        "rtsp://admin:${BULKLOAD_SHEET_SECRET_1}@192.168.1.64:554/Streaming/Channels/101"
    )
    assert checked.secrets["BULKLOAD_SHEET_SECRET_1"] == "Hik299981!"


def test_milestone_rows_give_axis_addresses_coordinates_and_first_group() -> None:
    """Milestone: the hardware's host, Axis's path with camera = Channel + 1, "lat, long"
    split, and the first DeviceGroups path's last part as the group."""
    checked = load(SAMPLES / "milestone_hardware.csv").checked

    assert checked.registration is not None
    first = checked.registration.sources[0]
    assert (first.name, first.stream, first.latitude, first.longitude, first.group_name) == (
        "Harbour Camera 01",
        UrlStream(
            "rtsp://root:${BULKLOAD_SHEET_SECRET_1}@10.20.0.11:554/axis-media/media.amp?camera=1"
        ),
        "53.54562",
        "9.96502",
        "Harbour",
    )


@pytest.mark.parametrize(
    "sample", ["milestone_hardware.csv", "ivms4200_devices.csv"], ids=["milestone", "ivms"]
)
def test_no_password_of_a_vendor_sample_reaches_rows_problems_or_values(sample: str) -> None:
    """The Password column's values appear in no row, problem or registration value."""
    with (SAMPLES / sample).open(encoding="utf-8-sig") as stream:
        passwords = {r["Password"] for r in csv.DictReader(stream) if r["Password"]}
    checked = load(SAMPLES / sample).checked

    shown = checked.rows.to_csv() + repr(checked.problems) + repr(checked.registration)
    hidden = set(checked.secrets.values())
    assert ([p for p in passwords if p in shown], hidden <= passwords, len(hidden) > 10) == (
        [],
        True,
        True,
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    password=st.text(
        alphabet=string.ascii_letters + string.digits + "!#%&*+-=?^_~", min_size=8, max_size=30
    )
)
def test_a_password_inside_a_stream_address_is_moved_to_the_table(
    tmp_path: Path, password: str
) -> None:
    """Any password written in a stream address becomes a reference; the table holds it.

    Nothing loaded depends on the password: the same sheet with another password shows
    the very same rows, problems and registration (a password that happens to spell a
    word of the output, "group_id" say, is no leak)."""
    other = "Zz9-other-password"
    assume(password != other)

    def shown(secret: str) -> tuple[str, dict[str, str]]:
        sheet, toml = _write(
            tmp_path, [["Camera", "URL"], ["Gate", f"rtsp://admin:{secret}@10.0.0.9:554/live"]]
        )
        checked = load(sheet, load_mapping(toml)).checked
        text = checked.rows.to_csv() + repr(checked.problems) + repr(checked.registration)
        return text, dict(checked.secrets)

    (text, secrets), (other_text, _) = shown(password), shown(other)
    assert (text == other_text, "${BULKLOAD_SHEET_SECRET_1}" in text, secrets) == (
        True,
        True,
        {"BULKLOAD_SHEET_SECRET_1": password},
    )


def test_every_registration_problem_is_reported_at_once_in_the_sheets_words(
    tmp_path: Path,
) -> None:
    """Names, addresses, coordinates, tags and one name with two addresses: each row its
    problem, with column, value and the fixing transform; the good row stays valid."""
    sheet, toml = _write(
        tmp_path,
        [
            ["Camera", "URL", "Lat", "Lon", "Tags"],
            ["I-35 @ Ashworth Ave", "rtsp://10.0.0.1/a", "", "", ""],
            ["Gate", "ftp://10.0.0.2/a", "", "", ""],
            ["Dock", "rtsp://10.0.0.3/a", "95", "10", ""],
            ["Roof", "rtsp://10.0.0.4/a", "", "", "a;b;c;d;e"],
            ["Hall", "rtsp://10.0.0.5/a", "", "", ""],
            ["Hall", "rtsp://10.0.0.6/a", "", "", ""],
            ["Lobby", "", "", "", ""],
        ],
    )
    checked = load(sheet, load_mapping(toml)).checked

    found = [(p.row, p.code, p.column, p.value) for p in checked.problems]
    assert found == [
        (2, "source-name", "Camera", "I-35 @ Ashworth Ave"),
        (3, "bad-stream_url", "URL", "ftp://10.0.0.2/a"),
        (4, "bad-coordinates", "Lat", "95"),
        (5, "bad-tags", "Tags", "a,b,c,d,e"),
        (7, "address-conflict", "URL", "rtsp://10.0.0.6/a"),
    ]
    assert '{ replace = "@", with = "at" }' in checked.problems[0].fix
    assert checked.rows[STATUS].tolist() == ["rejected"] * 4 + ["valid", "rejected", "valid"]


def test_a_row_named_without_an_address_is_valid_for_validate(tmp_path: Path) -> None:
    """camera_name alone: nothing to check against a project yet, so the row is valid."""
    sheet, toml = _write(tmp_path, [["Camera", "URL"], ["Lobby", ""]])
    registration = _registration(sheet, toml)

    assert [(s.name, s.stream, s.group_name) for s in registration.sources] == [
        ("Lobby", None, "Yard")
    ]


@pytest.mark.parametrize(
    ("policy", "groups", "rejected"),
    [
        pytest.param("split", [("Yard", 50), ("Yard2", 10)], 0, id="split"),
        pytest.param("refuse", [], 60, id="refuse"),
    ],
)
def test_a_group_over_fifty_is_split_or_refused_as_the_mapping_says(
    tmp_path: Path, policy: str, groups: list[tuple[str, int]], rejected: int
) -> None:
    """60 cameras in one group: two numbered groups, or every row rejected, and a problem
    that says which."""
    rows = [["Camera", "URL"]] + [[f"Cam {n}", f"rtsp://10.0.0.{n}/a"] for n in range(60)]
    sheet, toml = _write(tmp_path, rows, STREAMS + f'[registration]\nlarge_groups = "{policy}"\n')
    checked = load(sheet, load_mapping(toml)).checked

    assert checked.registration is not None
    parts = [(g.name, len(g.members)) for g in checked.registration.groups]
    codes = [(p.severity.value, p.code) for p in checked.problems]
    expected = ("info", "group-split") if policy == "split" else ("error", "group-too-large")
    assert (parts, checked.count("rejected"), codes) == (groups, rejected, [expected])


def test_a_literal_vcn_password_is_refused_with_how_to_hide_it(tmp_path: Path) -> None:
    """A VCN password written in the sheet: rejected, naming secret = true and ${VAR}."""
    mapping = STREAMS.replace(
        'stream_url = { column = "URL" }',
        'vcn_ip = "IP"\nvcn_port = "Port"\nvcn_password = "Password"',
    )
    sheet, toml = _write(
        tmp_path,
        [["Camera", "IP", "Port", "Password"], ["Gate", "10.0.0.1", "9900", "s3cret"]],
        mapping,
    )
    checked = load(sheet, load_mapping(toml)).checked

    assert [(p.code, p.column, "secret = true" in p.fix) for p in checked.problems] == [
        ("plain-password", "Password", True)
    ]


def test_a_column_marked_secret_is_a_reference_everywhere(tmp_path: Path) -> None:
    """vcn_password from a column marked secret = true: the row holds the reference."""
    mapping = STREAMS.replace(
        'stream_url = { column = "URL" }',
        'vcn_ip = "IP"\nvcn_port = "Port"\nvcn_password = { column = "Password", secret = true }',
    )
    sheet, toml = _write(
        tmp_path,
        [["Camera", "IP", "Port", "Password"], ["Gate", "10.0.0.1", "9900", "s3cret"]],
        mapping,
    )
    checked = load(sheet, load_mapping(toml)).checked

    assert checked.registration is not None
    stream = checked.registration.sources[0].stream
    assert (checked.problems, getattr(stream, "password", None), dict(checked.secrets)) == (
        [],
        "${BULKLOAD_SHEET_SECRET_1}",
        {"BULKLOAD_SHEET_SECRET_1": "s3cret"},
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            'name = "x"\n[cameras.columns]\ngroup = "G"\n',
            "cameras.columns must map video_source_id or camera_name",
            id="no-key",
        ),
        pytest.param(
            'name = "x"\n[cameras.columns]\ncamera_name = "C"\n[registration]\n'
            'type_config_format = "xml"\n',
            "registration.type_config_format",
            id="format",
        ),
        pytest.param(
            'name = "x"\n[cameras.columns]\ncamera_name = "C"\n[registration]\n'
            'large_groups = "drop"\n',
            "registration.large_groups",
            id="large-groups",
        ),
    ],
)
def test_a_mapping_without_a_key_or_with_a_bad_registration_table_is_refused(
    tmp_path: Path, text: str, message: str
) -> None:
    """No camera key, or a [registration] value outside its choices: a ConfigError."""
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_mapping(path)

    assert message in caught.value.message


def test_names_repeated_with_the_same_address_are_duplicates_not_conflicts(
    tmp_path: Path,
) -> None:
    """The same camera twice: the second row is a duplicate, not a second camera."""
    sheet, toml = _write(
        tmp_path, [["Camera", "URL"], ["Gate", "rtsp://h/a"], ["Gate", "rtsp://h/a"]]
    )
    checked = load(sheet, load_mapping(toml)).checked

    assert checked.rows[STATUS].tolist() == ["valid", "duplicate"]


def test_a_sheet_of_names_alone_is_not_taken_for_a_vendor_export(tmp_path: Path) -> None:
    """'Name' and 'IP' match no by-name mapping's required columns: no bundled one fits."""
    sheet = tmp_path / "names.csv"
    sheet.write_text("Name,IP\nGate,10.0.0.1\n", encoding="utf-8")

    with pytest.raises(InputError) as caught:
        load(sheet)

    assert "no bundled mapping fits" in caught.value.message


def test_a_starter_for_a_sheet_without_ids_keys_on_the_camera_name(tmp_path: Path) -> None:
    """--init on names and addresses: camera_name the key, stream_url and coordinates
    guessed, the group found by name; the starter loads the sheet with every row valid."""
    sheet = tmp_path / "traffic.csv"
    sheet.write_text(
        "Camera Name,RTSP URL,Lat,Lon\nI-35 at 6th,rtsp://10.1.1.1/s,30.1,-97.7\n",
        encoding="utf-8",
    )
    text = starter_mapping(read_workbook(sheet))
    toml = tmp_path / "traffic.toml"
    toml.write_text(
        text.replace("# service_name", "service_name")
        .replace("# service_version", "service_version")
        .replace("# event_center", "event_center"),
        encoding="utf-8",
    )
    mapping = load_mapping(toml)

    assert sorted(mapping.cameras.columns) == [
        "camera_name",
        "group_name",
        "latitude",
        "longitude",
        "stream_url",
    ]
    assert load(sheet, mapping).checked.count("valid") == 1

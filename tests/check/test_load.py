"""Read -> map -> validate on whole files: the samples, and small inventories built here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from loader.check.load import load
from loader.check.validate import STATUS
from loader.errors import ConfigError, InputError
from loader.model.cameras import RowStatus
from tests.conftest import FLAT_MAPPING, SAMPLES, TWO_SHEET_MAPPING, XlsxWriter

FLAT = FLAT_MAPPING


def _statuses(path: Path, mapping: str | None = None) -> dict[int, str]:
    """Excel row -> status of every camera data row."""
    rows = load(path, mapping).checked.rows
    return dict(zip(rows["_row"].tolist(), rows[STATUS].tolist(), strict=True))


@pytest.mark.parametrize(
    ("sample", "mapping"),
    [
        ("site_rollout.xlsx", "default"),
        ("legacy_vms_export.xlsx", "vms-flat"),
        ("legacy_two_sheet.xlsx", "legacy-two-sheet"),
        ("nvr_export.csv", "nvr-csv"),
    ],
)
def test_each_sample_gets_its_mapping_by_header(sample: str, mapping: str) -> None:
    """Without -m, the bundled mapping whose headers match is chosen and named."""
    loaded = load(SAMPLES / sample)

    assert (loaded.mapping.name, loaded.chosen.startswith("chosen by its headers")) == (
        mapping,
        True,
    )


def test_site_rollout_is_all_valid_with_one_group_over_100() -> None:
    """The main sample: every camera valid, no problem, one group of 140."""
    checked = load(SAMPLES / "site_rollout.xlsx").checked

    sizes = Counter(c.group for c in checked.cameras)
    assert (len(checked.cameras), checked.problems, max(sizes.values()), len(sizes)) == (
        637,
        [],
        140,
        34,
    )


def test_legacy_export_rows_each_end_with_the_right_status() -> None:
    """Every data row of the messy export: 120 valid, 7 rejected, 1 duplicate, by row."""
    statuses = _statuses(SAMPLES / "legacy_vms_export.xlsx")

    rejected = sorted(r for r, s in statuses.items() if s == "rejected")
    duplicate = sorted(r for r, s in statuses.items() if s == "duplicate")
    assert (len(statuses), rejected, duplicate) == (128, [128, 129, 130, 131, 132, 134, 135], [133])


def test_legacy_export_reports_every_problem_with_its_place() -> None:
    """Title, page-break header, blanks, footer and the bad rows, each with row and column."""
    problems = load(SAMPLES / "legacy_vms_export.xlsx").checked.problems

    found = [(p.severity.value, p.row, p.column, p.value) for p in problems]
    assert found == [
        (
            "info",
            1,
            "",
            "ACME VMS 7.2 - Camera Inventory Export | Site: Shenzhen Campus (深圳园区) | Generated: 2026-11-20 09:14",
        ),
        ("info", 66, "", ""),
        ("info", 97, "", ""),
        ("error", 128, "Device UUID", ""),
        ("error", 129, "Detect Days", "Funday"),
        ("error", 130, "Detect Hours", "25:00-26:00"),
        ("error", 131, "Zone Points", "10,20;30"),
        ("error", 132, "Analytics", "Face Blur"),
        ("warning", 133, "Device UUID", found[8][3]),
        ("error", 134, "Device UUID", "ab cd-0001"),
        ("error", 135, "Channel Group ID", ""),
        ("info", 136, "", ""),
        ("info", 137, "", "Total cameras: 128"),
        ("info", 138, "", "Exported by ACME VMS 7.2 (build 4411)"),
    ]


def test_two_sheet_join_on_zero_padded_codes_uses_the_vias_group_id() -> None:
    """Codes 101 and "0101" join; the API group id comes from the VIAS Group ID column."""
    loaded = load(SAMPLES / "legacy_two_sheet.xlsx")

    groups = {c.group for c in loaded.checked.cameras}
    assert (len(loaded.checked.cameras), len(groups), all(len(g) == 32 for g in groups)) == (
        90,
        7,
        True,
    )


def test_csv_lookup_replaces_legacy_ids() -> None:
    """Legacy camera ids are looked up in the CSV beside the export."""
    checked = load(SAMPLES / "nvr_export.csv").checked

    assert (len(checked.cameras), checked.cameras[0].video_source_id != "NVR0001") == (60, True)
    assert all(len(c.video_source_id) == 32 for c in checked.cameras)


def test_missing_required_column_names_every_gap_with_suggestions(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """A sheet without the mapping's required columns: one error, did-you-mean for each."""
    sheet = write_xlsx({"S": [["Camra", "Groups", "Algorithm"], ["c1", "g1", "c-smoke"]]})

    with pytest.raises(InputError) as caught:
        load(sheet, str(write_mapping(FLAT)))

    assert "video_source_id: no column 'Camera' (did you mean 'Camra'?)" in caught.value.message
    assert "group: no column 'Group' (did you mean 'Groups'?)" in caught.value.message


def test_unused_column_is_warned_about_with_a_suggestion(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """A header no field reads is a warning on the header row (a typo must not hide)."""
    sheet = write_xlsx({"S": [["Camera", "Group", "Algoritm"], ["c-0001", "g1", "x"]]})

    problems = load(sheet, str(write_mapping(FLAT))).checked.problems

    unused = [p for p in problems if p.code == "unused-column"]
    assert [(p.row, p.column, p.message) for p in unused] == [
        (
            1,
            "Algoritm",
            "column 'Algoritm' is not used by mapping 'flat-test' (did you mean 'Algorithm'?)",
        )
    ]


def test_a_lone_id_in_the_last_row_is_a_camera_not_a_footer(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """A camera row with only its id filled is data (rejected or sent), never skipped."""
    sheet = write_xlsx(
        {"S": [["Camera", "Group", "Algorithm"], ["cam-0001", "g1", "c-smoke"], ["cam-0002"]]}
    )

    statuses = _statuses(sheet, str(write_mapping(FLAT)))

    assert statuses == {2: "valid", 3: "rejected"}


def test_settings_errors_are_reported_on_their_column_and_reject_the_row(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """An algorithm id with spaces rejects exactly the rows that carry it."""
    sheet = write_xlsx(
        {
            "S": [
                ["Camera", "Group", "Algorithm"],
                ["cam-0001", "g1", "c-smoke"],
                ["cam-0002", "g1", "Smoke and fire"],
            ]
        }
    )

    checked = load(sheet, str(write_mapping(FLAT))).checked

    errors = [(p.row, p.column, p.value) for p in checked.problems if p.severity == "error"]
    assert (errors, [c.row for c in checked.cameras]) == ([(3, "Algorithm", "Smoke and fire")], [2])


def test_mapping_wide_setting_errors_stop_before_reading_rows(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """A default no column can change (no output at all) is a ConfigError, not N row errors."""
    sheet = write_xlsx({"S": [["Camera", "Group", "Algorithm"], ["cam-0001", "g1", "c-smoke"]]})

    with pytest.raises(ConfigError, match="output needs at least one mode"):
        load(sheet, str(write_mapping(FLAT.replace("event_center = true", ""))))


def test_unknown_and_broken_groups_reject_their_cameras(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """Cameras of a group missing from, or invalid on, the Groups sheet are rejected."""
    mapping = write_mapping(TWO_SHEET_MAPPING)
    sheet = write_xlsx(
        {
            "Cameras": [
                ["Camera", "Group"],
                ["cam-0001", "g1"],
                ["cam-0002", "g2"],
                ["cam-0003", "g3"],
                ["cam-0004", "gx"],
            ],
            "Groups": [
                ["Group", "Algorithm", "Days"],
                ["g1", "c-smoke", "Mon-Fri"],
                ["g2", "c-smoke", "Funday"],
                ["g3", "c-fire", "daily"],
                ["g3", "c-fire", "daily"],
            ],
        }
    )

    checked = load(sheet, str(mapping)).checked

    found = [(p.sheet, p.row, p.code) for p in checked.problems if p.severity == "error"]
    assert found == [
        ("Cameras", 3, "unknown-group"),
        ("Cameras", 5, "unknown-group"),
        ("Groups", 3, "bad-days_of_week"),
        ("Groups", 5, "duplicate-group"),
    ]
    assert [(c.row, c.group) for c in checked.cameras] == [(2, "g1"), (4, "g3")]


def test_template_builds_a_field_from_two_columns(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """``template = "{Site}-{Zone}"`` joins columns into one value."""
    sheet = write_xlsx({"S": [["Camera", "Site", "Zone"], ["cam-0001", "sz", "gate"]]})
    mapping = FLAT.replace(
        'group = { column = "Group", required = true }',
        'group = { template = "{Site}-{Zone}", required = true }',
    ).replace('service_name = "Algorithm"', "")
    mapping = mapping.replace(
        'service_version = "3.0"', 'service_version = "3.0"\nservice_name = "c-smoke"'
    )

    checked = load(sheet, str(write_mapping(mapping))).checked

    assert [(c.group, c.video_source_id) for c in checked.cameras] == [("sz-gate", "cam-0001")]


def test_bad_mapping_file_is_a_config_error_naming_the_key(
    write_mapping: Callable[[str], Path], write_xlsx: XlsxWriter
) -> None:
    """A typo in a mapping key is caught when the mapping loads, with a suggestion."""
    sheet = write_xlsx({"S": [["Camera"], ["c"]]})

    with pytest.raises(ConfigError) as caught:
        load(sheet, str(write_mapping(FLAT.replace("service_name =", "servce_name ="))))

    assert caught.value.message.endswith(
        "cameras.columns: unknown field 'servce_name' (did you mean 'service_name' or 'camera_name'?)"
    )


def test_no_bundled_mapping_fits_is_an_input_error(write_xlsx: XlsxWriter) -> None:
    """A layout nothing knows asks for a mapping instead of guessing."""
    sheet = write_xlsx({"S": [["Foo", "Bar"], ["1", "2"]]})

    with pytest.raises(InputError, match="no bundled mapping fits"):
        load(sheet)


def test_groups_can_live_in_a_second_file(
    tmp_path: Path, write_mapping: Callable[[str], Path]
) -> None:
    """``[groups] file = "groups.csv"``: a two-file export joins like two sheets."""
    (tmp_path / "cameras.csv").write_text(
        "Camera,Group\ncam-0001,g1\ncam-0002,g2\n", encoding="utf-8"
    )
    (tmp_path / "groups.csv").write_text("Group,Algorithm\ng1,c-smoke\n", encoding="utf-8")
    mapping = write_mapping(
        """
name = "two-files"
[cameras.columns]
video_source_id = { column = "Camera", required = true }
group = { column = "Group", required = true }
[groups]
file = "groups.csv"
[groups.columns]
group = { column = "Group", required = true }
service_name = "Algorithm"
[task]
service_version = "3.0"
event_center = true
"""
    )

    checked = load(tmp_path / "cameras.csv", str(mapping)).checked

    assert [(c.row, c.group) for c in checked.cameras] == [(2, "g1")]
    assert [(p.file, p.row, p.code) for p in checked.problems] == [
        ("cameras.csv", 3, "unknown-group")
    ]


def test_fill_down_repeats_merged_group_cells(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """``fill_down = true``: a group named once above its cameras applies to all of them."""
    sheet = write_xlsx(
        {
            "S": [
                ["Group", "Camera", "Algorithm"],
                ["g1", "cam-0001", "c-smoke"],
                [None, "cam-0002", "c-smoke"],
                ["g2", "cam-0003", "c-smoke"],
                [None, "cam-0004", "c-smoke"],
            ]
        }
    )
    mapping = FLAT.replace(
        'group = { column = "Group", required = true }',
        'group = { column = "Group", required = true, fill_down = true }',
    )

    checked = load(sheet, str(write_mapping(mapping))).checked

    assert [(c.row, c.group) for c in checked.cameras] == [
        (2, "g1"),
        (3, "g1"),
        (4, "g2"),
        (5, "g2"),
    ]


def test_all_sheets_with_the_key_column_are_read_as_one(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """``sheet = "*"``: one sheet per site, each row keeps its own sheet and row."""
    header = ["Camera", "Group", "Algorithm"]
    sheet = write_xlsx(
        {
            "Read me": [["This workbook lists cameras per site"]],
            "Site A": [header, ["cam-0001", "g1", "c-smoke"], ["cam-0002", "g1", "c-smoke"]],
            "Site B": [
                ["Site B cameras"],
                header,
                ["cam-0001", "g1", "c-smoke"],
                ["", "g2", "c-smoke"],
            ],
        }
    )
    mapping = FLAT.replace("[cameras.columns]", '[cameras]\nsheet = "*"\n[cameras.columns]')

    checked = load(sheet, str(write_mapping(mapping))).checked

    assert checked.sheet == "Site A+Site B"
    assert [(p.sheet, p.row, p.code) for p in checked.problems if p.severity != "info"] == [
        ("Site B", 3, "duplicate"),
        ("Site B", 4, "missing-video_source_id"),
    ]
    assert [c.row for c in checked.cameras] == [2, 3]


def test_a_column_of_distinct_values_is_transformed_row_by_row_alike(tmp_path: Path) -> None:
    """20,000 distinct ROIs (read value by value, not through a table of distinct values):
    each camera's ROI as the API writes it, and an error on exactly the rows that fail."""
    path = tmp_path / "vms.csv"
    header = "Device UUID,Channel Group ID,Analytics,Detect Days,Detect Hours,Zone Points\n"
    lines = [
        f'CAM{n:08d},grp-{n % 7},Helmet,Mon-Fri,08:00-18:00,"{"1,2,3" if n in (3, 19_000) else f"{n},0;{n},9;0,9"}"'
        for n in range(20_000)
    ]
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")

    checked = load(path, "vms-flat").checked

    bad = [(p.row, p.code) for p in checked.problems if p.code == "bad-target_roi"]
    assert bad == [(5, "bad-target_roi"), (19_002, "bad-target_roi")]
    rois = {c.row: c.target_roi for c in checked.cameras}
    assert (len(rois), rois[2], rois[20_001]) == (
        19_998,
        '{"polygons":[{"data":[[0,0],[0,9],[0,9]]}]}',
        '{"polygons":[{"data":[[19999,0],[19999,9],[0,9]]}]}',
    )


def test_a_header_repeated_in_other_case_is_skipped_wherever_it_is(tmp_path: Path) -> None:
    """The repeated header is found by its folded text in every named column, whichever
    column is searched first (here the algorithm's, which holds the fewest values)."""
    path = tmp_path / "vms.csv"
    row = "{n:032x},grp-1,Helmet,Mon-Fri,08:00-18:00"
    lines = [row.format(n=n) for n in range(1, 3000)]
    lines.insert(1500, "DEVICE UUID,channel group id, ANALYTICS ,Detect Days:,detect hours")
    header = "Device UUID,Channel Group ID,Analytics,Detect Days,Detect Hours"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")

    checked = load(path, "vms-flat").checked

    skipped = [(p.row, p.code) for p in checked.problems if p.severity == "info"]
    assert (skipped, len(checked.cameras)) == ([(1502, "repeated-header")], 2999)


def test_counts_follow_the_rows_they_were_counted_on() -> None:
    """``count`` counts the statuses once, and again when the rows are replaced."""
    checked = load(SAMPLES / "legacy_vms_export.xlsx", "vms-flat").checked
    statuses = Counter(checked.rows[STATUS].tolist())
    before = [checked.count(s) for s in RowStatus]
    checked.rows = checked.rows.assign(**{STATUS: RowStatus.REJECTED.value})

    assert (before, [checked.count(s) for s in RowStatus]) == (
        [statuses[s.value] for s in RowStatus],
        [0, len(checked.rows), 0],
    )

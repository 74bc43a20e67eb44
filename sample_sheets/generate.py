"""
Writes the bundled sample inventories (deterministic: the same bytes of data every run).

    uv run python sample_sheets/generate.py

- site_rollout.xlsx        the bulkload workbook (mapping ``default``): Cameras + Groups,
                           5 sites, 34 groups, 652 cameras, one group of 140, Chinese names,
                           ROIs, three algorithms with their own schedules.
- legacy_vms_export.xlsx   a flat VMS export (mapping ``vms-flat``): title rows, a repeated
                           header at a page break, blank rows, a footer, upper-case ids with
                           stray spaces, and 8 bad rows of different kinds.
- legacy_two_sheet.xlsx    a two-sheet legacy layout (mapping ``legacy-two-sheet``): numeric
                           group codes that lost their zeros, per-group algorithm, version,
                           Chinese day names and UTC+8 time zones.
- nvr_export.csv           a semicolon CSV with a BOM (mapping ``nvr-csv``) whose legacy camera
  nvr_id_map.csv           ids are looked up in a second CSV.
- milestone_hardware.csv   MilestonePSTools' Export-VmsHardware CSV (mapping
                           ``milestone-pstools``): cameras with microphones and a disabled
                           camera between them, "lat, long" coordinates, ;-separated groups.
- ivms4200_devices.csv     Hikvision iVMS-4200's batch-import CSV (mapping ``hikvision-ivms``).
- stream_list.csv          camera names and stream addresses only (mapping ``streams``): the
                           demo's third inventory, found by name or registered.

The last three know no ids: their cameras are found in the project by name or registered.

``rollout_frames`` also feeds the benchmarks' large inventories.
"""

from __future__ import annotations

import csv
import random
import uuid
from pathlib import Path

import openpyxl
import pandas as pd

HERE = Path(__file__).resolve().parent
SITES = [
    ("SZ", "深圳总部", ["大堂", "停车场", "Loading Dock", "Perimeter", "机房", "Canteen", "东门"]),
    ("SH", "上海仓库", ["Loading Dock", "Racking A", "Racking B", "Yard", "Office", "North Gate"]),
    ("BJ", "北京数据中心", ["Hall 1", "Hall 2", "UPS Room", "Roof", "Lobby", "Cage Row", "Fence"]),
    ("GZ", "广州工厂", ["Line 1", "Line 2", "Paint Shop", "Warehouse", "Boiler", "Gate"]),
    (
        "CD",
        "成都门店",
        ["Front", "Back Office", "Stockroom", "Entrance", "Car Park", "Roof", "Lane"],
    ),
]
ALGORITHMS = [
    ("c-smoke-and-fire-cloud", "3.0", "daily", "all day"),
    ("c-intrusion-detection-cloud", "2.1.0", "Mon-Fri", "19:00-23:59"),
    ("c-helmet-detection-cloud", "1.0.2", "Mon-Sat", "07:00-12:00,13:00-19:00"),
]


def _ids(rng: random.Random, n: int) -> list[str]:
    """Deterministic UUID-like ids (32 lower-case hex)."""
    return [uuid.UUID(int=rng.getrandbits(128), version=4).hex for _ in range(n)]


def _roi(rng: random.Random) -> str:
    """A 4-point polygon as a person types it: x,y;x,y;..."""
    x, y = rng.randrange(0, 900), rng.randrange(0, 500)
    w, h = rng.randrange(200, 900), rng.randrange(150, 500)
    return f"{x},{y};{x + w},{y};{x + w},{y + h};{x},{y + h}"


def rollout_frames(
    cameras: int, groups: int, seed: int = 2026
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cameras, groups) tables in the default layout, cameras spread over the groups."""
    rng = random.Random(seed)
    group_ids = _ids(rng, groups)
    rows = []
    for number, group_id in enumerate(group_ids):
        code, site, zones = SITES[number % len(SITES)]
        algorithm = ALGORITHMS[number % len(ALGORITHMS)]
        rows.append(
            {
                "Group ID": group_id,
                "Group Name": f"{site}-{zones[number // len(SITES) % len(zones)]}",
                "Site": code,
                "Service": algorithm[0],
                "Version": algorithm[1],
                "Days": algorithm[2],
                "Hours": algorithm[3],
                "Timezone": "GMT+08:00",
                "Notes": "",
            }
        )
    camera_ids = _ids(rng, cameras)
    assignment = [rng.randrange(groups) for _ in range(cameras)]
    camera_rows = [
        {
            "Video Source ID": camera_id,
            "Camera Name": f"{rows[g]['Site']}-CAM-{n + 1:05d}",
            "Group ID": group_ids[g],
            "ROI": _roi(rng) if rng.random() < 0.3 else "",
            "Notes": "",
        }
        for n, (camera_id, g) in enumerate(zip(camera_ids, assignment, strict=True))
    ]
    return pd.DataFrame(camera_rows), pd.DataFrame(rows)


def site_rollout(path: Path) -> None:
    """The main sample: 34 groups, 652 cameras, group 2 holds 140 of them."""
    cameras, groups = rollout_frames(512, 34, seed=7)
    rng = random.Random(8)
    big = groups.loc[1, "Group ID"]
    extra = [
        {
            "Video Source ID": camera_id,
            "Camera Name": f"SH-DOCK-{n + 1:03d}",
            "Group ID": big,
            "ROI": _roi(rng) if n % 4 == 0 else "",
            "Notes": "dock expansion" if n == 0 else "",
        }
        for n, camera_id in enumerate(_ids(rng, 140 - int((cameras["Group ID"] == big).sum())))
    ]
    cameras = pd.concat([cameras, pd.DataFrame(extra)], ignore_index=True)
    cameras = cameras.iloc[: 652 - 0]
    groups.loc[3, "Notes"] = "pilot site"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        cameras.to_excel(writer, sheet_name="Cameras", index=False)
        groups.to_excel(writer, sheet_name="Groups", index=False)
    _widen(path)


def legacy_vms_export(path: Path) -> None:
    """A flat export with the usual mess, and eight rows that must be rejected or flagged."""
    rng = random.Random(11)
    group_ids = _ids(rng, 6)
    analytics = ["Smoke/Fire", "Intrusion", "Helmet"]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Camera Export"
    sheet.append(["ACME VMS 7.2 - Camera Inventory Export"])
    sheet.append(["Site: Shenzhen Campus (深圳园区)"])
    sheet.append(["Generated: 2026-11-20 09:14"])
    sheet.append([])
    header = [
        "Cam No.",
        "Camera Name",
        "Device UUID",
        "Channel Group ID",
        "Analytics",
        "Detect Days",
        "Detect Hours",
        "Zone Points",
        "IP Address",
    ]
    sheet.append(header)
    ids = [str(uuid.UUID(h)).upper() for h in _ids(rng, 120)]
    for n, device in enumerate(ids):
        if n == 60:
            sheet.append(header)  # the export repeats its header after a page break
        if n == 90:
            sheet.append([])
        group = n % 6
        sheet.append(
            [
                n + 1,
                f"深圳-{n + 1:03d}",
                f" {device} " if n % 7 == 0 else device,
                f"  {group_ids[group]}",
                analytics[group % 3],
                ["Mon-Fri", "daily", "周一至周五"][group % 3],
                ["08:00-18:00", "all day", "8am-6pm"][group % 3],
                _roi(rng) if n % 5 == 0 else "",
                f"10.20.{group}.{n + 10}",
            ]
        )
    bad = [
        [121, "深圳-121", "", group_ids[0], "Smoke/Fire", "daily", "all day", "", "10.20.0.1"],
        [
            122,
            "深圳-122",
            ids[0].lower() + "X",
            group_ids[0],
            "Smoke/Fire",
            "Funday",
            "all day",
            "",
            "",
        ],
        [
            123,
            "深圳-123",
            str(uuid.UUID(int=rng.getrandbits(128))).upper(),
            group_ids[1],
            "Intrusion",
            "daily",
            "25:00-26:00",
            "",
            "",
        ],
        [
            124,
            "深圳-124",
            str(uuid.UUID(int=rng.getrandbits(128))).upper(),
            group_ids[2],
            "Helmet",
            "daily",
            "all day",
            "10,20;30",
            "",
        ],
        [
            125,
            "深圳-125",
            str(uuid.UUID(int=rng.getrandbits(128))).upper(),
            group_ids[3],
            "Face Blur",
            "daily",
            "all day",
            "",
            "",
        ],
        [126, "深圳-126", ids[3], group_ids[3], "Smoke/Fire", "Mon-Fri", "08:00-18:00", "", ""],
        [127, "深圳-127", "AB CD-0001", group_ids[4], "Intrusion", "daily", "all day", "", ""],
        [
            128,
            "深圳-128",
            str(uuid.UUID(int=rng.getrandbits(128))).upper(),
            "",
            "Helmet",
            "daily",
            "all day",
            "",
            "",
        ],
    ]
    for row in bad:
        sheet.append(row)
    sheet.append([])
    sheet.append(["Total cameras: 128"])
    sheet.append(["Exported by ACME VMS 7.2 (build 4411)"])
    book.save(path)
    _widen(path)


def legacy_two_sheet(path: Path) -> None:
    """Two sheets joined on a numeric group code that lost its leading zero in Excel."""
    rng = random.Random(13)
    book = openpyxl.Workbook()
    groups = book.active
    assert groups is not None
    groups.title = "Cam Groups"
    groups.append(["Group configuration (export of 2019 NVR console)"])
    groups.append(
        [
            "Grp Code",
            "VIAS Group ID",
            "Grp Name",
            "Algorithm",
            "Alg Ver",
            "Run Days",
            "Run Time",
            "TZ",
            "Result Bucket",
            "Result Path",
        ]
    )
    codes = [101, 102, 205, 206, 310, 311, 312]
    group_ids = _ids(rng, len(codes))
    names = ["Fire Smoke", "Intruder", "Helmet"]
    for n, (code, group_id) in enumerate(zip(codes, group_ids, strict=True)):
        groups.append(
            [
                code if n % 2 else f"{code:04d}",
                group_id,
                f"仓库-{code}",
                names[n % 3],
                ALGORITHMS[n % 3][1],
                ["周一至周五", "每天", "周一至周六"][n % 3],
                ["8:00-18:00", "0:00-24:00", "7:00-19:00"][n % 3],
                "UTC+8",
                "legacy-results",
                f"nvr/{code:04d}",
            ]
        )
    cameras = book.create_sheet("Cam List")
    cameras.append(["No", "Channel UUID", "Channel Name", "Grp Code", "Detection Area"])
    for n, camera_id in enumerate(_ids(rng, 90)):
        x = rng.randrange(0, 600)
        cameras.append(
            [
                n + 1,
                camera_id.upper() if n % 3 == 0 else camera_id,
                f"CH{n + 1:03d}",
                codes[n % len(codes)],
                f"[[{x},0],[{x + 800},0],[{x + 800},700],[{x},700]]" if n % 4 == 0 else None,
            ]
        )
    book.save(path)
    _widen(path)


def nvr_csv(path: Path, id_map: Path) -> None:
    """A semicolon CSV with a UTF-8 BOM, and the legacy-id -> VIAS-id table beside it."""
    rng = random.Random(17)
    group_ids = _ids(rng, 4)
    legacy = [f"NVR{n:04d}" for n in range(1, 61)]
    vias = _ids(rng, len(legacy))
    with id_map.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["legacy_id", "video_source_id"])
        writer.writerows(zip(legacy, vias, strict=True))
    with path.open("w", newline="", encoding="utf-8-sig") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(["Legacy Cam ID", "Cam Name", "Group", "Algorithm", "Days", "Hours", "ROI"])
        for n, legacy_id in enumerate(legacy):
            writer.writerow(
                [
                    legacy_id,
                    f"Café Kamera {n + 1}",
                    group_ids[n % 4],
                    ["smoke", "intrusion"][n % 2],
                    "Mon-Sun",
                    "06:00-22:00",
                    _roi(rng) if n % 3 == 0 else "",
                ]
            )


def milestone_hardware(path: Path) -> None:
    """An Export-VmsHardware CSV: 3 sites, 18 cameras, a microphone per third hardware."""
    rng = random.Random(41)
    header = [
        "DeviceType", "Name", "Address", "Channel", "UserName", "Password", "DriverNumber",
        "DriverGroup", "RecordingServer", "Enabled", "HardwareName", "StorageName",
        "Coordinates", "DeviceGroups",
    ]  # fmt: skip
    sites = [
        ("Harbour", 53.5461, 9.9661),
        ("Airport", 53.6304, 9.9882),
        ("Depot", 53.5011, 10.0067),
    ]
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        for n in range(18):
            site, lat, lon = sites[n % 3]
            address = f"http://10.20.{n % 3}.{11 + n // 3}/"
            hardware = f"AXIS P3245-LVE ({address[7:-1]})"
            camera = f"{site} Camera {n // 3 + 1:02d}"
            coordinates = (
                f"{lat + rng.uniform(-0.002, 0.002):.6f}, {lon + rng.uniform(-0.002, 0.002):.6f}"
            )
            groups = f"/Hamburg/{site};/All Cameras"
            enabled = "False" if n == 7 else "True"
            common = [
                address,
                "0",
                "root",
                f"pass-{rng.randrange(10**6):06d}",
                "806",
                "Axis",
                "RS-01",
            ]
            writer.writerow(
                ["Camera", camera, *common, enabled, hardware, "Local Default", coordinates, groups]
            )
            if n % 3 == 0:
                writer.writerow(
                    ["Microphone", f"{camera} Mic", *common, "True", hardware, "", "", groups]
                )


def ivms4200_devices(path: Path) -> None:
    """An iVMS-4200 batch-import CSV of 12 devices added by IP and one by cloud P2P."""
    rng = random.Random(43)
    with path.open("w", newline="", encoding="utf-8-sig") as stream:
        writer = csv.writer(stream)
        writer.writerow(
            [
                "Nickname",
                "Adding Mode",
                "Address",
                "Port",
                "Device Information",
                "User Name",
                "Password",
            ]
        )
        for n in range(12):
            serial = f"DS-2CD2143G2-I20230{rng.randrange(10**6):06d}"
            password = f"Hik{rng.randrange(10**6):06d}!"
            writer.writerow(
                [
                    f"Warehouse Cam {n + 1}",
                    "IP/Domain",
                    f"192.168.1.{64 + n}",
                    "8000",
                    serial,
                    "admin",
                    password,
                ]
            )
        writer.writerow(["Gate Cloud Cam", "Hik-Connect", "", "", "Q12345678", "", ""])


def stream_list(path: Path) -> None:
    """Camera names and stream addresses, nothing else: the demo registers them all."""
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["Camera", "Stream URL"])
        for n in range(8):
            writer.writerow([f"Demo Street {n + 1}", f"rtsp://127.0.0.1:8554/street-{n + 1}"])


def _widen(path: Path) -> None:
    """Columns wide enough to read when a person opens the sample."""
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for column in sheet.columns:
            width = max((len(str(c.value)) for c in column if c.value is not None), default=8)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 10), 60)
    book.save(path)


def main() -> None:
    """Write every sample next to this script."""
    site_rollout(HERE / "site_rollout.xlsx")
    legacy_vms_export(HERE / "legacy_vms_export.xlsx")
    legacy_two_sheet(HERE / "legacy_two_sheet.xlsx")
    nvr_csv(HERE / "nvr_export.csv", HERE / "nvr_id_map.csv")
    milestone_hardware(HERE / "milestone_hardware.csv")
    ivms4200_devices(HERE / "ivms4200_devices.csv")
    stream_list(HERE / "stream_list.csv")


if __name__ == "__main__":
    main()

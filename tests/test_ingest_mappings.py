"""Test that column mappings are kept one per layout, and that a table inside an
archive can be mapped beside a member that cannot be read."""

from __future__ import annotations

import io
import zipfile

from pipeline.ingest import load_files
from pipeline.ingest.mapping import candidates_in_upload

SIGNUPS = b"Email,Joined,Source,Amount\nann@x.com,2024-03-01 10:00,Instagram,\n"
PHONES = (
    b"Contact Phone,Signed Up On,Platform,Spend\n"
    b"+1 415 555 0101,2024-03-04,tiktok,12.50\n"
    b"+1 415 555 0102,2024-03-05,instagram,\n"
)
BY_EMAIL = {"person": "Email", "timestamp": "Joined", "event": "=signup"}
BY_PHONE = {
    "person": "Contact Phone",
    "timestamp": "Signed Up On",
    "event": "=order",
    "value": "Spend",
}


def test_each_layout_is_read_with_its_own_mapping():
    """Test the new-user defect: one mapping per session, so mapping a second
    layout dropped the first. A list maps both, each file with the mapping whose
    columns it has (its report keeps that mapping only)."""
    dataset = load_files(
        [("signups.csv", SIGNUPS), ("phones.csv", PHONES)],
        mapping=[BY_EMAIL, BY_PHONE],
    )

    reports = {r.file: r for r in dataset.reports}
    assert [(r.kind, r.rows_loaded) for r in reports.values()] == [
        ("mapped", 1),
        ("mapped", 2),
    ]
    assert reports["signups.csv"].meta["mapping"] == BY_EMAIL
    assert reports["phones.csv"].meta["mapping"] == BY_PHONE
    assert dataset.orders["net_value"].tolist()[0] == 12.5
    assert dataset.orders["net_value"].isna().tolist() == [False, True]  # blank


def test_one_mapping_as_a_dict_still_maps():
    """Test a single mapping, as saved before there were lists, still loads."""
    dataset = load_files([("signups.csv", SIGNUPS)], mapping=BY_EMAIL)
    assert [(r.kind, r.rows_loaded) for r in dataset.reports] == [("mapped", 1)]


def test_the_first_mapping_that_fits_wins():
    """Test a table both mappings fit is read with the first one given."""
    loose = {"person": "Email", "timestamp": "Joined", "event": "=order"}
    dataset = load_files([("signups.csv", SIGNUPS)], mapping=[BY_PHONE, loose])
    assert dataset.reports[0].meta["mapping"] == loose
    assert len(dataset.orders) == 1


def test_a_table_in_an_archive_is_mappable_beside_an_unreadable_member():
    """Test the new-user defect: multi.zip held random bytes in random.csv, and its
    signups_unknown.csv "could not be mapped" because the whole archive was opened
    at once. Members are now read one by one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("random.csv", bytes(range(256)) * 20)
        archive.writestr("signups_unknown.csv", SIGNUPS)
    files = [("multi.zip", buffer.getvalue())]

    assert candidates_in_upload(files, "multi.zip/signups_unknown.csv") == [
        "Email",
        "Joined",
        "Source",
        "Amount",
    ]
    assert candidates_in_upload(files, "multi.zip/random.csv") == []

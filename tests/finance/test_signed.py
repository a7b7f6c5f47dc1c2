"""OCMF parsing details and the signed-data checks that flag records for review."""

from __future__ import annotations

from decimal import Decimal

from shared.consumers.finance.signed import check_signed, signed_data_object
from shared.inbound.ocmf import parse_ocmf
from tests.finance.helpers import ocmf
from tests.support.builders import SERIAL

D = Decimal
THREE = [
    ("2026-04-26T08:00:00", "B", "8018.883"),
    ("2026-04-26T09:00:00", "T", "8025.000"),
    ("2026-04-26T10:00:00", "E", "8030.883"),
]


def codes(signed: str | None, session_kwh: str = "12.000", serial: str | None = SERIAL) -> set[str]:
    check = check_signed(signed, D(session_kwh), D("0.01"), serial)
    # the helper's strings carry a made-up signature and no key is configured: no_key
    assert check.signature in ("no_key", "unsigned", "invalid")
    return {f.code for f in check.flags if f.code != "signature_no_key"}


def test_rv_is_read_exactly_and_omitted_fields_carry_over() -> None:
    parsed = parse_ocmf(ocmf(THREE))
    assert [r.value for r in parsed.readings] == [D("8018.883"), D("8025.000"), D("8030.883")]
    # RU is only on the first reading (OCMF omits repeated values): all are kWh
    assert [r.unit for r in parsed.readings] == ["kWh", "kWh", "kWh"]
    assert [r.time_status for r in parsed.readings] == ["R", "R", "R"]
    assert parsed.energy_kwh == D("12.000")


def test_watt_hours_and_precise_end_codes() -> None:
    text = ocmf(
        [("2026-04-26T08:00:00", "B", "1000"), ("2026-04-26T09:00:00", "L", "3500")], unit="Wh"
    )
    assert parse_ocmf(text).energy_kwh == D("2.5")


def test_payload_text_is_the_exact_substring() -> None:
    text = ocmf(THREE)
    parsed = parse_ocmf(text)
    assert text == f"OCMF|{parsed.payload_text}|" + text.rsplit("|", 1)[1]
    block = signed_data_object(text, parsed)
    assert block["encoding_method"] == "OCMF"
    assert block["signed_values"][0]["signed_data"] == text
    assert block["signed_values"][0]["plain_data"] == parsed.payload_text


def test_a_clean_record_has_no_review_flags() -> None:
    check = check_signed(ocmf(THREE), D("12.000"), D("0.01"), SERIAL)
    assert check.trusted
    assert check.energy_kwh == D("12.000")
    assert len(check.meter) == 3


def test_energy_mismatch_is_flagged_for_review() -> None:
    check = check_signed(ocmf(THREE), D("12.5"), D("0.01"), SERIAL)
    mismatch = [f for f in check.flags if f.code == "energy_mismatch"]
    assert mismatch
    assert mismatch[0].review
    assert "12.000" in mismatch[0].detail
    assert "12.5" in mismatch[0].detail
    assert codes(ocmf(THREE), "12.005") == set()  # within tolerance


def test_meter_status_other_than_ok_is_flagged() -> None:
    assert "meter_status" in codes(ocmf(THREE, status="M"))
    assert codes(ocmf(THREE, status="G")) == set()


def test_error_flags_aborts_and_serial_mismatch_are_flagged() -> None:
    assert "reading_error" in codes(ocmf(THREE, extra=',"EF":"E"'))
    aborted = [*THREE[:2], ("2026-04-26T10:00:00", "A", "8030.883")]
    assert "transaction_aborted" in codes(ocmf(aborted))
    assert "meter_serial_mismatch" in codes(ocmf(THREE, serial="ZAP999999"))


def test_unsigned_unreadable_and_incomplete_records() -> None:
    unsigned = check_signed(None, D("5"), D("0.01"), SERIAL)
    assert [(f.code, f.review) for f in unsigned.flags] == [("unsigned", False)]
    assert codes("OCMF|{broken") == {"ocmf_unreadable"}
    only_begin = ocmf([("2026-04-26T08:00:00", "B", "1.0")])
    assert "ocmf_no_energy" in codes(only_begin)

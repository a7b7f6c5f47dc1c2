"""Warnings (StateId 804) bits -> vendor fault names, OCPP 1.6 error codes and severities.

Bit names differ between Zaptec device families (Smart = Pro/Home, Apollo = Go/Go 2), so
names are looked up by *bit index* per family from Zaptec's constants. Some large values
in that file were printed through a float (``MOTOR_SHORTED`` 36028797018963970 is 2**55),
which is why the index, not the printed value, is the key.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["Fault", "bits_of", "describe", "family_of"]

SMART, APOLLO = "Smart", "Apollo"
_DEVICE_TYPE_FAMILY = {1: SMART, 4: APOLLO}
# Model by serial prefix (zaptec.md, from custom-components/zaptec zconst.py).
_PREFIX_FAMILY = {
    "ZAP": APOLLO, "ZGB": APOLLO, "ZAG": APOLLO, "GPN": APOLLO, "GPG": APOLLO,
    "ZCS": SMART, "ZPR": SMART, "ZCH": SMART, "ZPG": SMART,
}  # fmt: skip

# (OCPP 1.6 ChargePointErrorCode, severity) per vendor name; our own table (targets.md:
# no public mapping exists). Unlisted names fall back to OtherError/warning.
_OCPP: dict[str, tuple[str, str]] = {
    "HUMIDITY": ("OtherError", "warning"),
    "TEMPERATURE": ("HighTemperature", "warning"),
    "TEMPERATURE_ERROR": ("HighTemperature", "error"),
    "EMETER_NO_RESPONSE": ("PowerMeterFailure", "error"),
    "EMETER_ALARM": ("PowerMeterFailure", "error"),
    "EMETER_LINK": ("PowerMeterFailure", "error"),
    "EMETER_CAL": ("PowerMeterFailure", "error"),
    "MID": ("PowerMeterFailure", "error"),
    "MID_STORAGE_ERROR": ("PowerMeterFailure", "error"),
    "MID_STORAGE_ERROR_GO_GO2": ("PowerMeterFailure", "error"),
    "MAX_SESSION_RESTART": ("OtherError", "warning"),
    "CHARGE_OVERCURRENT": ("OverCurrentFailure", "error"),
    "OVERCURRENT_INSTALLATION": ("OverCurrentFailure", "error"),
    "PILOT_STATE": ("EVCommunicationError", "warning"),
    "PILOT_LOW_LEVEL": ("EVCommunicationError", "warning"),
    "PILOT_NO_PROXIMITY": ("EVCommunicationError", "warning"),
    "RELAY_WELDED": ("PowerSwitchFailure", "critical"),
    "UNEXPECTED_RELAY": ("PowerSwitchFailure", "critical"),
    "FPGA_UNEXPECTED_RELAY": ("PowerSwitchFailure", "critical"),
    "RCD_AC": ("GroundFailure", "critical"),
    "RCD_DC": ("GroundFailure", "critical"),
    "RCD_PEAK": ("GroundFailure", "critical"),
    "RCD_6MA": ("GroundFailure", "critical"),
    "RCD_30MA": ("GroundFailure", "critical"),
    "RCD_FAILURE": ("GroundFailure", "critical"),
    "O_PEN": ("GroundFailure", "critical"),
    "RCD_TEST_AC": ("GroundFailure", "error"),
    "RCD_TEST_DC": ("GroundFailure", "error"),
    "RCD_TEST_6MA": ("GroundFailure", "error"),
    "RCD_TEST_30MA": ("GroundFailure", "error"),
    "RCD_TEST_TIMEOUT": ("GroundFailure", "error"),
    "NO_VOLTAGE_L1": ("UnderVoltage", "critical"),
    "NO_VOLTAGE_L2_L3": ("UnderVoltage", "error"),
    "SERVO": ("ConnectorLockFailure", "error"),
    "MOTOR": ("ConnectorLockFailure", "error"),
    "MOTOR_SHORTED": ("ConnectorLockFailure", "error"),
    "REBOOT": ("InternalError", "info"),
    "DISABLED": ("OtherError", "info"),
    "FPGA_CHARGING_RESET": ("InternalError", "warning"),
    "ILLEGAL_PHASE": ("OtherError", "error"),
}
_INTERNAL = (
    "LOW_LEVEL_12V", "NO_SWITCH_POW_DEF", "FPGA_COM_TIMEOUT", "INVALID_HARDWARE_ID",
    "FPGA_VERSION", "FPGA_WATCHDOG", "VARISCITE", "MCU_BOOTLOADER", "FPGA_INIT_FAILED", "ESP",
)  # fmt: skip
_OCPP.update(dict.fromkeys(_INTERNAL, ("InternalError", "error")))


@dataclass(frozen=True, slots=True)
class Fault:
    """One warning bit as the rest of chargeops sees it."""

    bit: int
    code: str
    ocpp_error_code: str
    severity: str


def family_of(device_type: int | None, serial: str | None) -> str | None:
    """Device family from DeviceType, else from the serial's model prefix."""
    if device_type in _DEVICE_TYPE_FAMILY:
        return _DEVICE_TYPE_FAMILY[device_type]
    if serial:
        return _PREFIX_FAMILY.get(serial[:3].upper())
    return None


def bits_of(mask: int) -> list[int]:
    """Indexes of the set bits, lowest first."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def describe(bit: int, family: str | None) -> Fault:
    """The named fault for a bit; unknown family or bit -> ``WARNING_BIT_<n>``."""
    name = _bit_names().get(family or "", {}).get(bit, f"WARNING_BIT_{bit}")
    ocpp, severity = _OCPP.get(name, ("OtherError", "warning"))
    return Fault(bit=bit, code=name, ocpp_error_code=ocpp, severity=severity)


@cache
def _bit_names() -> dict[str, dict[int, str]]:
    raw: dict[str, Any] = json.loads(
        resources.files("shared.data").joinpath("zaptec_constants.json").read_text("utf-8")
    )
    names: dict[str, dict[int, str]] = {}
    for family in (SMART, APOLLO):
        table: dict[int, str] = {}
        for name, value in raw["Schema"][family]["Warnings"].items():
            if not isinstance(value, int) or value <= 0:
                continue
            index = value.bit_length() - 1
            exact = 1 << index
            if abs(value - exact) <= exact >> 40:  # a single bit, possibly float-mangled
                table[index] = name
        names[family] = table
    return names


# Warnings is a 64-bit mask (real bits end at 2^55): ASCII decimal or 0x-hex only, so a
# frame of 4,000 digits (or Arabic-Indic digits, or "1_0") cannot raise thousands of faults.
_WARNINGS = re.compile(r"0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20}")


def parse_mask(value: str) -> int | None:
    """A Warnings value as a mask, None when it is not one (defined once: in-order
    frames and late ones merged by ``shared.charger.late`` read it alike)."""
    text = value.strip()
    if not _WARNINGS.fullmatch(text):
        return None
    mask = int(text, 16) if text[:2] in ("0x", "0X") else int(text)
    return mask if mask < 1 << 64 else None

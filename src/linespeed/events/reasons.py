"""Stable reason codes for refused events; each is documented in docs/events.md."""

from __future__ import annotations

from typing import Final

from linespeed.errors import LinespeedError

REASONS: Final[dict[str, str]] = {
    # payload and schema
    "json.malformed": "the payload is not valid JSON (or not UTF-8)",
    "json.too_deep": "the JSON is nested too deeply to be an event",
    "event.not_object": "the payload is JSON but not an object",
    "kind.unknown": "`kind` is not one of the event kinds",
    "field.missing": "a required field is missing",
    "field.type": "a field has the wrong JSON type",
    "field.invalid": "a field has a value it does not allow (empty, too long, not in its list)",
    "field.unknown": "the event carries a field its kind does not have",
    "ts.invalid": "a timestamp is not an RFC 3339 date-time",
    "ts.no_offset": "a timestamp has no UTC offset",
    "ts.out_of_range": (
        "a timestamp is before 1970 or from 2200 on; or, from a live source (HTTP, MQTT),"
        " further in the future than the allowed clock skew or older than the allowed age"
    ),
    "csv.row": "a CSV row does not fit the header (wrong number of cells, or a bad number)",
    "payload.too_large": "an MQTT message is larger than the bridge's size limit",
    "topic.mismatch": "the event's line or station differs from the MQTT topic it came on",
    "plant.unknown": "the MQTT topic names a plant this store does not hold",
    "event.simulated": "a simulated event, and the store was not created with `init --simulation`",
    "event.unstorable": (
        "the database refused to store the event, alone, for its content; nothing else failed"
    ),
    # identity and access
    "id.conflict": (
        "an event with this id was accepted before, at the same station (or, for an event"
        " without a station, on the same line), with other content"
    ),
    "station.not_allowed": (
        "a station-limited token may act only on cars that have not yet passed its stations"
    ),
    # master data
    "line.unknown": "the line is not in the plant",
    "station.unknown": "the station is not in the plant",
    "station.wrong_line": "the station is not on the line the event names or the car runs on",
    "model.unknown": "the model is not in the plant",
    "color.unknown": "the colour is not offered for the model",
    "check.unknown": "the check is not one the station performs",
    "vin.invalid": "the VIN has the wrong length or a forbidden character",
    "vin.check_digit": "the VIN's check digit (position 9) is wrong",
    "vin.plant_mismatch": "the VIN's maker, plant or model positions do not fit the plant",
    "vin.model_mismatch": "the VIN's descriptor (positions 4-8) belongs to another model",
    # unit state machine
    "unit.duplicate": "a car with this VIN was already started",
    "unit.unknown": "no car with this VIN was started",
    "unit.completed": "the car is already completed; only `unit.shipped` may follow",
    "unit.scrapped": "the car was scrapped; nothing may follow",
    "unit.shipped": "the car has shipped; nothing may follow",
    "unit.not_completed": "the car cannot ship before it is completed",
    "unit.open_defect": "the car cannot complete with an open defect",
    "unit.missed_station": "the car cannot complete: a mandatory station was never completed",
    "station.out_of_order": "the car already passed this station or one after it",
    "station.missed": "a mandatory station before this one was never completed",
    "gate.open_defect": "the car cannot pass a quality gate with an open defect",
    "part.not_in_bom": "the part is not in the model's BOM at this station",
    "part.serial_missing": "a serialized part was installed without a serial",
    "part.lot_missing": "a lot-tracked part was installed without a lot",
    "part.serial_in_use": "the serial is already installed in another car",
    "part.station_passed": "the car has already left the station where the part is installed",
    "defect.duplicate": "a defect with this id is already recorded on the car",
    "defect.not_open": "the defect is not open on the car",
}
"""Every reason code an event can be refused with, and what it means."""


class EventRejectedError(LinespeedError):
    """An event breaks a rule; `code` is a key of REASONS, `detail` says what for people."""

    def __init__(self, code: str, detail: str, *, field: str | None = None) -> None:
        if code not in REASONS:
            raise KeyError(f"unknown reason code {code!r}")
        super().__init__(f"{code}: {detail}", code=code)
        self.detail = detail
        self.field = field

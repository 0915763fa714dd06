"""Stable reason codes for refused events, as records (code, stage, meaning,
retryable); each is documented in docs/events.md. `EventRejectedError` carries one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from linespeed.errors import LinespeedError

Stage = Literal[
    "decode", "source", "store", "identity", "access", "master data", "state machine", "stock"
]
"""Where on the ingest path an event is refused: decoding the payload, a check of the source
(CSV file, MQTT topic), the store, its id, the sender's rights, the plant's master data, the
car's state machine, or the stock ledger (goods receipts and counts)."""


@dataclass(frozen=True)
class Reason:
    """One reason code: where on the ingest path it is found, what it means for people, and
    whether a retry of the stored payload can succeed (not when the payload was not kept
    whole, or when the check that refused it, such as the MQTT topic, the plant or the API
    token's stations, is not in the payload, so a retry would skip it)."""

    code: str
    stage: Stage
    meaning: str
    retryable: bool = True


REASONS: Final[Mapping[str, Reason]] = {
    reason.code: reason
    for reason in (
        Reason("json.malformed", "decode", "the payload is not valid JSON (or not UTF-8)"),
        Reason("json.too_deep", "decode", "the JSON is nested too deeply to be an event"),
        Reason("event.not_object", "decode", "the payload is JSON but not an object"),
        Reason("kind.unknown", "decode", "`kind` is not one of the event kinds"),
        Reason("field.missing", "decode", "a required field is missing"),
        Reason("field.type", "decode", "a field has the wrong JSON type"),
        Reason(
            "field.invalid",
            "decode",
            "a field has a value it does not allow (empty, too long, not in its list)",
        ),
        Reason("field.unknown", "decode", "the event carries a field its kind does not have"),
        Reason("ts.invalid", "decode", "a timestamp is not an RFC 3339 date-time"),
        Reason("ts.no_offset", "decode", "a timestamp has no UTC offset"),
        Reason(
            "ts.out_of_range",
            "decode",
            (
                "a timestamp is before 1970 or from 2200 on; or, from a live source (HTTP, MQTT), "
                "further in the future than the allowed clock skew or older than the allowed age"
            ),
        ),
        Reason(
            "csv.row",
            "source",
            "a CSV row does not fit the header (wrong number of cells, or a bad number)",
            retryable=False,
        ),
        Reason(
            "payload.too_large",
            "source",
            "an MQTT message is larger than the bridge's size limit",
            retryable=False,
        ),
        Reason(
            "topic.mismatch",
            "source",
            "the event's line or station differs from the MQTT topic it came on",
            retryable=False,
        ),
        Reason(
            "plant.unknown",
            "source",
            "the MQTT topic names a plant this store does not hold",
            retryable=False,
        ),
        Reason(
            "event.simulated",
            "store",
            "a simulated event, and the store was not created with `init --simulation`",
        ),
        Reason(
            "event.unstorable",
            "store",
            (
                "the database refused to store the event, alone, for its content;"
                " nothing else failed"
            ),
        ),
        Reason(
            "id.conflict",
            "identity",
            (
                "an event with this id was accepted before, at the same station (or, for an event "
                "without a station, on the same line), with other content"
            ),
        ),
        Reason(
            "station.not_allowed",
            "access",
            "a station-limited token may act only on cars that have not yet passed its stations",
            retryable=False,
        ),
        Reason(
            "correction.not_allowed",
            "access",
            (
                "`part.removed` and `part.installed` with `correction: true` need the engineer "
                "role: an engineer or admin token, or the command line (audited as the "
                "operating-system user); devices and operators may not correct genealogy"
            ),
            retryable=False,
        ),
        Reason("line.unknown", "master data", "the line is not in the plant"),
        Reason("station.unknown", "master data", "the station is not in the plant"),
        Reason(
            "station.wrong_line",
            "master data",
            "the station is not on the line the event names or the car runs on",
        ),
        Reason("model.unknown", "master data", "the model is not in the plant"),
        Reason("color.unknown", "master data", "the colour is not offered for the model"),
        Reason("check.unknown", "master data", "the check is not one the station performs"),
        Reason(
            "vin.invalid",
            "master data",
            "the VIN has the wrong length or a forbidden character",
        ),
        Reason("vin.check_digit", "master data", "the VIN's check digit (position 9) is wrong"),
        Reason(
            "vin.plant_mismatch",
            "master data",
            "the VIN's maker, plant or model positions do not fit the plant",
        ),
        Reason(
            "vin.model_mismatch",
            "master data",
            "the VIN's descriptor (positions 4-8) belongs to another model",
        ),
        Reason("unit.duplicate", "state machine", "a car with this VIN was already started"),
        Reason("unit.unknown", "state machine", "no car with this VIN was started"),
        Reason(
            "unit.completed",
            "state machine",
            "the car is already completed; only `unit.shipped` may follow",
        ),
        Reason("unit.scrapped", "state machine", "the car was scrapped; nothing may follow"),
        Reason("unit.shipped", "state machine", "the car has shipped; nothing may follow"),
        Reason("unit.not_completed", "state machine", "the car cannot ship before it is completed"),
        Reason("unit.open_defect", "state machine", "the car cannot complete with an open defect"),
        Reason(
            "unit.missed_station",
            "state machine",
            "the car cannot complete: a mandatory station was never completed",
        ),
        Reason(
            "unit.missing_part",
            "state machine",
            (
                "with `supply: {strict: true}`: the car cannot complete: a serialized part its "
                "BOM requires was never installed (lines with `tracking: units` are exempt)"
            ),
        ),
        Reason(
            "station.out_of_order",
            "state machine",
            "the car already passed this station or one after it",
        ),
        Reason(
            "station.missed",
            "state machine",
            "a mandatory station before this one was never completed",
        ),
        Reason(
            "gate.open_defect",
            "state machine",
            "the car cannot pass a quality gate with an open defect",
        ),
        Reason(
            "part.not_in_bom",
            "state machine",
            "the part is not in the model's BOM at this station",
        ),
        Reason(
            "part.serial_missing",
            "state machine",
            "a serialized part was installed without a serial",
        ),
        Reason(
            "part.lot_missing",
            "state machine",
            "a lot-tracked part was installed without a lot",
        ),
        Reason(
            "part.serial_in_use",
            "state machine",
            "the serial is already installed in another car",
        ),
        Reason(
            "part.station_passed",
            "state machine",
            "the car has already left the station where the part is installed",
        ),
        Reason(
            "part.not_held",
            "state machine",
            "`part.removed`: the car does not hold that part (or not that serial or lot)",
        ),
        Reason(
            "defect.duplicate",
            "state machine",
            "a defect with this id is already recorded on the car",
        ),
        Reason("defect.not_open", "state machine", "the defect is not open on the car"),
        Reason(
            "part.not_received",
            "stock",
            (
                "with `supply: {strict: true}`: the serialized piece installed was never "
                "received (`part.received`)"
            ),
        ),
        Reason("part.unknown", "master data", "the part is in no BOM of the plant"),
        Reason(
            "stock.quantity",
            "stock",
            (
                "the quantity is not allowed: a receipt needs more than 0 pieces, a count "
                "0 or more (neither above 1,000,000,000)"
            ),
        ),
        Reason(
            "stock.serial_received",
            "stock",
            "a serial of the receipt was received before, or is listed twice in it",
        ),
        Reason(
            "stock.serials_count",
            "stock",
            "the receipt lists a number of serials other than its quantity",
        ),
        Reason(
            "stock.serials_missing",
            "stock",
            "a serialized part was received without its serials (one per piece)",
        ),
        Reason(
            "stock.serials_not_allowed",
            "stock",
            "serials were listed for a part that is not serialized (it is tracked by lot)",
        ),
    )
}
"""Every reason code an event can be refused with, by code."""


def is_retryable(code: str) -> bool:
    """Whether a dead letter refused with `code` may succeed when ingested again (a code not
    in REASONS, from an older version, is tried again)."""
    reason = REASONS.get(code)
    return reason is None or reason.retryable


class EventRejectedError(LinespeedError):
    """An event breaks a rule; `code` is a key of REASONS (its record is `reason`), `detail`
    says what for people. Raises KeyError for a code not in REASONS."""

    def __init__(self, code: str, detail: str, *, field: str | None = None) -> None:
        if code not in REASONS:
            raise KeyError(f"unknown reason code {code!r}")
        super().__init__(f"{code}: {detail}", code=code)
        self.reason = REASONS[code]
        self.detail = detail
        self.field = field

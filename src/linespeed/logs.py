"""Log lines of long-running commands: text for people, or one JSON object per line for a
plant's log collector, each with the id of the API request it belongs to.

`configure_logging` sets up the root logger on standard error; uvicorn's access and error
logs go through the same formatter (`serve`). `REQUEST_ID` holds the current API request's
id (set by the API's request-id middleware), which every line logged while the request is
handled carries.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final, Literal

LogFormat = Literal["text", "json"]
LOG_FORMATS: Final[tuple[LogFormat, ...]] = ("text", "json")
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"
REQUEST_ID: ContextVar[str | None] = ContextVar("linespeed_request_id", default=None)
"""The id of the API request being handled in this context (None outside requests)."""
_ACCESS_LOGGER: Final = "uvicorn.access"
_ACCESS_FIELDS: Final = ("client", "method", "path", "http_version", "status")


class TextFormatter(logging.Formatter):
    """`time LEVEL logger message`, with ` request=ID` inside an API request."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of text (a traceback follows on lines of its own)."""
        line = super().format(record)
        request_id = REQUEST_ID.get()
        return line if request_id is None else f"{line} request={request_id}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `at` (UTC), `level`, `logger`, `message`, `request_id`
    inside an API request, the access log's `client`, `method`, `path`, `http_version` and
    `status`, and `exception` with its traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        args = record.args
        if record.name == _ACCESS_LOGGER and isinstance(args, tuple) and len(args) == 5:
            line.update(zip(_ACCESS_FIELDS, args, strict=True))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter of `log_format`."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(log_format: LogFormat, level: int = logging.WARNING) -> None:
    """Log to standard error in `log_format` from `level` up; uvicorn's loggers (if used)
    through the same handler, its access log at info level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", _ACCESS_LOGGER):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger(_ACCESS_LOGGER).setLevel(logging.INFO)

"""One delivery attempt: the body POSTed over HTTP(S), signed, with a timeout.

The signature is `X-Linespeed-Signature: sha256=<hex>`, the HMAC-SHA256 of the exact body
bytes with the webhook's secret. Redirects are not followed: an answer other than 2xx is a
failed attempt. Proxies are taken from the environment (`https_proxy`, `no_proxy`), as
`urllib` does.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import linespeed

SIGNATURE_HEADER: Final = "X-Linespeed-Signature"
DELIVERY_HEADER: Final = "X-Linespeed-Delivery"
KIND_HEADER: Final = "X-Linespeed-Kind"
_READ_AT_MOST: Final = 64 << 10
_ERROR_AT_MOST: Final = 300


@dataclass(frozen=True)
class Attempt:
    """What one POST came to: delivered (a 2xx answer) or not, with the HTTP status if the
    receiver answered and the error for people if it failed."""

    delivered: bool
    http_status: int | None
    error: str | None


Sender = Callable[[str, bytes, Mapping[str, str], float], Attempt]
"""POSTs (url, body, headers, timeout_s) and tells what came of it; never raises."""


def signature(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


_opener: Final = urllib.request.build_opener(_NoRedirect)


def post_json(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> Attempt:
    """POST `body` as JSON to `url` with `headers`, waiting at most `timeout_s` per step.

    Never raises: a refused connection, a timeout or an answer other than 2xx is an
    Attempt that was not delivered, saying why.
    """
    if not url.lower().startswith(("http://", "https://")):
        return Attempt(False, None, f"{url!r} is not an http(s) URL")
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 (http(s) only)
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", f"linespeed/{linespeed.__version__} webhooks")
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with _opener.open(request, timeout=timeout_s) as answer:
            answer.read(_READ_AT_MOST)
            status = int(answer.status)
    except urllib.error.HTTPError as error:
        error.close()
        return Attempt(False, error.code, f"HTTP {error.code} {error.reason}"[:_ERROR_AT_MOST])
    except urllib.error.URLError as error:
        return Attempt(False, None, _reason(error.reason))
    except (OSError, http.client.HTTPException, ValueError) as error:
        return Attempt(False, None, _reason(error))
    if 200 <= status < 300:
        return Attempt(True, status, None)
    return Attempt(False, status, f"HTTP {status}")


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "timed out"
    text = str(reason) or type(reason).__name__
    return text[:_ERROR_AT_MOST]

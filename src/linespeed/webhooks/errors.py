"""Errors of the webhooks."""

from __future__ import annotations

from linespeed.errors import InputError, NotFoundError


class WebhookInputError(InputError):
    """A webhook cannot be added or run as asked: a URL that is not http(s), an unknown kind,
    an unreadable or empty secret file, settings out of range (`parameter`, `value`)."""

    code = "webhook.input"


class UnknownWebhookError(NotFoundError):
    """The plant has no webhook of that id."""

    code = "webhook.unknown"

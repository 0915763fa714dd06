"""Webhooks: the plant's news (a milestone car, a station down, a part shortage) POSTed as
signed JSON to the URLs operators add, retried with back-off and logged per delivery.

- `registry`: `Webhook`, `add_webhook` (checked; starts at the newest event), `list_webhooks`,
  `remove_webhook`, and the runner's `targets` (with their secrets).
- `news`: `KINDS`, which feed messages a webhook is sent (`webhook_kind`) and the JSON body
  (`delivery_body`).
- `log`: the delivery log: `Delivery`, `list_deliveries`, and the runner's steps (queue an
  item and move the resume point in one transaction, claim an attempt, record it).
- `sending`: one attempt: `post_json` with a timeout, the HMAC-SHA256 `signature`.
- `runner`: `WebhookRunner` (a pass, a foreground loop, a background thread) and
  `DeliverySettings` (timeout, back-off, when to give up).
- `errors`: `WebhookInputError` (`webhook.input`), `UnknownWebhookError` (`webhook.unknown`).
"""

from linespeed.webhooks.errors import UnknownWebhookError, WebhookInputError
from linespeed.webhooks.log import Delivery, list_deliveries
from linespeed.webhooks.news import KINDS
from linespeed.webhooks.registry import Webhook, add_webhook, list_webhooks, remove_webhook
from linespeed.webhooks.runner import DeliverySettings, WebhookRunner

__all__ = [
    "KINDS",
    "Delivery",
    "DeliverySettings",
    "UnknownWebhookError",
    "Webhook",
    "WebhookInputError",
    "WebhookRunner",
    "add_webhook",
    "list_deliveries",
    "list_webhooks",
    "remove_webhook",
]

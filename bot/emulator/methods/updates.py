"""getUpdates (long polling) and the webhook methods."""

from __future__ import annotations

import copy
from typing import Any

from ..core import EmulatorCore
from ..errors import DEFAULT_DESCRIPTIONS, ApiError
from ..params import Params
from ..registry import api_method
from ..webhook import is_local_url

WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


@api_method("getUpdates")
async def get_updates(core: EmulatorCore, p: Params) -> list[dict[str, Any]]:
    """Confirm by offset, then answer at once or hold the request until an update arrives.

    A newer getUpdates call terminates an older waiting one with 409, as Telegram does when two
    bot instances poll the same token.
    """
    if core.webhook["url"]:
        raise ApiError(409, WEBHOOK_CONFLICT)
    limit = min(max(p.get_int("limit", 100) or 100, 1), 100)
    timeout = max(p.get_int("timeout", 0) or 0, 0)
    core.updates.set_allowed(p.get("allowed_updates"))
    core.updates.confirm(p.get_int("offset"))
    core.poll_serial += 1
    serial = core.poll_serial
    core.signal.notify()
    if timeout and not core.updates.has_deliverable():
        await core.signal.wait_for(
            lambda: core.updates.has_deliverable() or core.poll_serial != serial or core.closing,
            timeout,
        )
    if core.poll_serial != serial:
        raise ApiError(409, DEFAULT_DESCRIPTIONS[409])
    items = core.updates.take(limit)
    for item in items:
        item.delivered = True
    if items:
        core.signal.notify()
    return [copy.deepcopy(item.update) for item in items]


@api_method("setWebhook")
async def set_webhook(core: EmulatorCore, p: Params) -> bool:
    """From now on getUpdates answers 409, and updates are POSTed to ``url`` if it is on this
    machine (see ``emulator/webhook.py``; there plain http is accepted too)."""
    url = p.get_str("url", "") or ""
    if (
        url
        and not url.startswith("https://")
        and not (url.startswith("http://") and is_local_url(url))
    ):
        raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    if p.get_bool("drop_pending_updates"):
        core.updates.drop_all()
    core.updates.set_allowed(p.get("allowed_updates"))
    core.webhook = {"url": url, **{k: v for k, v in p.values.items() if k != "url"}}
    core.signal.notify()
    return True


@api_method("deleteWebhook")
async def delete_webhook(core: EmulatorCore, p: Params) -> bool:
    if p.get_bool("drop_pending_updates"):
        core.updates.drop_all()
    core.webhook = {"url": ""}
    core.signal.notify()
    return True


@api_method("getWebhookInfo")
async def get_webhook_info(core: EmulatorCore, p: Params) -> dict[str, Any]:
    info: dict[str, Any] = {
        "url": core.webhook["url"],
        "has_custom_certificate": False,
        "pending_update_count": len(core.updates.pending),
    }
    if core.webhook.get("max_connections"):
        info["max_connections"] = core.webhook["max_connections"]
    if core.webhook.get("allowed_updates"):
        info["allowed_updates"] = core.webhook["allowed_updates"]
    return info

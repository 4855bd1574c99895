"""Bot API error answers, using the descriptions the real api.telegram.org sends.

Tests (and python-telegram-bot's exception mapping) look at the HTTP status, the description
text and ``parameters.retry_after``, so those three must look like the real server's.
"""

from __future__ import annotations

from typing import Any

DEFAULT_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BLOCKED = "Forbidden: bot was blocked by the user"


class ApiError(Exception):
    """An error answer (``ok: false``) for the current API call.

    Raised anywhere inside a method implementation; the HTTP layer turns it into the JSON body and
    the HTTP status that python-telegram-bot maps onto its exception classes.
    """

    def __init__(
        self, error_code: int, description: str | None = None, *, retry_after: int | None = None
    ) -> None:
        self.error_code = error_code
        self.retry_after = retry_after
        self.description = description or default_description(error_code, retry_after)
        super().__init__(f"{error_code} {self.description}")

    def body(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def default_description(error_code: int, retry_after: int | None = None) -> str:
    """The description Telegram uses for an error code when nothing more specific applies."""
    if error_code == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    return DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")


def bad_request(detail: str) -> ApiError:
    """A 400 answer with Telegram's ``Bad Request: <detail>`` description."""
    return ApiError(400, f"Bad Request: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    """A 429 flood-control answer carrying ``parameters.retry_after``."""
    return ApiError(429, retry_after=max(1, retry_after))

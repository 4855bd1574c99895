"""Turns replies-as-data into Telegram-ready HTML texts and button rows, from templates/."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.paths import TEMPLATES_DIR
from bot.services import textutil
from bot.services.language import format_date_id, format_datetime_id
from bot.services.replies import AnyReply, Button, DocumentReply, Keyboard, LongReply, Reply
from bot.services.textutil import (
    Block,
    mark_after,
    split_html_blocks,
    with_mark,
    word_before,
    year_note,
)

ButtonRows = list[list[tuple[str, str]]]
_BLANK_LINES = re.compile(r"\n{3,}")
# Longest button label shown; clients cut longer ones mid-word themselves.
LABEL_MAX = 60


@dataclass(frozen=True)
class Rendered:
    """A message ready to send: HTML text and rows of (label, callback_data).

    With `document` set it is a file and `text` is its caption."""

    text: str
    buttons: ButtonRows
    edit: bool = False
    to: int | None = None
    document: tuple[str, bytes] | None = None


class Renderer:
    def __init__(self, tz: ZoneInfo, templates_dir: Path = TEMPLATES_DIR) -> None:
        self.tz = tz
        self.templates_dir = templates_dir
        self.env = Environment(
            loader=FileSystemLoader(templates_dir / "messages"),
            autoescape=select_autoescape(["html", "j2"], default_for_string=True),
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["date_id"] = self._date_id
        self.env.filters["datetime_id"] = self._datetime_id
        self.env.filters["truncate_text"] = truncate_text
        self.env.filters["with_mark"] = with_mark
        self.env.filters["mark_after"] = mark_after
        self.env.filters["before"] = word_before
        self.env.filters["year_note"] = year_note
        # /bantuan lists the commands with their help lines (labels.yaml `commands:`).
        self.env.globals["command_texts"] = self.labels["commands"]

    @cached_property
    def labels(self) -> dict[str, Any]:
        return yaml.safe_load((self.templates_dir / "labels.yaml").read_text(encoding="utf-8"))

    def text(self, template: str, context: dict[str, Any] | None = None) -> str:
        raw = self.env.get_template(f"{template}.html.j2").render(**(context or {}))
        return _BLANK_LINES.sub("\n\n", raw).strip()

    def render(self, reply: Reply) -> Rendered:
        return Rendered(
            self.text(reply.template, reply.context),
            self.buttons(reply.buttons),
            reply.edit,
            reply.to,
        )

    def render_document(self, reply: DocumentReply) -> Rendered:
        caption = (
            self.text(reply.caption_template, reply.caption_context)
            if reply.caption_template
            else ""
        )
        return Rendered(
            caption,
            self.buttons(reply.buttons),
            to=reply.to,
            document=(reply.filename, reply.content),
        )

    def render_long(self, reply: LongReply) -> list[Rendered]:
        blocks = [
            Block(
                self.text(c.head_template, c.head_context),
                c.body_text,
                "<pre>" if c.pre else "",
                "</pre>" if c.pre else "",
            )
            for c in reply.chunks
        ]
        texts = split_html_blocks(blocks)
        rendered = [Rendered(text, [], to=reply.to) for text in texts]
        last = rendered[-1]
        rendered[-1] = Rendered(last.text, self.buttons(reply.buttons), to=reply.to)
        return rendered

    def render_any(self, reply: AnyReply) -> list[Rendered]:
        if isinstance(reply, LongReply):
            return self.render_long(reply)
        if isinstance(reply, DocumentReply):
            return [self.render_document(reply)]
        return [self.render(reply)]

    def buttons(self, rows: Keyboard) -> ButtonRows:
        return [[(self.button_label(b), b.data) for b in row] for row in rows if row]

    def button_label(self, button: Button) -> str:
        if button.text is not None:
            return textutil.shorten(button.text, LABEL_MAX)
        return textutil.shorten(
            self.labels["buttons"][button.label].format(**button.params), LABEL_MAX
        )

    def notice(self, key: str) -> str:
        return self.labels["notices"][key]

    def command_texts(self) -> dict[str, dict[str, str]]:
        """Command name -> its `menu` and `help` lines, in the order menus and /bantuan show."""
        return dict(self.labels["commands"])

    def _date_id(self, value: date | datetime) -> str:
        if isinstance(value, datetime):
            value = value.astimezone(self.tz)
        return format_date_id(value)

    def _datetime_id(self, value: datetime) -> str:
        return format_datetime_id(value, self.tz)


def truncate_text(text: str, limit: int) -> str:
    """Shorten to `limit` characters at a word boundary, marking the cut with an ellipsis."""
    return textutil.shorten(text, limit, collapse=False)

"""Telegram's text formatting: the HTML parse mode and the length rules that depend on it.

Telegram validates HTML strictly and counts limits on the *visible* text, so a bot that
interpolates an unescaped ``<`` or ``&`` breaks only in production. This module mirrors that:
a small hand-written scanner (modelled on TDLib's ``parse_html``) turns the HTML source into plain
text plus message entities, or raises :class:`EntityParseError` with a Telegram-style detail.

Deliberately stricter than TDLib in one place: a bare ``&`` that does not start one of the
supported entities is rejected (TDLib passes it through), because the Bot API documentation
requires escaping it and an emulator should catch the missing escape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import bad_request

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

TAG_ENTITY_TYPES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
NAMED_ENTITIES: dict[str, str] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\n\r\f\v"


class EntityParseError(ValueError):
    """The HTML could not be parsed; the message is the detail after "can't parse entities: "."""


@dataclass
class ParsedText:
    """Visible text and its entities (offsets and lengths in UTF-16 code units, as in the API)."""

    plain: str
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start: int  # UTF-16 offset in the output where the tag's content begins
    byte_offset: int


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets."""
    return len(text.encode("utf-16-le")) // 2


class _HtmlScanner:
    """Single-pass scanner over the HTML source; one instance per parse."""

    def __init__(self, source: str, *, tags: bool = True, base_bytes: int = 0) -> None:
        self.src = source
        self.tags = tags  # False inside attribute values: only character references count
        self.base_bytes = base_bytes  # where ``source`` starts in the original message
        self.pos = 0
        self.out: list[str] = []
        self.out_len = 0  # UTF-16 length of everything in ``out``
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    # -- helpers -------------------------------------------------------------------------------

    def byte_offset(self, index: int) -> int:
        """Telegram reports error positions as UTF-8 byte offsets into the source."""
        return self.base_bytes + len(self.src[:index].encode("utf-8"))

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.src[index] if index < len(self.src) else ""

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.out_len += utf16_len(text)

    def skip_spaces(self) -> None:
        while self.peek() and self.peek() in _SPACES:
            self.pos += 1

    # -- main loop -----------------------------------------------------------------------------

    def run(self) -> ParsedText:
        while self.pos < len(self.src):
            char = self.src[self.pos]
            if char == "<" and self.tags:
                if self.peek(1) == "/":
                    self.end_tag()
                else:
                    self.start_tag()
            elif char == "&":
                self.emit(self.entity())
            else:
                self.emit(char)
                self.pos += 1
        if self.stack:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.out), self.entities)

    # -- character references --------------------------------------------------------------------

    def entity(self) -> str:
        """Decode ``&name;`` / ``&#NNN;`` / ``&#xHHH;`` at ``pos`` and advance past it."""
        start = self.pos
        end = self.src.find(";", start + 1)
        body = self.src[start + 1 : end] if end != -1 else ""
        if end == -1 or not body or any(ch in _SPACES + "&<" for ch in body):
            raise EntityParseError(
                f'Character "&" must be escaped as "&amp;" at byte offset {self.byte_offset(start)}'
            )
        self.pos = end + 1
        if body.startswith("#"):
            return self.numeric_entity(body[1:], start)
        if body in NAMED_ENTITIES:
            return NAMED_ENTITIES[body]
        raise EntityParseError(
            f'Unsupported HTML entity "&{body};" at byte offset {self.byte_offset(start)}'
        )

    def numeric_entity(self, digits: str, start: int) -> str:
        try:
            code = int(digits[1:], 16) if digits[:1] in ("x", "X") else int(digits, 10)
        except ValueError:
            code = -1
        if not (0 < code <= 0x10FFFF) or 0xD800 <= code <= 0xDFFF:
            raise EntityParseError(
                f'Invalid numeric HTML entity "&#{digits};" at byte offset '
                f"{self.byte_offset(start)}"
            )
        return chr(code)

    # -- tags ------------------------------------------------------------------------------------

    def start_tag(self) -> None:
        begin = self.pos
        self.pos += 1
        name_start = self.pos
        while self.peek() and self.peek() not in _SPACES and self.peek() != ">":
            self.pos += 1
        if not self.peek():
            raise EntityParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        name = self.src[name_start : self.pos].lower()
        if name not in TAG_ENTITY_TYPES:
            raise EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {self.byte_offset(begin)}'
            )
        attrs = self.attributes(name, begin)
        self.pos += 1  # the closing '>'
        self.check_required_attributes(name, attrs, begin)
        self.stack.append(_OpenTag(name, attrs, self.out_len, self.byte_offset(begin)))

    def attributes(self, tag: str, begin: int) -> dict[str, str]:
        """Parse ``name="value"`` pairs up to the closing ``>`` (left at ``pos``)."""
        attrs: dict[str, str] = {}
        while True:
            self.skip_spaces()
            if not self.peek():
                raise EntityParseError(
                    f"Unclosed start tag at byte offset {self.byte_offset(begin)}"
                )
            if self.peek() == ">":
                return attrs
            name = self.attribute_name(tag)
            self.skip_spaces()
            if self.peek() != "=":
                if tag == "blockquote" and name == "expandable":
                    attrs[name] = ""
                    continue
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {self.byte_offset(begin)}"
                )
            self.pos += 1
            self.skip_spaces()
            attrs[name] = self.attribute_value(begin)

    def attribute_name(self, tag: str) -> str:
        start = self.pos
        while self.peek() and self.peek() not in _SPACES + "=>\"'":
            self.pos += 1
        if start == self.pos:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {self.byte_offset(start)}'
            )
        return self.src[start : self.pos].lower()

    def attribute_value(self, begin: int) -> str:
        quote = self.peek()
        if not quote:
            raise EntityParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        if quote in "\"'":
            end = self.src.find(quote, self.pos + 1)
            if end == -1:
                raise EntityParseError(
                    f"Unclosed start tag at byte offset {self.byte_offset(begin)}"
                )
            start, self.pos = self.pos + 1, end + 1
            raw = self.src[start:end]
        else:
            start = self.pos
            while self.peek() and self.peek() not in _SPACES + ">":
                self.pos += 1
            raw = self.src[start : self.pos]
        return _HtmlScanner(raw, tags=False, base_bytes=self.byte_offset(start)).run().plain

    def check_required_attributes(self, name: str, attrs: dict[str, str], begin: int) -> None:
        where = f"at byte offset {self.byte_offset(begin)}"
        if name == "a" and not attrs.get("href"):
            raise EntityParseError(f'Tag "a" must have attribute "href" {where}')
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" {where}')
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise EntityParseError(f'Tag "tg-emoji" must have attribute "emoji-id" {where}')

    def end_tag(self) -> None:
        begin = self.pos
        close = self.src.find(">", begin)
        if close == -1:
            raise EntityParseError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        name = self.src[begin + 2 : close].strip().lower()
        self.pos = close + 1
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        top = self.stack[-1]
        if name != top.name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, expected "
                f'"</{top.name}>", found "</{name}>"'
            )
        self.stack.pop()
        self.close_entity(top)

    def close_entity(self, tag: _OpenTag) -> None:
        length = self.out_len - tag.start
        if length <= 0:
            return  # Telegram drops empty entities
        language = tag.attrs.get("class", "")
        parent = self.stack[-1] if self.stack else None
        nested_in_pre = parent is not None and parent.name == "pre"
        if tag.name == "code" and nested_in_pre and language.startswith("language-"):
            assert parent is not None
            parent.attrs["language"] = language.removeprefix("language-")
            return
        entity: dict[str, Any] = {
            "type": TAG_ENTITY_TYPES[tag.name],
            "offset": tag.start,
            "length": length,
        }
        if tag.name == "a":
            entity["url"] = tag.attrs["href"]
        elif tag.name == "pre" and tag.attrs.get("language"):
            entity["language"] = tag.attrs["language"]
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.attrs["emoji-id"]
        elif tag.name == "blockquote" and "expandable" in tag.attrs:
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)


def parse_html(source: str) -> ParsedText:
    """Parse Telegram-flavoured HTML into visible text and entities.

    Raises :class:`EntityParseError` for anything Telegram would refuse.
    """
    return _HtmlScanner(source).run()


def parse_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> ParsedText:
    """Apply ``parse_mode`` (or explicit ``entities``) the way the Bot API does.

    Markdown modes are accepted leniently: the raw text is taken as the visible text, which
    over-counts the length slightly but never rejects a message Telegram would accept as HTML.
    Raises :class:`ApiError` (400) for an unknown parse mode or an HTML error.
    """
    mode = (parse_mode or "").strip()
    if not mode:
        return ParsedText(text, list(entities or []))
    lowered = mode.lower()
    if lowered == "html":
        try:
            return parse_html(text)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc
    if lowered in ("markdown", "markdownv2"):
        return ParsedText(text, [])
    raise bad_request(f"unsupported parse_mode {mode!r}")


def check_message_text(parsed: ParsedText) -> None:
    """Telegram's 1–4096 visible-character rule for message text."""
    if not parsed.plain.strip():
        raise bad_request("message text is empty")
    if len(parsed.plain) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")


def check_caption(parsed: ParsedText) -> None:
    """Captions are optional but limited to 1024 visible characters."""
    if len(parsed.plain) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")


def command_entities(text: str) -> list[dict[str, Any]]:
    """``bot_command`` entities for every ``/command`` or ``/command@bot`` word in ``text``.

    Clients mark these, and python-telegram-bot's CommandHandler relies on the entity at
    offset 0, so simulated user messages must carry them.
    """
    found: list[dict[str, Any]] = []
    index = 0
    while index < len(text):
        at_word_start = index == 0 or text[index - 1] in _SPACES
        if text[index] == "/" and at_word_start:
            end = index + 1
            while end < len(text) and (text[end].isalnum() or text[end] in "_@"):
                end += 1
            name = text[index + 1 : end].split("@", 1)[0]
            if 1 <= len(name) <= 32 and name.isascii():
                found.append(
                    {
                        "type": "bot_command",
                        "offset": utf16_len(text[:index]),
                        "length": utf16_len(text[index:end]),
                    }
                )
            index = end
        else:
            index += 1
    return found


__all__ = [
    "MAX_CAPTION_LENGTH",
    "MAX_TEXT_LENGTH",
    "EntityParseError",
    "ParsedText",
    "check_caption",
    "check_message_text",
    "command_entities",
    "parse_html",
    "parse_text",
    "utf16_len",
]

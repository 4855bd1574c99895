"""Telling a question from an answer: "apa maksudnya judul inovasi?" typed while a section is
awaited is a question to the clinic, not the section's text.

The words and the length limit are data (templates/data/question_words.yaml), reviewed with
the clinic; the rule itself is here.
"""

from __future__ import annotations

import unicodedata
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bot.paths import DATA_DIR
from bot.services.textutil import count_words

# Closing marks that may follow the question mark: "(boleh?)", "ya?" 🙏
_TRAILING_CLOSERS = frozenset(")]}\"'”’»")


@dataclass(frozen=True)
class QuestionWords:
    max_words: int
    # Openers as tuples of words, longest first, so "di mana" is tried before "di".
    openers: tuple[tuple[str, ...], ...]


@cache
def question_words(data_dir: Path = DATA_DIR) -> QuestionWords:
    raw = yaml.safe_load((data_dir / "question_words.yaml").read_text(encoding="utf-8"))
    openers = sorted({tuple(str(o).casefold().split()) for o in raw["openers"]}, key=len)
    return QuestionWords(max_words=int(raw["max_words"]), openers=tuple(reversed(openers)))


def looks_like_question(text: str, words: QuestionWords | None = None) -> bool:
    """Is this short text a question (ends with "?" or opens with a question word)?

    A long text is an answer even when it contains or ends with a question mark: people
    asking the bot write one or two sentences, while a section's answer that argues with a
    rhetorical question is a paragraph.
    """
    words = words or question_words()
    if not text.strip() or count_words(text) > words.max_words:
        return False
    return _ends_with_question_mark(text) or _opens_with_question_word(text, words)


def question_token(text: str) -> int:
    """A short number naming one pending question in its buttons: a button made for another
    text (an earlier question) does not match the one pending now."""
    return zlib.crc32(text.encode("utf-8"))


def _ends_with_question_mark(text: str) -> bool:
    end = len(text)
    while end and (
        text[end - 1].isspace()
        or text[end - 1] in _TRAILING_CLOSERS
        or unicodedata.category(text[end - 1]) in ("So", "Sk", "Mn", "Cf")
    ):
        end -= 1
    return end > 0 and text[end - 1] in "?？"


def _opens_with_question_word(text: str, words: QuestionWords) -> bool:
    tokens = [t.strip(".,:;!?\"'()“”‘’") for t in text.split()]
    tokens = [t for t in tokens if t]
    for opener in words.openers:
        head = tokens[: len(opener)]
        if [t.casefold() for t in head] == list(opener):
            # "APA KABAR DESA" is a name in capitals, not a question.
            return not (len(head[0]) > 1 and head[0].isupper())
    return False

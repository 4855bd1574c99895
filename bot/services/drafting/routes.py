"""The buttons of drafting: starting a draft, the list, an opened draft and its actions,
answering a section, and a question typed where an answer was expected.

Other features that lead back to a draft import these (an arrow you can see)."""

from __future__ import annotations

from typing import Annotated

from bot.services.routes import BigInt, MaxLen, Route


class NewDraft(Route, prefix="n"):
    """Choose a format (no key yet), or create a draft of the chosen one."""

    format_key: Annotated[str, MaxLen(32)] = ""


class ChooseOption(Route, prefix="a"):
    """An option of a choice section: draft, the section's position, the option's position."""

    draft_id: int
    index: int
    option: int


class ListDrafts(Route, prefix="d:l"):
    page: int = 0


class OpenDraft(Route, prefix="d:o"):
    draft_id: int


class ContinueDraft(Route, prefix="d:c"):
    draft_id: int


class ChooseSectionToEdit(Route, prefix="d:e"):
    draft_id: int


class EditSection(Route, prefix="d:s"):
    draft_id: int
    index: int


class PreviewDraft(Route, prefix="d:p"):
    draft_id: int


class AskRename(Route, prefix="d:r"):
    draft_id: int


class ConfirmDelete(Route, prefix="d:x"):
    draft_id: int


class DeleteDraft(Route, prefix="d:xx"):
    draft_id: int


class ChoicePage(Route, prefix="d:cp"):
    """A page of a long option list (the field of government affairs, ~30 options)."""

    draft_id: int
    index: int
    page: int


class SaveQuestionAsAnswer(Route, prefix="d:qs"):
    """The text that looked like a question is the answer after all. `token` names the
    question the buttons were made for (see questions.question_token)."""

    draft_id: int
    index: int
    token: BigInt


class ShowGuidance(Route, prefix="d:qg"):
    draft_id: int
    index: int
    token: BigInt


class AskMentorAboutQuestion(Route, prefix="d:qm"):
    draft_id: int
    index: int
    token: BigInt

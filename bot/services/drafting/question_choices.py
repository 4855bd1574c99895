"""A question typed where an answer was expected: the user says whether it was the answer
after all, a reason to read the section's guidance, or a question for a mentor.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.services.answers import (
    InvalidAnswer,
    clean_text,
)
from bot.services.completeness import word_progress
from bot.services.drafting.routes import (
    AskMentorAboutQuestion,
    SaveQuestionAsAnswer,
    ShowGuidance,
)
from bot.services.drafting.views import (
    DRAFT,
    EDIT,
    DraftBase,
    DraftView,
    _forget_question,
    _not_found,
    _pending_text,
)
from bot.services.formats import Section
from bot.services.questions import question_token
from bot.services.readiness import section_advice
from bot.services.replies import (
    Button,
    Keyboard,
    Outcome,
    Reply,
    keyboard,
)
from models import repository as repo


class QuestionChoices(DraftBase):
    """What a typed question was, chosen by button."""

    def on_question_choice(
        self, session: Session, user_id: int, action: str, draft_id: int, index: int, token: int
    ) -> Outcome:
        """What a typed question was: the answer after all (qs), a reason to read the section's
        guidance (qg), or a question for a mentor (qm). Valid only while that question waits."""
        state = repo.get_state(session, user_id)
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        question = _pending_text(state)
        awaited = state.flow in (DRAFT, EDIT) and state.draft_id == draft_id
        if (
            question is None
            or not awaited
            or not 0 <= index < len(view.fmt.sections)
            or view.fmt.sections[index].key != state.section_key
            or question_token(question) != token
        ):
            return Outcome(notice="stale_button", notice_alert=True)
        section = view.fmt.sections[index]
        if action == "qg":
            return Outcome().add(self._guidance(view, section, question))
        if action == "qm" and self.ask_mentor is not None:
            request = self.ask_mentor(session, user_id, draft_id, question)
            if state.flow in (DRAFT, EDIT):  # no request begun (refused): the question waits
                return request
            context = {"section": section, "text": question}
            request.replies.insert(0, Reply("draft/question_to_mentor", context, edit=True))
            return request
        if action != "qs":
            return Outcome(notice="stale_button", notice_alert=True)
        _forget_question(state)
        try:
            value = clean_text(section, question)
        except InvalidAnswer as invalid:
            return self._reask(view, section, invalid)
        outcome = Outcome(notice="saved").add(
            Reply("draft/question_saved", {"section": section}, edit=True)
        )
        return self._save_and_advance(
            session, state, view, section, value, outcome, acknowledged=True
        )

    def _question_choices(
        self, view: DraftView, section: Section, question: str, flow: str
    ) -> Reply:
        context = {
            "section": section,
            "text": question.strip(),
            "editing": flow == EDIT,
            "mentors": self.ask_mentor is not None,
        }
        return Reply(
            "draft/question_detected", context, self._question_buttons(view, section, question)
        )

    def _question_buttons(
        self, view: DraftView, section: Section, question: str, guidance: bool = True
    ) -> Keyboard:
        ids = (view.draft.id, view.fmt.index(section.key), question_token(question))
        rows = [[Button(SaveQuestionAsAnswer(*ids), label="question_save")]]
        if guidance:
            rows.append([Button(ShowGuidance(*ids), label="question_guidance")])
        if self.ask_mentor is not None:
            rows.append([Button(AskMentorAboutQuestion(*ids), label="question_mentor")])
        return keyboard(*rows)

    def _guidance(self, view: DraftView, section: Section, question: str) -> Reply:
        rule = view.fmt.word_rule_for(section)
        context = {
            "section": section,
            "number": view.fmt.index(section.key) + 1,
            "total": len(view.fmt.sections),
            "advice": section_advice(view.fmt, section),
            "words": word_progress(view.fmt, rule, view.answers) if rule else None,
        }
        buttons = self._question_buttons(view, section, question, guidance=False)
        return Reply("draft/section_guidance", context, buttons)

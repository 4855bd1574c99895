"""The flow of answers: asking a section's question, saving what is typed or chosen, moving on,
skip and back, and a choice of many options shown the likeliest first, then paged.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.services.answers import (
    InvalidAnswer,
    clean_month,
    clean_text,
    display_value,
    match_choice,
)
from bot.services.completeness import word_progress
from bot.services.drafting.routes import (
    ChoicePage,
    ChooseOption,
    OpenDraft,
)
from bot.services.drafting.views import (
    DRAFT,
    EDIT,
    QUESTION,
    DraftBase,
    DraftView,
    _forget_question,
    _not_found,
    _pending_text,
    _with_buttons,
)
from bot.services.formats import Section
from bot.services.questions import looks_like_question
from bot.services.replies import (
    AnyReply,
    Button,
    Chunk,
    Keyboard,
    LongReply,
    Outcome,
    Reply,
    in_rows,
    keyboard,
    one_per_row,
)
from models import repository as repo
from models.consultations import section_comments
from models.tables import ConversationState

# A current answer up to this long is shown to copy inside the question; a longer one goes in
# messages of its own before it (split to fit Telegram's 4,096 characters).
INLINE_COPY_MAX = 1000
# A choice with more options than this shows the likeliest few, then all of them paged.
CHOICE_BUTTONS_MAX = 12
LIKELY_CHOICES = 6
CHOICES_PER_PAGE = 8


class Answering(DraftBase):
    """Walking the sections: questions, answers, skip/back/pause, choice pages."""

    def awaited_section(self, session: Session, state: ConversationState) -> Section | None:
        """The section the user is answering now, if any."""
        if state.flow not in (DRAFT, EDIT):
            return None
        view = self._state_view(session, state)
        return view.fmt.section(state.section_key) if view and state.section_key else None

    def ask_again(self, session: Session, state: ConversationState) -> Outcome:
        """The awaited section's question once more (nothing if no section is awaited)."""
        if state.flow not in (DRAFT, EDIT) or not state.section_key:
            return Outcome()
        view = self._state_view(session, state)
        if view is None:
            return Outcome()
        section = view.fmt.section(state.section_key)
        pending = _pending_text(state)
        if pending is not None:
            return Outcome().add(self._question_choices(view, section, pending, state.flow))
        return self._add_question(Outcome(), session, view, section, state.flow)

    def on_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        """A typed answer while in the draft or edit flow."""
        view = self._state_view(session, state)
        if view is None:
            repo.clear_flow(state)
            return _not_found()
        section = view.fmt.section(state.section_key or "")
        _forget_question(state)  # a question still pending is left behind: the user moved on
        if section.kind == "choice":
            return self._typed_choice(session, state, view, section, text)
        if section.kind == "text" and looks_like_question(text):
            state.step = QUESTION
            state.data = {"question": text}
            return Outcome().add(self._question_choices(view, section, text, state.flow))
        try:
            if section.kind == "month":
                value = clean_month(view.fmt, section, text, view.answers, self.ctx.today())
            else:
                value = clean_text(section, text)
        except InvalidAnswer as invalid:
            return self._reask(view, section, invalid)
        outcome = self._save_and_advance(session, state, view, section, value)
        if section.kind == "text":
            self._remember_text(state, view.draft, section, len(text))
        return outcome

    def on_choice(
        self, session: Session, user_id: int, draft_id: int, index: int, option: int
    ) -> Outcome:
        """A choice button. Valid only while the bot still waits for exactly that section."""
        state = repo.get_state(session, user_id)
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        if not (0 <= index < len(view.fmt.sections)):
            return Outcome(notice="stale_button", notice_alert=True)
        section = view.fmt.sections[index]
        waiting = state.flow in (DRAFT, EDIT) and state.draft_id == draft_id
        if (
            not waiting
            or state.section_key != section.key
            or not 0 <= option < len(section.options)
        ):
            return Outcome(notice="stale_button", notice_alert=True)
        value = section.options[option]
        outcome = Outcome(notice="saved")
        outcome.add(Reply("draft/chosen", {"section": section, "value": value}, edit=True))
        return self._save_and_advance(
            session, state, view, section, value, outcome, acknowledged=True
        )

    def skip(self, session: Session, state: ConversationState) -> Outcome:
        view = self._state_view(session, state)
        if view is None or state.flow != DRAFT:
            return Outcome().add(Reply("draft/skip_outside_flow"))
        section = view.fmt.section(state.section_key or "")
        outcome = Outcome()
        if section.is_required(view.answers) and not view.answers.get(section.key):
            outcome.add(Reply("draft/skipped_required", {"section": section}))
        return self._advance(session, state, view, section.key, outcome)

    def back(self, session: Session, state: ConversationState) -> Outcome:
        view = self._state_view(session, state)
        if view is None or state.flow != DRAFT:
            return Outcome().add(Reply("draft/back_outside_flow"))
        previous = view.fmt.previous_key(state.section_key)
        if previous is None:
            outcome = Outcome().add(Reply("draft/at_first_section"))
            section = view.fmt.section(state.section_key or "")
            return self._add_question(outcome, session, view, section, DRAFT)
        return self._ask(session, state, view, previous, DRAFT, Outcome())

    def pause(self, session: Session, state: ConversationState) -> Outcome:
        view = self._state_view(session, state)
        repo.clear_flow(state)
        if view is None:
            return Outcome().add(Reply("draft/paused_nothing"))
        return Outcome().add(Reply("draft/paused", view.as_context(), self._summary_buttons(view)))

    def _ask(
        self,
        session: Session,
        state: ConversationState,
        view: DraftView,
        key: str,
        flow: str,
        outcome: Outcome,
        **extra: Any,
    ) -> Outcome:
        repo.set_flow(state, flow, draft_id=view.draft.id, section_key=key)
        if flow == DRAFT:
            view.draft.resume_section = key
            session.add(view.draft)
        return self._add_question(outcome, session, view, view.fmt.section(key), flow, **extra)

    def _add_question(
        self,
        outcome: Outcome,
        session: Session,
        view: DraftView,
        section: Section,
        flow: str,
        **extra: Any,
    ) -> Outcome:
        """The section's question, after the current text to copy when it is too long to fit
        inside the question."""
        for reply in self._question_replies(session, view, section, flow, **extra):
            outcome.add(reply)
        return outcome

    def _question_replies(
        self, session: Session, view: DraftView, section: Section, flow: str, **extra: Any
    ) -> list[AnyReply]:
        current = display_value(section, view.answers.get(section.key))
        copy = section.kind == "text" and bool(current)
        inline = copy and len(current) <= INLINE_COPY_MAX
        replies: list[AnyReply] = []
        if copy and not inline:
            head = {"section": section}
            replies.append(LongReply((Chunk("draft/current_text", head, current, pre=True),)))
        question = self._question(
            view, section, flow, copy_inline=inline, copy_above=copy and not inline, **extra
        )
        if section.kind == "choice" and len(section.options) > CHOICE_BUTTONS_MAX:
            likely = self._likely_options(session, view, section)
            question = _with_buttons(question, self._likely_keyboard(view, section, likely, flow))
        replies.append(question)
        return replies

    def _question(self, view: DraftView, section: Section, flow: str, **extra: Any) -> Reply:
        fmt = view.fmt
        index = fmt.index(section.key)
        rule = fmt.word_rule_for(section)
        context = {
            "section": section,
            "number": index + 1,
            "total": len(fmt.sections),
            "current": display_value(section, view.answers.get(section.key)),
            "many_options": len(section.options) > CHOICE_BUTTONS_MAX,
            "optional": not section.is_required(view.answers),
            "editing": flow == EDIT,
            "title": view.title,
            "words": word_progress(fmt, rule, view.answers) if rule else None,
            "comments": section_comments(view.draft, section.key),
            **extra,
        }
        buttons: Keyboard = ()
        if section.kind == "choice":
            options = [
                Button(ChooseOption(view.draft.id, index, i), text=o)
                for i, o in enumerate(section.options)
            ]
            buttons = in_rows(options, 2 if len(options) > 6 else 1)
        if flow == EDIT:
            buttons = (*buttons, (Button(OpenDraft(view.draft.id), label="cancel_edit"),))
        return Reply("draft/question", context, buttons)

    def _reask(self, view: DraftView, section: Section, invalid: InvalidAnswer) -> Outcome:
        outcome = Outcome().add(Reply(invalid.template, {"section": section, **invalid.context}))
        return outcome

    def _typed_choice(
        self,
        session: Session,
        state: ConversationState,
        view: DraftView,
        section: Section,
        text: str,
    ) -> Outcome:
        matches = match_choice(section, text)
        if len(matches) == 1:
            outcome = Outcome()
            return self._save_and_advance(session, state, view, section, matches[0], outcome)
        index = view.fmt.index(section.key)
        buttons = [
            Button(ChooseOption(view.draft.id, index, section.options.index(m)), text=m)
            for m in matches
        ]
        context = {"section": section, "text": text.strip()[:100], "matches": matches}
        return Outcome().add(Reply("draft/choice_not_matched", context, one_per_row(buttons)))

    def _save_and_advance(
        self,
        session: Session,
        state: ConversationState,
        view: DraftView,
        section: Section,
        value: str,
        outcome: Outcome | None = None,
        acknowledged: bool = False,
    ) -> Outcome:
        previous = view.answers.get(section.key)  # "riwayat" is mentioned only if there was one
        outcome = outcome or Outcome()
        changed = repo.store_answer(
            session, view.draft, section.key, value, self.ctx.max_revisions_per_section
        )
        view.answers[section.key] = value
        if state.flow == EDIT:
            repo.clear_flow(state)
            template = "draft/section_updated" if changed else "draft/section_unchanged"
            return outcome.add(
                self._summary(
                    view, notice_template=template, section=section, had_previous=bool(previous)
                )
            )
        saved = None
        if not acknowledged or view.fmt.word_rule_for(section):
            saved = self._saved_context(view, section, value)
        return self._advance(session, state, view, section.key, outcome, saved)

    def _saved_context(self, view: DraftView, section: Section, value: str) -> dict[str, Any]:
        rule = view.fmt.word_rule_for(section)
        return {
            "section": section,
            "value": display_value(section, value),
            "is_text": section.kind == "text",
            "words": word_progress(view.fmt, rule, view.answers) if rule else None,
            "last_of_group": bool(rule)
            and view.fmt.group_sections(section.group or "")[-1].key == section.key,
        }

    def _advance(
        self,
        session: Session,
        state: ConversationState,
        view: DraftView,
        after_key: str,
        outcome: Outcome,
        saved: dict[str, Any] | None = None,
    ) -> Outcome:
        next_key = view.fmt.next_key(after_key)
        if next_key is None:
            view.draft.resume_section = None
            session.add(view.draft)
            repo.clear_flow(state)
            return outcome.add(self._summary(view, notice_template="draft/finished", saved=saved))
        return self._ask(session, state, view, next_key, DRAFT, outcome, saved=saved)

    def choice_page(
        self, session: Session, user_id: int, draft_id: int, index: int, page: int
    ) -> Outcome:
        state = repo.get_state(session, user_id)
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        awaited = state.flow in (DRAFT, EDIT) and state.draft_id == draft_id
        if not awaited or not 0 <= index < len(view.fmt.sections):
            return Outcome(notice="stale_button", notice_alert=True)
        section = view.fmt.sections[index]
        if section.key != state.section_key or len(section.options) <= CHOICE_BUTTONS_MAX:
            return Outcome(notice="stale_button", notice_alert=True)
        pages = -(-len(section.options) // CHOICES_PER_PAGE)
        page = min(max(page, 0), pages)
        if page == 0:
            buttons = self._likely_keyboard(
                view, section, self._likely_options(session, view, section), state.flow
            )
        else:
            buttons = self._page_keyboard(view, section, page, pages, state.flow)
        question = self._question(view, section, state.flow, choice_page=page, choice_pages=pages)
        return Outcome().add(Reply(question.template, question.context, buttons, edit=True))

    def _likely_options(self, session: Session, view: DraftView, section: Section) -> list[int]:
        """The options this user most likely means: the one chosen before, those their OPD's
        name speaks of ("Dinas Kesehatan": Kesehatan), those most chosen in their OPD ("Kecamatan
        Maritengngae": what its people chose), then the list's own order."""
        options = list(section.options)
        ranked: list[str] = []
        if view.answers.get(section.key) in options:
            ranked.append(view.answers[section.key])
        opd = repo.opd_of(session, view.draft.owner_id)
        if opd is not None and opd.id is not None:
            ranked += _options_named_in(options, opd.name)
            popular = repo.popular_answers_in_opd(session, section.key, opd.id)
            ranked += [value for value in popular if value in options]
        ranked += options
        likely: list[int] = []
        for option in ranked:
            if options.index(option) not in likely:
                likely.append(options.index(option))
        return likely[:LIKELY_CHOICES]

    def _option_button(self, view: DraftView, section: Section, option: int) -> Button:
        index = view.fmt.index(section.key)
        return Button(ChooseOption(view.draft.id, index, option), text=section.options[option])

    def _likely_keyboard(
        self, view: DraftView, section: Section, likely: list[int], flow: str
    ) -> Keyboard:
        index = view.fmt.index(section.key)
        rows = list(one_per_row([self._option_button(view, section, o) for o in likely]))
        more = Button(
            ChoicePage(view.draft.id, index, 1),
            label="choice_all",
            params={"count": len(section.options)},
        )
        rows.append((more,))
        return self._with_cancel(view, rows, flow)

    def _page_keyboard(
        self, view: DraftView, section: Section, page: int, pages: int, flow: str
    ) -> Keyboard:
        index = view.fmt.index(section.key)
        start = (page - 1) * CHOICES_PER_PAGE
        shown = range(start, min(start + CHOICES_PER_PAGE, len(section.options)))
        rows = list(one_per_row([self._option_button(view, section, o) for o in shown]))
        nav = [
            Button(
                ChoicePage(view.draft.id, index, page - 1),
                label="previous_page" if page > 1 else "choice_likely",
            )
        ]
        if page < pages:
            nav.append(Button(ChoicePage(view.draft.id, index, page + 1), label="next_page"))
        rows.append(tuple(nav))
        return self._with_cancel(view, rows, flow)

    def _with_cancel(self, view: DraftView, rows: list, flow: str) -> Keyboard:
        if flow == EDIT:
            rows.append((Button(OpenDraft(view.draft.id), label="cancel_edit"),))
        return keyboard(*rows)


# Words of an OPD's name that say nothing about its field.
_OPD_FILLER = frozenset({"dinas", "badan", "daerah", "kantor", "bagian", "unit", "pelayanan"})


def _options_named_in(options: list[str], opd_name: str | None) -> list[str]:
    """Options sharing a meaningful word with the OPD's name, most shared words first."""
    if not opd_name:
        return []
    opd_words = {w.strip(",.()").casefold() for w in opd_name.split()} - _OPD_FILLER
    scored = []
    for option in options:
        words = {w.strip(",.()").casefold() for w in option.split()} - _OPD_FILLER
        shared = len({w for w in words & opd_words if len(w) >= 4})
        if shared:
            scored.append((-shared, options.index(option), option))
    return [option for _, _, option in sorted(scored)]

"""The proposal-drafting conversation: one section at a time, every answer saved at once.

State lives in `conversation_states` (flow "draft" while walking the sections in order, "edit"
while replacing one section, "rename" while waiting for a new title). Each public method is one
transaction: the answer and the user's new place are committed together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from bot.services import limits
from bot.services.answers import (
    InvalidAnswer,
    clean_month,
    clean_text,
    display_value,
    match_choice,
)
from bot.services.completeness import Completeness, assess, word_progress
from bot.services.context import ServiceContext
from bot.services.drafting.routes import (
    AskMentorAboutQuestion,
    AskRename,
    ChoicePage,
    ChooseOption,
    ChooseSectionToEdit,
    ConfirmDelete,
    ContinueDraft,
    DeleteDraft,
    EditSection,
    ListDrafts,
    NewDraft,
    OpenDraft,
    PreviewDraft,
    SaveQuestionAsAnswer,
    ShowGuidance,
)
from bot.services.feature import DraftActions, Feature, RouteHandler
from bot.services.formats import ProposalFormat, Section
from bot.services.language import draft_name
from bot.services.questions import looks_like_question, question_token
from bot.services.readiness import section_advice
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
from bot.services.textutil import shorten
from models import repository as repo
from models.consultations import section_comments
from models.tables import ConversationState, Draft

DRAFT = "draft"
EDIT = "edit"
RENAME = "rename"
DRAFTS_PER_PAGE = 8
# A message this long may be the first part of a text the client split (Telegram clients split
# pastes at 4,096 characters); a quick next message is then joined to it.
SPLIT_PART_MIN_LENGTH = 3000
TITLE_MIN, TITLE_MAX = 3, 150
# The step of a draft/edit flow holding a typed question until the user says what it is; the
# text waits in the state row (data["question"]), so a restart keeps it.
QUESTION = "question"
# A current answer up to this long is shown to copy inside the question; a longer one goes in
# messages of its own before it (split to fit Telegram's 4,096 characters).
INLINE_COPY_MAX = 1000
# A choice with more options than this shows the likeliest few, then all of them paged.
CHOICE_BUTTONS_MAX = 12
LIKELY_CHOICES = 6
CHOICES_PER_PAGE = 8
# (session, user id, draft id, question) -> the consultation request flow, question pre-filled
AskMentor = Callable[[Session, int, int, str], Outcome]


@dataclass(frozen=True)
class DraftView:
    """A draft with its format and answers, as the templates need it."""

    draft: Draft
    fmt: ProposalFormat
    answers: dict[str, str]

    @property
    def completeness(self) -> Completeness:
        return assess(self.fmt, self.answers)

    @property
    def title(self) -> str:
        return draft_name(self.draft.title, self.answers, self.draft.id, fmt=self.fmt)

    def as_context(self) -> dict[str, Any]:
        return {
            "draft_id": self.draft.id,
            "title": self.title,
            "format": self.fmt,
            "completeness": self.completeness,
            "draft": self.draft,
        }


class DraftingService:
    def __init__(
        self,
        ctx: ServiceContext,
        ask_mentor: AskMentor | None = None,
        draft_actions: Sequence[DraftActions] = (),
    ) -> None:
        self.ctx = ctx
        # Set by the composition root when consultations run: "ask a mentor" about a question.
        self.ask_mentor = ask_mentor
        # What other features offer on an opened draft (their Feature.draft_actions).
        self.draft_actions = tuple(draft_actions)

    def feature(self) -> Feature:
        return Feature(
            name="drafting",
            service=self,
            commands={
                "ide": lambda s, st, a: self.choose_format(s, st.user_id),
                "draf": lambda s, st, a: self.list_drafts(s, st.user_id),
                "lewati": lambda s, st, a: self.skip(s, st),
                "kembali": lambda s, st, a: self.back(s, st),
            },
            routes={
                NewDraft: self._new,
                ChooseOption: lambda s, u, r: self.on_choice(s, u, r.draft_id, r.index, r.option),
                ListDrafts: lambda s, u, r: self.list_drafts(s, u, r.page, edit=True),
                OpenDraft: self._open_pressed,
                ContinueDraft: lambda s, u, r: self.resume(s, u, r.draft_id),
                ChooseSectionToEdit: lambda s, u, r: self.edit_menu(s, u, r.draft_id),
                EditSection: lambda s, u, r: self.edit_section(s, u, r.draft_id, r.index),
                PreviewDraft: lambda s, u, r: self.preview(s, u, r.draft_id),
                AskRename: lambda s, u, r: self.ask_rename(s, u, r.draft_id),
                ConfirmDelete: lambda s, u, r: self.confirm_delete(s, u, r.draft_id),
                DeleteDraft: lambda s, u, r: self.delete(s, u, r.draft_id),
                ChoicePage: lambda s, u, r: self.choice_page(s, u, r.draft_id, r.index, r.page),
                SaveQuestionAsAnswer: self._question_choice("qs"),
                ShowGuidance: self._question_choice("qg"),
                AskMentorAboutQuestion: self._question_choice("qm"),
            },
            text_flows={DRAFT: self.on_text, EDIT: self.on_text, RENAME: self.rename},
            cancel_flows={
                flow: lambda s, st, a: self.pause(s, st) for flow in (DRAFT, EDIT, RENAME)
            },
            before_text=lambda s, st, text: (
                self.append_continuation(s, st, text) if self.is_continuation(st) else None
            ),
            on_redelivery=self.ask_again,
            awaited=self.awaited_section,
        )

    def _new(self, session: Session, user_id: int, route: NewDraft) -> Outcome:
        if not route.format_key:
            return self.choose_format(session, user_id)
        return self.create(session, user_id, route.format_key)

    def _open_pressed(self, session: Session, user_id: int, route: OpenDraft) -> Outcome:
        # Opening a draft from a button leaves whatever flow the user was in.
        repo.clear_flow(repo.get_state(session, user_id))
        return self.open(session, user_id, route.draft_id)

    def _question_choice(self, action: str) -> RouteHandler:
        def handle(session: Session, user_id: int, route: SaveQuestionAsAnswer) -> Outcome:
            draft_id, index, token = route.draft_id, route.index, route.token
            return self.on_question_choice(session, user_id, action, draft_id, index, token)

        return handle

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

    # ---- starting and listing -------------------------------------------------------------

    def choose_format(self, session: Session, user_id: int) -> Outcome:
        repo.clear_flow(repo.get_state(session, user_id))
        if full := limits.drafts_full(session, user_id, self.ctx.max_drafts_per_user):
            return full
        buttons = [Button(NewDraft(f.key), text=f.title) for f in self.ctx.formats]
        return Outcome().add(
            Reply("draft/choose_format", {"formats": list(self.ctx.formats)}, one_per_row(buttons))
        )

    def create(self, session: Session, user_id: int, format_key: str) -> Outcome:
        fmt = self.ctx.formats.get(format_key)
        if fmt is None:
            return Outcome(notice="stale_button", notice_alert=True)
        if full := limits.drafts_full(session, user_id, self.ctx.max_drafts_per_user):
            return full
        draft = Draft(owner_id=user_id, format_key=fmt.key, resume_section=fmt.sections[0].key)
        session.add(draft)
        session.flush()
        state = repo.get_state(session, user_id)
        outcome = Outcome().add(
            Reply("draft/created", {"format": fmt, "sections": len(fmt.sections)}, edit=True)
        )
        view = self._view(draft, {})  # a new draft has no answers yet
        return self._ask(session, state, view, fmt.sections[0].key, DRAFT, outcome)

    def list_drafts(
        self, session: Session, user_id: int, page: int = 0, edit: bool = False
    ) -> Outcome:
        repo.clear_flow(repo.get_state(session, user_id))
        drafts = repo.drafts_of(session, user_id)
        pages = max(1, -(-len(drafts) // DRAFTS_PER_PAGE))
        page = min(max(page, 0), pages - 1)
        shown = drafts[page * DRAFTS_PER_PAGE : (page + 1) * DRAFTS_PER_PAGE]
        answers = repo.answers_of_many(session, [d.id for d in shown if d.id is not None])
        views = [self._view(d, answers[d.id]) for d in shown if d.id is not None]
        buttons = [Button(OpenDraft(v.draft.id), text=shorten(v.title, 40)) for v in views]
        nav = []
        if page > 0:
            nav.append(Button(ListDrafts(page - 1), label="previous_page"))
        if page + 1 < pages:
            nav.append(Button(ListDrafts(page + 1), label="next_page"))
        rows = [*one_per_row(buttons), tuple(nav), (Button(NewDraft(), label="new_draft"),)]
        context = {
            "views": views,
            "page": page + 1,
            "pages": pages,
            "total": len(drafts),
            "offset": page * DRAFTS_PER_PAGE,
        }
        return Outcome().add(Reply("draft/list", context, keyboard(*rows), edit=edit))

    def open(self, session: Session, user_id: int, draft_id: int, edit: bool = True) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        return Outcome().add(self._summary(view, edit=edit))

    # ---- walking the sections ---------------------------------------------------------------

    def resume(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        key = _resume_key(view)
        if key is None:
            return Outcome().add(self._summary(view, notice_template="draft/all_filled"))
        state = repo.get_state(session, user_id)
        return self._ask(session, state, view, key, DRAFT, Outcome())

    def edit_menu(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        buttons = [
            Button(
                EditSection(draft_id, i),
                label="section_filled" if view.answers.get(s.key) else "section_empty",
                params={"number": i + 1, "title": shorten(s.title, 40)},
            )
            for i, s in enumerate(view.fmt.sections)
        ]
        rows = [*one_per_row(buttons), (Button(OpenDraft(draft_id), label="back_to_draft"),)]
        return Outcome().add(
            Reply("draft/edit_menu", view.as_context(), keyboard(*rows), edit=True)
        )

    def edit_section(self, session: Session, user_id: int, draft_id: int, index: int) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None or not 0 <= index < len(view.fmt.sections):
            return _not_found()
        state = repo.get_state(session, user_id)
        return self._ask(session, state, view, view.fmt.sections[index].key, EDIT, Outcome())

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

    # ---- a question typed instead of an answer ---------------------------------------------

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

    # ---- a choice of many options: the likeliest first, then all of them paged -------------

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

    # ---- long texts split by the client -------------------------------------------------------

    def is_continuation(self, state: ConversationState) -> bool:
        """Is a text arriving now the rest of the previous long text?"""
        if not state.last_text_target or state.last_text_at is None:
            return False
        if state.last_text_length < SPLIT_PART_MIN_LENGTH:
            return False
        window = timedelta(seconds=self.ctx.continuation_window_seconds)
        return self.ctx.now() - state.last_text_at <= window

    def append_continuation(self, session: Session, state: ConversationState, text: str) -> Outcome:
        draft_id, section_key = _parse_target(state.last_text_target or "")
        view = self._owned_view(session, state.user_id, draft_id)
        if view is None or not view.fmt.has_section(section_key):
            state.last_text_target = None
            return _not_found()
        section = view.fmt.section(section_key)
        joined = _join_parts(view.answers.get(section_key, ""), text)
        try:
            value = clean_text(section, joined)
        except InvalidAnswer as invalid:
            state.last_text_target = None
            return Outcome().add(Reply(invalid.template, {"section": section, **invalid.context}))
        repo.store_answer(
            session, view.draft, section_key, value, self.ctx.max_revisions_per_section
        )
        self._remember_text(state, view.draft, section, len(text))
        view.answers[section_key] = value
        outcome = Outcome().add(
            Reply("draft/continuation", {"section": section, "length": len(value)})
        )
        if state.flow in (DRAFT, EDIT) and state.draft_id == view.draft.id and state.section_key:
            section = view.fmt.section(state.section_key)
            return self._add_question(outcome, session, view, section, state.flow)
        return outcome

    def _remember_text(
        self, state: ConversationState, draft: Draft, section: Section, length: int
    ) -> None:
        state.last_text_at = self.ctx.now()
        state.last_text_target = f"{draft.id}:{section.key}"
        state.last_text_length = length

    # ---- preview, rename, delete ----------------------------------------------------------------

    def preview(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        chunks = [Chunk("draft/preview_head", view.as_context())]
        for number, section in enumerate(view.fmt.sections, start=1):
            value = display_value(section, view.answers.get(section.key))
            if value:
                head = {"section": section, "number": number}
                chunks.append(Chunk("draft/preview_section", head, value))
        if len(chunks) == 1:
            chunks.append(Chunk("draft/preview_empty", {}))
        buttons = keyboard([Button(OpenDraft(draft_id), label="back_to_draft")])
        return Outcome(notice="preview_sent").add(LongReply(tuple(chunks), buttons))

    def ask_rename(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        repo.set_flow(repo.get_state(session, user_id), RENAME, draft_id=draft_id)
        return Outcome().add(Reply("draft/rename_ask", view.as_context()))

    def rename(self, session: Session, state: ConversationState, text: str) -> Outcome:
        view = self._state_view(session, state)
        if view is None:
            repo.clear_flow(state)
            return _not_found()
        title = " ".join(text.split())
        if not TITLE_MIN <= len(title) <= TITLE_MAX:
            return Outcome().add(
                Reply("draft/rename_invalid", {"minimum": TITLE_MIN, "maximum": TITLE_MAX})
            )
        view.draft.title = title
        view.draft.updated_at = self.ctx.now()
        session.add(view.draft)
        repo.clear_flow(state)
        return Outcome().add(self._summary(view, notice_template="draft/renamed"))

    def confirm_delete(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        buttons = keyboard(
            [
                Button(DeleteDraft(draft_id), label="confirm_delete"),
                Button(OpenDraft(draft_id), label="cancel_delete"),
            ]
        )
        return Outcome().add(Reply("draft/delete_confirm", view.as_context(), buttons, edit=True))

    def delete(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        state = repo.get_state(session, user_id)
        if state.draft_id == draft_id:
            repo.clear_flow(state)
        if state.last_text_target and state.last_text_target.startswith(f"{draft_id}:"):
            state.last_text_target = None
        title = view.title
        repo.delete_draft(session, view.draft)
        buttons = keyboard([Button(ListDrafts(0), label="my_drafts")])
        return Outcome(notice="deleted").add(
            Reply("draft/deleted", {"title": title}, buttons, edit=True)
        )

    # ---- internals ---------------------------------------------------------------------------

    def _view(self, draft: Draft, answers: dict[str, str]) -> DraftView:
        fmt = self.ctx.formats.get(draft.format_key) or self.ctx.formats.default
        return DraftView(draft=draft, fmt=fmt, answers=answers)

    def _owned_view(self, session: Session, user_id: int, draft_id: int) -> DraftView | None:
        draft = repo.owned_draft(session, user_id, draft_id)
        if draft is None or draft.id is None:
            return None
        return self._view(draft, repo.answers_of(session, draft.id))

    def _state_view(self, session: Session, state: ConversationState) -> DraftView | None:
        if state.draft_id is None:
            return None
        view = self._owned_view(session, state.user_id, state.draft_id)
        if view is None or (state.section_key and not view.fmt.has_section(state.section_key)):
            return None
        return view

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

    def _summary_buttons(self, view: DraftView) -> Keyboard:
        draft_id = view.draft.id
        first = [Button(ChooseSectionToEdit(draft_id), label="edit_section")]
        if _resume_key(view) is not None:  # nothing left to continue on a complete draft
            first.insert(0, Button(ContinueDraft(draft_id), label="continue_draft"))
        offered = [button for actions in self.draft_actions for button in actions(draft_id)]
        return keyboard(
            first,
            [
                Button(PreviewDraft(draft_id), label="preview"),
                Button(AskRename(draft_id), label="rename"),
            ],
            *in_rows(offered, 2),
            [
                Button(ConfirmDelete(draft_id), label="delete"),
                Button(ListDrafts(0), label="my_drafts"),
            ],
        )

    def _summary(
        self, view: DraftView, edit: bool = False, notice_template: str | None = None, **extra: Any
    ) -> Reply:
        context = {
            **view.as_context(),
            "notice_template": notice_template,
            "created": view.draft.created_at.astimezone(self.ctx.tz),
            "updated": view.draft.updated_at.astimezone(self.ctx.tz),
            "resume": view.fmt.section(view.draft.resume_section)
            if view.draft.resume_section and view.fmt.has_section(view.draft.resume_section)
            else None,
            **extra,
        }
        return Reply("draft/summary", context, self._summary_buttons(view), edit=edit)


def _not_found() -> Outcome:
    return Outcome(notice="draft_not_found", notice_alert=True).add(Reply("draft/not_found"))


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


def _resume_key(view: DraftView) -> str | None:
    """Where "continue" takes the user: the section they stopped at, else the first
    required one still empty; None when there is nothing left to continue."""
    key = view.draft.resume_section
    if key is not None and view.fmt.has_section(key):
        return key
    missing = view.completeness.missing_required
    return missing[0].key if missing else None


def _pending_text(state: ConversationState) -> str | None:
    if state.step != QUESTION:
        return None
    question = (state.data or {}).get("question")
    return question if isinstance(question, str) else None


def _forget_question(state: ConversationState) -> None:
    if state.step == QUESTION:
        state.step = None
        state.data = {}  # a new dict: JSON columns notice only reassignment


def _with_buttons(reply: Reply, buttons: Keyboard) -> Reply:
    return Reply(reply.template, reply.context, buttons, reply.edit, reply.to)


def _parse_target(target: str) -> tuple[int, str]:
    draft_id, _, section_key = target.partition(":")
    return (int(draft_id) if draft_id.isdigit() else 0), section_key


def _join_parts(first: str, rest: str) -> str:
    """Join the parts of a split text; clients cut at whitespace, which the cut removed."""
    if not first:
        return rest
    if first[-1].isspace() or rest[:1].isspace():
        return first + rest
    return first + " " + rest

"""An ASN's request: choosing a draft and a topic, the question, and routing it to mentors."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.services.consultations.lifecycle import (
    DRAFT_CHOICES,
    EXPIRY_KIND,
    LIST_LIMIT,
    MAX_OFFERS,
    QUESTION_MAX,
    QUESTION_MIN,
    REQUEST,
    TIMES_MAX,
    TIMES_MIN,
    TOPIC_PAGE,
    Lifecycle,
    _draft_not_found,
    _draft_title,
    _stale,
)
from bot.services.consultations.mentors import (
    expertise_options,
)
from bot.services.consultations.routes import (
    ChooseGeneralTopic,
    ChooseRequestDraft,
    ChooseTopic,
    MyConsultations,
    SkipTimes,
    StartRequest,
    TopicPage,
)
from bot.services.formats import ProposalFormat
from bot.services.replies import (
    Button,
    Outcome,
    Reply,
    keyboard,
    one_per_row,
)
from bot.services.textutil import shorten
from models import consultations as cq
from models import repository as repo
from models.consultations import (
    OFFERED,
    OPEN,
    Consultation,
    ConsultationOffer,
)
from models.tables import ConversationState, Draft


class Requests(Lifecycle):
    def _format_of(self, draft: Draft) -> ProposalFormat | None:
        return self.ctx.formats.get(draft.format_key)

    def my_consultations(self, session: Session, user_id: int, edit: bool = False) -> Outcome:
        """/konsultasi: the ASN's own requests, or straight to a new one if there are none."""
        repo.clear_flow(repo.get_state(session, user_id))
        mine = cq.consultations_newest_first(session, asn_id=user_id)
        if not mine:
            return self.start_request(session, user_id)
        shown = mine[:LIST_LIMIT]
        items = [self._item(session, c) for c in shown]
        rows = [*one_per_row([self._item_button(c) for c in shown])]
        rows.append((Button(data=StartRequest(), label="consult_new"),))
        context = {"items": items, "total": len(mine)}
        return Outcome().add(Reply("consult/my_list", context, keyboard(*rows), edit=edit))

    def _requests_full(self, session: Session, user_id: int) -> Outcome | None:
        """The answer for an ASN who may not ask for another consultation
        (bot/services/limits.py), or None if they may."""
        count = cq.count_live_requests_of(session, user_id)
        if count < self.ctx.max_open_consultations:
            return None
        buttons = keyboard([Button(MyConsultations(), label="consult_mine")])
        return Outcome().add(Reply("consult/limit_reached", {"count": count}, buttons))

    def start_request(self, session: Session, user_id: int, draft_id: int | None = None) -> Outcome:
        if full := self._requests_full(session, user_id):
            return full
        state = repo.get_state(session, user_id)
        if draft_id is not None:
            if repo.owned_draft(session, user_id, draft_id) is None:
                return _draft_not_found()
            repo.set_flow(state, REQUEST, step="topic", data={"draft": draft_id})
            return Outcome().add(self._topic_reply(session, draft_id, 0, intro=True))
        drafts = repo.drafts_of(session, user_id)[:DRAFT_CHOICES]
        if not drafts:
            repo.set_flow(state, REQUEST, step="topic", data={"draft": None})
            return Outcome().add(self._topic_reply(session, None, 0, intro=True))
        repo.set_flow(state, REQUEST, step="draft")
        answers = repo.answers_of_many(session, [d.id for d in drafts if d.id is not None])
        buttons = [_draft_button(d, answers.get(d.id or 0, {}), self._format_of(d)) for d in drafts]
        buttons.append(Button(data=ChooseRequestDraft(0), label="consult_no_draft"))
        return Outcome().add(Reply("consult/ask_draft", {}, one_per_row(buttons)))

    def ask_about_draft(
        self, session: Session, user_id: int, draft_id: int, question: str
    ) -> Outcome:
        """A request about the draft with the question the user already typed: after the
        topic, the question step is skipped (see _take_topic)."""
        outcome = self.start_request(session, user_id, draft_id)
        state = repo.get_state(session, user_id)
        if state.flow == REQUEST and QUESTION_MIN <= len(question.strip()) <= QUESTION_MAX:
            state.data = {**state.data, "question": question.strip()}
        return outcome

    def choose_draft(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        state = repo.get_state(session, user_id)
        if state.flow != REQUEST or state.step != "draft":
            return _stale()
        draft = repo.owned_draft(session, user_id, draft_id) if draft_id else None
        if draft_id and draft is None:
            return _draft_not_found()
        repo.set_flow(state, REQUEST, step="topic", data={"draft": draft_id or None})
        title = (
            _draft_title(draft, repo.answers_of(session, draft_id), self._format_of(draft))
            if draft
            else None
        )
        return (
            Outcome()
            .add(Reply("consult/draft_chosen", {"title": title, "draft_id": draft_id}, edit=True))
            .add(self._topic_reply(session, draft_id or None, 0))
        )

    def topic_page(self, session: Session, user_id: int, page: int) -> Outcome:
        state = repo.get_state(session, user_id)
        if state.flow != REQUEST or state.step != "topic":
            return _stale()
        return Outcome().add(self._topic_reply(session, state.data.get("draft"), page, edit=True))

    def choose_topic(self, session: Session, user_id: int, index: int | None) -> Outcome:
        state = repo.get_state(session, user_id)
        options = expertise_options(self.ctx)
        if state.flow != REQUEST or state.step != "topic":
            return _stale()
        if index is not None and not 0 <= index < len(options):
            return _stale()
        topic = options[index] if index is not None else ""
        return self._take_topic(state, topic, edit=True)

    def _take_topic(self, state: ConversationState, topic: str, edit: bool) -> Outcome:
        prefilled = state.data.get("question")
        step = "times" if prefilled else "question"
        repo.set_flow(state, REQUEST, step=step, data={**state.data, "topic": topic})
        outcome = Outcome().add(Reply("consult/topic_chosen", {"topic": topic}, edit=edit))
        if prefilled:
            buttons = keyboard([Button(data=SkipTimes(), label="consult_skip_times")])
            context = {"question": prefilled, "maximum": TIMES_MAX}
            return outcome.add(Reply("consult/ask_times", context, buttons))
        limits = {"minimum": QUESTION_MIN, "maximum": QUESTION_MAX}
        return outcome.add(Reply("consult/ask_question", limits))

    def _topic_reply(
        self,
        session: Session,
        draft_id: int | None,
        page: int,
        edit: bool = False,
        intro: bool = False,
    ) -> Reply:
        options = expertise_options(self.ctx)
        suggested = [o for o in self._draft_fields(session, draft_id) if o in options]
        rows: list[Any] = [
            (
                Button(
                    data=ChooseTopic(options.index(o)),
                    label="consult_topic_suggested",
                    params={"name": shorten(o, 50)},
                ),
            )
            for o in suggested
            if page <= 0  # on the first page only: every topic is listed once
        ]
        # The suggested topics are not listed a second time below them.
        rest = [(i, o) for i, o in enumerate(options) if o not in suggested]
        pages = max(1, -(-len(rest) // TOPIC_PAGE))
        page = min(max(page, 0), pages - 1)
        start = page * TOPIC_PAGE
        rows += one_per_row(
            [Button(data=ChooseTopic(i), text=o) for i, o in rest[start : start + TOPIC_PAGE]]
        )
        nav = []
        if page > 0:
            nav.append(Button(data=TopicPage(page - 1), label="previous_page"))
        if page + 1 < pages:
            nav.append(Button(data=TopicPage(page + 1), label="next_page"))
        rows += [tuple(nav), (Button(data=ChooseGeneralTopic(), label="consult_topic_general"),)]
        context = {"page": page + 1, "pages": pages, "intro": intro, "suggested": suggested}
        return Reply("consult/ask_topic", context, keyboard(*rows), edit=edit)

    def request_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        if state.step == "topic":
            return self._typed_topic(session, state, text)
        if state.step == "question":
            question = text.strip()
            if not QUESTION_MIN <= len(question) <= QUESTION_MAX:
                context = {
                    "minimum": QUESTION_MIN,
                    "maximum": QUESTION_MAX,
                    "length": len(question),
                }
                return Outcome().add(Reply("consult/question_invalid", context))
            repo.set_flow(state, REQUEST, step="times", data={**state.data, "question": question})
            buttons = keyboard([Button(data=SkipTimes(), label="consult_skip_times")])
            return Outcome().add(Reply("consult/ask_times", {"maximum": TIMES_MAX}, buttons))
        if state.step == "times":
            times = " ".join(text.split())
            if not TIMES_MIN <= len(times) <= TIMES_MAX:
                context = {"minimum": TIMES_MIN, "maximum": TIMES_MAX}
                return Outcome().add(Reply("consult/times_invalid", context))
            return self._submit(session, state, times)
        return Outcome().add(Reply("consult/use_buttons"))

    def _typed_topic(self, session: Session, state: ConversationState, text: str) -> Outcome:
        typed = " ".join(text.split()).casefold()
        options = expertise_options(self.ctx)
        words = typed.split()
        matches = [o for o in options if words and all(w in o.casefold() for w in words)]
        if len(matches) == 1:
            return self._take_topic(state, matches[0], edit=False)
        buttons = [Button(data=ChooseTopic(options.index(m)), text=m) for m in matches[:TOPIC_PAGE]]
        buttons.append(Button(data=ChooseGeneralTopic(), label="consult_topic_general"))
        context = {"text": text.strip()[:100], "count": len(matches)}
        return Outcome().add(Reply("consult/topic_matches", context, one_per_row(buttons)))

    def skip_times(self, session: Session, user_id: int) -> Outcome:
        state = repo.get_state(session, user_id)
        if state.flow != REQUEST or state.step != "times":
            return _stale()
        return self._submit(session, state, None, edit=True)

    def _submit(
        self, session: Session, state: ConversationState, times: str | None, edit: bool = False
    ) -> Outcome:
        """Store the request at once, then route it to mentors."""
        if full := self._requests_full(session, state.user_id):
            repo.clear_flow(state)  # the authority: a flow begun before the limit was lowered
            return full
        data = state.data
        draft_id = data.get("draft")
        if draft_id and repo.owned_draft(session, state.user_id, draft_id) is None:
            draft_id = None  # deleted while the request was being written
        now = self.ctx.now()
        consultation = Consultation(
            asn_id=state.user_id,
            draft_id=draft_id,
            topic=data.get("topic") or "",
            question=data.get("question") or "",
            preferred_times=times,
            status=OPEN,
            announced_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(consultation)
        session.flush()
        self._event(session, consultation, "created", state.user_id, to_status=OPEN)
        repo.clear_flow(state)
        offers = self._route(session, consultation, exclude=set())
        context = {"c": consultation, "offered": len(offers), "admins": bool(self.ctx.admin_ids)}
        buttons = keyboard([Button(data=MyConsultations(), label="consult_mine")])
        outcome = Outcome(rebuild=(EXPIRY_KIND,))
        if edit:
            outcome.add(Reply("consult/times_skipped", edit=True))
        outcome.add(Reply("consult/requested", context, buttons))
        outcome.replies.extend(offers)
        if not offers:
            outcome.replies.extend(
                self._tell_admins(session, consultation, "consult/admin_unrouted")
            )
        return outcome

    def _route(
        self, session: Session, c: Consultation, exclude: set[int], everyone: bool = False
    ) -> list[Reply]:
        """Offer the request to the least loaded matching mentors with room; with none, to all
        active mentors. Returns the offer messages."""
        eligible = [
            m for m in cq.available_mentors(session, exclude=c.asn_id) if m.user_id not in exclude
        ]
        if not eligible:
            return []
        loads = cq.open_counts(session, [m.user_id for m in eligible])
        by_load = sorted(eligible, key=lambda m: (loads[m.user_id], m.joined_at, m.user_id))
        fields = set(self._draft_fields(session, c.draft_id)) | ({c.topic} - {""})
        matching = [
            m for m in by_load if fields & set(m.expertise) and loads[m.user_id] < m.capacity
        ]
        chosen = matching[:MAX_OFFERS] if matching and not everyone else by_load
        now = self.ctx.now()
        for mentor in chosen:
            offer = cq.offer_of(session, c.id or 0, mentor.user_id)
            if offer is None:
                offer = ConsultationOffer(consultation_id=c.id or 0, mentor_id=mentor.user_id)
            offer.status, offer.round, offer.offered_at = OFFERED, c.announce_round, now
            session.add(offer)
        event = self._event(session, c, "offered", None)
        self._name_people(session, event, [("offered", m.user_id) for m in chosen])
        return [self.offer_reply(session, c, m.user_id) for m in chosen]


def _draft_button(draft: Draft, answers: dict[str, str], fmt: ProposalFormat | None) -> Button:
    """A draft to consult about: its name as typed, or "Draf #id" from the labels."""
    title = _draft_title(draft, answers, fmt)
    if title:
        return Button(ChooseRequestDraft(draft.id or 0), text=shorten(title, 50))
    return Button(
        ChooseRequestDraft(draft.id or 0), label="consult_draft_untitled", params={"id": draft.id}
    )

"""The relayed conversation between an ASN and their mentor, and the mentor's comments on the
draft.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlmodel import Session

from bot.services.answers import display_value
from bot.services.consultations.lifecycle import (
    CHAT,
    COMMENT,
    COMMENT_MAX,
    COMMENT_MIN,
    RELAYABLE,
    Lifecycle,
    _mark_unreachable,
    _not_found,
)
from bot.services.consultations.mentors import (
    display_name,
)
from bot.services.consultations.routes import (
    AskComment,
    CommentMenu,
    OpenChat,
    ViewConsultation,
)
from bot.services.drafting.routes import EditSection
from bot.services.feature import Media
from bot.services.replies import (
    Button,
    CopyReply,
    Outcome,
    Reply,
    keyboard,
    one_per_row,
)
from bot.services.textutil import shorten
from models import consultations as cq
from models import repository as repo
from models.consultations import (
    ACTIVE_STATES,
    OPEN,
    Consultation,
    ConsultationComment,
    RelayedMessage,
)
from models.tables import ConversationState


class Conversation(Lifecycle):
    def open_chat(self, session: Session, user_id: int, cid: int) -> Outcome:
        c = session.get(Consultation, cid)
        role = self.role(session, user_id, c)
        if c is None or role not in ("asn", "mentor"):
            return _not_found()
        if c.status == OPEN:
            return Outcome().add(Reply("consult/chat_not_yet", {"c": c}))
        if c.status not in ACTIVE_STATES:
            return Outcome().add(Reply("consult/chat_closed", {"c": c}))
        self._enter_chat(session, user_id, c)
        other = c.mentor_id if role == "asn" else c.asn_id
        context = {"c": c, "other": display_name(session, other), "role": role}
        return Outcome().add(Reply("consult/chat_open", context))

    def _enter_chat(
        self, session: Session, user_id: int, c: Consultation, reply_to: int | None = None
    ) -> None:
        data: dict[str, Any] = {"consultation": c.id}
        if reply_to is not None:
            data["reply_to"] = reply_to
        repo.set_flow(repo.get_state(session, user_id), CHAT, data=data)

    def relay_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        return self._relay(session, state, None)

    def relay_media(self, session: Session, state: ConversationState, media: Media) -> Outcome:
        if media.kind not in RELAYABLE:
            return Outcome().add(Reply("consult/relay_unsupported", {"kind": media.kind}))
        return self._relay(session, state, media)

    def _relay(self, session: Session, state: ConversationState, media: Media | None) -> Outcome:
        """Pass what the user sent to the other side, headed with who and which consultation."""
        c = session.get(Consultation, state.data.get("consultation") or 0)
        role = self.role(session, state.user_id, c)
        other = (c.mentor_id if role == "asn" else c.asn_id) if c is not None else None
        if c is None or role not in ("asn", "mentor") or c.status not in ACTIVE_STATES:
            repo.clear_flow(state)
            waiting = c is not None and c.status == OPEN and role == "asn"
            template = "consult/chat_not_yet" if waiting else "consult/chat_closed"
            return Outcome().add(Reply(template, {"c": c}))
        if other is None:  # the mentor's account is gone (data from before 0008)
            repo.clear_flow(state)
            return Outcome().add(Reply("consult/chat_not_yet", {"c": c}))
        reply_to = state.data.get("reply_to")
        if reply_to is not None:
            state.data = {"consultation": c.id}
        header = Reply(
            "consult/relay_header",
            {"c": c, "sender": display_name(session, state.user_id), "role": role},
            keyboard([Button(data=OpenChat(c.id), label="consult_reply")]),
        )
        record = partial(self.record_relay, c.id or 0, state.user_id, other)
        return Outcome().add(
            CopyReply(
                to=other,
                header=header,
                from_chat_id=state.user_id,
                message_id=media.message_id if media else None,
                reply_to_message_id=reply_to,
                on_result=record,
            )
        )

    def record_relay(
        self,
        cid: int,
        sender: int,
        recipient: int,
        source_id: int,
        copy_id: int | None,
        status: str,
        header_id: int | None = None,
    ) -> Outcome | None:
        """After a relay: keep the message ids; tell the sender if it did not arrive."""
        with self.ctx.db.session() as session:
            session.add(
                RelayedMessage(
                    consultation_id=cid,
                    from_chat_id=sender,
                    from_message_id=source_id,
                    to_chat_id=recipient,
                    to_message_id=copy_id,
                    header_message_id=header_id,
                    status=status,
                    created_at=self.ctx.now(),
                )
            )
            if status == "sent":
                return None
            if status == "blocked":
                _mark_unreachable(session, recipient)
            context = {"cid": cid, "other": display_name(session, recipient)}
            template = "consult/relay_blocked" if status == "blocked" else "consult/relay_failed"
            return Outcome().add(Reply(template, context))

    def route_reply(self, user_id: int, replied_message_id: int) -> bool:
        """A Telegram reply to a relayed message speaks in that message's consultation (and
        threads under its counterpart). True if the reply belongs to a conversation."""
        with self.ctx.db.session() as session:
            relayed = cq.relay_by_copy(session, user_id, replied_message_id)
            if relayed is None:
                return False
            c = session.get(Consultation, relayed.consultation_id)
            if self.role(session, user_id, c) not in ("asn", "mentor") or c is None:
                return False
            if c.status not in ACTIVE_STATES:
                return False
            if relayed.to_chat_id == user_id:
                counterpart = relayed.from_message_id
            else:
                counterpart = relayed.to_message_id
            self._enter_chat(session, user_id, c, reply_to=counterpart)
            return True

    def edited_copies(self, user_id: int, message_id: int) -> list[tuple[int, int]]:
        """Where an edited message was copied to, in conversations still going on."""
        with self.ctx.db.session() as session:
            found = []
            for relayed in cq.relays_from(session, user_id, message_id, status="sent"):
                c = session.get(Consultation, relayed.consultation_id)
                if c is not None and c.status in ACTIVE_STATES and relayed.to_message_id:
                    found.append((relayed.to_chat_id, relayed.to_message_id))
            return found

    def comment_menu(self, session: Session, user_id: int, cid: int) -> Outcome:
        c, view = self._mentor_draft(session, user_id, cid)
        if c is None or view is None:
            return _not_found()
        buttons = [
            Button(
                data=AskComment(cid, i),
                label="section_filled" if view.answers.get(s.key) else "section_empty",
                params={"number": i + 1, "title": shorten(s.title, 40)},
            )
            for i, s in enumerate(view.fmt.sections)
        ]
        rows = [*one_per_row(buttons), (Button(data=ViewConsultation(cid), label="consult_back"),)]
        context = {**view.as_context(), "c": c}
        return Outcome().add(Reply("consult/comment_menu", context, keyboard(*rows)))

    def ask_comment(self, session: Session, user_id: int, cid: int, index: int) -> Outcome:
        c, view = self._mentor_draft(session, user_id, cid)
        if c is None or view is None or not 0 <= index < len(view.fmt.sections):
            return _not_found()
        section = view.fmt.sections[index]
        state = repo.get_state(session, user_id)
        repo.set_flow(state, COMMENT, data={"consultation": cid, "section": section.key})
        current = display_value(section, view.answers.get(section.key))
        context = {"c": c, "section": section, "current": current, "maximum": COMMENT_MAX}
        return Outcome().add(Reply("consult/comment_ask", context, edit=True))

    def comment_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        cid = state.data.get("consultation") or 0
        c, view = self._mentor_draft(session, state.user_id, cid)
        key = state.data.get("section") or ""
        if c is None or view is None or not view.fmt.has_section(key):
            repo.clear_flow(state)
            return _not_found()
        comment = text.strip()
        if not COMMENT_MIN <= len(comment) <= COMMENT_MAX:
            context = {"minimum": COMMENT_MIN, "maximum": COMMENT_MAX}
            return Outcome().add(Reply("consult/comment_invalid", context))
        section = view.fmt.section(key)
        session.add(
            ConsultationComment(
                consultation_id=cid,
                draft_id=c.draft_id or 0,
                section_key=key,
                mentor_id=state.user_id,
                text=comment,
                created_at=self.ctx.now(),
            )
        )
        self._event(session, c, "commented", state.user_id, detail=section.title)
        repo.clear_flow(state)
        context = {**self._context(session, c), "section": section, "comment": comment}
        open_section = keyboard(
            [
                Button(
                    data=EditSection(c.draft_id, view.fmt.index(key)),
                    label="consult_open_section",
                )
            ]
        )
        mentor_buttons = keyboard(
            [Button(data=CommentMenu(cid), label="consult_comment_more")],
            [Button(data=ViewConsultation(cid), label="consult_back")],
        )
        return (
            Outcome()
            .add(Reply("consult/comment_saved", context, mentor_buttons))
            .add(Reply("consult/comment_notice", context, open_section, to=c.asn_id))
        )

"""The fuzz suites' shared parts: a simple model of the drafting flow, random actions, the
checks on what users receive, and a bystander whose data nobody else may ever see.

The model follows the flow as README.md tells it to users: one section at a time, a valid
answer is stored and the next section asked, /lewati and /kembali move, /batal pauses, a
draft's buttons open, continue, edit a section, rename and delete it, and only the owner's
drafts answer. A question typed in a text section waits, unstored, until its "save anyway"
button (the detector is the service's own, bot.services.questions). Whether one answer is
valid is decided by the pure functions the service uses (bot.services.answers), so the model
only has to get the *flow* right: which answer lands in which section of which draft, and where
the user is afterwards.

Actions of other features (their commands, buttons and flows) are not modelled; the model
checks that they leave the drafts alone and never move the user *within* drafting: after one,
the user is either where the model had them or outside drafting. Deleting the account
(/hapus_akun, then a button) is the one foreign action allowed to take the drafts away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import strategies as st
from sqlmodel import select

from bot.emulator.formatting import EntityParseError, parse_html
from bot.rendering import Rendered, Renderer
from bot.services import questions
from bot.services.answers import InvalidAnswer, clean_month, clean_text, match_choice
from bot.services.completeness import assess
from bot.services.consultations.routes import AcceptConsultation
from bot.services.dialog import Dialog
from bot.services.drafting import routes as drafting_routes
from bot.services.drafting.routes import (
    AskMentorAboutQuestion,
    AskRename,
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
from bot.services.formats import FormatRegistry, ProposalFormat, Section
from bot.services.limits import DEFAULT_MAX_DRAFTS
from bot.services.replies import CopyReply, Outcome
from bot.services.routes import SEPARATOR, Route, StaleRoute, unpack
from models import repository as repo
from models.competitions import Competition, Stage
from models.consultations import Consultation
from models.db import Database
from models.tables import ConversationState, Draft, User
from tests.helpers import add_competition

DRAFTING_FLOWS = ("draft", "edit", "rename")
DRAFTING_COMMANDS = ("ide", "draf", "lewati", "kembali", "batal", "bantuan")
# Say nothing about drafts, and never move the user.
NEUTRAL_COMMANDS = ("bantuan",)
QuestionRoute = SaveQuestionAsAnswer | ShowGuidance | AskMentorAboutQuestion
QUESTION_ROUTES = (SaveQuestionAsAnswer, ShowGuidance, AskMentorAboutQuestion)
# The buttons of an opened draft that take only its id.
DRAFT_ROUTES = (
    OpenDraft,
    ContinueDraft,
    ChooseSectionToEdit,
    PreviewDraft,
    AskRename,
    ConfirmDelete,
    DeleteDraft,
)
MEDIA_KINDS = ("photo", "sticker", "voice", "document", "video", "location")
MAX_CALLBACK_BYTES = 64
MAX_TEXT = 4096
TITLE_MIN, TITLE_MAX = 3, 150


def marker_of(user_id: int) -> str:
    """A user's secret: planted in their answers, titles and questions; nobody else may ever
    receive it. Letters only, so escaping and word cuts leave it whole."""
    return f"Rhs{_letters(user_id)}Qz"


def _letters(number: int) -> str:
    return "".join("abcdefghij"[int(d)] for d in str(number))


# ---- the model ----------------------------------------------------------------------------------


@dataclass
class DraftModel:
    format_key: str
    title: str | None = None
    answers: dict[str, str] = field(default_factory=dict)
    resume: str | None = None


@dataclass(frozen=True)
class Place:
    """Where a user is inside drafting: answering a section (draft/edit) or renaming."""

    flow: str
    draft_id: int
    section: str | None = None
    # A question typed in a text section, waiting for the user to say what it is.
    pending: str | None = None


@dataclass
class UserModel:
    user_id: int
    drafts: dict[int, DraftModel] = field(default_factory=dict)
    place: Place | None = None
    registered: bool = True
    # The last stored text answer, if long enough to be the first part of a split paste.
    paste_target: tuple[int, str] | None = None

    @property
    def marker(self) -> str:
        return marker_of(self.user_id)


@dataclass(frozen=True)
class Observed:
    """What the database says about a user, in the model's terms."""

    exists: bool
    registered: bool
    drafts: dict[int, DraftModel]
    place: Place | None


def observe(db: Database, user_id: int) -> Observed:
    with db.session() as session:
        user = session.get(User, user_id)
        drafts = {
            d.id: DraftModel(
                d.format_key, d.title, repo.answers_of(session, d.id), d.resume_section
            )
            for d in repo.drafts_of(session, user_id)
            if d.id is not None
        }
        state = session.get(ConversationState, user_id)
        place = None
        if state is not None and state.flow in DRAFTING_FLOWS and state.draft_id is not None:
            pending = state.data.get("question") if state.step == "question" else None
            place = Place(state.flow, state.draft_id, state.section_key, pending)
        return Observed(user is not None, repo.registered(user), drafts, place)


# What the harness must do after the action to finish the model's prediction.
KNOWN, CREATED, FOREIGN = "known", "created", "foreign"


class DraftingModel:
    def __init__(
        self, formats: FormatRegistry, today: Callable[[], date], commands: set[str]
    ) -> None:
        self.formats = formats
        self.today = today
        self.commands = commands  # every command some feature answers
        self._created_format: dict[int, str] = {}

    # ---- actions ----------------------------------------------------------------------------

    def text(self, user: UserModel, text: str, continuing: bool = False) -> str:
        """A typed text; `continuing`: it follows a long one within the joining window."""
        target, user.paste_target = (user.paste_target if continuing else None), None
        if target is not None:
            self._continue(user, target, text)
            return KNOWN
        if not user.registered or user.place is None:
            return FOREIGN  # idle, or another feature's flow: drafts must not change
        place = user.place
        draft = user.drafts[place.draft_id]
        fmt = self.format_of(draft)
        if place.flow == "rename":
            title = " ".join(text.split())
            if TITLE_MIN <= len(title) <= TITLE_MAX:
                draft.title = title
                user.place = None
            return KNOWN
        section = fmt.section(place.section or "")
        place = user.place = replace(place, pending=None)  # the user moved on
        if section.kind == "text" and questions.looks_like_question(text):
            user.place = replace(place, pending=text)  # stored only once the user chooses
            return KNOWN
        value = self._valid(fmt, section, draft, text)
        if value is not None:
            self._save(user, place, fmt, section.key, value)
            if section.kind == "text" and len(text) >= 3000:
                user.paste_target = (place.draft_id, section.key)
        return KNOWN

    def command(self, user: UserModel, name: str) -> str:
        user.paste_target = None
        if name not in self.commands:
            return KNOWN  # "unknown command": nothing changes
        if name == "batal":
            # Paused, or another feature's flow left: outside drafting either way.
            was_drafting, user.place = user.place is not None, None
            return KNOWN if was_drafting else FOREIGN
        if name not in DRAFTING_COMMANDS:
            return FOREIGN
        if not user.registered or name in NEUTRAL_COMMANDS:
            return KNOWN
        place = user.place
        if name in ("ide", "draf"):
            user.place = None
        elif name == "lewati" and place is not None and place.flow == "draft":
            self._advance(user, place.draft_id, place.section or "")
        elif name == "kembali" and place is not None and place.flow == "draft":
            draft = user.drafts[place.draft_id]
            previous = self.format_of(draft).previous_key(place.section)
            if previous is not None:
                self._ask(user, place.draft_id, previous, "draft")
        return KNOWN

    def press(self, user: UserModel, data: str) -> str:
        user.paste_target = None
        try:
            route = unpack(data)
        except StaleRoute:  # no route's value (forged, truncated): nothing happens, for anyone
            return KNOWN
        if type(route).__module__ != drafting_routes.__name__:
            return FOREIGN
        if not user.registered:
            return KNOWN
        if isinstance(route, NewDraft):
            return self._new(user, route.format_key)
        if isinstance(route, ChooseOption):
            self._choice(user, route.draft_id, route.index, route.option)
        elif isinstance(route, QUESTION_ROUTES):
            return self._question_choice(user, route)
        else:
            self._draft_button(user, route)
        return KNOWN

    def non_text(self, user: UserModel) -> str:
        return FOREIGN if user.place is None else KNOWN

    # ---- after the action -------------------------------------------------------------------

    def settle(self, user: UserModel, effect: str, seen: Observed) -> None:
        """Complete the prediction with what only the database knows (a new draft's id; where
        a foreign action left the user), then compare the model with the database."""
        if effect == CREATED:
            new = set(seen.drafts) - set(user.drafts)
            assert len(new) == 1, f"expected one new draft, found {sorted(new)}"
            draft_id = new.pop()
            fmt = self.formats.get(self._created_format[user.user_id])
            assert fmt is not None
            user.drafts[draft_id] = DraftModel(fmt.key)
            self._ask(user, draft_id, fmt.sections[0].key, "draft")
        elif effect == FOREIGN:
            if not seen.exists:  # the account was deleted: its drafts with it
                user.drafts.clear()
            user.registered = seen.registered
            assert seen.place is None or seen.place == user.place, (
                f"another feature moved user {user.user_id} within drafting: "
                f"{user.place} -> {seen.place}"
            )
            user.place = seen.place
        assert seen.drafts == user.drafts, (
            f"user {user.user_id}: stored drafts differ from the model\n"
            f"stored: {seen.drafts}\nmodel:  {user.drafts}"
        )
        assert seen.place == user.place, (
            f"user {user.user_id}: at {seen.place}, the model says {user.place}"
        )

    # ---- the drafting rules -----------------------------------------------------------------

    def _new(self, user: UserModel, format_key: str) -> str:
        if not format_key:
            user.place = None  # the format chooser
            return KNOWN
        if self.formats.get(format_key) is None:
            return KNOWN
        if len(user.drafts) >= DEFAULT_MAX_DRAFTS:  # told to delete one first; stays put
            return KNOWN
        self._created_format[user.user_id] = format_key
        return CREATED

    def _choice(self, user: UserModel, draft_id: int, index: int, option: int) -> None:
        draft = user.drafts.get(draft_id)
        place = user.place
        if draft is None or place is None or place.flow not in ("draft", "edit"):
            return
        fmt = self.format_of(draft)
        if not 0 <= index < len(fmt.sections) or place.draft_id != draft_id:
            return
        section = fmt.sections[index]
        if place.section != section.key or not 0 <= option < len(section.options):
            return
        self._save(user, place, fmt, section.key, section.options[option])

    def _question_choice(self, user: UserModel, route: QuestionRoute) -> str:
        """A button offered for a typed question: valid only while that question waits."""
        draft_id, index, token = route.draft_id, route.index, route.token
        draft, place = user.drafts.get(draft_id), user.place
        if draft is None or place is None or place.pending is None:
            return KNOWN
        fmt = self.format_of(draft)
        if (
            place.flow not in ("draft", "edit")
            or place.draft_id != draft_id
            or not 0 <= index < len(fmt.sections)
            or fmt.sections[index].key != place.section
            or questions.question_token(place.pending) != token
        ):
            return KNOWN
        if isinstance(route, AskMentorAboutQuestion):
            return FOREIGN  # the consultation request flow takes over
        if isinstance(route, SaveQuestionAsAnswer):
            section = fmt.sections[index]
            waiting = user.place = replace(place, pending=None)
            value = self._valid(fmt, section, draft, place.pending)
            if value is not None:
                self._save(user, waiting, fmt, section.key, value)
        return KNOWN

    def _draft_button(self, user: UserModel, route: Route) -> None:
        if isinstance(route, (ListDrafts, OpenDraft)):
            user.place = None
            return
        if not isinstance(route, (EditSection, ContinueDraft, AskRename, DeleteDraft)):
            return  # a menu, a preview, a confirmation or a page of options: nobody moves
        draft_id = route.draft_id
        draft = user.drafts.get(draft_id)
        if draft is None:
            return
        fmt = self.format_of(draft)
        if isinstance(route, EditSection):
            if 0 <= route.index < len(fmt.sections):
                self._ask(user, draft_id, fmt.sections[route.index].key, "edit")
        elif isinstance(route, ContinueDraft):
            key = draft.resume if draft.resume and fmt.has_section(draft.resume) else None
            if key is None:
                missing = assess(fmt, draft.answers).missing_required
                key = missing[0].key if missing else None
            if key is not None:
                self._ask(user, draft_id, key, "draft")
        elif isinstance(route, AskRename):
            user.place = Place("rename", draft_id)
        else:  # DeleteDraft
            del user.drafts[draft_id]
            if user.place is not None and user.place.draft_id == draft_id:
                user.place = None

    def _valid(
        self, fmt: ProposalFormat, section: Section, draft: DraftModel, text: str
    ) -> str | None:
        if section.kind == "choice":
            matches = match_choice(section, text)
            return matches[0] if len(matches) == 1 else None
        try:
            if section.kind == "month":
                return clean_month(fmt, section, text, draft.answers, self.today())
            return clean_text(section, text)
        except InvalidAnswer:
            return None

    def _save(
        self, user: UserModel, place: Place, fmt: ProposalFormat, key: str, value: str
    ) -> None:
        user.drafts[place.draft_id].answers[key] = value
        if place.flow == "edit":
            user.place = None
        else:
            self._advance(user, place.draft_id, key)

    def _advance(self, user: UserModel, draft_id: int, after: str) -> None:
        draft = user.drafts[draft_id]
        following = self.format_of(draft).next_key(after)
        if following is None:
            draft.resume = None
            user.place = None
        else:
            self._ask(user, draft_id, following, "draft")

    def _ask(self, user: UserModel, draft_id: int, key: str, flow: str) -> None:
        user.place = Place(flow, draft_id, key)
        if flow == "draft":
            user.drafts[draft_id].resume = key

    def _continue(self, user: UserModel, target: tuple[int, str], text: str) -> None:
        """The rest of a long paste: joined to the answer it continues (the place stays)."""
        draft_id, key = target
        draft = user.drafts.get(draft_id)
        if draft is None:
            return
        section = self.format_of(draft).section(key)
        first = draft.answers.get(key, "")
        joined = (
            text
            if not first
            else (first + text if first[-1].isspace() or text[:1].isspace() else f"{first} {text}")
        )
        try:
            draft.answers[key] = clean_text(section, joined)
        except InvalidAnswer:
            return
        if len(text) >= 3000:
            user.paste_target = target

    def format_of(self, draft: DraftModel) -> ProposalFormat:
        return self.formats.get(draft.format_key) or self.formats.default


# ---- what users receive -------------------------------------------------------------------------


@dataclass
class Inboxes:
    """Every text (and button label) each user received, checked as it arrives."""

    markers: dict[int, str]
    received: dict[int, list[str]] = field(default_factory=dict)

    def receive(self, user_id: int, text: str) -> None:
        """Mentors and admins may see what users send them; the users watched here may not."""
        if user_id not in self.markers:
            return
        self.received.setdefault(user_id, []).append(text)
        leaked = [
            owner for owner, marker in self.markers.items() if owner != user_id and marker in text
        ]
        assert not leaked, f"user {user_id} received data of user(s) {leaked}:\n{text[:500]}"


def rendered_messages(
    renderer: Renderer, outcome: Outcome, actor: int
) -> list[tuple[int, Rendered]]:
    """(recipient, message) for every reply of an outcome, rendered from the real templates."""
    found = []
    for reply in outcome.replies:
        if isinstance(reply, CopyReply):
            if reply.header is not None:
                found.append((reply.to, renderer.render(reply.header)))
            continue
        for message in renderer.render_any(reply):
            found.append((message.to or actor, message))
    return found


def check_message(message: Rendered) -> str:
    """A message Telegram would accept; returns what its reader sees (text and buttons)."""
    try:
        parsed = parse_html(message.text)
    except EntityParseError as exc:  # pragma: no cover - the assertion explains
        raise AssertionError(f"Telegram would refuse this HTML ({exc}):\n{message.text}") from exc
    limit = 1024 if message.document is not None else MAX_TEXT
    assert message.document is not None or parsed.plain.strip(), "an empty message"
    assert len(parsed.plain) <= limit, f"{len(parsed.plain)} characters (limit {limit})"
    labels = []
    for row in message.buttons:
        for label, data in row:
            assert label.strip() and 0 < len(data.encode()) <= MAX_CALLBACK_BYTES, (label, data)
            labels.append(label)
    return "\n".join([parsed.plain, *labels])


# ---- random actions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Paste:
    """A long text the client split into parts sent one after another (domain suite only)."""

    parts: tuple[str, ...]


@dataclass(frozen=True)
class Command:
    name: str
    args: str = ""


@dataclass(frozen=True)
class Press:
    data: str
    real: bool


@dataclass(frozen=True)
class NonText:
    kind: str


@dataclass(frozen=True)
class EditOwn:
    """The user edits a message they sent earlier (end-to-end suite only)."""

    text: str


Action = Text | Paste | Command | Press | NonText | EditOwn

WORDS = (
    *("posyandu", "kader", "bidan", "puskesmas", "kecamatan", "layanan", "data", "warga"),
    *("laporan", "aplikasi", "sosialisasi", "anggaran", "desa", "ibu", "hamil", "rujukan"),
    *("kunjungan", "pelayanan", "inovasi"),
)
HTML_BITS = (
    "<b>tebal</b>",
    "<script>alert(1)</script>",
    "a < b & c > d",
    "&amp; &lt;b&gt;",
    '<a href="http://x">tautan</a>',
    "</i>",
    "<pre>",
    "&#x1F600;",
    "<tg-spoiler>",
    "{{ 7*7 }} {% raw %}",
)
EMOJI = ("😀", "🇮🇩", "👍🏽", "👩‍⚕️", "🏥", "✅", "🙏", "\u200d", "\ufe0f")
MONTHS = (
    *("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus"),
    *("September", "Oktober", "November", "Desember"),
)
KNOWN_COMMANDS = (
    *DRAFTING_COMMANDS,
    "start",
    "profil",
    "konsultasi",
    "antrian",
    "antrean",
    "tenggat",
    "dataku",
    "hapus_akun",
    "lomba",
    "opd",
    "statistik",
    "ekspor",
    "siaran",
    "undang_mentor",
    "mentor",
)
# Control characters are left out (Telegram clients do not send them), NUL above all: PostgreSQL
# refuses it in a text column, so a NUL in an answer would fail the transaction there.
SAFE_CHARACTERS = st.characters(
    codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\x00"
) | st.sampled_from("\n\t ")


def words(marker: str, minimum: int = 0, maximum: int = 40) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(WORDS), min_size=minimum, max_size=maximum).map(
        lambda chosen: " ".join([marker, *chosen])
    )


def long_text(marker: str, low: int = 3000, high: int = MAX_TEXT) -> st.SearchStrategy[str]:
    """A marker, then words up to a length between `low` and `high` characters."""
    return st.tuples(st.integers(low, high), words(marker, 1, 8)).map(
        lambda pair: (pair[1] + " " + " ".join(WORDS) * 40)[: pair[0]].rstrip() or pair[1]
    )


def random_text(marker: str) -> st.SearchStrategy[str]:
    plain = st.text(SAFE_CHARACTERS, min_size=1, max_size=120)
    htmlish = st.lists(st.sampled_from(HTML_BITS) | plain, min_size=1, max_size=5).map("".join)
    emoji = st.lists(st.sampled_from(EMOJI) | st.sampled_from(WORDS), min_size=1, max_size=12).map(
        " ".join
    )
    with_marker = st.tuples(st.just(marker), plain | htmlish | emoji).map(" ".join)
    text = st.one_of(plain, htmlish, emoji, with_marker, long_text(marker, 200, MAX_TEXT))
    # A leading "/" makes a command in Telegram: commands are drawn on their own.
    return text.filter(lambda t: not t.lstrip().startswith("/") and t.strip() != "")


def answer_for(section: Section, marker: str, today: date) -> st.SearchStrategy[str]:
    """Mostly valid answers to the awaited section (texts carry the user's marker)."""
    if section.kind == "choice":
        options = st.sampled_from(section.options)
        return st.one_of(
            options,
            options.map(str.upper),
            options.map(lambda o: o[: max(3, len(o) // 2)]),
            options.map(lambda o: f"  {o.lower()}  "),
        )
    if section.kind == "month":
        years = st.integers(today.year - 30, today.year + 4)
        return st.one_of(
            st.tuples(st.sampled_from(MONTHS), years).map(lambda p: f"{p[0]} {p[1]}"),
            st.tuples(st.integers(0, 13), years).map(lambda p: f"{p[0]:02d}/{p[1]}"),
        )
    low = max(section.min_chars, len(marker) + 1)
    high = min(section.max_chars, MAX_TEXT)
    padding = " " + " ".join(WORDS) * 3
    short = words(marker, 0, 30).map(lambda t: (t + padding)[: min(high, max(low, len(t)))])
    # A question instead of an answer: kept aside until the user says what it is.
    question = words(marker, 0, 10).map(lambda t: f"{t}, boleh?")
    return st.one_of(short, short, question, long_text(marker, low, high))


def command() -> st.SearchStrategy[Command]:
    known = st.builds(Command, st.sampled_from(KNOWN_COMMANDS))
    unknown = st.builds(Command, st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True))
    deep_link = st.builds(
        Command,
        st.just("start"),
        st.one_of(
            st.from_regex(r"mentor-[A-Za-z0-9_-]{0,20}", fullmatch=True),
            st.from_regex(r"[A-Za-z0-9_-]{1,30}", fullmatch=True),
        ),
    )
    return st.one_of(known, known, unknown, deep_link)


def forged_data(prefixes: list[str], ids: list[int]) -> st.SearchStrategy[str]:
    """Callback data no keyboard offered: any prefix, any action, other people's ids."""
    # Ids stay within PostgreSQL's integer: a larger one still fails there (DataError instead of
    # "not found"), see test_an_id_beyond_the_database_integer_is_refused_as_stale.
    number = st.one_of(
        st.sampled_from(ids) if ids else st.integers(1, 50),
        st.integers(-3, 10_000),
        st.integers(2**31 - 3, 2**31 - 1),
    )
    token = st.one_of(
        number.map(str),
        st.sampled_from(["o", "c", "e", "p", "r", "x", "xx", "s", "l", "v", "nd", "a", "all"]),
        st.text(SAFE_CHARACTERS, max_size=6),
    )
    head = st.one_of(st.sampled_from(prefixes), st.text(SAFE_CHARACTERS, max_size=3))
    return st.tuples(head, st.lists(token, max_size=4)).map(
        lambda p: fit_callback_data(":".join([p[0], *p[1]]))
    )


def fit_callback_data(data: str) -> str:
    """Telegram carries 1–64 bytes of callback data."""
    raw = data.encode()[:MAX_CALLBACK_BYTES]
    return raw.decode(errors="ignore") or "?"


def own_draft_button(draft_ids: list[int]) -> st.SearchStrategy[str]:
    """A button of one of the user's drafts, as its summary and edit menu show them."""
    draft = st.sampled_from(draft_ids)
    section = st.integers(0, 20)
    simple = st.sampled_from(DRAFT_ROUTES)
    routes = st.one_of(
        st.builds(lambda r, d: r(d), simple, draft),
        st.builds(EditSection, draft, section),
        st.builds(ChooseOption, draft, section, st.integers(0, 6)),
    )
    return routes.map(lambda route: route.pack())


def media() -> st.SearchStrategy[NonText]:
    return st.builds(NonText, st.sampled_from(MEDIA_KINDS))


def action_for(
    data: Any,
    model: DraftingModel,
    user: UserModel,
    real_buttons: list[str],
    foreign_buttons: list[str],
    prefixes: list[str],
    ids: Callable[[], list[int]],
    extra: tuple[str, ...] = (),
) -> Action:
    """One random action of a user, weighted towards moving through drafting."""
    others = ["text", "command", "real", "forged", "media", "own", *extra]
    drafting = ["answer"] * 6 + ["batal", *others]
    kinds = drafting if user.place is not None else ["real", "real", "ide", "draf", *others]
    kind = data.draw(st.sampled_from(kinds), label="kind")
    if kind == "answer" and user.place is not None and user.place.flow != "rename":
        draft = user.drafts[user.place.draft_id]
        section = model.format_of(draft).section(user.place.section or "")
        return Text(data.draw(answer_for(section, user.marker, model.today()), label="answer"))
    if kind == "answer" and user.place is not None:
        return Text(data.draw(words(user.marker, 0, 8), label="title"))
    if kind in ("text", "answer"):
        return Text(data.draw(random_text(user.marker), label="text"))
    if kind == "command":
        return data.draw(command(), label="command")
    if kind in ("ide", "draf", "batal"):
        return Command(kind)
    if kind == "own" and user.drafts:
        return Press(data.draw(own_draft_button(sorted(user.drafts)), label="own"), real=True)
    if kind == "real" and real_buttons:
        return Press(data.draw(st.sampled_from(real_buttons), label="button"), real=True)
    if kind in ("forged", "real"):
        forged = forged_data(prefixes, ids())
        source = st.one_of(forged, st.sampled_from(foreign_buttons) if foreign_buttons else forged)
        return Press(data.draw(source, label="forged"), real=False)
    if kind == "paste":
        first = data.draw(long_text(user.marker), label="paste")
        rest = data.draw(st.lists(long_text(user.marker, 1, MAX_TEXT), min_size=1, max_size=2))
        return Paste((first, *rest))
    if kind == "edit":
        return EditOwn(data.draw(words(user.marker, 1, 6), label="edit"))
    return data.draw(media(), label="media")


def keyboard_data(buttons: list[list[tuple[str, str]]]) -> list[str]:
    return [data for row in buttons for _, data in row]


# ---- the bystander ------------------------------------------------------------------------------

BYSTANDER, MENTOR = 7001, 7002


def seed_bystander(dialog: Dialog, admin_id: int) -> None:
    """A user outside the fuzz with a draft, a consultation a mentor accepted, and a
    competition: their ids are what forged buttons aim at; their marker must never leak."""
    from tests.helpers import buttons, register

    secret = marker_of(BYSTANDER)
    register(dialog, admin_id, name="Admin Klinik")
    register(dialog, BYSTANDER, name=f"Bystander {secret}")
    register(dialog, MENTOR, name="Mentor Klinik")
    token = dialog.command(admin_id, "undang_mentor").replies[0].context["token"]
    dialog.command(MENTOR, "start", f"mentor-{token}")
    dialog.callback(MENTOR, "m:j")
    dialog.callback(BYSTANDER, "n:iid")
    dialog.text(BYSTANDER, f"{secret} Inovasi rahasia")
    dialog.command(BYSTANDER, "batal")
    start = dialog.command(BYSTANDER, "konsultasi")
    for button in buttons(start):
        if button.data == "k:n":
            start = dialog.callback(BYSTANDER, "k:n")
    for button in buttons(start):
        if button.data.startswith("k:d:"):
            dialog.callback(BYSTANDER, button.data)
            break
    dialog.text(BYSTANDER, "kesehatan")
    dialog.text(BYSTANDER, f"{secret} pertanyaan rahasia tentang data puskesmas")
    dialog.text(BYSTANDER, "Senin pagi")
    with dialog.ctx.db.session() as session:
        consultation = session.exec(
            select(Consultation).where(Consultation.asn_id == BYSTANDER)
        ).first()
        assert consultation is not None, "seeding the bystander's consultation failed"
        cid = consultation.id
        deadline = datetime(2026, 12, 20, 15, 59, tzinfo=UTC)
        add_competition(session, "Lomba Fuzz", {"Pengumpulan": deadline})
    dialog.callback(MENTOR, AcceptConsultation(cid).pack())


def id_pool(db: Database) -> list[int]:
    """Every draft, consultation, competition and stage id there is: forged buttons aim here."""
    with db.session() as session:
        found: set[int] = set()
        for table in (Draft, Consultation, Competition, Stage):
            found |= {row for row in session.exec(select(table.id)) if row is not None}
        return sorted(found)


def callback_prefixes(dialog: Dialog) -> list[str]:
    """Every declared route's prefix, and the families' first letters ("d" of "d:o")."""
    prefixes = {route.prefix for route in dialog.routes}
    return sorted(prefixes | {p.partition(SEPARATOR)[0] for p in prefixes})

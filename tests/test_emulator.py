"""The Bot API emulator, driven by the real python-telegram-bot client.

These tests pin the Telegram behaviours the rest of the suite relies on: validation errors,
long polling, offsets, duplicates, faults, and the simulated-user scripting API.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.emulator import BotApiEmulator, parse_html

USER_ID = 1001

# python-telegram-bot itself warns when it builds RetryAfter from the API's integer retry_after.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*attribute `retry_after` will be of type:telegram.warnings.PTBDeprecationWarning"
)


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in buttons])


@pytest_asyncio.fixture(loop_scope="function")
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        yield emulator


@pytest_asyncio.fixture(loop_scope="function")
async def bot(emu: BotApiEmulator) -> AsyncIterator[telegram.Bot]:
    client = telegram.Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url)
    async with client:
        yield client


# -- identity and protocol -----------------------------------------------------------------------


async def test_get_me(bot: telegram.Bot, emu: BotApiEmulator) -> None:
    me = await bot.get_me()
    assert me.id == 123456789
    assert me.username == "klinik_inovasi_bot"
    assert me.first_name == "Klinik Inovasi"
    assert me.is_bot
    assert emu.calls_to("getMe")[0].ok


async def test_unknown_method_wrong_token_and_other_encodings(emu: BotApiEmulator) -> None:
    emu.user(USER_ID)
    async with httpx.AsyncClient(base_url=emu.url) as http:
        unknown = await http.post(f"/bot{emu.token}/noSuchMethod")
        assert unknown.status_code == 404
        assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        wrong = await http.get("/bot123456789:WRONG/getMe")
        assert wrong.status_code == 401
        assert wrong.json()["description"] == "Unauthorized"
        as_json = await http.post(
            f"/bot{emu.token}/SENDMESSAGE", json={"chat_id": USER_ID, "text": "123"}
        )
        as_query = await http.get(f"/bot{emu.token}/sendMessage?chat_id={USER_ID}&text=007")
    assert as_json.json()["result"]["text"] == "123"
    assert as_query.json()["result"]["text"] == "007"  # text stays a string, never an int
    assert [c.method for c in emu.calls_to("sendmessage")] == ["sendMessage", "sendMessage"]


async def test_unknown_chat_is_not_found(bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match=r"[Cc]hat not found"):
        await bot.send_message(424242, "hello")


# -- getUpdates ------------------------------------------------------------------------------------


async def test_long_poll_answers_as_soon_as_an_update_arrives(
    bot: telegram.Bot, emu: BotApiEmulator
) -> None:
    user = emu.user(USER_ID, first_name="Andi")
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    assert not poll.done()
    started = time.monotonic()
    await user.send("/start")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1
    message = updates[0].message
    assert message is not None and message.text == "/start"
    assert message.entities[0].type == "bot_command"
    assert message.from_user is not None and message.from_user.first_name == "Andi"


async def test_long_poll_times_out_empty(bot: telegram.Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3


async def test_offsets_confirm_and_drop_earlier_updates(
    bot: telegram.Bot, emu: BotApiEmulator
) -> None:
    user = emu.user(USER_ID)
    for text in ("one", "two", "three"):
        await user.send(text)
    first = await bot.get_updates()
    assert [u.message.text for u in first if u.message] == ["one", "two", "three"]
    ids = [u.update_id for u in first]
    assert ids == sorted(ids) and len(set(ids)) == 3
    again = await bot.get_updates(offset=ids[1])
    assert [u.update_id for u in again] == ids[1:]
    assert await bot.get_updates(offset=ids[2] + 1) == ()
    await user.send("four")
    await user.send("five")
    last = await bot.get_updates(offset=-1)
    assert [u.message.text for u in last if u.message] == ["five"]


async def test_second_poller_terminates_the_first_with_conflict(
    bot: telegram.Bot, emu: BotApiEmulator
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    other = telegram.Bot(emu.token, base_url=emu.base_url)  # a second bot instance
    async with other:
        assert await other.get_updates(timeout=0) == ()
    with pytest.raises(telegram.error.Conflict):
        await asyncio.wait_for(first, 2)


async def test_redeliver_sends_the_same_update_id_again(
    bot: telegram.Bot, emu: BotApiEmulator
) -> None:
    user = emu.user(USER_ID)
    await user.send("/start")
    (update,) = await bot.get_updates()
    assert emu.last_update_id == update.update_id
    assert await bot.get_updates(offset=update.update_id + 1) == ()
    await emu.redeliver(update.update_id)
    (duplicate,) = await bot.get_updates(offset=update.update_id + 1, timeout=1)
    assert duplicate.update_id == update.update_id
    assert duplicate.message is not None and duplicate.message.text == "/start"
    assert await bot.get_updates(offset=duplicate.update_id + 1) == ()


# -- text validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "<b>bold</b> <i>it</i> <u>u</u> <s>s</s> <code>c</code> &lt;tag&gt; &amp; &quot; &#128512;",
        '<a href="https://example.org/?a=1&amp;b=2">link</a>',
        '<pre><code class="language-python">print("x")</code></pre>',
        "<blockquote expandable>quote</blockquote> <tg-spoiler>x</tg-spoiler>",
        '<span class="tg-spoiler">hidden</span> <strong>s</strong> <em>e</em>',
    ],
)
async def test_valid_html_is_accepted(bot: telegram.Bot, emu: BotApiEmulator, html: str) -> None:
    emu.user(USER_ID)
    message = await bot.send_message(USER_ID, html, parse_mode="HTML")
    assert message.text == parse_html(html).plain
    assert "</" not in (message.text or "")


@pytest.mark.parametrize(
    ("html", "detail"),
    [
        ("<script>alert(1)</script>", 'Unsupported start tag "script"'),
        ("1 < 2", "Unsupported start tag"),
        ("Tom & Jerry", '"&"'),
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("&nbsp;", "Unsupported HTML entity"),
    ],
)
async def test_invalid_html_is_rejected(
    bot: telegram.Bot, emu: BotApiEmulator, html: str, detail: str
) -> None:
    emu.user(USER_ID)
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(USER_ID, html, parse_mode="HTML")
    assert detail.lower() in (emu.calls_to("sendMessage")[-1].description or "").lower()
    assert emu.calls_to("sendMessage")[-1].error_code == 400


async def test_plain_text_allows_anything(bot: telegram.Bot, emu: BotApiEmulator) -> None:
    emu.user(USER_ID)
    message = await bot.send_message(USER_ID, "1 < 2 & <script>")
    assert message.text == "1 < 2 & <script>"


async def test_length_limit_counts_visible_text(bot: telegram.Bot, emu: BotApiEmulator) -> None:
    emu.user(USER_ID)
    ok = await bot.send_message(USER_ID, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    assert len(ok.text or "") == 4096
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(USER_ID, "<b>" + "a" * 4097 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="text is empty"):
        await bot.send_message(USER_ID, "<b> </b>", parse_mode="HTML")


async def test_callback_data_is_limited_to_64_bytes(bot: telegram.Bot, emu: BotApiEmulator) -> None:
    emu.user(USER_ID)
    await bot.send_message(USER_ID, "ok", reply_markup=keyboard(("a", "x" * 64)))
    for data in ("x" * 65, "é" * 33):  # the second is 33 characters but 66 bytes
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(USER_ID, "no", reply_markup=keyboard(("a", data)))


# -- editing ---------------------------------------------------------------------------------------


async def test_edits_and_not_modified(bot: telegram.Bot, emu: BotApiEmulator) -> None:
    user = emu.user(USER_ID)
    sent = await bot.send_message(
        USER_ID, "<b>v1</b>", parse_mode="HTML", reply_markup=keyboard(("Go", "go"))
    )
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text(
            "<b>v1</b>",
            USER_ID,
            sent.message_id,
            parse_mode="HTML",
            reply_markup=keyboard(("Go", "go")),
        )
    await bot.edit_message_text("v2", USER_ID, sent.message_id)  # no markup: keyboard removed
    current = user.messages[sent.message_id]
    assert current["plain"] == "v2" and current["reply_markup"] is None
    events = await user.receive_all(idle=0.05, timeout=1)
    assert [(e["edited"], e["plain"]) for e in events] == [(False, "v1"), (True, "v2")]
    incoming = await user.send("my own message")
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("hijack", USER_ID, incoming["message_id"])


# -- files -----------------------------------------------------------------------------------------


async def test_send_document_upload_is_stored_and_downloadable(
    bot: telegram.Bot, emu: BotApiEmulator
) -> None:
    user = emu.user(USER_ID)
    sent = await bot.send_document(
        USER_ID,
        b"%PDF-1.4 laporan",
        filename="laporan.pdf",
        caption="<b>Laporan</b>",
        parse_mode="HTML",
    )
    assert sent.document is not None and sent.document.file_name == "laporan.pdf"
    received = await user.receive()
    assert received["kind"] == "document" and received["plain"] == "Laporan"
    assert received["file"]["content"] == b"%PDF-1.4 laporan"
    assert received["file"]["mime_type"] == "application/pdf"
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4 laporan"
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_document(USER_ID, b"x", filename="a.txt", caption="c" * 1025)


async def test_user_document_can_be_fetched_by_the_bot(
    bot: telegram.Bot, emu: BotApiEmulator
) -> None:
    user = emu.user(USER_ID)
    await user.send_document(filename="proposal.docx", content=b"PK\x03\x04 docx")
    await user.send_photo(caption="foto")
    updates = await bot.get_updates()
    document = updates[0].message.document
    assert document.file_name == "proposal.docx"
    data = await (await bot.get_file(document.file_id)).download_as_bytearray()
    assert bytes(data) == b"PK\x03\x04 docx"
    assert updates[1].message.photo and updates[1].message.caption == "foto"


async def test_copy_and_forward(bot: telegram.Bot, emu: BotApiEmulator) -> None:
    andi, budi = emu.user(USER_ID), emu.user(1002, first_name="Budi")
    original = await andi.send("tolong dibantu")
    copied = await bot.copy_message(budi.id, andi.id, original["message_id"])
    forwarded = await bot.forward_message(budi.id, andi.id, original["message_id"])
    assert budi.messages[copied.message_id]["plain"] == "tolong dibantu"
    assert forwarded.forward_origin is not None
    with pytest.raises(BadRequest, match=r"(?i)message to copy not found"):
        await bot.copy_message(budi.id, andi.id, 9999)


async def test_callback_query_can_be_answered_once(bot: telegram.Bot, emu: BotApiEmulator) -> None:
    user = emu.user(USER_ID)
    await bot.send_message(USER_ID, "pilih", reply_markup=keyboard(("A", "a")))
    await user.press("A", expect_answer=False)
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "a" and query.message is not None
    assert await query.answer("ok")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer("again")
    assert await bot.send_chat_action(USER_ID, "typing")
    with pytest.raises(BadRequest, match=r"(?i)wrong parameter action"):
        await bot.send_chat_action(USER_ID, "dancing")


async def test_push_raw_update(bot: telegram.Bot, emu: BotApiEmulator) -> None:
    user = emu.user(USER_ID)
    message = await user.send("hi")
    raw = {"update_id": 777, "message": message}
    await emu.push_raw_update(raw)
    await emu.push_raw_update({"edited_message": {**message, "text": "hi!", "edit_date": 1}})
    updates = await bot.get_updates()
    assert [u.update_id for u in updates][1] == 777
    assert updates[2].edited_message is not None and updates[2].edited_message.text == "hi!"
    await emu.wait_until_delivered(timeout=1)


# -- faults ----------------------------------------------------------------------------------------


async def test_injected_429_and_403(bot: telegram.Bot, emu: BotApiEmulator) -> None:
    user = emu.user(USER_ID)
    emu.inject_fault("sendMessage", error_code=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER_ID, "x")
    assert caught.value.retry_after in (7, timedelta(seconds=7))  # int unless PTB_TIMEDELTA
    assert emu.calls_to("sendMessage")[-1].description == "Too Many Requests: retry after 7"
    assert emu.count_429 == 1
    await bot.send_message(USER_ID, "fault consumed")
    emu.inject_fault("sendMessage", error_code=403, chat_id=USER_ID)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(USER_ID, "x")
    user.block_bot()
    with pytest.raises(Forbidden):
        await bot.send_document(USER_ID, b"x", filename="a.txt")
    user.unblock_bot()
    await bot.send_message(USER_ID, "back")
    assert [c.ok for c in emu.sent_to(USER_ID, include_failed=True)] == [
        False,
        True,
        False,
        False,
        True,
    ]


async def test_disconnect_and_delay(bot: telegram.Bot, emu: BotApiEmulator) -> None:
    user = emu.user(USER_ID)
    emu.inject_disconnect("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(USER_ID, "lost")
    assert user.messages == {}
    emu.inject_disconnect("sendMessage", after_processing=True)
    with pytest.raises(NetworkError):
        await bot.send_message(USER_ID, "sent but unanswered")
    assert [m["plain"] for m in user.messages.values()] == ["sent but unanswered"]
    emu.inject_delay("getMe", 0.3)
    started = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - started >= 0.3


async def test_rate_limits(bot: telegram.Bot, emu: BotApiEmulator) -> None:
    emu.user(USER_ID)
    emu.enforce_rate_limits(per_chat_per_sec=1.0, burst=3)
    for n in range(3):
        await bot.send_message(USER_ID, f"burst {n}")
    with pytest.raises(RetryAfter):
        await bot.send_message(USER_ID, "too fast")
    assert emu.count_429 == 1


# -- commands and groups ---------------------------------------------------------------------------


async def test_commands_per_scope(bot: telegram.Bot, emu: BotApiEmulator) -> None:
    commands = [telegram.BotCommand("start", "Mulai"), telegram.BotCommand("bantuan", "Bantuan")]
    await bot.set_my_commands(commands)
    await bot.set_my_commands(commands[:1], language_code="en")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "bantuan"]
    assert [c["command"] for c in emu.commands(language_code="en")] == ["start"]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([telegram.BotCommand("Start", "x")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


async def test_group_add_bot_and_privacy_mode(bot: telegram.Bot, emu: BotApiEmulator) -> None:
    andi = emu.user(USER_ID, first_name="Andi")
    group = emu.group(-100123, title="Grup OPD")
    with pytest.raises(Forbidden):
        await bot.send_message(group.id, "not yet a member")
    await group.add_bot(by=andi)
    await group.send(andi, "obrolan biasa")  # privacy mode: the bot does not see this
    await group.send(andi, "/start@klinik_inovasi_bot")
    updates = await bot.get_updates()
    assert updates[0].my_chat_member is not None
    assert updates[0].my_chat_member.new_chat_member.status == "member"
    assert updates[1].message.new_chat_members[0].id == emu.bot_id
    assert updates[2].message.text == "/start@klinik_inovasi_bot"
    assert len(updates) == 3
    await bot.send_message(group.id, "Halo grup", reply_markup=keyboard(("Ikut", "join")))
    assert (await group.receive())["plain"] == "Halo grup"
    assert group.buttons() == [[("Ikut", "join")]]


# -- scripting API with a real Application ---------------------------------------------------------


async def test_application_with_press_and_receive(emu: BotApiEmulator) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html(
            "<b>Selamat datang</b> di Klinik Inovasi",
            reply_markup=keyboard(("Lanjutkan", "flow:next"), ("Batal", "flow:cancel")),
        )

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        if query.data == "flow:next":
            await query.answer("Oke!")
            await query.edit_message_text("Langkah 2")
        else:
            await query.answer("Data tidak dikenal", show_alert=True)

    app = emu.application_builder().build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(on_button))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        user = emu.user(USER_ID, first_name="Andi")
        await user.send("/start")
        welcome = await user.receive()
        assert welcome["plain"] == "Selamat datang di Klinik Inovasi"
        assert welcome["text"].startswith("<b>Selamat datang</b>")
        assert user.buttons() == [[("Lanjutkan", "flow:next")], [("Batal", "flow:cancel")]]
        answer = await user.press("Lanjutkan")
        assert answer is not None and answer["text"] == "Oke!" and not answer["show_alert"]
        edit = await user.receive()
        assert edit["edited"] and edit["plain"] == "Langkah 2"
        assert edit["message_id"] == welcome["message_id"]
        forged = await user.press_data("d:open:99", message_id=welcome["message_id"])
        assert forged == {
            "text": "Data tidak dikenal",
            "show_alert": True,
            "url": None,
            "cache_time": 0,
        }
        with pytest.raises(AssertionError, match="no bot message with an inline keyboard"):
            await user.press("Lanjutkan")
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def test_receive_timeout_explains_what_happened(
    bot: telegram.Bot, emu: BotApiEmulator
) -> None:
    user = emu.user(USER_ID)
    with pytest.raises(BadRequest):
        await bot.send_message(USER_ID, "<b>oops", parse_mode="HTML")
    with pytest.raises(AssertionError, match="can't parse entities"):
        await user.receive(timeout=0.1)

"""`klinik shell` driven line by line, without a terminal: three people (ASN, mentor, admin),
switched with `:sebagai`, and the files the bot sends saved where the user can open them."""

from __future__ import annotations

import json
from pathlib import Path

from bot.shell import personas, shell_session

PROMPTS = ("ASN> ", "Mentor> ", "Admin> ")


class Script:
    """Feeds the shell's input loop one line at a time and keeps everything it printed."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = list(lines)
        self.output: list[str] = []
        self.prompts: list[str] = []

    async def read_line(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.lines:
            raise EOFError
        line = self.lines.pop(0)
        self.output.append(f"{prompt}{line}")
        return line

    def write(self, text: str) -> None:
        self.output.append(text)

    def text(self) -> str:
        return "\n".join(self.output)

    def after(self, typed: str) -> str:
        """What was printed after the first time `typed` was entered, up to the next prompt."""
        index = next(i for i, o in enumerate(self.output) if o.endswith(f"> {typed}"))
        rest = []
        for line in self.output[index + 1 :]:
            if line.startswith(PROMPTS):
                break
            rest.append(line)
        return "\n".join(rest)


def register(name: str) -> list[str]:
    return ["/start", "#setuju", name, "kesehatan", "#1", "#lewati"]  # the NIP is optional


async def test_the_shell_plays_asn_mentor_and_admin_and_saves_files(tmp_path: Path) -> None:
    asn, mentor, admin = personas(1001, "Pengguna Uji")
    script = Script(
        [
            *register("Andi Pratiwi"),
            "/dataku",
            "/undang_mentor",  # the ASN is no admin
            ":sebagai kepala",
            ":sebagai admin",
            *register("Admin Klinik"),
            "/undang_mentor",
            ":sebagai mentor",
            ":tautan",
            *register("Dr. Syamsul Alam, S.KM., M.Kes."),
            "#bersedia",
            "/antrean",
            ":sebagai admin",
            ":keluar",
        ]
    )
    files = tmp_path / "berkas"
    result = await shell_session(
        1001,
        "Pengguna Uji",
        False,
        f"sqlite:///{tmp_path / 'shell.db'}",
        files,
        script.read_line,
        script.write,
    )
    assert result == 0
    out = script.text()
    # Each person is its own user: the prompt says who is typing.
    assert {"ASN> ", "Admin> ", "Mentor> "} <= set(script.prompts)
    assert f"Admin (ID Telegram {admin.user_id})" in out
    assert f"Mentor (ID Telegram {mentor.user_id})" in out
    assert "Orang itu tidak dikenal" in script.after(":sebagai kepala")
    # The ASN is not an admin; the admin persona is.
    assert "khusus untuk admin" in script.after("/undang_mentor")
    assert "Tautan undangan mentor" in out
    # The mentor persona opened the invite before registering and went on to the mentor step.
    assert "langsung masuk ke langkah mentor" in script.after(":tautan")
    assert "Bersedia menjadi mentor?" in out
    assert "Selamat bergabung, Dr. Syamsul Alam, S.KM., M.Kes.!" in out
    assert "khusus untuk mentor" not in script.after("/antrean")
    # What reached the admin while the shell played the mentor waited, and shows on switching.
    assert "1 pesan baru untuk Admin" in out
    assert "Syamsul Alam" in script.text().split("Sekarang Anda sebagai Admin")[-1]
    # The /dataku file was saved under the ASN's folder and its path printed.
    saved = files / "asn" / f"data-saya-{asn.user_id}.json"
    assert f"Berkas tersimpan: {saved.resolve()}" in out
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert data["Profil"][0]["Nama lengkap"] == "Andi Pratiwi"

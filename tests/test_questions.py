"""Telling a question from an answer (templates/data/question_words.yaml), on real-looking
Indonesian inputs typed while a free-text section is awaited."""

from __future__ import annotations

import pytest

from bot.services.questions import looks_like_question, question_token, question_words

LONG_ANSWER_WITH_QUESTION = (
    "Angka kematian ibu di Kecamatan Maritengngae masih tinggi: 4 kasus pada 2024. Mengapa? "
    "Karena pemeriksaan kehamilan belum rutin, kader posyandu mencatat di buku tulis, dan "
    "rujukan ke puskesmas sering terlambat. Inovasi ini mencatat kunjungan secara daring "
    "sehingga bidan desa dapat memantau ibu hamil risiko tinggi setiap minggu."
)
LONG_ANSWER_ENDING_WITH_QUESTION = (
    "Sebelum inovasi, warga harus datang tiga kali ke kantor kecamatan untuk mengurus surat "
    "keterangan, menunggu tanda tangan camat, lalu kembali lagi untuk mengambil berkasnya. "
    "Kini permohonan diajukan lewat WhatsApp dan surat diantar petugas kelurahan. Bukankah "
    "ini jauh lebih mudah bagi warga yang tinggal jauh dari kota?"
)

QUESTIONS = [
    "apa maksudnya judul inovasi? boleh pakai singkatan?",
    "Apa maksudnya isu strategis?",
    "maksudnya dasar hukum itu perda atau perbup?",
    "Bagaimana cara mengisi bagian ini",
    "gimana kalau belum ada SK",
    "bolehkah diisi nanti saja",
    "Boleh pakai singkatan",
    "kenapa harus ada data angka",
    "Mengapa anggaran wajib ditulis",
    "Siapa yang dimaksud inisiator",
    "kapan batas pengumpulannya",
    "Berapa kata minimal untuk bagian ini",
    "di mana saya bisa lihat contohnya",
    "Mohon penjelasan maksud keunggulan",
    "Kami belum punya SK kepala daerah. Apakah bagian ini boleh dikosongkan dulu?",
    "ini wajib diisi ya? 🙏",
    "Perlu ditulis nomor perbupnya juga (atau cukup judulnya)?",
    "Data dari puskesmas cukup?",
    "pak, ini diisi apa ya??",
]
ANSWERS = [
    "SIPANDU BUMIL (Sistem Pemantauan Terpadu Ibu Hamil) Puskesmas Pangkajene",
    "APA KABAR DESA (Aplikasi Pelaporan Kabar Desa)",
    "Layanan SIAP? (Sistem Informasi Antrean Puskesmas)",
    "UU 23/2014 tentang Pemerintahan Daerah; PP 38/2017 tentang Inovasi Daerah",
    "Meningkatkan cakupan kunjungan K4 dari 70% menjadi 95% pada 2026.",
    "Tanpa anggaran",
    "Kader posyandu mencatat kunjungan; bidan desa memantau; puskesmas merujuk.",
    "Mudah: warga cukup mengirim pesan WhatsApp.",
    "Bapak Kepala Puskesmas sebagai penanggung jawab.",
    LONG_ANSWER_WITH_QUESTION,
    LONG_ANSWER_ENDING_WITH_QUESTION,
    "   ",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_a_question_is_recognised(text: str) -> None:
    assert looks_like_question(text), text


@pytest.mark.parametrize("text", ANSWERS)
def test_an_answer_is_not_taken_for_a_question(text: str) -> None:
    assert not looks_like_question(text), text


def test_the_length_limit_comes_from_the_data_file() -> None:
    words = question_words()
    short = "Kenapa " + " ".join(["data"] * (words.max_words - 1))
    assert looks_like_question(short)
    assert not looks_like_question(short + " lagi")


def test_the_token_tells_one_question_from_another() -> None:
    first, second = QUESTIONS[0], QUESTIONS[1]
    assert question_token(first) == question_token(first)
    assert question_token(first) != question_token(second)

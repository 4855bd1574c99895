"""Sample proposals for the readiness, document and admin tests."""

from __future__ import annotations

from sqlmodel import select

from bot.services.formats import ProposalFormat
from models import repository as repo
from models.db import Database
from models.readiness import DraftIndicator
from models.tables import Draft, Opd, User
from models.types import utcnow

MANDATORY = {"regulasi": 2, "sdm": 1, "kecepatan": 2, "kemanfaatan": 3, "video": 2}

_PERMASALAHAN = (
    "Pada 2023 tercatat 3 kematian ibu di wilayah Puskesmas Pangkajene. Sebanyak 41% ibu hamil "
    "risiko tinggi terlambat dirujuk karena data kader posyandu baru sampai ke puskesmas pada "
    "akhir bulan. Bidan desa tidak mengetahui ibu yang perlu segera dikunjungi, dan dokter "
    "puskesmas menerima rujukan ketika keadaan ibu sudah berat. Pencatatan di buku kader juga "
    "sering tidak lengkap sehingga riwayat kehamilan sulit ditelusuri. "
)


def strong_iid_answers() -> dict[str, str]:
    """A complete IID proposal that passes every rule (rancang bangun over 300 words)."""
    return {
        "nama": "SIPANDU BUMIL (Sistem Pemantauan Terpadu Ibu Hamil) Puskesmas Pangkajene",
        "inisiator": "ASN",
        "tahapan": "Penerapan",
        "jenis": "Digital (daring)",
        "bentuk": "Inovasi pelayanan publik",
        "tematik": "Non tematik",
        "urusan": "Kesehatan",
        "waktu_uji_coba": "2025-03",
        "waktu_penerapan": "2025-07",
        "dasar_hukum": (
            "UU Nomor 17 Tahun 2023 tentang Kesehatan; PP Nomor 38 Tahun 2017 tentang Inovasi "
            "Daerah; Permenkes Nomor 21 Tahun 2021; SK Kepala Puskesmas Pangkajene Nomor 12 "
            "Tahun 2024 tentang Tim SIPANDU BUMIL."
        ),
        "permasalahan": _PERMASALAHAN * 2 + "Sumber: laporan KIA Puskesmas Pangkajene 2023.",
        "isu_strategis": (
            "SDGs tujuan 3 tentang kehidupan sehat dan sejahtera; target RPJMN menurunkan angka "
            "kematian ibu; misi RPJMD kabupaten meningkatkan kualitas layanan kesehatan dasar "
            "dan renstra Dinas Kesehatan tentang pelayanan ibu hamil."
        ),
        "metode": (
            "Sebelum inovasi, kader mencatat di buku dan melapor sebulan sekali sehingga bidan "
            "terlambat mengetahui ibu risiko tinggi. Sesudah inovasi, kader melapor hari itu "
            "juga lewat formulir daring dan bidan menerima peringatan otomatis di ponselnya, "
            "sehingga kunjungan rumah dapat dilakukan dalam dua hari."
        ),
        "keunggulan": (
            "Pertama di kabupaten yang menghubungkan kader, bidan desa dan dokter dalam satu "
            "alur rujukan; tidak memerlukan aplikasi berbayar dan dapat dipakai dengan ponsel "
            "sederhana milik kader di desa."
        ),
        "cara_kerja": (
            "1. Kader menimbang dan mengisi formulir daring setiap kegiatan posyandu. "
            "2. Sistem menandai ibu hamil risiko tinggi dan mengirim peringatan kepada bidan. "
            "3. Bidan desa berkunjung ke rumah ibu dalam dua hari dan mencatat hasilnya. "
            "4. Dokter puskesmas memutuskan rujukan dan memantau sampai ibu melahirkan."
        ),
        "tujuan": (
            "Menurunkan keterlambatan rujukan ibu hamil risiko tinggi dari 41% menjadi di bawah "
            "10% pada akhir 2025."
        ),
        "manfaat": (
            "Masyarakat: ibu hamil risiko tinggi ditangani lebih cepat dan keluarga lebih tenang. "
            "Puskesmas: data kehamilan selalu mutakhir dan mudah ditelusuri. Dinas Kesehatan: "
            "laporan bulanan tersusun otomatis dan dapat dipakai untuk perencanaan."
        ),
        "hasil": (
            "Sejak Juli 2025, 214 ibu hamil terpantau; keterlambatan rujukan turun dari 41% "
            "menjadi 8%; tidak ada kematian ibu pada semester II 2025."
        ),
        "anggaran": "Rp 15.000.000 per tahun dari APBD (BOK Puskesmas) tahun 2025 dan 2026.",
    }


def add_user(
    db: Database, user_id: int, name: str, opd_name: str | None, reachable: bool = True
) -> User:
    """A registered user (consent, name, OPD) written straight to the database."""
    with db.session() as session:
        opd = None
        if opd_name is not None:
            opd = session.exec(select(Opd).where(Opd.name == opd_name)).first()
            assert opd is not None, opd_name
        now = utcnow()
        user = User(
            id=user_id,
            full_name=name,
            opd_id=opd.id if opd else None,
            consent_at=now,
            registered_at=now,
            reachable=reachable,
        )
        session.add(user)
    return user


def add_draft(
    db: Database,
    owner_id: int,
    fmt: ProposalFormat,
    answers: dict[str, str],
    indicators: dict[str, int] | None = None,
    title: str | None = None,
) -> int:
    with db.session() as session:
        draft = Draft(owner_id=owner_id, format_key=fmt.key, title=title)
        session.add(draft)
        session.flush()
        for key, value in answers.items():
            repo.store_answer(session, draft, key, value)
        for key, level in (indicators or {}).items():
            session.add(DraftIndicator(draft_id=draft.id, indicator_key=key, level=level))
        assert draft.id is not None
        return draft.id

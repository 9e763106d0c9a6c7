"""The Kabupaten Muaro Jambi demo, loaded through the public HTTP APIs only (never the database).

    python -m cli.demo [--partners-url URL] [--agreements-url URL] [--evaluation-url URL] [--json]
    (URLs default to JALIN_PARTNERS_URL / JALIN_AGREEMENTS_URL / JALIN_EVALUATION_URL)

``make run`` calls ``load_demo`` once every service answers; ``JALIN_DEMO=0 make run`` skips it.

What it loads (region 15.05, Jambi province 15): partners of every kind (Provinsi Jambi, Kota Jambi,
neighbouring regencies, two universities, companies, a yayasan, a Malaysian state government, a
foreign university, two ministries); 26 agreements covering every state of the lifecycle (KBs with
PKSs under them, a SINERGI nota kesepakatan, an extension, a revision round, an addendum, signed
scans); work plans with their latest quarterly reports (``MAX_REPORTS`` per activity, some behind on
purpose); evaluations in every status with finalized scores over the four previous years.
Dates are anchored on the services' own "today" (the register's ``as_of``): history lies in the
four previous years, what is in the pipeline lies ahead.

The past is recorded with the services' own commands and dates: ``signed_on``, ``reviewed_on``,
``approved_on``, ``filed_on``, ``activate``/``expire`` with ``{"on": ...}``. The domain refuses
what could not have happened (a report for a quarter that has not started, a work plan on an
agreement that is no longer in force), so steps follow the order of real life.

Idempotent: everything is found first (partners by name, agreements by title, evaluations by
agreement, period, year and assessor) and only the missing steps are sent; every POST carries a
deterministic ``Idempotency-Key`` (``demo:<subject>:<step>``), so a retry or a second run that
races the read models gets the first answer back instead of a duplicate. A step the state no longer
allows (e.g. the scheduler expired a historical agreement before its work plan was entered) is
skipped with a warning rather than failing the whole load.

Speed: independent agreements (and the PKSs under one KB) are loaded side by side, and an
agreement's evaluations start as soon as the register shows it signed.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable

import requests
from urllib3 import encode_multipart_formdata

from shared.auth import mint_token
from shared.config import Settings

SERVICES = ("partners", "agreements", "evaluation")
IN_FORCE = ("SIGNED", "ACTIVE")
REPORTABLE = ("SIGNED", "ACTIVE", "EXPIRED", "TERMINATED")
EVALUABLE = REPORTABLE
# How far along the lifecycle a status is (REJECTED/CANCELLED end every path).
RANK = {"DRAFT": 0, "SUBMITTED": 1, "UNDER_REVIEW": 2, "AWAITING_DPRD": 3, "AWAITING_CENTRAL": 4,
        "READY_TO_SIGN": 5, "SIGNED": 6, "ACTIVE": 7, "EXPIRED": 8, "TERMINATED": 8, "REJECTED": 10,
        "CANCELLED": 10}
EVALUATION_RANK = {"SCHEDULED": 0, "IN_PROGRESS": 1, "SUBMITTED": 2, "FINALIZED": 3, "CANCELLED": 10}
FOREIGN = ("KSDPL", "KSDLL")


class DemoError(RuntimeError):
    """The demo could not be loaded (a service refused something it should not have)."""


class Stopped(DemoError):
    """Asked to stop (Ctrl-C while loading)."""


# ---------------------------------------------------------------------------------------- actors

@dataclass(frozen=True)
class Actor:
    role: str
    sub: str
    name: str
    opd: str | None = None


STAFF = Actor("kerjasama", "demo.kerjasama.analis", "Analis Kerja Sama, Bagian Kerja Sama Setda")
KABAG = Actor("kerjasama", "demo.kerjasama.kabag", "Kepala Bagian Kerja Sama Setda")
TKKSD = Actor("tkksd", "demo.tkksd.sekretariat", "Sekretariat TKKSD Kabupaten Muaro Jambi")
BUPATI = Actor("pimpinan", "demo.pimpinan.bupati", "Bupati Muaro Jambi")


def officer(opd: str) -> Actor:
    return Actor("opd", f"demo.opd.{opd.lower()}", f"Operator {opd}", opd)


# ------------------------------------------------------------------------------------ the data

@dataclass
class PartnerSpec:
    key: str
    body: dict
    status: str = "VERIFIED"           # REGISTERED, VERIFIED or DEACTIVATED (verified first)
    deactivation_reason: str | None = None


@dataclass
class ActivitySpec:
    activity_id: str
    name: str
    indicator: str
    target: float
    unit: str
    start: date
    end: date
    opd: str
    budget: int
    performance: float = 0.9           # share of the target reached by the end of the schedule
    lag: int = 0                       # latest quarters not reported yet (reports overdue)


@dataclass
class AgreementSpec:
    key: str
    title: str
    category: str
    document_kind: str
    partners: list[str]
    start: date
    end: date
    lead_opd: str
    urusan: list[str]
    target: str
    purpose: str = ""
    scope: str = ""
    location: str = ""
    value: int = 0
    funding_scheme: str | None = None
    burdens_public: bool = False
    budgeted_in_apbd: bool = True
    ksdd_type: str | None = None
    parent: str | None = None
    extends: str | None = None
    reviewed_on: date | None = None
    review_notes: str = "Layak ditindaklanjuti; sesuai RPJMD dan kewenangan daerah."
    dprd_on: date | None = None
    central_on: date | None = None
    signed_on: date | None = None
    our_number: str | None = None
    partner_number: str | None = None
    partner_signatory: tuple[str, str] | None = None
    revision: tuple[str, dict] | None = None       # (reason, changes of the redraft)
    reason: str | None = None                      # rejection / cancellation / termination reason
    terminated_on: date | None = None
    activities: list[ActivitySpec] = field(default_factory=list)
    amendment: dict | None = None
    signed_scan: bool = False

    @property
    def foreign(self) -> bool:
        return self.category in FOREIGN

    @property
    def dprd_required(self) -> bool:
        return self.burdens_public or not self.budgeted_in_apbd or self.foreign


@dataclass
class EvaluationSpec:
    key: str
    agreement: str
    period: str
    year: int
    due: date
    assessor: str                      # opd, kerjasama or tkksd
    target: str                        # SCHEDULED, IN_PROGRESS, SUBMITTED, FINALIZED or CANCELLED
    profile: str = "baik"
    recommendation: str = "dilanjutkan"
    suggestion: str = ""
    reason: str | None = None


# Option index per scored indicator, in rubric order (0 = best); overall score with the default rubric.
PROFILES = {
    "sangat_baik": "0000000000",   # 100.00 → 5
    "baik_sekali": "0100010010",   # 86.46 → 5
    "baik": "0101011010",          # 80.73 → 4
    "baik_cukup": "0111010110",    # 75.52 → 4
    "cukup": "1111011101",         # 61.98 → 3
    "cukup_kurang": "1011101111",  # 58.85 → 3
    "kurang": "1121111111",        # 48.44 → 2
    "buruk": "1222122121",         # 29.17 → 1
}

KB_SIGNATORY = {"signatory_name": "Bupati Muaro Jambi", "signatory_position": "kepala_daerah"}
PKS_SIGNATORY = {"signatory_name": "Sekretaris Daerah Kabupaten Muaro Jambi",
                 "signatory_position": "sekretaris_daerah"}


def _contact(name: str, position: str, phone: str, email: str) -> dict:
    return {"name": name, "position": position, "phone": phone, "email": email}


def partner_specs() -> list[PartnerSpec]:
    """Partners of every kind (names of public bodies are real; companies, yayasan and every
    contact person are fictitious; e-mail addresses use the reserved .example domain)."""
    def region(key, name, code, website, city, contact):
        return PartnerSpec(key, {"name": name, "kind": "daerah_lain", "region_code": code, "website": website,
                                 "address": {"city": city, "province": "Jambi"}, "contacts": [contact]})

    return [
        region("prov", "Pemerintah Provinsi Jambi", "15", "https://jambiprov.go.id", "Kota Jambi",
               _contact("Rina Marlina", "Kepala Bagian Kerja Sama, Biro Pemerintahan dan Otda", "+62 741 60001",
                        "kerjasama@jambiprov.example")),
        region("kota", "Pemerintah Kota Jambi", "15.71", "https://jambikota.go.id", "Kota Jambi",
               _contact("Hendra Saputra", "Kepala Bagian Pemerintahan dan Kerja Sama", "+62 741 60002",
                        "kerjasama@jambikota.example")),
        region("batanghari", "Pemerintah Kabupaten Batang Hari", "15.04", "https://batangharikab.go.id",
               "Muara Bulian", _contact("Yusuf Hamdani", "Analis Kerja Sama", "+62 743 60003",
                                        "kerjasama@batangharikab.example")),
        region("tanjabtim", "Pemerintah Kabupaten Tanjung Jabung Timur", "15.07", "https://tanjabtimkab.go.id",
               "Muara Sabak", _contact("Dewi Kartika", "Kepala Subbagian Kerja Sama", "+62 740 60004",
                                       "kerjasama@tanjabtimkab.example")),
        region("tebo", "Pemerintah Kabupaten Tebo", "15.09", "https://tebokab.go.id", "Muara Tebo",
               _contact("Ahmad Fauzi", "Kepala Bagian Pemerintahan", "+62 744 60005", "kerjasama@tebokab.example")),
        region("sarolangun", "Pemerintah Kabupaten Sarolangun", "15.03", "https://sarolangunkab.go.id",
               "Sarolangun", _contact("Siti Rahmah", "Analis Kerja Sama", "+62 745 60006",
                                      "kerjasama@sarolangunkab.example")),
        PartnerSpec("merangin", {"name": "Pemerintah Kabupaten Merangin", "kind": "daerah_lain",
                                 "region_code": "15.02", "website": "https://meranginkab.go.id",
                                 "address": {"city": "Bangko", "province": "Jambi"}}, status="REGISTERED"),
        PartnerSpec("unja", {"name": "Universitas Jambi", "kind": "pihak_ketiga", "subtype": "perguruan_tinggi",
                             "website": "https://www.unja.ac.id",
                             "address": {"street": "Jl. Jambi – Muara Bulian Km 15, Mendalo Darat",
                                         "city": "Kabupaten Muaro Jambi", "province": "Jambi"},
                             "description": "Perguruan tinggi negeri; kampus Mendalo berada di Kabupaten Muaro Jambi.",
                             "contacts": [_contact("Dr. Fitri Handayani", "Kepala Kantor Kerja Sama",
                                                   "+62 741 60007", "kerjasama@unja.example")]}),
        PartnerSpec("uin", {"name": "UIN Sulthan Thaha Saifuddin Jambi", "kind": "pihak_ketiga",
                            "subtype": "perguruan_tinggi", "website": "https://uinjambi.ac.id",
                            "address": {"street": "Jl. Jambi – Muara Bulian Km 16, Simpang Sungai Duren",
                                        "city": "Kabupaten Muaro Jambi", "province": "Jambi"},
                            "contacts": [_contact("Muhammad Ridwan, M.Ag.", "Kepala Bagian Kerja Sama",
                                                  "+62 741 60008", "kerjasama@uinjambi.example")]}),
        PartnerSpec("agro", {"name": "PT Agro Sawit Muaro Lestari", "kind": "pihak_ketiga",
                             "subtype": "badan_usaha", "identifiers": {"nib": "9120301234567",
                                                                        "npwp": "013456789331000"},
                             "address": {"street": "Jl. Lintas Timur Km 32", "city": "Sengeti",
                                         "province": "Jambi"},
                             "description": "Perusahaan perkebunan kelapa sawit (data fiktif untuk demo).",
                             "contacts": [_contact("Bambang Sutrisno", "Manajer CSR", "+62 811 7400 009",
                                                   "csr@agrosawit.example")]}),
        PartnerSpec("energi", {"name": "PT Surya Batanghari Energi", "kind": "pihak_ketiga",
                               "subtype": "badan_usaha", "identifiers": {"nib": "9120405678901"},
                               "address": {"city": "Kota Jambi", "province": "Jambi"},
                               "description": "Pengembang pembangkit listrik tenaga surya (data fiktif untuk demo)."}),
        PartnerSpec("konstruksi", {"name": "PT Jaluko Karya Konstruksi", "kind": "pihak_ketiga",
                                   "subtype": "badan_usaha", "identifiers": {"nib": "8120509876543"},
                                   "address": {"city": "Sengeti", "province": "Jambi"},
                                   "description": "Kontraktor bangunan (data fiktif untuk demo)."},
                    status="DEACTIVATED",
                    deactivation_reason="NIB dicabut melalui sistem OSS; tidak memenuhi kewajiban perizinan berusaha"),
        PartnerSpec("yayasan", {"name": "Yayasan Cahaya Pendidikan Muaro Jambi", "kind": "pihak_ketiga",
                                "subtype": "yayasan", "address": {"city": "Sengeti", "province": "Jambi"},
                                "description": "Yayasan pendidikan anak usia dini (data fiktif untuk demo).",
                                "contacts": [_contact("Nurhayati, S.Pd.", "Ketua Yayasan", "+62 812 7400 010",
                                                      "yayasan@cahayapendidikan.example")]}),
        PartnerSpec("melaka", {"name": "Kerajaan Negeri Melaka", "kind": "pemda_luar_negeri", "country": "MY",
                               "website": "https://www.melaka.gov.my",
                               "address": {"street": "Seri Negeri, Ayer Keroh", "city": "Melaka",
                                           "postal_code": "75450"},
                               "description": "Pemerintah negeri (negara bagian) Melaka, Malaysia.",
                               "contacts": [_contact("Ahmad Zulkifli", "Pegawai Hubungan Antarabangsa",
                                                     "+60 6 000 0011", "antarabangsa@melaka.example")]}),
        PartnerSpec("ukm", {"name": "Universiti Kebangsaan Malaysia", "kind": "lembaga_luar_negeri",
                            "country": "MY", "website": "https://www.ukm.my",
                            "address": {"city": "Bangi, Selangor", "postal_code": "43600"}}),
        PartnerSpec("kementan", {"name": "Kementerian Pertanian Republik Indonesia", "kind": "pemerintah_pusat",
                                 "website": "https://www.pertanian.go.id",
                                 "address": {"street": "Jl. Harsono RM No. 3, Ragunan", "city": "Jakarta Selatan",
                                             "province": "DKI Jakarta"}}),
        PartnerSpec("komdigi", {"name": "Kementerian Komunikasi dan Digital Republik Indonesia",
                                "kind": "pemerintah_pusat", "website": "https://www.komdigi.go.id",
                                "address": {"street": "Jl. Medan Merdeka Barat No. 9", "city": "Jakarta Pusat",
                                            "province": "DKI Jakarta"}}),
    ]


def agreement_specs(today: date) -> list[AgreementSpec]:
    """26 agreements; history in the four previous years, the pipeline ahead (relative to ``today``)."""
    Y = today.year

    def d(year_offset: int, month: int, day: int) -> date:
        return date(Y + year_offset, month, day)

    ago = lambda days: today - timedelta(days=days)  # noqa: E731
    poa = lambda year: f"Surat Kuasa Bupati Muaro Jambi Nomor 180/{year % 100:02d}/HUK/{year}"  # noqa: E731
    soon = today + timedelta(days=45)  # an agreement in its H-90 window
    A = ActivitySpec
    return [
        # -- KSDD with the province: an umbrella KB and a PKS with an addendum ----------------------
        AgreementSpec(
            "kb-prov", "Kesepakatan Bersama antara Pemerintah Provinsi Jambi dan Pemerintah Kabupaten Muaro Jambi "
            "tentang Sinergi Penyelenggaraan Pembangunan Daerah", "KSDD", "KB", ["prov"], d(-3, 2, 1), d(1, 12, 31),
            "SETDA-KS", ["pekerjaan umum dan penataan ruang", "perhubungan", "perencanaan pembangunan"], "ACTIVE",
            ksdd_type="sukarela", purpose="Menyelaraskan program pembangunan provinsi dan kabupaten.",
            scope="Infrastruktur jalan, transportasi, perencanaan dan data pembangunan.",
            location="Kabupaten Muaro Jambi", reviewed_on=d(-3, 1, 10), signed_on=d(-3, 1, 25),
            our_number=f"01/KB/SETDA-KS/{Y - 3}", partner_number=f"07/KB/PEMPROV/{Y - 3}",
            partner_signatory=("Gubernur Jambi", "Gubernur"), signed_scan=True),
        AgreementSpec(
            "pks-prov-jalan", "Perjanjian Kerja Sama tentang Peningkatan Jalan Poros Sengeti – Simpang Sungai Duren "
            "dan Penataan Drainase", "KSDD", "PKS", ["prov"], d(-2, 3, 1), d(1, 6, 30), "DPUPR",
            ["pekerjaan umum dan penataan ruang", "perhubungan"], "ACTIVE", ksdd_type="sukarela", parent="kb-prov",
            purpose="Meningkatkan kemantapan jalan poros penghubung ibu kota kabupaten dan Kota Jambi.",
            scope="Peningkatan perkerasan, drainase, rambu dan penerangan jalan umum.",
            location="Kecamatan Sekernan dan Jambi Luar Kota", value=4_500_000_000,
            funding_scheme="Bantuan keuangan APBD Provinsi Jambi dan APBD Kabupaten Muaro Jambi",
            reviewed_on=d(-2, 2, 5), signed_on=d(-2, 2, 20), our_number=f"05/PKS/SETDA-KS/{Y - 2}",
            partner_number=f"21/PKS/PEMPROV/{Y - 2}", partner_signatory=("Sekretaris Daerah Provinsi Jambi", "Sekda"),
            activities=[
                A("ruas-jalan", "Peningkatan ruas jalan poros Sengeti – Simpang Sungai Duren",
                  "Panjang jalan yang ditingkatkan (hotmix)", 12.5, "km", d(-2, 3, 1), d(0, 12, 31), "DPUPR",
                  3_600_000_000, 0.92),
                A("drainase", "Pembangunan dan normalisasi drainase kiri-kanan jalan",
                  "Panjang saluran drainase terbangun", 8, "km", d(-2, 6, 1), d(0, 12, 31), "DPUPR", 700_000_000,
                  0.85),
                A("rambu-pju", "Pemasangan rambu lalu lintas dan penerangan jalan umum",
                  "Rambu dan titik PJU terpasang", 140, "unit", d(-1, 1, 1), d(1, 6, 30), "DISHUB", 200_000_000,
                  0.8),
            ],
            amendment={"number": f"ADD.01/PKS/SETDA-KS/{Y - 1}", "signed_on": d(-1, 7, 14).isoformat(),
                       "reason": "Penambahan volume pekerjaan drainase akibat genangan pada musim hujan "
                                 f"{Y - 2}/{Y - 1}", "changes": {"value": 5_250_000_000},
                       **PKS_SIGNATORY, "power_of_attorney_ref": poa(Y - 1),
                       "partner_number": f"21.A/PKS/PEMPROV/{Y - 1}"}),
        # -- KSDD with Kota Jambi: a five-year KB, an expired PKS and a running one --------------------
        AgreementSpec(
            "kb-kota", "Kesepakatan Bersama antara Pemerintah Kota Jambi dan Pemerintah Kabupaten Muaro Jambi tentang "
            "Pengelolaan Persampahan, Transportasi dan Pelayanan Publik di Wilayah Perbatasan", "KSDD", "KB",
            ["kota"], d(-4, 3, 1), d(1, 2, 28), "SETDA-KS", ["lingkungan hidup", "perhubungan"], "ACTIVE",
            ksdd_type="sukarela", purpose="Pelayanan publik bersama di wilayah perbatasan kota dan kabupaten.",
            location="Kecamatan Jambi Luar Kota, Sekernan dan Kumpeh Ulu", reviewed_on=d(-4, 2, 1),
            signed_on=d(-4, 2, 14), our_number=f"02/KB/SETDA-KS/{Y - 4}", partner_number=f"11/KB/PEMKOT/{Y - 4}",
            partner_signatory=("Wali Kota Jambi", "Wali Kota")),
        AgreementSpec(
            "pks-kota-sampah", "Perjanjian Kerja Sama tentang Pengelolaan Sampah Regional di TPA Talang Gulo",
            "KSDD", "PKS", ["kota"], d(-4, 6, 1), d(-2, 12, 31), "DLH", ["lingkungan hidup"], "EXPIRED",
            ksdd_type="sukarela", parent="kb-kota", value=1_850_000_000,
            funding_scheme="APBD Kabupaten Muaro Jambi (biaya layanan pengolahan sampah)",
            purpose="Pengolahan sampah dari wilayah perbatasan di TPA regional.", location="TPA Talang Gulo",
            reviewed_on=d(-4, 5, 2), signed_on=d(-4, 5, 20), our_number=f"07/PKS/SETDA-KS/{Y - 4}",
            activities=[
                A("angkut-sampah", "Pengangkutan sampah TPS Kecamatan Jambi Luar Kota dan Sekernan ke TPA Talang Gulo",
                  "Volume sampah terangkut", 24000, "ton", d(-4, 6, 1), d(-2, 12, 31), "DLH", 1_500_000_000, 0.96),
                A("bank-sampah", "Pembinaan bank sampah desa", "Bank sampah desa aktif", 30, "unit", d(-4, 7, 1),
                  d(-2, 12, 31), "DLH", 350_000_000, 0.8),
            ]),
        AgreementSpec(
            "pks-kota-bus", "Perjanjian Kerja Sama tentang Layanan Bus Trans Siginjai Rute Kota Jambi – Kawasan "
            "Kampus Mendalo", "KSDD", "PKS", ["kota"], d(-1, 1, 1), d(1, 2, 28), "DISHUB", ["perhubungan"],
            "ACTIVE", ksdd_type="sukarela", parent="kb-kota", value=1_200_000_000,
            funding_scheme="APBD Kota Jambi dan APBD Kabupaten Muaro Jambi (subsidi operasional)",
            reviewed_on=d(-2, 11, 20), signed_on=d(-2, 12, 12), our_number=f"12/PKS/SETDA-KS/{Y - 2}",
            activities=[
                A("rute-bus", "Operasional layanan bus rute Kota Jambi – Mendalo", "Penumpang terangkut", 180000,
                  "penumpang", d(-1, 1, 1), d(1, 2, 28), "DISHUB", 1_200_000_000, 0.65, lag=1),
            ]),
        # -- KSDD wajib with Batang Hari: floods ------------------------------------------------------
        AgreementSpec(
            "kb-batanghari", "Kesepakatan Bersama antara Pemerintah Kabupaten Batang Hari dan Pemerintah Kabupaten "
            "Muaro Jambi tentang Pengendalian Banjir dan Pengelolaan Daerah Aliran Sungai Batanghari", "KSDD", "KB",
            ["batanghari"], d(-2, 4, 1), d(3, 3, 31), "BPBD",
            ["ketenteraman dan ketertiban umum serta pelindungan masyarakat", "lingkungan hidup"], "ACTIVE",
            ksdd_type="wajib", location="DAS Batanghari", reviewed_on=d(-2, 3, 4), signed_on=d(-2, 3, 18),
            our_number=f"03/KB/SETDA-KS/{Y - 2}", partner_signatory=("Bupati Batang Hari", "Bupati")),
        AgreementSpec(
            "pks-batanghari-ews", "Perjanjian Kerja Sama tentang Sistem Peringatan Dini Banjir Terpadu di Sepanjang "
            "Sungai Batanghari", "KSDD", "PKS", ["batanghari"], d(-2, 7, 1), d(1, 6, 30), "BPBD",
            ["ketenteraman dan ketertiban umum serta pelindungan masyarakat"], "ACTIVE", ksdd_type="wajib",
            parent="kb-batanghari", value=950_000_000,
            funding_scheme="APBD Kabupaten Batang Hari dan APBD Kabupaten Muaro Jambi (50:50)",
            reviewed_on=d(-2, 6, 3), signed_on=d(-2, 6, 24), our_number=f"09/PKS/SETDA-KS/{Y - 2}",
            activities=[
                A("sensor-awlr", "Pemasangan sensor tinggi muka air (AWLR)", "Stasiun AWLR beroperasi", 6, "unit",
                  d(-2, 7, 1), d(0, 6, 30), "BPBD", 600_000_000, 0.7),
                A("desa-tangguh", "Pembentukan desa tangguh bencana", "Desa tangguh bencana terbentuk", 12, "desa",
                  d(-2, 10, 1), d(1, 6, 30), "BPBD", 350_000_000, 0.6, lag=2),
            ]),
        # -- KSDD in the pipeline ---------------------------------------------------------------------
        AgreementSpec(
            "kb-tanjabtim", "Kesepakatan Bersama antara Pemerintah Kabupaten Tanjung Jabung Timur dan Pemerintah "
            "Kabupaten Muaro Jambi tentang Pengembangan Pariwisata Sungai dan Pesisir Timur Jambi", "KSDD", "KB",
            ["tanjabtim"], d(1, 1, 1), d(3, 12, 31), "DISPAR", ["pariwisata", "kebudayaan"], "READY_TO_SIGN",
            ksdd_type="sukarela", reviewed_on=ago(20)),
        AgreementSpec(
            "kb-tebo", "Kesepakatan Bersama antara Pemerintah Kabupaten Tebo dan Pemerintah Kabupaten Muaro Jambi "
            "tentang Sistem Rujukan Pelayanan Kesehatan Lintas Daerah", "KSDD", "KB", ["tebo"], d(1, 1, 1),
            d(3, 12, 31), "DINKES", ["kesehatan"], "AWAITING_DPRD", ksdd_type="wajib", burdens_public=True,
            purpose="Rujukan pasien antar-RSUD dengan tarif layanan yang dibebankan kepada pasien non-JKN.",
            reviewed_on=ago(30)),
        AgreementSpec(
            "kb-sarolangun", "Kesepakatan Bersama antara Pemerintah Kabupaten Sarolangun dan Pemerintah Kabupaten "
            "Muaro Jambi tentang Pengembangan Komoditas Karet dan Pemasaran Bersama Hasil Perkebunan", "KSDD", "KB",
            ["sarolangun"], d(-1, 7, 1), d(2, 6, 30), "DISTAN", ["pertanian", "perdagangan"], "REJECTED",
            ksdd_type="sukarela", reviewed_on=d(-1, 5, 12),
            reason="Objek kerja sama tumpang tindih dengan program hilirisasi karet Pemerintah Provinsi Jambi; "
                   "disarankan diintegrasikan ke dalam Kesepakatan Bersama dengan Provinsi."),
        AgreementSpec(
            "kb-merangin", "Kesepakatan Bersama antara Pemerintah Kabupaten Merangin dan Pemerintah Kabupaten Muaro "
            "Jambi tentang Pengembangan Geowisata dan Ekowisata Lintas Daerah", "KSDD", "KB", ["merangin"],
            d(1, 3, 1), d(4, 2, 28), "DISPAR", ["pariwisata", "lingkungan hidup"], "DRAFT", ksdd_type="sukarela"),
        # -- KSDPK: universities --------------------------------------------------------------------
        AgreementSpec(
            "kb-unja", "Kesepakatan Bersama antara Universitas Jambi dan Pemerintah Kabupaten Muaro Jambi tentang "
            "Pelaksanaan Tridharma Perguruan Tinggi untuk Pembangunan Daerah", "KSDPK", "KB", ["unja"], d(-3, 1, 16),
            d(1, 12, 31), "BAPPEDA", ["pendidikan", "kesehatan", "penelitian dan pengembangan"], "ACTIVE",
            reviewed_on=d(-4, 12, 15), signed_on=d(-3, 1, 9), our_number=f"01/KB/SETDA-KS/{Y - 3}-UNJA",
            partner_signatory=("Rektor Universitas Jambi", "Rektor"), signed_scan=True),
        AgreementSpec(
            "pks-unja-stunting", "Perjanjian Kerja Sama tentang Kuliah Kerja Nyata Tematik Percepatan Penurunan "
            "Stunting di Desa Lokus", "KSDPK", "PKS", ["unja"], d(-3, 6, 1), soon, "DINKES",
            ["kesehatan", "pendidikan"], "ACTIVE", parent="kb-unja", value=420_000_000,
            funding_scheme="APBD Kabupaten Muaro Jambi dan dana pengabdian Universitas Jambi",
            reviewed_on=d(-3, 5, 8), signed_on=d(-3, 5, 22), our_number=f"04/PKS/SETDA-KS/{Y - 3}",
            activities=[
                A("kkn-tematik", "Penempatan mahasiswa KKN tematik di desa lokus stunting", "Desa lokus terlayani",
                  40, "desa", d(-3, 6, 1), soon, "DINKES", 250_000_000, 0.95),
                A("kader-posyandu", "Pelatihan kader posyandu dan pendampingan keluarga berisiko stunting",
                  "Kader terlatih", 400, "orang", d(-3, 7, 1), soon, "DINKES", 170_000_000, 0.9),
            ]),
        AgreementSpec(
            "pks-unja-guru", "Perjanjian Kerja Sama tentang Peningkatan Kompetensi Guru Sekolah Dasar melalui "
            "Pendampingan Kampus", "KSDPK", "PKS", ["unja"], d(-3, 8, 1), d(1, 7, 31), "DISDIK", ["pendidikan"],
            "TERMINATED", parent="kb-unja", value=600_000_000, funding_scheme="APBD Kabupaten Muaro Jambi",
            reviewed_on=d(-3, 7, 3), signed_on=d(-3, 7, 24), our_number=f"06/PKS/SETDA-KS/{Y - 3}",
            terminated_on=d(-1, 8, 15),
            reason="Program diintegrasikan ke dalam program Pendidikan Guru Penggerak nasional; pengakhiran "
                   "disepakati para pihak.",
            activities=[
                A("pendampingan-guru", "Pendampingan guru SD dalam pembelajaran literasi dan numerasi",
                  "Guru terdampingi", 300, "orang", d(-3, 8, 1), d(1, 7, 31), "DISDIK", 450_000_000, 0.5),
            ]),
        AgreementSpec(
            "kb-uin", "Kesepakatan Bersama antara UIN Sulthan Thaha Saifuddin Jambi dan Pemerintah Kabupaten Muaro "
            "Jambi tentang Penguatan Moderasi Beragama, Pendidikan Karakter dan Pemberdayaan Masyarakat Desa",
            "KSDPK", "KB", ["uin"], d(1, 1, 15), d(4, 1, 14), "KESRA", ["pendidikan", "sosial"], "SIGNED",
            reviewed_on=ago(40), signed_on=ago(10), our_number=f"09/KB/SETDA-KS/{Y}",
            partner_signatory=("Rektor UIN Sulthan Thaha Saifuddin Jambi", "Rektor")),
        AgreementSpec(
            "pks-uin-beasiswa", "Perjanjian Kerja Sama tentang Beasiswa Kader Dai dan Guru Mengaji Desa", "KSDPK",
            "PKS", ["uin"], d(1, 2, 1), d(3, 12, 31), "KESRA", ["pendidikan", "sosial"], "DRAFT", parent="kb-uin",
            value=750_000_000, funding_scheme="APBD Kabupaten Muaro Jambi (belanja hibah beasiswa)"),
        # -- KSDPK: companies and a yayasan -----------------------------------------------------------
        AgreementSpec(
            "kb-agro", "Kesepakatan Bersama antara PT Agro Sawit Muaro Lestari dan Pemerintah Kabupaten Muaro Jambi "
            "tentang Pelaksanaan Tanggung Jawab Sosial dan Lingkungan Perusahaan", "KSDPK", "KB", ["agro"],
            d(-2, 2, 1), d(1, 1, 31), "BAPPEDA", ["pemberdayaan masyarakat dan desa", "pertanian"], "ACTIVE",
            reviewed_on=d(-2, 1, 10), signed_on=d(-2, 1, 25), our_number=f"02/KB/SETDA-KS/{Y - 2}",
            partner_signatory=("Direktur Utama PT Agro Sawit Muaro Lestari", "Direktur Utama")),
        AgreementSpec(
            "pks-agro-psr", "Perjanjian Kerja Sama tentang Peremajaan Sawit Rakyat dan Kemitraan Petani Plasma di "
            "Kecamatan Kumpeh", "KSDPK", "PKS", ["agro"], d(-2, 5, 1), d(1, 1, 31), "DISTAN", ["pertanian"],
            "ACTIVE", parent="kb-agro", value=2_300_000_000, budgeted_in_apbd=False,
            funding_scheme="Dana TJSL PT Agro Sawit Muaro Lestari dan dana peremajaan BPDPKS (di luar APBD)",
            location="Kecamatan Kumpeh dan Kumpeh Ulu", reviewed_on=d(-2, 3, 20), dprd_on=d(-2, 4, 10),
            signed_on=d(-2, 4, 22), our_number=f"08/PKS/SETDA-KS/{Y - 2}",
            activities=[
                A("peremajaan", "Peremajaan kebun sawit rakyat", "Luas kebun diremajakan", 500, "ha", d(-2, 5, 1),
                  d(1, 1, 31), "DISTAN", 2_000_000_000, 0.75),
                A("ispo-petani", "Pelatihan budidaya dan sertifikasi ISPO bagi petani plasma",
                  "Petani bersertifikat ISPO", 250, "orang", d(-2, 7, 1), d(0, 12, 31), "DISTAN", 300_000_000, 0.9),
            ]),
        AgreementSpec(
            "kb-energi", "Kesepakatan Bersama antara PT Surya Batanghari Energi dan Pemerintah Kabupaten Muaro Jambi "
            "tentang Pemanfaatan Energi Surya untuk Penerangan Jalan Umum dan Fasilitas Publik", "KSDPK", "KB",
            ["energi"], d(1, 1, 1), d(5, 12, 31), "DISHUB", ["energi dan sumber daya mineral", "perhubungan"],
            "SUBMITTED", budgeted_in_apbd=False, funding_scheme="Investasi badan usaha (skema sewa layanan)"),
        AgreementSpec(
            "kb-konstruksi", "Kesepakatan Bersama antara PT Jaluko Karya Konstruksi dan Pemerintah Kabupaten Muaro "
            "Jambi tentang Pembangunan dan Pengelolaan Pasar Rakyat Sengeti", "KSDPK", "KB", ["konstruksi"],
            d(1, 1, 1), d(3, 12, 31), "DISPERINDAG", ["perdagangan"], "CANCELLED",
            reason="Mitra tidak memenuhi persyaratan perizinan berusaha (NIB dicabut); rencana kerja sama dibatalkan."),
        AgreementSpec(
            "kb-yayasan", "Kesepakatan Bersama antara Yayasan Cahaya Pendidikan Muaro Jambi dan Pemerintah Kabupaten "
            "Muaro Jambi tentang Peningkatan Akses Pendidikan Anak Usia Dini di Desa Tertinggal", "KSDPK", "KB",
            ["yayasan"], d(1, 1, 1), d(2, 12, 31), "DISDIK", ["pendidikan"], "UNDER_REVIEW",
            revision=("Lengkapi rincian desa sasaran dan pembagian peran para pihak.",
                      {"scope": "Pendirian dan pendampingan 10 PAUD di desa tertinggal; pelatihan tutor PAUD.",
                       "location": "Kecamatan Kumpeh, Maro Sebo dan Taman Rajo"})),
        # -- foreign: a Malaysian state government and a Malaysian university ---------------------------
        AgreementSpec(
            "kb-melaka", "Kesepakatan Bersama antara Kerajaan Negeri Melaka dan Pemerintah Kabupaten Muaro Jambi "
            "tentang Kerja Sama Kebudayaan, Pariwisata Sejarah dan Pendidikan", "KSDPL", "KB", ["melaka"],
            d(1, 3, 1), d(4, 2, 28), "DISPAR", ["kebudayaan", "pariwisata", "pendidikan"], "AWAITING_CENTRAL",
            reviewed_on=ago(60), dprd_on=ago(15)),
        AgreementSpec(
            "kb-ukm", "Kesepakatan Bersama antara Universiti Kebangsaan Malaysia dan Pemerintah Kabupaten Muaro Jambi "
            "tentang Penelitian Bersama Pelestarian Kawasan Cagar Budaya Candi Muaro Jambi dan Restorasi Gambut",
            "KSDLL", "KB", ["ukm"], d(-1, 3, 1), d(2, 2, 28), "BAPPEDA",
            ["kebudayaan", "lingkungan hidup", "penelitian dan pengembangan"], "ACTIVE",
            reviewed_on=d(-2, 11, 12), dprd_on=d(-2, 12, 16), central_on=d(-1, 2, 10), signed_on=d(-1, 2, 24),
            our_number=f"02/KB-LN/SETDA-KS/{Y - 1}", partner_signatory=("Naib Canselor UKM", "Naib Canselor"),
            signed_scan=True),
        # -- SINERGI with ministries (Nota Kesepakatan with an action plan) ----------------------------
        AgreementSpec(
            "nk-kementan", "Nota Kesepakatan antara Kementerian Pertanian dan Pemerintah Kabupaten Muaro Jambi tentang "
            "Optimalisasi Lahan Rawa untuk Percepatan Swasembada Pangan", "SINERGI", "KB", ["kementan"],
            d(-2, 1, 15), d(1, 12, 31), "DISTAN", ["pertanian", "pangan"], "ACTIVE", value=3_200_000_000,
            funding_scheme="APBN (tugas pembantuan Kementerian Pertanian) dan APBD Kabupaten Muaro Jambi",
            reviewed_on=d(-3, 12, 18), signed_on=d(-2, 1, 8), our_number=f"01/NK/SETDA-KS/{Y - 2}",
            activities=[
                A("oplah", "Optimalisasi lahan rawa (perbaikan saluran dan pintu air)", "Luas lahan rawa teroptimalkan",
                  2000, "ha", d(-2, 2, 1), d(1, 6, 30), "DISTAN", 2_700_000_000, 0.85),
                A("alsintan", "Penyaluran alat dan mesin pertanian kepada brigade pangan", "Unit alsintan tersalur",
                  60, "unit", d(-2, 4, 1), d(1, 12, 31), "DISTAN", 500_000_000, 0.9),
            ]),
        AgreementSpec(
            "nk-kominfo", "Nota Kesepakatan antara Kementerian Komunikasi dan Informatika dan Pemerintah Kabupaten "
            "Muaro Jambi tentang Percepatan Transformasi Digital dan Satu Data Daerah", "SINERGI", "KB", ["komdigi"],
            d(-4, 2, 1), d(-1, 1, 31), "DISKOMINFO", ["komunikasi dan informatika", "statistik"], "EXPIRED",
            value=1_200_000_000, funding_scheme="APBN dan APBD Kabupaten Muaro Jambi", reviewed_on=d(-4, 1, 10),
            signed_on=d(-4, 1, 24), our_number=f"01/NK/SETDA-KS/{Y - 4}",
            activities=[
                A("satu-data", "Penyusunan dan integrasi portal Satu Data Muaro Jambi", "Dataset terpublikasi", 250,
                  "dataset", d(-4, 3, 1), d(-1, 1, 31), "DISKOMINFO", 400_000_000, 1.0),
                A("blank-spot", "Penanganan desa blank spot melalui BTS dan akses internet desa",
                  "Desa terlayani internet", 35, "desa", d(-4, 4, 1), d(-2, 12, 31), "DISKOMINFO", 800_000_000, 0.86),
            ]),
        AgreementSpec(
            "nk-komdigi-lanjutan", "Perpanjangan Nota Kesepakatan tentang Transformasi Digital, Satu Data dan Keamanan "
            "Informasi Daerah", "SINERGI", "KB", ["komdigi"], d(1, 1, 1), d(3, 12, 31), "DISKOMINFO",
            ["komunikasi dan informatika", "persandian", "statistik"], "UNDER_REVIEW", extends="nk-kominfo"),
    ]


def evaluation_specs(today: date) -> list[EvaluationSpec]:
    """Evaluations in every status; finalized ones over the four previous years."""
    Y = today.year
    E = EvaluationSpec

    def annual(key, agreement, year, assessor, profile, **kw):
        return E(key, agreement, "TAHUNAN", year, date(year + 1, 1, 31), assessor, "FINALIZED", profile, **kw)

    return [
        annual("prov-jalan-t1", "pks-prov-jalan", Y - 1, "kerjasama", "baik_sekali", recommendation="dikembangkan",
               suggestion="Perluas penanganan drainase ke ruas Simpang Sungai Duren – Mendalo."),
        E("prov-jalan-tw3", "pks-prov-jalan", "TW3", Y, date(Y, 10, 31), "opd", "SUBMITTED", "baik"),
        annual("kota-sampah-t4", "pks-kota-sampah", Y - 4, "opd", "cukup",
               suggestion="Tambah armada pengangkut dan jadwal angkut harian."),
        E("kota-sampah-akhir", "pks-kota-sampah", "AKHIR", Y - 2, date(Y - 1, 2, 28), "kerjasama", "FINALIZED",
          "baik", recommendation="dilanjutkan", suggestion="Perpanjang kerja sama dengan skema biaya layanan baru."),
        annual("kota-bus-t1", "pks-kota-bus", Y - 1, "opd", "cukup_kurang",
               suggestion="Sesuaikan jadwal keberangkatan dengan jam kuliah."),
        annual("batanghari-t1", "pks-batanghari-ews", Y - 1, "opd", "kurang",
               suggestion="Percepat pengadaan sensor AWLR dan pembentukan desa tangguh bencana."),
        E("batanghari-tw2", "pks-batanghari-ews", "TW2", Y, date(Y, 7, 31), "opd", "CANCELLED",
          reason="Digabung dengan evaluasi tahunan atas permintaan BPBD."),
        annual("unja-stunting-t3", "pks-unja-stunting", Y - 3, "opd", "baik"),
        annual("unja-stunting-t1", "pks-unja-stunting", Y - 1, "tkksd", "baik_sekali"),
        E("unja-stunting-tw4", "pks-unja-stunting", "TW4", Y, date(Y + 1, 1, 31), "opd", "SCHEDULED"),
        E("unja-guru-akhir", "pks-unja-guru", "AKHIR", Y - 1, date(Y - 1, 10, 31), "kerjasama", "FINALIZED",
          "buruk", recommendation="dihentikan",
          suggestion="Program telah diintegrasikan ke program nasional; tidak dilanjutkan."),
        annual("agro-psr-t1", "pks-agro-psr", Y - 1, "kerjasama", "baik_cukup"),
        E("agro-psr-tw3", "pks-agro-psr", "TW3", Y, date(Y, 10, 31), "opd", "IN_PROGRESS", "baik"),
        annual("ukm-t1", "kb-ukm", Y - 1, "kerjasama", "sangat_baik", recommendation="dikembangkan"),
        annual("kementan-t2", "nk-kementan", Y - 2, "opd", "baik"),
        annual("kementan-t1", "nk-kementan", Y - 1, "opd", "baik_sekali"),
        E("kementan-t0", "nk-kementan", "TAHUNAN", Y, date(Y + 1, 1, 31), "opd", "SCHEDULED"),
        annual("kominfo-t4", "nk-kominfo", Y - 4, "opd", "cukup"),
        E("kominfo-akhir", "nk-kominfo", "AKHIR", Y - 1, date(Y - 1, 4, 30), "tkksd", "FINALIZED", "baik_sekali",
          recommendation="dikembangkan", suggestion="Perpanjang dengan menambah keamanan informasi."),
    ]


def components(specs: list[AgreementSpec], today: date) -> list[list[AgreementSpec]]:
    """Agreements that depend on each other (a PKS on its KB, an extension on what it extends), in
    order, heaviest group first: groups run side by side."""
    group_of = {s.key: s.key for s in specs}

    def root(key):
        while group_of[key] != key:
            key = group_of[key]
        return key
    for spec in specs:
        for other in (spec.parent, spec.extends):
            if other in group_of:
                group_of[root(spec.key)] = root(other)
    groups: dict[str, list[AgreementSpec]] = {}
    for spec in specs:  # specs list a KB before its PKS
        groups.setdefault(root(spec.key), []).append(spec)

    def weight(spec):  # about one command per step
        until = spec.terminated_on if spec.target == "TERMINATED" else None
        return 8 + sum(1 + len(report_plan(a, today, until)) for a in spec.activities)
    return sorted(groups.values(), key=lambda g: -sum(weight(s) for s in g))


def _depends_on(spec: AgreementSpec, key: str, specs: list[AgreementSpec]) -> bool:
    """Whether ``spec`` depends on ``key``, directly or through others of ``specs``."""
    by_key = {s.key: s for s in specs}
    seen, todo = set(), [spec]
    while todo:
        current = todo.pop()
        for other in (current.parent, current.extends):
            if other == key:
                return True
            if other in by_key and other not in seen:
                seen.add(other)
                todo.append(by_key[other])
    return False


# Quarterly reports filed per activity: the latest ones only, to keep the load short (a report is a
# command on an ever longer stream).
MAX_REPORTS = 3

OBSTACLES = [
    ("", ""),
    ("Curah hujan tinggi menghambat pekerjaan lapangan.", "Penambahan jam kerja dan penjadwalan ulang kegiatan."),
    ("", ""),
    ("Pencairan anggaran triwulan terlambat.", "Koordinasi dengan BPKAD untuk percepatan pencairan."),
    ("Koordinasi lintas perangkat daerah belum optimal.", "Rapat koordinasi bulanan dipimpin Sekretaris Daerah."),
]


# ---------------------------------------------------------------------------------- helpers

def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    first = date(year, 3 * quarter - 2, 1)
    nxt = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, nxt - timedelta(days=1)


def quarters(first: date, last: date) -> list[tuple[int, int]]:
    out, (year, q) = [], quarter_of(first)
    while (year, q) <= quarter_of(last):
        out.append((year, q))
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return out


def report_plan(activity: ActivitySpec, today: date, until: date | None = None) -> list[dict]:
    """The latest ``MAX_REPORTS`` quarterly reports of an activity: each filed ten days after its
    quarter, cumulative realisation rising towards ``performance`` × target; the ``lag`` latest
    quarters not reported (yet)."""
    schedule = quarters(activity.start, activity.end)
    last_day = min(activity.end, until) if until else activity.end
    out = []
    for index, (year, q) in enumerate(schedule):
        first, last = quarter_bounds(year, q)
        filed_on = last + timedelta(days=10)
        if first > last_day or filed_on > today:
            break
        share = min(1.0, activity.performance * (index + 1) / len(schedule))
        realisation = round(activity.target * share, 1)
        obstacles, solutions = OBSTACLES[(index + len(activity.activity_id)) % len(OBSTACLES)]
        out.append({"period": f"{year}-TW{q}", "realisation": int(realisation) if realisation.is_integer()
                    else realisation, "obstacles": obstacles, "solutions": solutions,
                    "filed_on": filed_on.isoformat()})
    out = out[:len(out) - activity.lag] if activity.lag else out
    return out[-MAX_REPORTS:]


def signed_scan_pdf(spec: AgreementSpec) -> bytes:
    """A tiny, valid, deterministic PDF standing in for the signed scan."""
    text = f"Naskah {spec.document_kind} ditandatangani - {spec.our_number or spec.key}".replace("(", "[") \
        .replace(")", "]")
    stream = f"BT /F1 11 Tf 40 780 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# ------------------------------------------------------------------------------ HTTP client

class Client:
    """Bearer tokens per actor, a session per thread, retries that are safe with Idempotency-Key."""

    def __init__(self, urls: dict, settings: Settings, stop: Callable[[], bool] | None = None):
        missing = [s for s in SERVICES if not urls.get(s)]
        if missing:
            raise ValueError(f"missing URL(s) for {', '.join(missing)}")
        self.urls = {name: urls[name].rstrip("/") for name in SERVICES}
        self.settings = settings
        self.stop = stop or (lambda: False)
        self._tokens: dict[Actor, str] = {}
        self._local = threading.local()
        self._lock = threading.Lock()
        self.calls = 0
        self.seconds: dict[str, float] = {}  # time spent waiting for answers, per method and service

    def token(self, actor: Actor) -> str:
        with self._lock:
            if actor not in self._tokens:
                self._tokens[actor] = mint_token(self.settings, actor.role, sub=actor.sub, name=actor.name,
                                                 opd=actor.opd)
            return self._tokens[actor]

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def request(self, method: str, service: str, path: str, actor: Actor, *, key: str | None = None,
                **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token(actor)}", **kw.pop("headers", {})}
        if key:
            headers["Idempotency-Key"] = key
        for attempt in range(6):
            if self.stop():
                raise Stopped("stopped on request")
            with self._lock:
                self.calls += 1
            began = time.monotonic()
            try:
                response = self._session().request(method, self.urls[service] + path, headers=headers,
                                                   timeout=30, **kw)
                with self._lock:
                    self.seconds[f"{method} {service}"] = self.seconds.get(f"{method} {service}", 0.0) \
                        + time.monotonic() - began
            except requests.ConnectionError:
                # A kept-alive connection closed by the server, or a restart: safe to repeat (GET, or
                # a POST whose Idempotency-Key returns the first answer).
                self._local.session = requests.Session()
                if attempt == 5:
                    raise
                time.sleep(0.2 * (attempt + 1))
                continue
            retry = response.status_code in (502, 503, 504) or (
                response.status_code == 409 and _rule(response) == "request_in_progress")
            if retry and attempt < 5:
                time.sleep(0.3 * (attempt + 1))
                continue
            return response
        raise AssertionError("unreachable")

    def get(self, service: str, path: str, actor: Actor = STAFF, **params) -> requests.Response:
        return self.request("GET", service, path, actor, params=params or None)

    def post(self, service: str, path: str, actor: Actor, body: Any = None, *, key: str,
             **kw) -> requests.Response:
        if "data" in kw:
            return self.request("POST", service, path, actor, key=key, **kw)
        return self.request("POST", service, path, actor, key=key, json=body if body is not None else {}, **kw)

    def listing(self, service: str, path: str, actor: Actor = STAFF, **params) -> tuple[list[dict], dict]:
        """Every item of a paged list (and the first page, for ``as_of``)."""
        items, page, first = [], 1, None
        while True:
            response = self.get(service, path, actor, per_page=200, page=page, **params)
            _expect(response, 200, f"GET {path}")
            body = response.json()
            first = first or body
            items += body["items"]
            if page * body["per_page"] >= body["total"] or not body["items"]:
                return items, first
            page += 1


def _rule(response: requests.Response) -> str | None:
    try:
        return response.json().get("rule")
    except ValueError:
        return None


def _expect(response: requests.Response, status: int | tuple, what: str) -> requests.Response:
    wanted = status if isinstance(status, tuple) else (status,)
    if response.status_code not in wanted:
        raise DemoError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    return response


def _created(response: requests.Response) -> bool:
    return response.headers.get("Idempotent-Replayed") != "true"


# ------------------------------------------------------------------------------------ loader

class Loader:
    def __init__(self, client: Client, deadline: float):
        self.c = client
        self.deadline = deadline
        self.lock = threading.Lock()
        self.today: date = date.today()
        self.partner_ids: dict[str, str] = {}
        self.agreement_ids: dict[str, str] = {}
        self.final_status: dict[str, str] = {}
        self.lead_opd: dict[str, str] = {}
        self.evaluation_ids: dict[str, str] = {}
        self.evaluation_status: dict[str, str] = {}
        self.counts = {k: 0 for k in ("partners_created", "partners_existing", "agreements_created",
                                      "agreements_existing", "activities_added", "reports_filed",
                                      "documents_attached", "evaluations_created", "evaluations_existing",
                                      "commands")}
        self.warnings: list[str] = []
        self.register_wait = 0.0

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n

    def warn(self, message: str) -> None:
        with self.lock:
            self.warnings.append(message)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def wait_for(self, check: Callable[[], Any], what: str, timeout: float | None = None) -> Any:
        end = time.monotonic() + min(timeout or self.remaining(), max(self.remaining(), 1))
        delay = 0.1
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > end:
                raise DemoError(f"timed out waiting for {what}")
            if self.c.stop():
                raise Stopped("stopped on request")
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    # ---------------------------------------------------------------- partners

    def partners(self, specs: list[PartnerSpec], workers: int) -> None:
        known, _ = self.c.listing("evaluation", "/api/v1/partners")
        by_name = {p.get("name"): p["id"] for p in known}
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(self._partner, spec, by_name.get(spec.body["name"])) for spec in specs]:
                future.result()
        self.partner_ids = {spec.key: self.partner_ids[spec.key] for spec in specs}  # in the specs' order

    def _partner(self, spec: PartnerSpec, pid: str | None) -> None:
        if pid:
            self.count("partners_existing")
        else:
            pid = self._register(spec)
        with self.lock:
            self.partner_ids[spec.key] = pid
        partner = _expect(self.c.get("partners", f"/api/v1/partners/{pid}"), 200, f"partner {spec.key}").json()
        if spec.status in ("VERIFIED", "DEACTIVATED") and partner["status"] == "REGISTERED":
            r = self.c.post("partners", f"/api/v1/partners/{pid}/verify", STAFF,
                            {"note": "Dokumen legalitas dan kewenangan diverifikasi Bagian Kerja Sama."},
                            key=f"demo:partner:{spec.key}:verify")
            self.count("commands")
            if r.status_code == 200:
                partner = r.json()
            elif _rule(r) != "already_verified":
                self.warn(f"partner {spec.key}: verify refused ({r.status_code} {_rule(r)})")
        if spec.status == "DEACTIVATED" and partner["status"] != "DEACTIVATED":
            r = self.c.post("partners", f"/api/v1/partners/{pid}/deactivate", STAFF,
                            {"reason": spec.deactivation_reason}, key=f"demo:partner:{spec.key}:deactivate")
            self.count("commands")
            if r.status_code != 200 and _rule(r) != "already_deactivated":
                self.warn(f"partner {spec.key}: deactivate refused ({r.status_code} {_rule(r)})")

    def _register(self, spec: PartnerSpec) -> str:
        r = self.c.post("partners", "/api/v1/partners", STAFF, spec.body, key=f"demo:partner:{spec.key}:register")
        self.count("commands")
        if r.status_code == 201:
            self.count("partners_created" if _created(r) else "partners_existing")
            return r.json()["id"]
        if r.status_code == 409 and _rule(r) == "partner_already_registered":
            # Registered before (its region code / NIB is taken): the answer names the holder.
            self.count("partners_existing")
            holder = re.search(r"partner-[0-9a-f-]{36}", json.dumps(r.json().get("errors") or {}))
            if holder:
                return holder.group(0)
            name = spec.body["name"]

            def find():
                items = self.c.get("evaluation", "/api/v1/partners", q=name, per_page=50).json().get("items", [])
                return next((p["id"] for p in items if p.get("name") == name), None)
            return self.wait_for(find, f"partner {name!r} in the read model", 30)
        raise DemoError(f"register partner {spec.key}: HTTP {r.status_code} {r.text[:300]}")

    # ---------------------------------------------------------------- agreements

    def agreements(self, specs: list[AgreementSpec], workers: int,
                   done: Callable[[str], None] = lambda key: None) -> None:
        register, _ = self.c.listing("evaluation", "/api/v1/agreements")
        by_title: dict[str, list[dict]] = {}
        for item in register:
            by_title.setdefault(item.get("title"), []).append(item)

        def run(group: list[AgreementSpec]) -> None:
            # The first of a group is what the others depend on; agreements depending on the same
            # one (the PKSs under one KB) go side by side once it is done.
            head, rest = group[0], group[1:]
            AgreementRun(self, head, by_title).drive()
            done(head.key)
            children = [s for s in rest if head.key in (s.parent, s.extends)]
            subgroups = [[child] + [s for s in rest if _depends_on(s, child.key, rest)] for child in children]
            if len(subgroups) == 1:
                run(subgroups[0])
            elif subgroups:
                with ThreadPoolExecutor(max_workers=len(subgroups)) as side:
                    for future in [side.submit(run, g) for g in subgroups]:
                        future.result()

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(run, group) for group in components(specs, self.today)]:
                future.result()

    # ---------------------------------------------------------------- evaluations

    def evaluations(self, specs: list[EvaluationSpec], workers: int) -> "EvaluationQueue":
        """A queue that starts each agreement's evaluations once the agreement is done."""
        rubric = _expect(self.c.get("evaluation", "/api/v1/rubric"), 200, "GET rubric").json()
        existing, _ = self.c.listing("evaluation", "/api/v1/evaluations")
        index = {(e.get("agreement_id"), e.get("period"), e.get("year"), e.get("assessor_kind")): e["id"]
                 for e in existing}
        return EvaluationQueue(self, specs, rubric, index, workers)

    def evaluable(self, key: str) -> bool:
        """Wait until the register (which the evaluation service checks) shows the agreement signed;
        remember its lead OPD. False (with a warning) when it never does."""
        aid = self.agreement_ids.get(key)
        if aid is None or self.final_status.get(key) not in EVALUABLE:
            return False

        def shown():
            r = self.c.get("evaluation", f"/api/v1/agreements/{aid}")
            item = r.json() if r.status_code == 200 else {}
            if item.get("status") in EVALUABLE:
                self.lead_opd[key] = item.get("lead_opd")
                return True
            return False
        began = time.monotonic()
        try:
            self.wait_for(shown, f"{key} signed in the register", 60)
            return True
        except DemoError as exc:
            self.warn(str(exc))
            return False
        finally:
            with self.lock:
                self.register_wait = max(self.register_wait, round(time.monotonic() - began, 1))

    # ---------------------------------------------------------------- consistency

    def settle(self, timeout: float = 30) -> bool:
        """Wait until the read models show at least what the loader left on the write side (the
        scheduler may have moved things further meanwhile), so a second run finds everything."""
        def caught_up():
            items, _ = self.c.listing("evaluation", "/api/v1/agreements")
            statuses = {i["id"]: i.get("status") for i in items}
            for key, aid in self.agreement_ids.items():
                if aid not in statuses or RANK.get(statuses[aid], 0) < RANK.get(self.final_status.get(key), 0):
                    return False
            listed, _ = self.c.listing("evaluation", "/api/v1/evaluations")
            evaluations = {e["id"]: e.get("status") for e in listed}
            return all(eid in evaluations and EVALUATION_RANK.get(evaluations[eid], 0)
                       >= EVALUATION_RANK.get(self.evaluation_status.get(key), 0)
                       for key, eid in self.evaluation_ids.items())
        try:
            self.wait_for(caught_up, "the read models", timeout)
            return True
        except DemoError:
            self.warn("the read models had not caught up when the loader finished")
            return False


class AgreementRun:
    """Brings one agreement to its target state, sending only the steps it still lacks."""

    def __init__(self, loader: Loader, spec: AgreementSpec, by_title: dict[str, list[dict]]):
        self.L, self.c, self.spec, self.by_title = loader, loader.c, spec, by_title
        self.id: str | None = None
        self.snap: dict = {}

    # -- plumbing
    @property
    def status(self) -> str:
        return self.snap.get("status") or "DRAFT"

    @property
    def rank(self) -> int:
        return RANK.get(self.status, 0)

    @property
    def revisions(self) -> int:
        return len(self.snap.get("revision_requests") or [])

    def refresh(self) -> None:
        self.snap = _expect(self.c.get("agreements", f"/api/v1/agreements/{self.id}"), 200,
                            f"GET agreement {self.spec.key}").json()

    def step(self, label: str, done: Callable[[], bool], command: str, actor: Actor, body: Any = None,
             can: Callable[[], bool] | None = None, **kw) -> bool:
        """Send ``command`` unless ``done()``; skip (with a warning) when ``can()`` says the state no
        longer allows it. True when the step's effect is there afterwards."""
        if done():
            return True
        if can is not None and not can():
            self.L.warn(f"{self.spec.key}: {label} skipped (status {self.status})")
            return False
        for attempt in range(4):
            # A refused command is remembered under its key: a retry after a concurrent change (the
            # scheduler appended to the stream meanwhile) needs a key of its own.
            key = f"demo:agreement:{self.spec.key}:{label}" + (f":retry{attempt}" if attempt else "")
            r = self.c.post("agreements", f"/api/v1/agreements/{self.id}/{command}", actor, body, key=key, **kw)
            self.L.count("commands")
            if r.status_code in (200, 201):
                self.snap = r.json()
                if _created(r) and label.startswith(("activity:", "report:")):
                    self.L.count("activities_added" if label.startswith("activity:") else "reports_filed")
                return True
            self.refresh()  # e.g. the scheduler moved it meanwhile
            if done():
                return True
            if _rule(r) != "concurrent_modification" or (can is not None and not can()):
                break
        self.L.warn(f"{self.spec.key}: {label} refused (HTTP {r.status_code} {_rule(r)}; status {self.status})")
        return False

    # -- drafting
    def draft_body(self) -> dict:
        s, ids = self.spec, self.L.partner_ids
        body = {"category": s.category, "document_kind": s.document_kind, "title": s.title,
                "partner_ids": [ids[p] for p in s.partners], "start_date": s.start.isoformat(),
                "end_date": s.end.isoformat(), "lead_opd": s.lead_opd, "urusan": s.urusan,
                "burdens_public": s.burdens_public, "budgeted_in_apbd": s.budgeted_in_apbd, "value": s.value,
                "purpose": s.purpose, "scope": s.scope, "location": s.location}
        if s.funding_scheme:
            body["funding_scheme"] = s.funding_scheme
        if s.ksdd_type:
            body["ksdd_type"] = s.ksdd_type
        if s.parent:
            body["parent_kb_id"] = self.L.agreement_ids[s.parent]
        if s.extends:
            body["extends_agreement_id"] = self.L.agreement_ids[s.extends]
        return body

    def find_or_draft(self) -> None:
        s = self.spec
        partner_ids = {self.L.partner_ids[p] for p in s.partners}
        for item in self.by_title.get(s.title, []):
            if {p["id"] for p in item.get("partners", [])} == partner_ids:
                self.id = item["id"]
                self.L.count("agreements_existing")
                self.refresh()
                return
        body = self.draft_body()
        attempt = 0
        end = time.monotonic() + min(60, max(self.L.remaining(), 5))
        while True:
            # A refused draft is remembered under its key, so each retry after partner_not_found
            # (the partner has not reached the agreements service's replica yet) uses a new key.
            key = f"demo:agreement:{s.key}:draft" + (f":{attempt}" if attempt else "")
            r = self.c.post("agreements", "/api/v1/agreements", STAFF, body, key=key)
            self.L.count("commands")
            if r.status_code == 201:
                self.snap, self.id = r.json(), r.json()["id"]
                self.L.count("agreements_created" if _created(r) else "agreements_existing")
                return
            if r.status_code == 422 and _rule(r) == "partner_not_found" and time.monotonic() < end:
                attempt += 1
                time.sleep(min(0.1 * attempt, 1.0))
                continue
            if r.status_code == 422 and _rule(r) == "idempotency_key_reused":
                # Drafted by an earlier run with other dates (another day): wait for it in the register.
                def find():
                    items = self.c.get("evaluation", "/api/v1/agreements", q=s.title[:100], per_page=50).json()
                    return next((i["id"] for i in items.get("items", []) if i.get("title") == s.title), None)
                self.id = self.L.wait_for(find, f"{s.key} in the register", 30)
                self.L.count("agreements_existing")
                self.refresh()
                return
            raise DemoError(f"draft {s.key}: HTTP {r.status_code} {r.text[:300]}")

    # -- the lifecycle
    def drive(self) -> None:
        s = self.spec
        self.find_or_draft()
        self.L.agreement_ids[s.key] = self.id
        try:
            self._lifecycle()
        finally:
            self.L.final_status[s.key] = self.status

    def _reached(self, status: str, round_: int = 0) -> Callable[[], bool]:
        """Done-check of a workflow step leading to ``status``; with a revision round, round-0
        steps are done once the revision was requested."""
        wanted = RANK[status]
        if self.spec.revision and round_ == 0:
            return lambda: self.revisions >= 1 or self.rank >= wanted
        if self.spec.revision:
            return lambda: self.revisions >= 1 and self.rank >= wanted
        return lambda: self.rank >= wanted

    def _lifecycle(self) -> None:
        s, today = self.spec, self.L.today
        if s.target == "DRAFT":
            return
        if s.target == "CANCELLED":
            self.step("cancel", lambda: self.status == "CANCELLED", "cancel", STAFF, {"reason": s.reason})
            return
        if not self.step("submit", self._reached("SUBMITTED"), "submit", STAFF) or s.target == "SUBMITTED":
            return
        if not self.step("start-review", self._reached("UNDER_REVIEW"), "start-review", TKKSD):
            return
        if s.revision:
            reason, changes = s.revision
            self.step("return", lambda: self.revisions >= 1, "return", TKKSD, {"reason": reason})
            self.step("edit", lambda: self.revisions >= 1 and (
                self.rank >= 1 or all(self.snap.get(k) == v for k, v in changes.items())), "edit", STAFF, changes)
            self.step("resubmit", self._reached("SUBMITTED", 1), "submit", STAFF)
            self.step("restart-review", self._reached("UNDER_REVIEW", 1), "start-review", TKKSD)
        if s.target == "UNDER_REVIEW":
            return
        reviewed_on = (s.reviewed_on or today).isoformat()
        if s.target == "REJECTED":
            self.step("review", lambda: self.status == "REJECTED", "review", TKKSD,
                      {"recommended": False, "notes": s.reason, "reviewed_on": reviewed_on})
            return
        if not self.step("review", lambda: self.rank >= 3, "review", TKKSD,
                         {"recommended": True, "notes": s.review_notes, "reviewed_on": reviewed_on}):
            return
        if s.dprd_required:
            if s.target == "AWAITING_DPRD":
                return
            approved_on = s.dprd_on or today
            if not self.step("dprd-approval", lambda: self.rank >= 4, "dprd-approval", BUPATI, {
                    "approval_ref": f"Keputusan DPRD Kabupaten Muaro Jambi Nomor {approved_on.month + 3} "
                                    f"Tahun {approved_on.year}", "approved_on": approved_on.isoformat()}):
                return
        if s.foreign:
            if s.target == "AWAITING_CENTRAL":
                return
            approved_on = s.central_on or today
            if not self.step("central-approval", lambda: self.rank >= 5, "central-approval", BUPATI, {
                    "approval_ref": f"Surat Menteri Dalam Negeri Nomor 100.4.3/{approved_on.month * 137}/OTDA "
                                    f"tanggal {approved_on.isoformat()}", "approved_on": approved_on.isoformat()}):
                return
        if s.target == "READY_TO_SIGN":
            return
        if not self.step("sign", lambda: self.rank >= 6, "sign", BUPATI, self.sign_body()):
            return
        if s.signed_scan:
            self.attach_signed_scan()
        if s.target == "SIGNED":
            return
        in_force = lambda: self.status in IN_FORCE  # noqa: E731
        # The work plan first: only a SIGNED/ACTIVE agreement takes activities, and the scheduler
        # activates and expires historical agreements on its own.
        for activity in s.activities:
            self.step(f"activity:{activity.activity_id}", lambda a=activity: self.activity(a.activity_id) is not None,
                      "activities", STAFF, self.activity_body(activity), can=in_force)
        self.step("activate", lambda: self.rank >= 7, "activate", STAFF, {"on": s.start.isoformat()},
                  can=lambda: self.status == "SIGNED" and s.start <= today)
        until = s.terminated_on if s.target == "TERMINATED" else None
        for activity in s.activities:
            if self.activity(activity.activity_id) is None:
                continue
            for report in report_plan(activity, today, until):
                period = report["period"]
                self.step(f"report:{activity.activity_id}:{period}",
                          lambda a=activity, p=period: p in self.reported(a.activity_id),
                          f"activities/{activity.activity_id}/reports", officer(activity.opd), report,
                          can=lambda: self.status in REPORTABLE)
        if s.amendment:
            self.step("amend", lambda: len(self.snap.get("amendments") or []) >= 1, "amend", BUPATI, s.amendment,
                      can=in_force)
        if s.target == "TERMINATED":
            self.step("terminate", lambda: self.status == "TERMINATED", "terminate", BUPATI,
                      {"reason": s.reason, "on": s.terminated_on.isoformat()}, can=in_force)
        elif s.target == "EXPIRED":
            self.step("expire", lambda: self.rank >= 8, "expire", STAFF,
                      {"on": (s.end + timedelta(days=1)).isoformat()}, can=in_force)

    def sign_body(self) -> dict:
        s = self.spec
        body = dict(KB_SIGNATORY if s.document_kind == "KB" else PKS_SIGNATORY)
        signed_on = s.signed_on or self.L.today
        if s.document_kind == "PKS":
            body["power_of_attorney_ref"] = (f"Surat Kuasa Bupati Muaro Jambi Nomor 180/"
                                             f"{signed_on.month:02d}/HUK/{signed_on.year}")
        body["signed_on"] = signed_on.isoformat()
        if s.our_number:
            body["our_number"] = s.our_number
        if s.partner_number:
            body["partner_number"] = s.partner_number
        if s.partner_signatory:
            body["partner_signatory_name"], body["partner_signatory_position"] = s.partner_signatory
        return body

    def activity(self, activity_id: str) -> dict | None:
        return next((a for a in self.snap.get("activities") or [] if a["activity_id"] == activity_id), None)

    def reported(self, activity_id: str) -> set[str]:
        return {r["period"] for r in (self.activity(activity_id) or {}).get("reports", [])}

    @staticmethod
    def activity_body(a: ActivitySpec) -> dict:
        return {"activity_id": a.activity_id, "name": a.name, "indicator": a.indicator, "target": a.target,
                "unit": a.unit, "schedule_start": a.start.isoformat(), "schedule_end": a.end.isoformat(),
                "responsible_opd": a.opd, "budget": a.budget}

    def attach_signed_scan(self) -> None:
        if any(d.get("kind") == "signed_scan" for d in self.snap.get("documents") or []):
            return
        if self.status in ("REJECTED", "CANCELLED"):
            return
        name = f"naskah-{self.spec.key}-ditandatangani.pdf"
        # A fixed boundary keeps the body (and so the Idempotency-Key fingerprint) the same on a retry.
        body, content_type = encode_multipart_formdata(
            [("kind", "signed_scan"), ("file", (name, signed_scan_pdf(self.spec), "application/pdf"))],
            boundary="jalin-demo-signed-scan")
        before = len(self.snap.get("documents") or [])
        self.step("document:signed_scan", lambda: len(self.snap.get("documents") or []) > before, "documents",
                  STAFF, data=body, headers={"Content-Type": content_type})
        if len(self.snap.get("documents") or []) > before:
            self.L.count("documents_attached")


class EvaluationQueue:
    """Evaluations run on their own threads as soon as their agreement is done (overlapping the
    agreements still being loaded); ``wait()`` collects them."""

    STEPS = {"SCHEDULED": 1, "CANCELLED": 2, "IN_PROGRESS": 2, "SUBMITTED": 3, "FINALIZED": 4}

    def __init__(self, loader: Loader, specs: list[EvaluationSpec], rubric: dict, index: dict, workers: int):
        self.L, self.rubric, self.index = loader, rubric, index
        self.by_agreement: dict[str, list[EvaluationSpec]] = {}
        for spec in sorted(specs, key=lambda s: -self.STEPS[s.target]):
            self.by_agreement.setdefault(spec.agreement, []).append(spec)
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.futures: list = []
        self.lock = threading.Lock()

    def agreement_done(self, key: str) -> None:
        specs = self.by_agreement.pop(key, [])
        if specs:
            with self.lock:
                self.futures.append(self.pool.submit(self._run, key, specs))

    def _run(self, key: str, specs: list[EvaluationSpec]) -> None:
        if not self.L.evaluable(key):
            for spec in specs:
                self.L.warn(f"evaluation {spec.key}: skipped (agreement {key} is {self.L.final_status.get(key)})")
            return
        with ThreadPoolExecutor(max_workers=len(specs)) as side:  # independent streams
            for future in [side.submit(EvaluationRun(self.L, spec, self.rubric, self.index).drive) for spec in specs]:
                future.result()

    def wait(self) -> None:
        try:
            for key in list(self.by_agreement):  # agreements that were never loaded
                for spec in self.by_agreement.pop(key):
                    self.L.warn(f"evaluation {spec.key}: skipped (agreement {key} not loaded)")
            for future in list(self.futures):
                future.result()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)


class EvaluationRun:
    """Brings one evaluation to its target state."""

    def __init__(self, loader: Loader, spec: EvaluationSpec, rubric: dict, index: dict):
        self.L, self.c, self.spec, self.rubric, self.index = loader, loader.c, spec, rubric, index
        self.id: str | None = None
        self.snap: dict = {}

    @property
    def rank(self) -> int:
        return EVALUATION_RANK.get(self.snap.get("status"), 0)

    def drive(self) -> None:
        s = self.spec
        agreement_id = self.L.agreement_ids.get(s.agreement)
        if agreement_id is None or self.L.final_status.get(s.agreement) not in EVALUABLE:
            self.L.warn(f"evaluation {s.key}: skipped (agreement {s.agreement} is "
                        f"{self.L.final_status.get(s.agreement)})")
            return
        self.id = self.index.get((agreement_id, s.period, s.year, s.assessor))
        if self.id:
            self.L.count("evaluations_existing")
            self.snap = _expect(self.c.get("evaluation", f"/api/v1/evaluations/{self.id}"), 200,
                                f"GET evaluation {s.key}").json()
        else:
            self.schedule(agreement_id)
        self.L.evaluation_ids[s.key] = self.id
        try:
            self._lifecycle()
        finally:
            self.L.evaluation_status[s.key] = self.snap.get("status")

    def _lifecycle(self) -> None:
        s = self.spec
        assessor = {"opd": officer(self.L.lead_opd.get(s.agreement) or "SETDA-KS"), "kerjasama": STAFF,
                    "tkksd": TKKSD}[s.assessor]
        if s.target == "SCHEDULED":
            return
        if s.target == "CANCELLED":
            self.command("cancel", KABAG, {"reason": s.reason}, lambda: self.snap.get("status") == "CANCELLED")
            return
        answers = self.answers(partial=s.target == "IN_PROGRESS")
        if not self.command("answers", assessor, {"answers": answers}, lambda: self.rank >= 1):
            return
        if s.target == "IN_PROGRESS":
            return
        if not self.command("submit", assessor, {}, lambda: self.rank >= 2):
            return
        if s.target == "FINALIZED":
            self.command("finalize", KABAG, {}, lambda: self.rank >= 3)

    def schedule(self, agreement_id: str) -> None:
        s = self.spec
        body = {"agreement_id": agreement_id, "period": s.period, "year": s.year, "due_date": s.due.isoformat(),
                "assessor_kind": s.assessor}
        attempt = 0
        while True:
            key = f"demo:evaluation:{s.key}:schedule" + (f":{attempt}" if attempt else "")
            r = self.c.post("evaluation", "/api/v1/evaluations", STAFF, body, key=key)
            self.L.count("commands")
            if r.status_code == 201:
                self.snap, self.id = r.json(), r.json()["stream_id"]
                self.L.count("evaluations_created" if _created(r) else "evaluations_existing")
                return
            if _rule(r) in ("agreement_not_found", "agreement_not_evaluable") and attempt < 50 \
                    and self.L.remaining() > 0:
                attempt += 1
                time.sleep(0.3)
                continue
            raise DemoError(f"schedule evaluation {s.key}: HTTP {r.status_code} {r.text[:300]}")

    def command(self, name: str, actor: Actor, body: dict, done: Callable[[], bool]) -> bool:
        if done():
            return True
        r = self.c.post("evaluation", f"/api/v1/evaluations/{self.id}/{name}", actor, body,
                        key=f"demo:evaluation:{self.spec.key}:{name}")
        self.L.count("commands")
        if r.status_code == 200:
            self.snap = r.json()
            return True
        self.L.warn(f"evaluation {self.spec.key}: {name} refused (HTTP {r.status_code} {_rule(r)})")
        return False

    def answers(self, partial: bool = False) -> dict:
        s = self.spec
        pattern = PROFILES[s.profile]
        out, scored = {}, 0
        indicators = self.rubric["indicators"]
        if partial:  # only the first group filled in so far
            first_group = indicators[0]["group"]
            indicators = [i for i in indicators if i["group"] == first_group]
        for indicator in indicators:
            options = indicator.get("options") or []
            if indicator.get("scored") and options:
                index = int(pattern[scored % len(pattern)])
                out[indicator["id"]] = options[min(index, len(options) - 1)]["key"]
                scored += 1
            elif options:
                keys = [o["key"] for o in options]
                out[indicator["id"]] = s.recommendation if s.recommendation in keys else keys[0]
            elif indicator.get("kind") == "text":
                text = s.suggestion if indicator["id"] == "saran" else (
                    "Dokumen pendukung sebagian masih dalam proses penandatanganan." if "cukup" in s.profile
                    or s.profile in ("kurang", "buruk") else "")
                if text:
                    out[indicator["id"]] = text
            elif indicator.get("kind") == "refs":
                out[indicator["id"]] = [f"Laporan pelaksanaan {s.period} {s.year}",
                                        f"Berita acara monev {s.key.upper()}/{s.year}"]
        return out


# ---------------------------------------------------------------------------------- entry

def load_demo(urls: dict, settings: Settings, *, today: date | None = None, timeout: float = 110.0,
              workers: int = 6, stop: Callable[[], bool] | None = None, log: Callable[[str], None] | None = None
              ) -> dict:
    """Load (or complete) the demo through the APIs at ``urls`` (keys partners, agreements,
    evaluation); returns a summary. ``today`` defaults to the services' own date (the register's
    ``as_of``); ``stop()`` returning True aborts between requests (``Stopped``)."""
    started = time.monotonic()
    say = log or (lambda message: None)
    client = Client(urls, settings, stop)
    loader = Loader(client, started + timeout)
    first = _expect(client.get("evaluation", "/api/v1/agreements", per_page=1), 200, "GET register").json()
    loader.today = today or date.fromisoformat(first["as_of"])
    phases: dict[str, float] = {}

    def phase(name: str, run: Callable[[], Any]) -> Any:
        began = time.monotonic()
        try:
            return run()
        finally:
            phases[name] = round(time.monotonic() - began, 1)

    say(f"demo: partners ({loader.today.isoformat()})")
    phase("partners", lambda: loader.partners(partner_specs(), workers))
    say("demo: agreements, work plans, reports and evaluations")
    queue = loader.evaluations(evaluation_specs(loader.today), workers)
    try:
        phase("agreements", lambda: loader.agreements(agreement_specs(loader.today), workers, queue.agreement_done))
    finally:
        phase("evaluations (after the agreements)", queue.wait)
    settled = phase("read models", lambda: loader.settle(min(30.0, max(loader.remaining(), 5.0))))
    statuses: dict[str, int] = {}
    for status in loader.final_status.values():
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "today": loader.today.isoformat(),
        "seconds": round(time.monotonic() - started, 1),
        "phase_seconds": phases,
        "partners": {"total": len(loader.partner_ids), "created": loader.counts["partners_created"]},
        "agreements": {"total": len(loader.agreement_ids), "created": loader.counts["agreements_created"],
                       "by_status": dict(sorted(statuses.items()))},
        "activities_added": loader.counts["activities_added"],
        "reports_filed": loader.counts["reports_filed"],
        "documents_attached": loader.counts["documents_attached"],
        "evaluations": {"total": len(loader.evaluation_ids), "created": loader.counts["evaluations_created"]},
        "commands_sent": loader.counts["commands"],
        "http_calls": client.calls,
        "http_seconds": {k: round(v, 1) for k, v in sorted(client.seconds.items())},
        "read_models_caught_up": settled,
        "register_wait_seconds": loader.register_wait,
        "warnings": loader.warnings,
        "partner_ids": dict(loader.partner_ids),
        "agreement_ids": dict(loader.agreement_ids),
        "evaluation_ids": dict(loader.evaluation_ids),
    }


def describe(summary: dict) -> str:
    """A short human summary of ``load_demo``'s result."""
    a, e, p = summary["agreements"], summary["evaluations"], summary["partners"]
    lines = [f"demo Kabupaten Muaro Jambi loaded in {summary['seconds']} s (as of {summary['today']}): "
             f"{p['total']} partners ({p['created']} new), {a['total']} agreements ({a['created']} new), "
             f"{e['total']} evaluations ({e['created']} new); {summary['commands_sent']} commands sent",
             "  agreements by status: " + ", ".join(f"{k} {v}" for k, v in a["by_status"].items())]
    for warning in summary["warnings"]:
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli.demo", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--partners-url")
    parser.add_argument("--agreements-url")
    parser.add_argument("--evaluation-url")
    parser.add_argument("--today", type=date.fromisoformat, help="anchor date (default: the services' today)")
    parser.add_argument("--timeout", type=float, default=110.0)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    settings = Settings.from_env()  # the JWT settings the services use (JALIN_JWT_*)
    urls = {"partners": args.partners_url or settings.partners_url,
            "agreements": args.agreements_url or settings.agreements_url,
            "evaluation": args.evaluation_url or settings.evaluation_url}
    try:
        summary = load_demo(urls, settings, today=args.today, timeout=args.timeout,
                            log=lambda m: print(m, file=sys.stderr, flush=True))
    except (DemoError, requests.RequestException) as exc:
        print(f"demo: failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2, ensure_ascii=False) if args.json else describe(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

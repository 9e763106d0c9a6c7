"""The Kabupaten Muaro Jambi demo dataset: plain data, no HTTP (``cli/demo.py`` loads it).

What it holds (region 15.05, Jambi province 15): partners of every kind (Provinsi Jambi, Kota Jambi,
neighbouring regencies, two universities, companies, a yayasan, a Malaysian state government, a
foreign university, two ministries); 26 agreements covering every state of the lifecycle (KBs with
PKSs under them, a SINERGI nota kesepakatan, an extension, a revision round, an addendum, signed
scans); work plans with their latest quarterly reports (``MAX_REPORTS`` per activity, some behind on
purpose); evaluations in every status with finalized scores over the four previous years.
Dates are relative to ``today`` (the loader passes the services' own date): history lies in the
four previous years, what is in the pipeline lies ahead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

FOREIGN = ("KSDPL", "KSDLL")

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


def nk_kominfo_end(today: date) -> date:
    """The end of the Kominfo nota kesepakatan: the last day of the month two months ahead (60 to 90
    days away, inside its H-90 window), so that its extension can start the day after it."""
    ahead = today + timedelta(days=60)
    following = date(ahead.year + ahead.month // 12, ahead.month % 12 + 1, 1)
    return following - timedelta(days=1)


def agreement_specs(today: date) -> list[AgreementSpec]:
    """26 agreements; history in the four previous years, the pipeline ahead (relative to ``today``)."""
    Y = today.year

    def d(year_offset: int, month: int, day: int) -> date:
        return date(Y + year_offset, month, day)

    ago = lambda days: today - timedelta(days=days)  # noqa: E731
    poa = lambda year: f"Surat Kuasa Bupati Muaro Jambi Nomor 180/{year % 100:02d}/HUK/{year}"  # noqa: E731
    soon = today + timedelta(days=45)  # an agreement in its H-90 window
    kominfo_end = nk_kominfo_end(today)
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
            # Signed with Kominfo, which Perpres 174/2024 continued as Komdigi (the same partner, renamed);
            # it ends within its H-90 window, and its extension, starting the next day, is under review.
            "nk-kominfo", "Nota Kesepakatan antara Kementerian Komunikasi dan Informatika dan Pemerintah Kabupaten "
            "Muaro Jambi tentang Percepatan Transformasi Digital dan Satu Data Daerah", "SINERGI", "KB", ["komdigi"],
            d(-3, 2, 1), kominfo_end, "DISKOMINFO", ["komunikasi dan informatika", "statistik"], "ACTIVE",
            value=1_200_000_000, funding_scheme="APBN dan APBD Kabupaten Muaro Jambi", reviewed_on=d(-3, 1, 10),
            signed_on=d(-3, 1, 24), our_number=f"01/NK/SETDA-KS/{Y - 3}",
            activities=[
                A("satu-data", "Penyusunan dan integrasi portal Satu Data Muaro Jambi", "Dataset terpublikasi", 250,
                  "dataset", d(-3, 3, 1), d(-1, 1, 31), "DISKOMINFO", 400_000_000, 1.0),
                A("blank-spot", "Penanganan desa blank spot melalui BTS dan akses internet desa",
                  "Desa terlayani internet", 35, "desa", d(-3, 4, 1), d(-2, 12, 31), "DISKOMINFO", 800_000_000, 0.86),
            ]),
        AgreementSpec(
            "nk-komdigi-lanjutan", "Perpanjangan Nota Kesepakatan tentang Transformasi Digital, Satu Data dan Keamanan "
            "Informasi Daerah", "SINERGI", "KB", ["komdigi"], kominfo_end + timedelta(days=1),
            date(kominfo_end.year + 3, 12, 31), "DISKOMINFO",
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
        annual("kominfo-t3", "nk-kominfo", Y - 3, "opd", "cukup"),
        # The final evaluation ahead of the end, as the basis of the extension (finalized before the
        # extension is submitted: the loader waits for it).
        E("kominfo-akhir", "nk-kominfo", "AKHIR", nk_kominfo_end(today).year, nk_kominfo_end(today), "tkksd",
          "FINALIZED", "baik_sekali",
          recommendation="dikembangkan", suggestion="Perpanjang dengan menambah keamanan informasi."),
    ]


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

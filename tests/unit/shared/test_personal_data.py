"""The public views carry no personal data (UU 27/2022): whitelists, individuals unnamed."""
from shared.personal_data import PUBLIC_INDIVIDUAL_NAME, public_agreement, public_partner

COMPANY = {"id": "partner-1", "version": 3, "name": "PT Sawit Jaya", "kind": "pihak_ketiga", "subtype": "badan_usaha",
           "country": "ID", "region_code": "15.05", "status": "verified", "website": "https://sawit.example",
           "description": "Perkebunan", "identifiers": {"nib": "1234567890123", "npwp": "01.234.567.8-901.000"},
           "address": "Jl. Lintas Timur No. 1", "contacts": [{"name": "Budi", "phone": "0812345678"}],
           "deactivation_reason": "diminta oleh Budi", "some_new_field": "internal until decided public"}


def test_a_company_keeps_its_organisation_facts_only():
    view = public_partner(COMPANY)
    assert view["name"] == "PT Sawit Jaya" and view["website"] == "https://sawit.example"
    for hidden in ("identifiers", "address", "contacts", "deactivation_reason", "some_new_field"):
        assert hidden not in view


def test_an_individual_is_not_named_nor_described():
    person = {**COMPANY, "name": "Siti Aminah", "subtype": "perseorangan", "description": "petani di Sekernan",
              "website": "https://siti.example"}
    view = public_partner(person)
    assert view["name"] == PUBLIC_INDIVIDUAL_NAME and "Siti" not in str(view)
    assert view["region_code"] == "15.05" and view["kind"] == "pihak_ketiga"


def test_a_register_entry_loses_reasons_signatories_and_individuals_names():
    entry = {"id": "agreement-1", "title": "PKS Beasiswa", "status": "TERMINATED", "closing_reason": "Pak Budi wafat",
             "signatory_name": "Drs. H. Bachyuni Deliansyah", "value": 5_000_000,
             "partners": [{"id": "p-1", "name": "Siti Aminah", "kind": "pihak_ketiga", "subtype": "perseorangan"},
                          {"id": "p-2", "name": "Universitas Jambi", "kind": "pihak_ketiga",
                           "subtype": "perguruan_tinggi"}],
             "activities": [{"activity_id": "a-1", "name": "Pelatihan", "obstacles": "Pak Budi sakit", "progress": 50}]}
    view = public_agreement(entry)
    assert view["title"] == "PKS Beasiswa" and view["value"] == 5_000_000
    assert "closing_reason" not in view and "signatory_name" not in view
    assert [p["name"] for p in view["partners"]] == [PUBLIC_INDIVIDUAL_NAME, "Universitas Jambi"]
    assert view["activities"] == [{"activity_id": "a-1", "name": "Pelatihan", "progress": 50}]

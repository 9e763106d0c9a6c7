"""The evaluation service's copy of the agreements vocabulary stays equal to the agreements service's own."""
from services.agreements.domain.rules import ADDENDUM_CLOSED, FOREIGN_CATEGORIES, AddendumStatus, Category, Status
from services.evaluation import vocabulary as v


def test_statuses_are_the_agreements_services_statuses():
    assert [s.value for s in v.AgreementStatus] == [s.value for s in Status]


def test_categories_and_foreign_ones_are_the_agreements_services():
    assert [c.value for c in v.Category] == [c.value for c in Category]
    assert set(v.FOREIGN) == set(FOREIGN_CATEGORIES)


def test_signed_or_later_is_every_status_from_signing_on():
    order = [s.value for s in Status]
    assert list(v.SIGNED_OR_LATER) == order[order.index("SIGNED"):order.index("TERMINATED") + 1]
    assert v.cooperation_scope("KSDLL") == "luar_negeri" and v.cooperation_scope("KSDD") == "dalam_negeri"


def test_addendum_statuses_are_the_agreements_services():
    assert [s.value for s in v.AddendumStatus] == [s.value for s in AddendumStatus]
    assert set(v.ADDENDUM_OPEN) == {s.value for s in AddendumStatus} - {s.value for s in ADDENDUM_CLOSED}

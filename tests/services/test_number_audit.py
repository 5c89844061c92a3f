"""numbers_added (an import's thousands of events) against number_added, one number at a time."""

from __future__ import annotations

from gql_telephony.services.number_audit import NewNumber, number_added, numbers_added


def test_numbers_added_are_the_events_number_added_makes():
    rows = [
        NewNumber(1, "+14155550100", 7),
        NewNumber(2, "+14155550101", 7),
        NewNumber(3, "+14155550102", 8),
        NewNumber(4, "+14155550103", 7, label="Front desk \u2014 \u00e9", is_active=False),
        NewNumber(5, "sip:alice@example.com", 7, label="Front desk \u2014 \u00e9"),
        NewNumber(6, "+14155550100", 7),  # the same number again, another id
        NewNumber(7, "+14155550105", 7, label=""),
    ]
    assert numbers_added(rows) == [number_added(row) for row in rows]
    assert numbers_added([]) == []


def test_what_the_numbers_have_in_common_is_made_once():
    rows = [NewNumber(i, f"+1415555{i:04d}", 7) for i in range(100)]
    changes = [change for happening in numbers_added(rows) for change in happening.changes]
    assert len(changes) == 400
    assert len({id(change) for change in changes}) == 100 + 3  # a phoneNumber each; label, isActive, config once

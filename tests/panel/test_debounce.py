"""The input debouncer: a level counts only once it has held for the stable time."""

from edge.panel.debounce import Debouncer


def test_a_level_that_holds_for_the_stable_time_is_reported_once():
    d = Debouncer(stable_s=0.05, level=False)
    assert d.sample(True, now=10.0) is None
    assert d.due() == 10.05
    assert d.sample(True, now=10.049) is None
    assert d.sample(True, now=10.05) is True
    assert d.level is True
    assert d.due() is None
    assert d.sample(True, now=11.0) is None  # no repeat


def test_bounces_shorter_than_the_stable_time_are_ignored():
    d = Debouncer(stable_s=0.05, level=False)
    for i in range(10):  # a contact chattering every 10 ms
        assert d.sample(i % 2 == 0, now=i * 0.01) is None
    assert d.sample(False, now=0.2) is None  # settled back where it was: nothing happened
    assert d.level is False
    assert d.due() is None


def test_the_level_a_bouncing_contact_settles_on_is_never_missed():
    d = Debouncer(stable_s=0.05, level=False)
    for i, raw in enumerate([True, False, True, False, True]):
        d.sample(raw, now=i * 0.01)
    # the last edge was at 0.04: stable from then on
    assert d.due() == 0.04 + 0.05
    assert d.sample(True, now=0.04 + 0.05) is True


def test_release_is_debounced_too():
    d = Debouncer(stable_s=0.02, level=True)
    assert d.sample(False, now=1.0) is None
    assert d.sample(False, now=1.02) is False


def test_zero_stable_time_reports_at_once():
    d = Debouncer(stable_s=0.0, level=False)
    assert d.sample(True, now=5.0) is True

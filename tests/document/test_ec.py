"""EC points for PACE: OpenSSL's multiplication with the y recovered must equal plain point arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.document import ec
from edge.document.errors import AccessControlError

OPENSSL_IDS = (12, 13)  # NIST P-256, brainpoolP256r1: the curves passports use most
scalars = st.integers(min_value=1, max_value=2**256)


@pytest.mark.parametrize("parameter_id", OPENSSL_IDS)
@settings(max_examples=25, deadline=None)
@given(k=scalars, m=scalars)
def test_openssl_multiplication_equals_pure_python(parameter_id, k, m):
    fast, slow = ec.group_for(parameter_id), ec.pure_python_group(parameter_id)
    assert isinstance(fast, ec.OpenSSLGroup)
    if k % fast.order == 0 or m % fast.order == 0:
        return
    point = slow.base(m)
    assert fast.base(m) == point
    key = fast.private_key(k)
    product = key.multiply(point)
    assert product == slow.private_key(k).multiply(point)
    assert key.shared_x(point) == product[0]
    assert fast.contains(product)


@pytest.mark.parametrize("parameter_id", OPENSSL_IDS)
def test_addition_agrees_with_multiplication(parameter_id):
    group = ec.group_for(parameter_id)
    g = group.generator
    assert group.add(g, g) == group.base(2)  # doubling
    assert group.add(group.base(2), g) == group.base(3)
    assert group.add(group.base(5), group.negate(group.base(2))) == group.base(3)


@pytest.mark.parametrize("parameter_id", OPENSSL_IDS)
def test_the_generator_and_its_negative_are_multiplied_too(parameter_id):
    group = ec.group_for(parameter_id)
    key = group.private_key(7)
    assert key.multiply(group.generator) == group.base(7)
    assert key.multiply(group.negate(group.generator)) == group.negate(group.base(7))


@pytest.mark.parametrize("parameter_id", OPENSSL_IDS)
def test_the_point_at_infinity_and_points_off_the_curve_are_refused(parameter_id):
    group = ec.group_for(parameter_id)
    g = group.generator
    with pytest.raises(AccessControlError, match="infinity"):
        group.add(g, group.negate(g))
    with pytest.raises(AccessControlError, match="order"):
        group.private_key(group.order)
    off_curve = (g[0], (g[1] + 1) % group.p)
    assert not group.contains(off_curve)
    with pytest.raises(AccessControlError, match="not on"):
        group.private_key(3).multiply(off_curve)
    with pytest.raises(AccessControlError, match="not on"):
        ec.pure_python_group(parameter_id).private_key(3).multiply(off_curve)


def test_every_standardized_curve_has_a_group_with_its_generator_on_it():
    for parameter_id in ec.STANDARDIZED_IDS:
        group = ec.group_for(parameter_id)
        assert group.contains(group.generator)
        assert group.private_key(2).multiply(group.base(3)) == group.base(6)

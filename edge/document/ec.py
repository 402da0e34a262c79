"""Elliptic-curve points for PACE: scalar multiplication by OpenSSL, point addition in a few lines here.

PACE's generic mapping needs whole points (G~ = s·G + H, then keys on G~), but `cryptography` offers only
k·G (deriving a public key) and the x-coordinate of k·P (ECDH). A whole k·P is recovered from those with
one more ECDH: with T = k·G known, ECDH on P + G gives x(k·P + T), and the y of k·P follows from the
chord through k·P and T (see `_y_from_sum`). On P-256 that is ~0.2 ms against ~2 ms in pure Python.

Curves that `cryptography` has no name for (brainpoolP192r1, P224r1, P320r1) fall back to the pure-Python
`ecdsa` package: about ten times slower, and NOT constant-time (the terminal's keys are ephemeral, one
session, never stored, so timing leaks matter little there). The domain parameters (p, a, b, G, n) always
come from `ecdsa.curves`, so no curve constant is typed in here.

    group = group_for(12)                          # BSI TR-03110 standardized domain parameters id
    key = group.private_key(k)                     # k·G computed once, kept as `key.public`
    point = key.multiply(peer)                     # k·peer, a whole affine point (x, y)
    secret = key.shared_x(peer)                    # x of k·peer (ECDH)
    total = group.add(group.base(s), point)

Points are affine (x, y) tuples of ints; the point at infinity is never a value: producing it raises
AccessControlError (a chip that steers the protocol there is broken or hostile).
"""

from __future__ import annotations

import functools

import ecdsa
from cryptography.hazmat.primitives.asymmetric import ec
from ecdsa.ellipticcurve import PointJacobi

from edge.document.errors import AccessControlError

Point = tuple[int, int]

# BSI TR-03110-3 standardized domain parameters (the EC ones) and, where it has them, `cryptography`'s curve.
_CURVES: dict[int, tuple[ecdsa.curves.Curve, type[ec.EllipticCurve] | None]] = {
    8: (ecdsa.NIST192p, ec.SECP192R1),
    9: (ecdsa.BRAINPOOLP192r1, None),
    10: (ecdsa.NIST224p, ec.SECP224R1),
    11: (ecdsa.BRAINPOOLP224r1, None),
    12: (ecdsa.NIST256p, ec.SECP256R1),
    13: (ecdsa.BRAINPOOLP256r1, ec.BrainpoolP256R1),
    14: (ecdsa.BRAINPOOLP320r1, None),
    15: (ecdsa.NIST384p, ec.SECP384R1),
    16: (ecdsa.BRAINPOOLP384r1, ec.BrainpoolP384R1),
    17: (ecdsa.BRAINPOOLP512r1, ec.BrainpoolP512R1),
    18: (ecdsa.NIST521p, ec.SECP521R1),
}
STANDARDIZED_IDS = tuple(_CURVES)


class Group:
    """One curve's points: membership, addition, and private keys (scalars) that multiply."""

    def __init__(self, curve: ecdsa.curves.Curve) -> None:
        self.name = curve.name
        self.p = curve.curve.p()
        self.a = curve.curve.a() % self.p
        self.b = curve.curve.b() % self.p
        self.order = curve.order
        self.generator: Point = (curve.generator.x(), curve.generator.y())
        self.coordinate_length = (self.p.bit_length() + 7) // 8

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"

    def contains(self, point: Point) -> bool:
        x, y = point
        p = self.p
        return 0 <= x < p and 0 <= y < p and (y * y - (x * x * x + self.a * x + self.b)) % p == 0

    def negate(self, point: Point) -> Point:
        return point[0], (-point[1]) % self.p

    def add(self, first: Point, second: Point) -> Point:
        """first + second (affine chord-and-tangent); AccessControlError when the sum is the point at infinity."""
        (x1, y1), (x2, y2) = first, second
        p = self.p
        if x1 == x2:
            if (y1 + y2) % p == 0:
                raise AccessControlError("point sum is the point at infinity")
            slope = (3 * x1 * x1 + self.a) * pow(2 * y1, -1, p) % p
        else:
            slope = (y2 - y1) * pow(x2 - x1, -1, p) % p
        x3 = (slope * slope - x1 - x2) % p
        return x3, (slope * (x1 - x3) - y1) % p

    def scalar(self, k: int) -> int:
        k %= self.order
        if k == 0:
            raise AccessControlError("scalar is a multiple of the group order")
        return k

    def base(self, k: int) -> Point:
        """k·G."""
        return self.private_key(k).public

    def private_key(self, k: int) -> PrivateKey:
        raise NotImplementedError

    def _y_from_sum(self, known: Point, x: int, x_sum: int) -> int:
        """The y of the point Q = (x, y) whose sum with `known` has x-coordinate `x_sum`.

        With λ the chord's slope, x_sum = λ² - x1 - x, λ = (y - y1)/(x - x1), so
        (x_sum + x1 + x)(x - x1)² = y² - 2·y1·y + y1², and y² and y1² are the curve equation's:
        y = (x1³ + x³ + a(x1 + x) + 2b - (x_sum + x1 + x)(x - x1)²) / (2·y1). Needs x != x1."""
        x1, y1 = known
        p = self.p
        numerator = x1**3 + x**3 + self.a * (x1 + x) + 2 * self.b - (x_sum + x1 + x) * (x - x1) ** 2
        return numerator * pow(2 * y1, -1, p) % p


class PrivateKey:
    """A scalar k with its public point k·G; multiplies other points by k."""

    def __init__(self, group: Group, k: int) -> None:
        self.group = group
        self.k = group.scalar(k)

    @property
    def public(self) -> Point:
        raise NotImplementedError

    def shared_x(self, point: Point) -> int:
        """x of k·point (ECDH)."""
        raise NotImplementedError

    def multiply(self, point: Point) -> Point:
        """k·point, whole."""
        group, public = self.group, self.public
        if point == group.generator:
            return public
        if point == group.negate(group.generator):
            return group.negate(public)
        # point != ±G, so k·point != ±k·G: the chord through k·point and k·G is defined.
        x = self.shared_x(point)
        x_sum = self.shared_x(group.add(point, group.generator))  # x(k·point + k·G)
        result = (x, group._y_from_sum(public, x, x_sum))
        if not group.contains(result):  # cannot happen for points on the curve; never hand out a wrong one
            raise AccessControlError("scalar multiplication left the curve")
        return result


# --- OpenSSL through `cryptography` -------------------------------------------------------------------------


class OpenSSLGroup(Group):
    def __init__(self, curve: ecdsa.curves.Curve, openssl_curve: type[ec.EllipticCurve]) -> None:
        super().__init__(curve)
        self.openssl_curve = openssl_curve()

    def private_key(self, k: int) -> PrivateKey:
        return _OpenSSLKey(self, k)

    def public_key(self, point: Point) -> ec.EllipticCurvePublicKey:
        try:
            return ec.EllipticCurvePublicNumbers(point[0], point[1], self.openssl_curve).public_key()
        except ValueError as exc:  # not on the curve
            raise AccessControlError(f"point is not on {self.name}") from exc


class _OpenSSLKey(PrivateKey):
    group: OpenSSLGroup

    def __init__(self, group: OpenSSLGroup, k: int) -> None:
        super().__init__(group, k)
        self._key = ec.derive_private_key(self.k, group.openssl_curve)  # computes k·G
        numbers = self._key.public_key().public_numbers()
        self._public = (numbers.x, numbers.y)

    @property
    def public(self) -> Point:
        return self._public

    def shared_x(self, point: Point) -> int:
        return int.from_bytes(self._key.exchange(ec.ECDH(), self.group.public_key(point)), "big")


# --- pure Python (`ecdsa`), for the curves OpenSSL's binding has no name for ------------------------------------


class PurePythonGroup(Group):
    def __init__(self, curve: ecdsa.curves.Curve) -> None:
        super().__init__(curve)
        self.curve = curve

    def private_key(self, k: int) -> PrivateKey:
        return _PurePythonKey(self, k)

    def jacobi(self, point: Point) -> PointJacobi:
        if not self.contains(point):
            raise AccessControlError(f"point is not on {self.name}")
        return PointJacobi(self.curve.curve, point[0], point[1], 1, self.order)


class _PurePythonKey(PrivateKey):
    group: PurePythonGroup

    @functools.cached_property
    def public(self) -> Point:
        return self._times(self.group.curve.generator)

    def shared_x(self, point: Point) -> int:
        return self._times(self.group.jacobi(point))[0]

    def multiply(self, point: Point) -> Point:
        return self._times(self.group.jacobi(point))

    def _times(self, point: PointJacobi) -> Point:
        product = point * self.k
        if product == ecdsa.ellipticcurve.INFINITY:
            raise AccessControlError("product is the point at infinity")
        return product.x(), product.y()


@functools.cache
def group_for(parameter_id: int) -> Group:
    """The group of a standardized domain-parameter id (KeyError for an unknown one)."""
    curve, openssl_curve = _CURVES[parameter_id]
    return OpenSSLGroup(curve, openssl_curve) if openssl_curve is not None else PurePythonGroup(curve)


def pure_python_group(parameter_id: int) -> PurePythonGroup:
    """The same group on the pure-Python arithmetic (tests compare the two)."""
    return PurePythonGroup(_CURVES[parameter_id][0])

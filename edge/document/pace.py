"""PACE with generic mapping over ECDH (ICAO 9303-11 §4.4, BSI TR-03110), terminal and chip as pure state.

Terminal, with the APDUs the session sends (GENERAL AUTHENTICATE is chained: CLA 10 until the last step):

    t = PACETerminal(params, password=PACEPassword.from_mrz(info) | .from_can("123456"), rng=os.urandom)
    t.set_at()                    -> MSE:SET AT
    t.step1()                     -> GA 7C00                   (chip: 7C 80 z, the encrypted nonce)
    t.step2(response)             -> GA 7C 81 PK_map,PCD       (chip: 7C 82 PK_map,PICC)
    t.step3(response)             -> GA 7C 83 PK_PCD           (chip: 7C 84 PK_PICC)
    t.step4(response)             -> GA 7C 85 T_PCD            (chip: 7C 86 T_PICC)
    sm = t.finish(response)       -> SecureMessaging (SSC 0)
    t.verify_chip_authentication_mapping(dg14_key)   (PACE-CAM only, once DG14 is read)

Mapping: G~ = s·G + H with H = SK_map,PCD · PK_map,PICC, a whole point: edge.document.ec multiplies on
OpenSSL and adds the points (pure Python, ecdsa, only for the curves OpenSSL's binding has no name for).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from edge.document import tlv
from edge.document.apdu import CommandAPDU
from edge.document.crypto import (
    AES128,
    AES192,
    AES256,
    DES3,
    PACE_COUNTER,
    CipherSuite,
    aes_ecb_encrypt,
    constant_time_equal,
    pad,
    unpad,
)
from edge.document.ec import STANDARDIZED_IDS, Group, Point, PrivateKey, group_for
from edge.document.errors import AccessControlError, MalformedData, SecureMessagingError
from edge.document.securityinfo import ID_PACE, PACEInfo, encode_oid, encode_pace_info, encode_security_infos
from edge.document.sm import SecureMessaging

CURVE_NAMES = {"P-256": 12, "secp256r1": 12, "NIST P-256": 12, "brainpoolP256r1": 13, "P-384": 15,
               "brainpoolP384r1": 16, "P-224": 10, "brainpoolP224r1": 11, "brainpoolP320r1": 14,
               "brainpoolP512r1": 17, "P-521": 18}
ECDH_GM = ID_PACE + ".2"
ECDH_CAM = ID_PACE + ".6"  # Chip Authentication Mapping: generic mapping + proof of the chip's static key
SUITES = {1: DES3, 2: AES128, 3: AES192, 4: AES256}
CIPHER_NAMES = {"3DES": 1, "AES-128": 2, "AES-192": 3, "AES-256": 4}

PASSWORD_MRZ = 1
PASSWORD_CAN = 2


class PACEReferenceError(AccessControlError):
    """The chip does not know the protocol, parameters or password type asked for."""


@dataclass(frozen=True)
class PACEParameters:
    protocol: str  # e.g. 0.4.0.127.0.7.2.2.4.2.2 = id-PACE-ECDH-GM-AES-CBC-CMAC-128
    parameter_id: int

    @property
    def supported(self) -> bool:
        family = self.protocol.rsplit(".", 1)[0]
        if family == ECDH_CAM and self._suite_code == 1:
            return False  # CAM is defined for AES only
        return family in (ECDH_GM, ECDH_CAM) and self._suite_code in SUITES and self.parameter_id in STANDARDIZED_IDS

    @property
    def chip_authentication_mapping(self) -> bool:
        return self.protocol.rsplit(".", 1)[0] == ECDH_CAM

    @property
    def _suite_code(self) -> int:
        try:
            return int(self.protocol.rsplit(".", 1)[1])
        except ValueError:
            return 0

    @property
    def suite(self) -> CipherSuite:
        return SUITES[self._suite_code]

    @property
    def group(self) -> Group:
        return group_for(self.parameter_id)

    @classmethod
    def named(cls, curve: str = "brainpoolP256r1", cipher: str = "AES-128", mapping: str = "GM") -> PACEParameters:
        family = {"GM": ECDH_GM, "CAM": ECDH_CAM}[mapping]
        return cls(f"{family}.{CIPHER_NAMES[cipher]}", CURVE_NAMES[curve])


def choose_parameters(infos: list, preferred: tuple[int, ...] = (13, 12)) -> PACEParameters | None:
    """The PACEInfo of EF.CardAccess we can run (ECDH generic mapping), preferring the given curves."""
    candidates = [
        PACEParameters(info.protocol, info.parameter_id)
        for info in infos
        if isinstance(info, PACEInfo) and info.parameter_id is not None
    ]
    candidates = [c for c in candidates if c.supported]
    # CAM first (it authenticates the chip as part of PACE), then the preferred curves, then the longer key.
    candidates.sort(key=lambda c: (not c.chip_authentication_mapping,
                                   preferred.index(c.parameter_id) if c.parameter_id in preferred else 99,
                                   -c.suite.key_bits))
    return candidates[0] if candidates else None


def card_access_for(curve: str = "brainpoolP256r1", cipher: str = "AES-128", mapping: str = "GM") -> bytes:
    """EF.CardAccess announcing one PACE protocol (the simulator's default)."""
    params = PACEParameters.named(curve, cipher, mapping)
    return encode_security_infos([encode_pace_info(PACEInfo(params.protocol, 2, params.parameter_id))])


@dataclass(frozen=True, repr=False)
class PACEPassword:
    reference: int  # 1 = MRZ, 2 = CAN
    secret: bytes  # SHA-1(MRZ_information) or the CAN's ASCII digits

    def __repr__(self) -> str:
        return f"PACEPassword({'MRZ' if self.reference == PASSWORD_MRZ else 'CAN'})"

    @classmethod
    def from_mrz(cls, mrz_information: str) -> PACEPassword:
        return cls(PASSWORD_MRZ, hashlib.sha1(mrz_information.encode("ascii")).digest())

    @classmethod
    def from_can(cls, can: str) -> PACEPassword:
        return cls(PASSWORD_CAN, can.encode("ascii"))

    def key(self, suite: CipherSuite) -> bytes:
        return suite.derive(self.secret, PACE_COUNTER)


# --- points on the wire ------------------------------------------------------------------------------------


def encode_point(group: Group, point: Point) -> bytes:
    size = group.coordinate_length
    return b"\x04" + point[0].to_bytes(size, "big") + point[1].to_bytes(size, "big")


def decode_point(group: Group, data: bytes) -> Point:
    """An uncompressed point that must lie on the curve (the point at infinity has no such encoding)."""
    size = group.coordinate_length
    if len(data) != 1 + 2 * size or data[0] != 0x04:
        raise AccessControlError("public key is not an uncompressed point of the right size")
    point = (int.from_bytes(data[1 : 1 + size], "big"), int.from_bytes(data[1 + size :], "big"))
    if not group.contains(point):
        raise AccessControlError("public key is not on the curve")
    return point


def random_key(group: Group, rng: Callable[[int], bytes]) -> PrivateKey:
    order = group.order
    return group.private_key(int.from_bytes(rng((order.bit_length() + 7) // 8 + 8), "big") % (order - 1) + 1)


def _x_coordinate(group: Group, x: int) -> bytes:
    return x.to_bytes(group.coordinate_length, "big")


def _map_generator(group: Group, nonce: bytes, shared: Point) -> Point:
    """G~ = s·G + H."""
    return group.add(group.base(int.from_bytes(nonce, "big")), shared)


def _public_key_object(protocol: str, point_bytes: bytes) -> bytes:
    """The public-key data object the authentication tokens are computed over (7F49 {06 OID, 86 point})."""
    return tlv.encode(0x7F49, tlv.encode(0x06, encode_oid(protocol)) + tlv.encode(0x86, point_bytes))


def token(params: PACEParameters, ks_mac: bytes, other_public_key: bytes) -> bytes:
    return params.suite.mac(ks_mac, _public_key_object(params.protocol, other_public_key))


def _cam_iv(suite: CipherSuite, ks_enc: bytes) -> bytes:
    """CAM encrypts CA_IC in CBC with IV = E(KSenc, -1), i.e. the all-ones block."""
    return aes_ecb_encrypt(ks_enc, b"\xff" * suite.block_size)


def _cam_encrypt(suite: CipherSuite, ks_enc: bytes, data: bytes) -> bytes:
    return suite.encrypt(ks_enc, pad(data, suite.block_size), _cam_iv(suite, ks_enc))


def _cam_decrypt(suite: CipherSuite, ks_enc: bytes, data: bytes) -> bytes:
    if not data or len(data) % suite.block_size:
        raise AccessControlError("encrypted chip authentication data is not whole cipher blocks")
    try:
        return unpad(suite.decrypt(ks_enc, data, _cam_iv(suite, ks_enc)))
    except SecureMessagingError as exc:
        raise AccessControlError("encrypted chip authentication data: bad padding") from exc


def _dynamic_auth(tag: int, value: bytes) -> bytes:
    return tlv.encode(0x7C, tlv.encode(tag, value))


def _parse_dynamic_auth(data: bytes, tag: int) -> bytes:
    try:
        template = tlv.expect(data, 0x7C)
        items = tlv.decode_all(template)
    except MalformedData as exc:
        raise AccessControlError(f"GENERAL AUTHENTICATE data: {exc}") from exc
    for item in items:
        if item.tag == tag:
            return item.value
    raise AccessControlError(f"GENERAL AUTHENTICATE data without tag {tag:X}")


def _general_authenticate(data: bytes, last: bool) -> CommandAPDU:
    return CommandAPDU(0x00 if last else 0x10, 0x86, 0x00, 0x00, data, ne=256)


def set_at(params: PACEParameters, password: PACEPassword, include_parameter_id: bool = True) -> CommandAPDU:
    data = tlv.encode(0x80, encode_oid(params.protocol)) + tlv.encode(0x83, bytes([password.reference]))
    if include_parameter_id:
        data += tlv.encode(0x84, bytes([params.parameter_id]))
    return CommandAPDU(0x00, 0x22, 0xC1, 0xA4, data)


# --- terminal ------------------------------------------------------------------------------------------------


class PACETerminal:
    def __init__(self, params: PACEParameters, password: PACEPassword,
                 rng: Callable[[int], bytes] = os.urandom) -> None:
        if not params.supported:
            raise PACEReferenceError(f"PACE {params.protocol} with parameters {params.parameter_id} not supported")
        self.params = params
        self.password = password
        self.rng = rng
        self.group = params.group
        self.nonce: bytes | None = None
        self._map_key: PrivateKey | None = None
        self._generator: Point | None = None
        self._eph_key: PrivateKey | None = None
        self.public_key: bytes | None = None
        self.chip_public_key: bytes | None = None
        self.ks_enc: bytes | None = None
        self.ks_mac: bytes | None = None
        self.chip_mapping_key: bytes | None = None  # PK_map,IC: CAM proves the chip's static key against it
        self.chip_authentication_data: int | None = None  # CA_IC, recovered from DO8A (CAM only)

    def set_at(self) -> CommandAPDU:
        return set_at(self.params, self.password)

    def step1(self) -> CommandAPDU:
        return _general_authenticate(b"\x7c\x00", last=False)

    def step2(self, response: bytes, *, mapping_key: int | None = None) -> CommandAPDU:
        """Decrypt the nonce; send the mapping public key. `mapping_key` is for test vectors only."""
        encrypted = _parse_dynamic_auth(response, 0x80)
        suite = self.params.suite
        if not encrypted or len(encrypted) % suite.block_size:
            raise AccessControlError("encrypted nonce is not whole cipher blocks")
        self.nonce = suite.decrypt(self.password.key(suite), encrypted)
        self._map_key = self.group.private_key(mapping_key) if mapping_key else random_key(self.group, self.rng)
        public = encode_point(self.group, self._map_key.public)
        return _general_authenticate(_dynamic_auth(0x81, public), last=False)

    def step3(self, response: bytes, *, ephemeral_key: int | None = None) -> CommandAPDU:
        self.chip_mapping_key = _parse_dynamic_auth(response, 0x82)
        chip_map = decode_point(self.group, self.chip_mapping_key)
        assert self.nonce is not None and self._map_key is not None
        self._generator = _map_generator(self.group, self.nonce, self._map_key.multiply(chip_map))
        self._eph_key = self.group.private_key(ephemeral_key) if ephemeral_key else random_key(self.group, self.rng)
        self.public_key = encode_point(self.group, self._eph_key.multiply(self._generator))
        return _general_authenticate(_dynamic_auth(0x83, self.public_key), last=False)

    def step4(self, response: bytes) -> CommandAPDU:
        chip_public = _parse_dynamic_auth(response, 0x84)
        if chip_public == self.public_key:
            raise AccessControlError("chip echoed the terminal's public key")
        point = decode_point(self.group, chip_public)
        assert self._eph_key is not None
        secret = _x_coordinate(self.group, self._eph_key.shared_x(point))
        suite = self.params.suite
        self.ks_enc, self.ks_mac = suite.derive(secret, 1), suite.derive(secret, 2)
        self.chip_public_key = chip_public
        return _general_authenticate(_dynamic_auth(0x85, token(self.params, self.ks_mac, chip_public)), last=True)

    def finish(self, response: bytes) -> SecureMessaging:
        chip_token = _parse_dynamic_auth(response, 0x86)
        assert self.ks_mac is not None and self.ks_enc is not None and self.public_key is not None
        if not constant_time_equal(chip_token, token(self.params, self.ks_mac, self.public_key)):
            raise AccessControlError("chip's authentication token does not verify")
        if self.params.chip_authentication_mapping:
            encrypted = _parse_dynamic_auth(response, 0x8A)
            plain = _cam_decrypt(self.params.suite, self.ks_enc, encrypted)
            self.chip_authentication_data = int.from_bytes(plain, "big")
        return SecureMessaging(self.params.suite, self.ks_enc, self.ks_mac, 0)

    def verify_chip_authentication_mapping(self, static_public_key) -> bool:
        """CAM (9303-11 §4.4.3.5.2): PK_map,IC == CA_IC · PK_IC, with PK_IC the chip's static key from DG14
        (a `cryptography` EC public key). Only meaningful once passive authentication vouches for DG14."""
        if self.chip_authentication_data is None or self.chip_mapping_key is None:
            return False
        try:
            numbers = static_public_key.public_numbers()
            static = (numbers.x, numbers.y)
            if not self.group.contains(static):
                return False  # an EC key, but not on the PACE curve
            ca = self.chip_authentication_data % self.group.order
            if ca == 0:
                return False
            product = self.group.private_key(ca).multiply(static)
        except (AttributeError, AccessControlError):
            return False  # not an EC key, or one that only multiplies to the point at infinity
        return constant_time_equal(encode_point(self.group, product), self.chip_mapping_key)


# --- chip ----------------------------------------------------------------------------------------------------


class PACEChip:
    """The chip's half, driven by the GENERAL AUTHENTICATE data fields (for the simulator)."""

    def __init__(self, params: PACEParameters, password: PACEPassword, rng: Callable[[int], bytes] = os.urandom,
                 static_private_key=None):
        if params.chip_authentication_mapping and static_private_key is None:
            raise PACEReferenceError("CAM needs the chip's static (Chip Authentication) private key")
        self.static_private_key = static_private_key
        self.params = params
        self.password = password
        self.rng = rng
        self.group = params.group
        self.stage = 1
        self.nonce = b""
        self._map_key: PrivateKey | None = None
        self._eph_key: PrivateKey | None = None
        self._generator: Point | None = None
        self.public_key = b""
        self.terminal_public_key = b""

    @classmethod
    def from_set_at(cls, data: bytes, *, offers: list[PACEParameters], mrz_information: str | None,
                    can: str | None, rng: Callable[[int], bytes] = os.urandom,
                    static_private_key=None) -> PACEChip:
        """Accept MSE:SET AT for one of the chip's `offers` (what its EF.CardAccess announces)."""
        try:
            items = {item.tag: item.value for item in tlv.decode_all(data)}
        except MalformedData as exc:
            raise PACEReferenceError("MSE:SET AT data malformed") from exc
        matching = [p for p in offers if items.get(0x80) == encode_oid(p.protocol)]
        if 0x84 in items:
            matching = [p for p in matching if items[0x84] == bytes([p.parameter_id])]
        if not matching:
            raise PACEReferenceError("protocol or domain parameters not supported")
        reference = items.get(0x83, b"")
        if reference == bytes([PASSWORD_MRZ]) and mrz_information:
            password = PACEPassword.from_mrz(mrz_information)
        elif reference == bytes([PASSWORD_CAN]) and can:
            password = PACEPassword.from_can(can)
        else:
            raise PACEReferenceError("password reference not available")
        return cls(matching[0], password, rng, static_private_key)

    def step(self, data: bytes) -> tuple[bytes, SecureMessaging | None]:
        suite = self.params.suite
        if self.stage == 1:
            if tlv.expect(data, 0x7C) != b"":
                raise AccessControlError("step 1 must be empty")
            self.nonce = self.rng(suite.block_size * (2 if suite.block_size == 8 else 1))
            self.stage = 2
            return _dynamic_auth(0x80, suite.encrypt(self.password.key(suite), self.nonce)), None
        if self.stage == 2:
            terminal_map = decode_point(self.group, _parse_dynamic_auth(data, 0x81))
            self._map_key = random_key(self.group, self.rng)
            self._generator = _map_generator(self.group, self.nonce, self._map_key.multiply(terminal_map))
            self.stage = 3
            return _dynamic_auth(0x82, encode_point(self.group, self._map_key.public)), None
        if self.stage == 3:
            self.terminal_public_key = _parse_dynamic_auth(data, 0x83)
            point = decode_point(self.group, self.terminal_public_key)
            assert self._generator is not None
            self._eph_key = random_key(self.group, self.rng)
            self.public_key = encode_point(self.group, self._eph_key.multiply(self._generator))
            secret = _x_coordinate(self.group, self._eph_key.shared_x(point))
            self.ks_enc, self.ks_mac = suite.derive(secret, 1), suite.derive(secret, 2)
            self.stage = 4
            return _dynamic_auth(0x84, self.public_key), None
        if self.stage == 4:
            terminal_token = _parse_dynamic_auth(data, 0x85)
            if not constant_time_equal(terminal_token, token(self.params, self.ks_mac, self.public_key)):
                raise AccessControlError("terminal's authentication token does not verify")
            self.stage = 5
            response = _dynamic_auth(0x86, token(self.params, self.ks_mac, self.terminal_public_key))
            if self.params.chip_authentication_mapping:
                # CA_IC = SK_IC^-1 · SK_map,IC mod n, sent encrypted in DO8A after the token.
                order = self.group.order
                secret = self.static_private_key.private_numbers().private_value
                assert self._map_key is not None
                ca = (pow(secret, -1, order) * self._map_key.k) % order
                encrypted = _cam_encrypt(suite, self.ks_enc, ca.to_bytes((order.bit_length() + 7) // 8, "big"))
                response = tlv.encode(0x7C, tlv.expect(response, 0x7C) + tlv.encode(0x8A, encrypted))
            return response, SecureMessaging(suite, self.ks_enc, self.ks_mac, 0)
        raise AccessControlError("PACE already finished")

"""Issue test identity cards (TD1) and passports (TD3), genuine or forged, from a test PKI.

    pki = TestPKI(seed=3)
    card = issue_document(pki, kind="TD1", seed=3)                       # genuine, BAC + PACE, ECDSA AA
    fake = issue_document(pki, kind="TD3", seed=4, defect="tampered_dg1")
    card.save("/tmp/card")                                               # for `echannel sim card --document`

A document is what a chip holds (its files, its secret AA / CA keys) plus what is printed on it (the MRZ,
the CAN). Forged variants are made the way a forger would make them, so each one trips exactly one check:

    tampered_dg1        the name is changed in DG1 and in the printed MRZ after signing (DG1 hash mismatch)
    tampered_dg2        the portrait is replaced after signing (DG2 hash mismatch)
    bad_sod_signature   EF.SOD's signature is corrupted
    unknown_csca        signed by a Document Signer whose CSCA the gate does not trust
    revoked_signer      signed by a Document Signer on the CSCA's CRL
    expired_signer      signed by a Document Signer whose certificate has expired
    signer_not_yet_valid  signed by a Document Signer whose certificate is not valid yet
    expired_document    a genuine document past its date of expiry
    cloned_chip         every file copied to a chip that lacks the original's Active Authentication key

Everything is derived from the seed except ECDSA signatures (randomised by the library).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from simulators.card import lds_files
from simulators.card.pki import PrivateKey, TestPKI, derive_int, ec_key, rsa_key, signed_data

DEFECTS: tuple[str, ...] = (
    "tampered_dg1",
    "tampered_dg2",
    "bad_sod_signature",
    "unknown_csca",
    "revoked_signer",
    "expired_signer",
    "signer_not_yet_valid",
    "expired_document",
    "cloned_chip",
)
_SIGNER_FOR_DEFECT = {
    "unknown_csca": "unknown_csca",
    "revoked_signer": "revoked",
    "expired_signer": "expired",
    "signer_not_yet_valid": "not_yet_valid",
}

Kind = Literal["TD1", "TD3"]
PORTRAIT_MAX_SIZE = (480, 640)  # width, height: larger pictures are scaled down before encoding
_SURNAMES = ("ERIKSSON", "DE<LA<CRUZ", "OKONKWO", "NAKAMURA", "SILVA", "MUELLER", "NOVAK", "HAAS", "KOWALSKA")
_GIVEN = ("ANNA<MARIA", "JUAN", "CHIDI", "YUKI", "PEDRO<LUIS", "KLARA", "IVAN", "LENA", "ZOFIA")


# --- MRZ (ICAO 9303-3/4/5) -------------------------------------------------------------------------------


def check_digit(field_text: str) -> str:
    """7-3-1 weighted check digit; written here independently of edge.document.mrz so each checks the other."""
    total = 0
    for i, char in enumerate(field_text):
        if char.isdigit():
            value = int(char)
        elif "A" <= char <= "Z":
            value = ord(char) - 55
        elif char == "<":
            value = 0
        else:
            raise ValueError(f"character {char!r} is not allowed in an MRZ")
        total += value * (7, 3, 1)[i % 3]
    return str(total % 10)


def _fit(text: str, width: int) -> str:
    return text[:width].ljust(width, "<")


@dataclass(frozen=True)
class Holder:
    """The personal data printed on a test document (all invented)."""

    surname: str
    given_names: str
    document_number: str  # 9 characters, filler '<' allowed
    birth_date: dt.date
    expiry_date: dt.date
    sex: str = "<"
    nationality: str = "UTO"
    issuing_state: str = "UTO"
    optional_data: str = ""

    def name_field(self, width: int) -> str:
        return _fit(f"{self.surname}<<{self.given_names}", width)

    def mrz(self, kind: Kind) -> str:
        number = _fit(self.document_number, 9)
        birth = lds_files.mrz_date(self.birth_date)
        expiry = lds_files.mrz_date(self.expiry_date)
        if kind == "TD3":
            line1 = "P<" + self.issuing_state + self.name_field(39)
            optional = _fit(self.optional_data, 14)
            optional_cd = check_digit(optional) if self.optional_data else "<"
            line2 = (
                number
                + check_digit(number)
                + self.nationality
                + birth
                + check_digit(birth)
                + self.sex
                + expiry
                + check_digit(expiry)
                + optional
                + optional_cd
            )
            composite = line2[0:10] + line2[13:20] + line2[21:43]
            return line1 + "\n" + line2 + check_digit(composite)
        line1 = "I<" + self.issuing_state + number + check_digit(number) + _fit(self.optional_data, 15)
        line2 = birth + check_digit(birth) + self.sex + expiry + check_digit(expiry) + self.nationality + "<" * 11
        composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
        return line1 + "\n" + line2 + check_digit(composite) + "\n" + self.name_field(30)


def random_holder(seed: int | str, *, today: dt.date | None = None, expired: bool = False) -> Holder:
    rng = random.Random(derive_int(seed, "holder"))
    today = today or dt.date.today()
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    body = "".join(rng.choice("0123456789" + letters) for _ in range(7))
    number = rng.choice(letters) + body + rng.choice("0123456789")
    birth = dt.date(rng.randrange(1950, 2005), rng.randrange(1, 13), rng.randrange(1, 29))
    if expired:
        expiry = today - dt.timedelta(days=rng.randrange(30, 700))
    else:
        expiry = today + dt.timedelta(days=rng.randrange(200, 3000))
    return Holder(
        surname=rng.choice(_SURNAMES),
        given_names=rng.choice(_GIVEN),
        document_number=number,
        birth_date=birth,
        expiry_date=expiry,
        sex=rng.choice("MF<"),
    )


# --- portrait ------------------------------------------------------------------------------------------------


def synthetic_portrait(seed: int | str = 0, width: int = 360, height: int = 480) -> np.ndarray:
    """A drawn head-and-shoulders picture with sensor-like noise (BGR). Stands in when no face image is given;
    a real face (`--face IMAGE`) is needed wherever a face matcher looks at it."""
    rng = np.random.default_rng(derive_int(seed, "portrait", 8))
    y = np.mgrid[0:height, 0:width][0]
    image = np.empty((height, width, 3), np.float32)
    image[..., 0] = 200 - 40 * y / height  # pale background gradient (B, G, R)
    image[..., 1] = 205 - 30 * y / height
    image[..., 2] = 210 - 20 * y / height
    cx, cy = width // 2, int(height * 0.42)
    skin = rng.uniform([120, 150, 190], [150, 175, 225])
    cv2.ellipse(
        image,
        (cx, int(height * 1.02)),
        (int(width * 0.45), int(height * 0.3)),
        0,
        180,
        360,
        tuple(rng.uniform(30, 120, 3).tolist()),
        -1,
    )  # shoulders
    cv2.ellipse(image, (cx, cy), (int(width * 0.24), int(height * 0.27)), 0, 0, 360, tuple(skin.tolist()), -1)
    cv2.ellipse(
        image,
        (cx, cy - int(height * 0.12)),
        (int(width * 0.26), int(height * 0.18)),
        0,
        180,
        360,
        tuple(rng.uniform(10, 90, 3).tolist()),
        -1,
    )  # hair
    for side in (-1, 1):
        eye = (cx + side * int(width * 0.09), cy - int(height * 0.03))
        cv2.ellipse(image, eye, (int(width * 0.04), int(height * 0.015)), 0, 0, 360, (240, 240, 240), -1)
        cv2.circle(image, eye, int(width * 0.015), (60, 40, 30), -1)
    cv2.line(image, (cx, cy), (cx - 6, cy + int(height * 0.07)), tuple((skin * 0.7).tolist()), 3)
    cv2.ellipse(
        image, (cx, cy + int(height * 0.13)), (int(width * 0.07), int(height * 0.02)), 0, 0, 180, (70, 60, 150), 3
    )
    image += rng.normal(0, 6, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def portrait_bytes(
    portrait: bytes | np.ndarray | None, *, seed: int | str = 0, fmt: str = "jpeg", max_bytes: int | None = 17_000
) -> bytes:
    """The portrait as stored in DG2: given bytes are used as they are (JPEG / JPEG 2000); an array, or the
    synthetic portrait when None, is encoded at the best quality under `max_bytes` (None: quality 90)."""
    if isinstance(portrait, bytes | bytearray):
        lds_files.image_format(bytes(portrait))
        return bytes(portrait)
    image = synthetic_portrait(seed) if portrait is None else portrait
    height, width = image.shape[:2]
    scale = min(1.0, PORTRAIT_MAX_SIZE[0] / width, PORTRAIT_MAX_SIZE[1] / height)
    if max_bytes is not None and scale < 1.0:  # a camera-sized picture: down to a chip portrait's size
        image = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    return lds_files.encode_portrait(image, fmt, max_bytes)


# --- the document ----------------------------------------------------------------------------------------------


@dataclass
class Document:
    """What a chip holds and what is printed on the document.

    `files` maps LDS names ("COM", "CardAccess", "DG1", "DG2", "DG14", "DG15", "SOD") to their bytes;
    `aa_key` / `ca_key` are the chip's secret keys (for a cloned chip, `aa_key` is not DG15's key).
    """

    kind: Kind
    mrz: str
    can: str
    files: dict[str, bytes]
    aa_key: PrivateKey | None = None
    ca_key: ec.EllipticCurvePrivateKey | None = None
    defect: str | None = None
    signer_status: str = "valid"
    pace_curves: tuple[str, ...] = ("P-256",)
    holder: Holder | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # never print personal data, even of a test document
        return f"Document(kind={self.kind}, defect={self.defect}, files={sorted(self.files)})"

    @property
    def files_by_id(self) -> dict[int, bytes]:
        return {lds_files.FILE_IDS[name]: data for name, data in self.files.items()}

    @property
    def sod_signed_data(self) -> bytes:
        """EF.SOD's CMS ContentInfo without the 0x77 wrapper (what `openssl cms` reads)."""
        from edge.document.tlv import expect

        return expect(self.files["SOD"], 0x77)

    def save(self, directory: str | Path) -> Path:
        """Write the document as a directory the emulator serves (`python -m simulators.card.emulator`)."""
        directory = Path(directory)
        (directory / "files").mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            (directory / "files" / f"{name}.bin").write_bytes(data)
        (directory / "mrz.txt").write_text(self.mrz + "\n")
        meta: dict[str, object] = {
            "kind": self.kind,
            "can": self.can,
            "defect": self.defect,
            "signer_status": self.signer_status,
            "pace_curves": list(self.pace_curves),
            "files": sorted(self.files),
        }
        for label, key in (("aa_key", self.aa_key), ("ca_key", self.ca_key)):
            if key is not None:
                (directory / f"chip-{label}.pem").write_bytes(
                    key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                )
                meta[label] = f"chip-{label}.pem"
        (directory / "document.json").write_text(json.dumps(meta, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Document:
        directory = Path(directory)
        try:
            meta = json.loads((directory / "document.json").read_text())
            files = {name: (directory / "files" / f"{name}.bin").read_bytes() for name in meta["files"]}
            keys: dict[str, PrivateKey | None] = {}
            for label in ("aa_key", "ca_key"):
                path = meta.get(label)
                keys[label] = (
                    serialization.load_pem_private_key((directory / path).read_bytes(), None)  # type: ignore[misc]
                    if path
                    else None
                )
            mrz = (directory / "mrz.txt").read_text().strip()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{directory}: not a simulated document directory ({exc})") from None
        return cls(
            kind=meta["kind"],
            mrz=mrz,
            can=meta["can"],
            files=files,
            aa_key=keys["aa_key"],
            ca_key=keys["ca_key"],  # type: ignore[arg-type]
            defect=meta.get("defect"),
            signer_status=meta.get("signer_status", "valid"),
            pace_curves=tuple(meta.get("pace_curves", ())),
        )


def issue_document(
    pki: TestPKI,
    *,
    kind: Kind = "TD1",
    seed: int | str = 1,
    holder: Holder | None = None,
    portrait: bytes | np.ndarray | None = None,
    portrait_format: str = "jpeg",
    portrait_max_bytes: int | None = 17_000,
    active_authentication: Literal["ecdsa", "rsa"] | None = "ecdsa",
    chip_authentication: bool = False,
    pace_curves: tuple[str, ...] = ("P-256",),
    defect: str | None = None,
) -> Document:
    """Issue one document signed by `pki` (or, for signer defects, by one of its bad signers).

    `pace_curves` empty: no EF.CardAccess (a BAC-only chip). `active_authentication` None: no DG15.
    """
    if defect is not None and defect not in DEFECTS:
        raise ValueError(f"unknown defect {defect!r}; one of {', '.join(DEFECTS)}")
    if kind not in ("TD1", "TD3"):
        raise ValueError(f"unknown document kind {kind!r}; TD1 or TD3")
    holder = holder or random_holder(seed, today=pki.now.date(), expired=defect == "expired_document")
    mrz = holder.mrz(kind)
    can = f"{derive_int(seed, 'can') % 1_000_000:06d}"
    image = portrait_bytes(portrait, seed=seed, fmt=portrait_format, max_bytes=portrait_max_bytes)

    aa_key: PrivateKey | None = None
    if active_authentication == "ecdsa":
        aa_key = ec_key(seed, "aa")
    elif active_authentication == "rsa":
        aa_key = rsa_key(seed, "aa", 1024)
    ca_key = ec_key(seed, "ca") if chip_authentication else None

    groups: dict[int, bytes] = {1: lds_files.dg1(mrz), 2: lds_files.dg2(image)}
    aa_public = aa_key.public_key() if aa_key is not None else None
    if chip_authentication or isinstance(aa_public, ec.EllipticCurvePublicKey):
        groups[14] = lds_files.dg14(aa_public_key=aa_public, ca_public_key=ca_key.public_key() if ca_key else None)
    if aa_public is not None:
        groups[15] = lds_files.dg15(aa_public)

    signer = pki.signer(_SIGNER_FOR_DEFECT.get(defect or "", "valid"))
    lds = lds_files.lds_security_object(groups)
    signing_time = max(signer.certificate.not_valid_before_utc, min(pki.now, signer.certificate.not_valid_after_utc))
    sod = lds_files.ef_sod(
        signed_data(
            lds_files.ID_LDS_SECURITY_OBJECT,
            lds,
            signer.key,
            signer.certificate,
            signing_time,
            corrupt_signature=defect == "bad_sod_signature",
        )
    )

    files = {"COM": lds_files.ef_com(list(groups)), "SOD": sod}
    files.update({f"DG{n}": data for n, data in groups.items()})
    if pace_curves:
        files["CardAccess"] = lds_files.card_access(list(pace_curves))

    if defect == "tampered_dg1":
        # A forger changes the name on the data page and in DG1; the BAC key fields stay as they were.
        holder = replace(holder, surname="FORGER", given_names="FAKE")
        mrz = holder.mrz(kind)
        files["DG1"] = lds_files.dg1(mrz)
    elif defect == "tampered_dg2":
        other = synthetic_portrait(f"{seed}/impostor")
        files["DG2"] = lds_files.dg2(lds_files.encode_portrait(other, "jpeg", portrait_max_bytes or 17_000))
    elif defect == "cloned_chip" and aa_key is not None:
        # The clone holds copies of every file but cannot read out the original chip's private key.
        ecdsa = isinstance(aa_key, ec.EllipticCurvePrivateKey)
        aa_key = ec_key(seed, "clone") if ecdsa else rsa_key(seed, "clone", 1024)

    return Document(
        kind=kind,
        mrz=mrz,
        can=can,
        files=files,
        aa_key=aa_key,
        ca_key=ca_key,
        defect=defect,
        signer_status=signer.status,
        pace_curves=tuple(pace_curves),
        holder=holder,
    )


__all__ = [
    "DEFECTS",
    "Document",
    "Holder",
    "TestPKI",
    "check_digit",
    "issue_document",
    "portrait_bytes",
    "random_holder",
    "synthetic_portrait",
]

"""[document] section: the PC/SC reader, the MRZ source and the trust store."""

from __future__ import annotations

from dataclasses import dataclass

from edge.config.validate import setting


@dataclass(frozen=True)
class DocumentSettings:
    reader: str = setting("", help="PC/SC reader name pattern (substring); empty: the first reader")
    access_control: str = setting("pace", help="preferred protocol", choices=("pace", "bac"))
    allow_bac_fallback: bool = setting(True, help="fall back from PACE to BAC (always recorded)")
    mrz_port: str = setting("", help="serial port of the MRZ/OCR reader; empty: no MRZ reader (CAN)", exists="device")
    mrz_baudrate: int = setting(9600, min=1200, max=921600)
    trust_store: str = setting(
        "",
        help="directory of CSCA certificates, master lists and CRLs",
        exists="dir",
        runtime=True,
        example="/etc/echannel/trust",
    )
    crl_max_age_h: float = setting(48.0, help="CRLs older than this make revocation 'undetermined'", min=1)
    require_chip_authentication: bool = setting(False, help="refer documents whose chip offers no AA/CA")
    mrz_wait_s: float = setting(3.0, help="how long to wait for the MRZ scan after the chip is seen", min=0, max=30)
    mrz_max_age_s: float = setting(
        10.0, help="an MRZ scanned up to this long before the chip was seen belongs to it", min=0, max=120
    )
    read_deadline_s: float = setting(7.0, help="abort a chip reading after this long (TR-03135: 7 s)", min=1, max=60)

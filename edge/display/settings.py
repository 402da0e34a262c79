"""[display] section: the traveller's guidance page that the gate's kiosk browser shows full screen."""

from __future__ import annotations

from dataclasses import dataclass

from edge.config.validate import setting

LANGUAGES = ("en", "zh-Hant", "zh-Hans")


@dataclass(frozen=True)
class DisplaySettings:
    bind: str = setting(
        "127.0.0.1", help="address the page is served on; loopback only unless the kiosk is another machine"
    )
    port: int = setting(8470, help="TCP port of the page (the kiosk opens http://BIND:PORT/)", min=1, max=65535)
    languages: tuple[str, ...] = setting(
        LANGUAGES, help="languages shown, in this order (message catalogues)", choices=LANGUAGES
    )
    mode: str = setting(
        "together",
        help="'together': every language at once; 'cycle': one language at a time",
        choices=("together", "cycle"),
    )
    cycle_s: float = setting(3.0, help="seconds each language stays up in 'cycle' mode", min=1, max=30)

"""A private mosquitto for tests, benchmarks and the simulated gate: free loopback port, generated
configuration (plain or TLS with a throw-away CA), stopped by PID.

    with MosquittoBroker(tmp_path) as broker:          # broker.url == "mqtt://127.0.0.1:<port>"
        ...
    broker = MosquittoBroker(tmp_path, tls=True).start()   # broker.pki.ca_file for the clients
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import pwd
import signal
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from simulators.processes import ChildProcess, free_port, port_open, wait_until


@dataclass(frozen=True)
class TestPki:
    ca_file: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str


def make_test_pki(directory: Path) -> TestPki:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all EC P-256."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "echannel test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(name: str, usage: x509.ObjectIdentifier, san: list[x509.GeneralName]) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return str(cert_path), str(key_path)

    (directory / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    server = leaf(
        "server",
        ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    client = leaf("gate", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    return TestPki(str(directory / "ca.crt"), *server, *client)


class MosquittoBroker:
    """mosquitto on 127.0.0.1:<free port>. `persistence` keeps retained messages and sessions across
    stop()/start() (same port, same directory), as a site broker does across a restart."""

    def __init__(
        self,
        directory: Path,
        *,
        tls: bool = False,
        require_certificate: bool = False,
        persistence: bool = False,
        extra: str = "",
        port: int | None = None,
        name: str = "mosquitto",
        config_text: str | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.tls = tls
        self.name = name
        self.pki = make_test_pki(self.directory / "pki") if tls else None
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "max_inflight_messages 100",
            "max_queued_messages 100000",
            "set_tcp_nodelay true",  # else Nagle delays PUBACKs by the peer's delayed ACK (~40 ms)
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            # mosquitto started as root drops to user "mosquitto", which cannot read a private test directory
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
        ]
        if self.pki:
            lines += [
                f"cafile {self.pki.ca_file}",
                f"certfile {self.pki.server_cert}",
                f"keyfile {self.pki.server_key}",
                f"require_certificate {str(require_certificate).lower()}",
            ]
        if persistence:
            lines += ["persistence true", f"persistence_location {self.directory}/", "autosave_interval 1"]
        self.config = self.directory / f"{name}.conf"
        if config_text is not None:  # a ready-made configuration (e.g. a shipped one adapted to this port)
            lines = [config_text, f"user {pwd.getpwuid(os.getuid()).pw_name}"]
        self.config.write_text("\n".join(lines) + "\n" + extra)
        self.process: ChildProcess | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, timeout: float = 10.0) -> MosquittoBroker:
        self.process = ChildProcess(
            ["mosquitto", "-c", str(self.config)], name=self.name, log_dir=self.directory
        ).start()
        try:
            wait_until(
                lambda: port_open("127.0.0.1", self.port) or not self.process.alive(),
                timeout=timeout,
                what=f"{self.name} listening on {self.port}",
            )
        except TimeoutError:
            self.stop()
            raise
        if not self.process.alive():
            raise RuntimeError(f"{self.name} exited: {self.process.log_tail()}")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process:
            self.process.stop(sig=sig)

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

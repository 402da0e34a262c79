"""The contactless reader (through pcscd) and the trust store (CSCA certificates and CRLs)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from edge.doctor.framework import DoctorContext, Result, check

CERT_SUFFIXES = {".pem", ".crt", ".cer", ".der"}
CRL_SUFFIXES = {".crl"}
MASTER_LIST_SUFFIXES = {".ml", ".ldif"}


@check("reader", title="card reader present and a card answers")
def reader(ctx: DoctorContext) -> Result:
    try:
        from smartcard.Exceptions import CardConnectionException, NoCardException
        from smartcard.System import readers
    except ImportError as exc:
        return Result.fail(f"pyscard is not installed: {exc}", "reinstall echannel (pyscard is a dependency)")
    pattern = ctx.config.document.reader
    try:
        found = readers()
    except Exception as exc:  # pyscard raises its own errors when pcscd is not reachable
        return Result.fail(f"pcscd does not answer: {exc}", "start it: `systemctl enable --now pcscd.socket`")
    names = [str(r) for r in found]
    matching = [r for r in found if pattern in str(r)]
    if not matching:
        wanted = f"matching {pattern!r}" if pattern else "at all"
        return Result.fail(
            f"no reader {wanted}; pcscd sees: {', '.join(names) or 'none'}",
            "plug the reader in (check `pcsc_scan`), or set document.reader to part of one of the names above",
            readers=names,
        )
    chosen = matching[0]
    connection = chosen.createConnection()
    try:
        connection.connect()
        atr = bytes(connection.getATR())
    except (NoCardException, CardConnectionException):
        return Result.warn(f"{chosen}: present, no card on it", "place a test document on the reader to check "
                           "that a card answers", reader=str(chosen))
    finally:
        with contextlib.suppress(Exception):  # nothing to release when the connection never opened
            connection.disconnect()
    # The ATR names the chip's type, not its holder: safe to show.
    return Result.ok(f"{chosen}: card answers (ATR {atr.hex(' ').upper()})", reader=str(chosen), atr=atr.hex())


@check("trust_store", title="trust store loads and CRLs are current")
def trust_store(ctx: DoctorContext) -> Result:
    from cryptography import x509

    settings = ctx.config.document
    fix = "copy the CSCA certificates and CRLs (PEM or DER) into the directory named by document.trust_store"
    if not settings.trust_store:
        return Result.fail("document.trust_store is not set: no document can be authenticated", fix)
    directory = ctx.path(settings.trust_store)
    if not directory.is_dir():
        return Result.fail(f"the trust store {directory} does not exist", fix)
    now = datetime.now(UTC)
    certificates, crls, master_lists, bad = 0, [], 0, []
    for file in sorted(p for p in directory.rglob("*") if p.is_file()):
        suffix = file.suffix.lower()
        if suffix in MASTER_LIST_SUFFIXES:
            master_lists += 1  # CMS-signed lists are verified by the document module when it loads them
            continue
        if suffix not in CERT_SUFFIXES | CRL_SUFFIXES:
            continue
        data = file.read_bytes()
        try:
            if suffix in CRL_SUFFIXES:
                crls.append((file, _load(data, x509.load_pem_x509_crl, x509.load_der_x509_crl)))
            else:
                certificates += len(_load_certificates(data))
        except ValueError as exc:
            bad.append(f"{file.name}: {exc}")
    details = {"certificates": certificates, "crls": len(crls), "master_lists": master_lists}
    if bad:
        return Result.fail(f"{len(bad)} file(s) do not load: " + "; ".join(bad),
                           "replace them with valid PEM or DER files", unreadable=bad, **details)
    if certificates == 0 and master_lists == 0:
        return Result.fail(f"{directory} holds no CSCA certificate or master list", fix, **details)
    stale, ageing, next_updates = [], [], {}
    max_age = timedelta(hours=settings.crl_max_age_h)
    for file, crl in crls:
        next_update = crl.next_update_utc
        next_updates[file.name] = next_update.isoformat() if next_update else None
        if next_update is not None and next_update < now:
            stale.append(f"{file.name} (next update was {next_update:%Y-%m-%d %H:%M} UTC)")
        elif now - crl.last_update_utc > max_age:
            ageing.append(f"{file.name} (issued {crl.last_update_utc:%Y-%m-%d %H:%M} UTC)")
    details["next_update"] = next_updates
    summary = f"{certificates} certificate(s), {len(crls)} CRL(s), {master_lists} master list(s)"
    crl_fix = "fetch current CRLs from the issuing states (or the PKD) into the trust store"
    if stale:
        return Result.fail(f"{summary}; stale CRL(s): " + ", ".join(stale), crl_fix, **details)
    if ageing:
        return Result.warn(f"{summary}; CRL(s) older than document.crl_max_age_h ({settings.crl_max_age_h:g} h): "
                           + ", ".join(ageing), crl_fix, **details)
    if not crls:
        return Result.warn(f"{summary}; no CRL: revocation cannot be checked", crl_fix, **details)
    soonest = min((v for v in next_updates.values() if v), default=None)
    return Result.ok(f"{summary}; CRLs current" + (f" (next update by {soonest})" if soonest else ""), **details)


def _load(data: bytes, pem, der):
    return pem(data) if data.lstrip().startswith(b"-----BEGIN") else der(data)


def _load_certificates(data: bytes) -> list:
    from cryptography import x509

    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


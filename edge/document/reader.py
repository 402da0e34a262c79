"""The document reader adapter: edge.ports.DocumentReader over PC/SC (pyscard) and an MRZ source.

    reader = PcscDocumentReader(settings.document)   # opens settings.document.mrz_port itself
    reader.accept_documents(True)
    await reader.run(emit)      # emits DocumentPresented, then DocumentAuthenticated or DocumentRejected

A worker thread waits in pcscd (SCardGetStatusChange, no polling) for a card on the first reader whose name
contains `settings.reader`. When a card arrives while documents are accepted it emits DocumentPresented,
takes the access key (the MRZ scanned for this document, or a CAN), runs the terminal core's
`session.read_document` with pyscard's transmit, and emits the result. One reading per insertion: the
same card is read again only after it has left the field. `accept_documents(True)` with a card already
lying on the reader reads that card.

Nothing personal is logged: log lines carry the document kind, the protocol, reason codes and timings.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from edge.document.errors import TrustStoreError
from edge.document.mrz import CAN, MRZ
from edge.document.mrz_reader import SerialMrzReader
from edge.document.pcsc import Cancelled, NoService, PcscContext, PcscError
from edge.document.session import ReadOptions, read_document
from edge.document.trust import TrustStore
from edge.gate.events import DocumentPresented, DocumentRejected, Event
from edge.ports import EventSink, Health

if TYPE_CHECKING:  # importing edge.document.settings before edge.config is circular (the config schema)
    from edge.document.settings import DocumentSettings

log = logging.getLogger(__name__)

# SCardCancel only wakes a wait already in progress: a stop() or accept_documents() landing between two
# waits would be lost, so each wait is bounded. pcscd still does the waiting; this is no polling of the card.
_WAIT_SLICE_MS = 500


class MrzSource(Protocol):
    """Where the access key comes from (edge.document.mrz_reader.SerialMrzReader is one)."""

    def wait_for_scan(self, *, since: float, timeout: float) -> MRZ | None: ...
    def forget(self) -> None: ...


def read_options(settings: DocumentSettings) -> ReadOptions:
    return ReadOptions(
        preferred_protocol=settings.access_control,
        allow_bac_fallback=settings.allow_bac_fallback,
        crl_max_age=dt.timedelta(hours=settings.crl_max_age_h),
        deadline_s=settings.read_deadline_s,
    )


def load_trust_store(directory: str) -> TrustStore | None:
    """The configured trust store; None (every document then fails the chain check) when not configured."""
    if not directory:
        log.warning("no trust store configured: Document Signers cannot chain to a CSCA")
        return None
    store = TrustStore.load(Path(directory))
    log.info("trust store: %d CSCA certificates, %d CRLs", len(store.cscas), len(store.crls))
    for name in store.problems:
        log.warning("trust store file %s is neither a certificate, a CRL nor a master list", name)
    return store


class PcscDocumentReader:
    """edge.ports.DocumentReader for a contactless reader behind pcscd."""

    def __init__(
        self,
        settings: DocumentSettings,
        *,
        mrz_source: MrzSource | None = None,
        can: str | None = None,
        trust_store: TrustStore | None = None,
        options: ReadOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        retry_interval_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self._owned_mrz_reader: SerialMrzReader | None = None
        if mrz_source is None and can is None and settings.mrz_port:
            # The configured OCR reader: this adapter starts and stops it with itself.
            self._owned_mrz_reader = SerialMrzReader(settings.mrz_port, settings.mrz_baudrate, clock=clock)
            mrz_source = self._owned_mrz_reader
        self.mrz_source = mrz_source
        self.can = CAN(can) if can else None
        if trust_store is None and settings.trust_store:
            try:
                trust_store = load_trust_store(settings.trust_store)
            except TrustStoreError as exc:
                log.error("trust store unusable: %s", exc)
        self.trust_store = trust_store
        self.options = options or read_options(settings)
        self.clock = clock
        self.now = now
        self.retry_interval_s = retry_interval_s
        self._emit: EventSink = lambda event: None
        self._accepting = threading.Event()
        self._stop = threading.Event()
        self._context: PcscContext | None = None
        self._context_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.reader_name: str | None = None
        self.problem = "not started"
        self.reads = 0
        self.last_read_ms = 0.0

    # --- edge.ports.DocumentReader ------------------------------------------------------------------------

    async def run(self, emit: EventSink) -> None:
        self.start(emit)
        try:
            await asyncio.Event().wait()  # until the daemon cancels us
        finally:
            await asyncio.to_thread(self.stop)

    def accept_documents(self, accept: bool) -> None:
        if accept == self._accepting.is_set():
            return
        if accept:
            self._accepting.set()
            self._wake()  # a card already on the reader is read now
        else:
            self._accepting.clear()

    def health(self) -> Health:
        figures = {"reads": float(self.reads), "last_read_ms": self.last_read_ms}
        if self.problem:
            return Health(False, self.problem, figures)
        if self.mrz_source is None and self.can is None:
            return Health(False, "no MRZ reader configured ([document] mrz_port)", figures)
        mrz = self._owned_mrz_reader
        if mrz is not None and not mrz.connected:
            return Health(False, f"MRZ reader on {mrz.port} not connected", figures)
        return Health(True, f"reader {self.reader_name!r} present", figures)

    # --- thread life ---------------------------------------------------------------------------------------

    def start(self, emit: EventSink) -> PcscDocumentReader:
        self._emit = emit
        self._stop.clear()
        if self._owned_mrz_reader is not None:
            self._owned_mrz_reader.start()
        self._thread = threading.Thread(target=self._work, name="document-reader", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None
        if self._owned_mrz_reader is not None:
            self._owned_mrz_reader.stop()

    def _wake(self) -> None:
        with self._context_lock:
            if self._context is not None:
                self._context.cancel()

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                context = PcscContext()
            except PcscError as exc:
                self._trouble("pcscd not available" if isinstance(exc, NoService) else f"PC/SC error: {exc}")
                continue
            with self._context_lock:
                self._context = context
            try:
                self._watch(context)
            except NoService:
                self._trouble("pcscd stopped")
            except PcscError as exc:
                self._trouble(f"PC/SC error: {exc}")
            except Exception:  # never let the worker die silently: report, wait, start over
                log.exception("document reader worker failed")
                self._trouble("internal error")
            finally:
                with self._context_lock:
                    self._context = None
                context.close()
        self.problem = "stopped"

    def _trouble(self, problem: str) -> None:
        if problem != self.problem:
            log.warning("document reader: %s", problem)
        self.problem = problem
        self.reader_name = None
        self._stop.wait(self.retry_interval_s)  # retry interval for a missing service or reader

    def _watch(self, context: PcscContext) -> None:
        reader = context.find_reader(self.settings.reader)
        if reader is None:
            self._trouble(f"no reader matching {self.settings.reader!r}")
            return
        self.reader_name, self.problem = reader, ""
        log.info("document reader using %r", reader)
        state = context.state(reader)
        handled = False  # this insertion has been read (or refused): wait for the card to leave
        seen_at = self.clock()
        while not self._stop.is_set():
            if not state.known:
                self._trouble(f"reader {reader!r} went away")
                return
            if state.empty:
                handled = False
            elif state.present and not handled and self._accepting.is_set():
                handled = True
                self._handle_card(context, reader, seen_at)
            try:
                changed = context.wait_change(reader, state.flags, _WAIT_SLICE_MS)
            except Cancelled:
                continue  # accept_documents() or stop() woke us: look again
            if changed is not None:
                if changed.present and not state.present:
                    seen_at = self.clock()
                state = changed

    # --- one document ----------------------------------------------------------------------------------------

    def _handle_card(self, context: PcscContext, reader: str, seen_at: float) -> None:
        self._emit(DocumentPresented())
        key = self._access_key(seen_at)
        if key is None:
            log.info("document refused: no MRZ scanned for it")
            self._emit(DocumentRejected("mrz_missing", retryable=True))
            return
        try:
            card = context.connect(reader)
        except PcscError as exc:
            log.info("document refused: cannot connect (0x%08X)", exc.code)
            self._emit(DocumentRejected("card_removed" if _gone(context, reader) else "read_error", retryable=True))
            return
        try:
            result = read_document(card.transmit, key, self.options, self.trust_store, self.now())
        finally:
            card.disconnect()
            if self.mrz_source is not None:
                self.mrz_source.forget()  # never use this traveller's MRZ for the next card
        event: Event = result.to_event(self.settings.require_chip_authentication)
        self.reads += 1
        self.last_read_ms = result.read_ms
        outcome = "authenticated" if not isinstance(event, DocumentRejected) else f"rejected: {event.reason}"
        log.info(
            "document %s (%s, %s%s, %d APDUs, %.0f ms)",
            outcome,
            result.document_type or "?",
            result.protocol or "no access control",
            " fallback" if result.fallback else "",
            result.apdu_count,
            result.read_ms,
        )
        self._emit(event)

    def _access_key(self, seen_at: float) -> MRZ | CAN | None:
        if self.can is not None:
            return self.can
        if self.mrz_source is None:
            return None
        # The page is usually laid on the OCR window just before the chip is seen; accept a scan made up to
        # mrz_max_age_s before the card and wait up to mrz_wait_s after it.
        return self.mrz_source.wait_for_scan(
            since=seen_at - self.settings.mrz_max_age_s, timeout=self.settings.mrz_wait_s
        )


def _gone(context: PcscContext, reader: str) -> bool:
    with contextlib.suppress(PcscError):
        return context.state(reader).empty
    return True


class FixedMrz:
    """An MRZ source that always answers the same MRZ (`echannel document read --mrz-file`, tests)."""

    def __init__(self, mrz: MRZ) -> None:
        self.mrz = mrz

    def wait_for_scan(self, *, since: float, timeout: float) -> MRZ | None:
        return self.mrz

    def forget(self) -> None:
        pass


__all__ = ["FixedMrz", "MrzSource", "PcscDocumentReader", "load_trust_store", "read_options"]

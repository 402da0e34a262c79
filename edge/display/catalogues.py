"""The traveller's texts: one JSON catalogue per language in catalogues/, every Message in every one.

A catalogue is {"language", "name", "ui": {...}, "messages": {message value: text}}. Loading checks that
each catalogue covers every edge.gate.actions.Message and every UI key of the reference (English), so a
missing translation stops the daemon at start with a clear error instead of a blank screen at the gate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edge.gate.actions import Message

CATALOGUE_DIR = Path(__file__).with_name("catalogues")
UI_KEYS = ("page_title", "starting")


class CatalogueError(ValueError):
    """A catalogue is missing, unreadable or incomplete."""


def missing_texts(catalogue: dict[str, Any]) -> list[str]:
    """Keys without a non-empty text ("messages.reading", "ui.starting"), empty when complete."""
    messages, ui = catalogue.get("messages") or {}, catalogue.get("ui") or {}
    missing = [f"messages.{m.value}" for m in Message if not str(messages.get(m.value, "")).strip()]
    return missing + [f"ui.{key}" for key in UI_KEYS if not str(ui.get(key, "")).strip()]


def load_catalogue(language: str, directory: Path = CATALOGUE_DIR) -> dict[str, Any]:
    path = directory / f"{language}.json"
    try:
        catalogue = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"{path}: cannot read the message catalogue: {exc}") from None
    if not isinstance(catalogue, dict):
        raise CatalogueError(f"{path}: a catalogue is a JSON object")
    missing = missing_texts(catalogue)
    if missing:
        raise CatalogueError(f"{path}: no text for {', '.join(missing)}")
    return catalogue


def load_catalogues(languages: tuple[str, ...], directory: Path = CATALOGUE_DIR) -> dict[str, dict[str, Any]]:
    if not languages:
        raise CatalogueError("display.languages: name at least one language")
    return {language: load_catalogue(language, directory) for language in languages}

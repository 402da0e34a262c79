"""The traveller's guidance display (a local page for the gate's kiosk browser)."""

from edge.display.server import TravellerDisplayServer

__all__ = ["TravellerDisplayServer"]

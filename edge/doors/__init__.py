"""The host side of the serial link to the door-controller MCU."""

# edge.config's package imports every settings module (schema.py); importing it first means that importing
# edge.doors.settings on its own does not meet a half-initialised edge.config (an import cycle).
import edge.config  # noqa: F401

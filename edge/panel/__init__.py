"""The gate's GPIO panel: guidance lights, buzzer, fire alarm, emergency button, tamper, service key."""

# edge.config's package imports every settings module (schema.py); importing it first means that importing
# edge.panel.settings on its own does not meet a half-initialised edge.config (an import cycle).
import edge.config  # noqa: F401

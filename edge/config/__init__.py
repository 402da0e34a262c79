"""Gate configuration: one TOML file per gate, validated at start (see validate.py and schema.py)."""

from edge.config.schema import GateConfig
from edge.config.validate import ConfigError, load_config

__all__ = ["ConfigError", "GateConfig", "load_config"]

"""Gate configuration: one TOML file per gate, validated at start (see validate.py and schema.py).

`GateConfig` is imported lazily: each area's settings module imports `edge.config.validate`, and the
schema imports every settings module, so an eager import here would be circular.
"""

from typing import TYPE_CHECKING, Any

from edge.config.validate import ConfigError, load_config

if TYPE_CHECKING:
    from edge.config.schema import GateConfig

__all__ = ["ConfigError", "GateConfig", "load_config"]


def __getattr__(name: str) -> Any:
    if name == "GateConfig":
        from edge.config.schema import GateConfig

        return GateConfig
    raise AttributeError(name)

"""Subcommands of `echannel`, one module per area (see edge.cli.PLUGINS)."""

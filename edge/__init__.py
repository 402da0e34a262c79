"""e-Channel edge daemon: runs one automated border-control gate."""

__version__ = "0.1.0"

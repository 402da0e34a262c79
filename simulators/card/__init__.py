"""The card emulator (pure chip logic in chip.py), the vpcd transport and the document factory."""

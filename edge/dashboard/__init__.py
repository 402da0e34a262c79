"""The control room's web dashboard: every gate of a site as a tile, fed by MQTT, with signed commands."""

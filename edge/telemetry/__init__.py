"""Reporting to the control room over MQTT, the durable outbox, and the control room's commands."""

"""The host side of the serial link to the door-controller MCU."""

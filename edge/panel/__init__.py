"""The gate's GPIO panel: guidance lights, buzzer, fire alarm, emergency button, tamper, service key."""

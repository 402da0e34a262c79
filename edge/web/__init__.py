"""Small web serving shared by the traveller display and the control-room dashboard."""

"""The doctor's own checks, one module per boundary of the gate (see edge.doctor.framework.CHECK_MODULES)."""

"""Hardware simulators: every device of a gate, so the whole gate runs and is tested on a laptop."""

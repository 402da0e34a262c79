"""On-device face verification: capture, detection, alignment, embedding, matching, quality, liveness."""

"""Python stages of the python_stage example (framebus Python SDK)."""

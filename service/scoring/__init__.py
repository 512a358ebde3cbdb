"""The blended scoring engine (SPEC sections 4 to 7). `engine.py` is pure: no I/O."""

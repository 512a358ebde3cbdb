"""Authorization: pure policy functions, no I/O (SPEC section 10)."""

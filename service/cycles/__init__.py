"""Cycles: nested performance periods with the status machine of SPEC section 9."""

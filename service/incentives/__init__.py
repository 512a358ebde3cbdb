"""Incentives (SPEC section 8): plans, runs, the result lifecycle, nominations and the
payroll feed. The rules themselves are in `calc.py`, which is pure."""

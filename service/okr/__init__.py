"""OKRs: objectives aligned top-down and bottom-up, key results, weekly check-ins, the
approval workflow with its revision history, and the quality lint (SPEC sections 2, 4, 9)."""

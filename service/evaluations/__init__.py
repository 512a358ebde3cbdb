"""Evaluations, 360 feedback, calibration, performance interviews and review meetings
(SPEC sections 2, 6, 7, 9 and 10)."""

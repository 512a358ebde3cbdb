"""Reading the audit log (`GET /api/v1/audit-events`)."""

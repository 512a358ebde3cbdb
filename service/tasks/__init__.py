"""Work waiting for the caller: approvals, peer requests, reviews due, interviews to
acknowledge, calibrations and overdue check-ins (GET /api/v1/me/tasks, GraphQL
`me { tasks }`)."""

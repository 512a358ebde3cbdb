"""GraphQL at /graphql: schema assembly, context with per-request dataloaders."""

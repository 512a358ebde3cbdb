"""Authentication: JWT verification, the principal, integration clients and /oauth/token."""

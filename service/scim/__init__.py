"""SCIM 2.0 provisioning (RFC 7643/7644) at `/scim/v2`: identity providers (Okta,
Microsoft Entra) create, change, deactivate and delete employees (Users) and departments
(Groups). Built on scim2-server (protocol) and scim2-models (schemas, filters, PATCH);
this package owns the storage over the organization model and the authentication."""

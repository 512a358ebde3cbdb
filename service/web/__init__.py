"""The web layer: the FastAPI application and everything that speaks HTTP around the
domains (routing, limits, problem documents, OpenAPI, health, idempotency, the server
protocol and the gunicorn configuration). Domain packages keep their own thin `api.py`
and `gql.py` adapters; their services never import this package (tests/test_layers.py)."""

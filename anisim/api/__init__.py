"""The HTTP wire layer: request shapes, records, routes, middleware and the Python client.

Everything that knows Starlette or BentoML lives here (or in `service.py`); the core library in
`anisim/` does not import them (tests/test_layout.py checks).
"""

"""The HTTP API: the app factory, routers (one per resource), dependencies, schemas and the
mapping of errors to answers."""

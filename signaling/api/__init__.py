"""The HTTP API: typed endpoints registered on one ApiRegistry, described by OpenAPI 3.1."""

"""The faces of tunecost: the FastAPI app, the Python client and the CLI."""

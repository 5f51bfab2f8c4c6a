"""Command-line entry points (one module per verb)."""

__all__: list[str] = []

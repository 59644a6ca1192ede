"""Command groups of the `fruits` CLI: each module has `register(subparsers)`."""

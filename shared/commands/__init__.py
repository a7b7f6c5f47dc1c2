"""One module per ``chargeops`` command; each exposes ``register(subparsers)``."""

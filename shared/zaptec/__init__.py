"""Zaptec API: client, authentication, the shared request budget."""

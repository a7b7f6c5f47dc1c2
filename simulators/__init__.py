"""Development simulators: Zaptec API, captured bus traffic. Not part of the deployed app."""

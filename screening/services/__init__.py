"""Writes and state transitions of the intake domain. Views, API and tasks only call these."""

"""Writes of the reading domain: assignment, L2 readings, discordances."""

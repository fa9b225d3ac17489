"""Plumbing with no billing word in it."""

"""Tests of the pure rating core (RATING.md)."""

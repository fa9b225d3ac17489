"""Tenants, their settings, function switches, limits, API clients and access tokens."""

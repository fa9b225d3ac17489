"""Contracts, subscriptions with dated events, and discounts."""

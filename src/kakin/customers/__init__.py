"""Customers and groups, with personal data encrypted per tenant."""

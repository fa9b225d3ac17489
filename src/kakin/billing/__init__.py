"""Billing: the closing batch, receivables and their lines, adjustments, invoices."""

"""Usage records (利用実績): registration, search, deletion, daily totals for the closing."""

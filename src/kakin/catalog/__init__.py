"""Masters: services, usage items, tariffs, discount tables, tax categories, price plans."""

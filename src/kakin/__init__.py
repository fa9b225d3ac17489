"""kakin (課金): a business support system for subscription businesses."""

__version__ = "0.1.0"

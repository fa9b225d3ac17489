"""Tables of the customers domain."""

from __future__ import annotations

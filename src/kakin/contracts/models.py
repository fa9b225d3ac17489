"""Tables of the contracts domain."""

from __future__ import annotations

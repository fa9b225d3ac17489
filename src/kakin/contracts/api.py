"""HTTP routes of the contracts domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

"""Web pages of case files (placeholder, filled below)."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

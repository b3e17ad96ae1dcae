"""Configuration of Module 01 (``ALEGRA_ACTIVITIES_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ActivitiesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALEGRA_ACTIVITIES_", extra="ignore")

    # Open case files a defender can carry; above it the supervision dashboard flags overload.
    workload_ceiling: int = Field(default=120, ge=1, le=10_000)
    # Longest range of months a supervision report (and its exports) may cover.
    max_report_months: int = Field(default=24, ge=1, le=120)

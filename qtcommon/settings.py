"""Connection settings every Qt app shares (``ALEGRA_*`` variables; flags override them).

A device's MQTT username is its device id (see ``alegra hub provision-mqtt``); the password is
best given through ``ALEGRA_MQTT_PASSWORD`` so it does not show in the process list.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class DeviceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALEGRA_", extra="ignore")

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_tls: bool = False
    mqtt_ca_file: str | None = None
    log_level: str = "INFO"

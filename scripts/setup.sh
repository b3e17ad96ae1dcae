#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian 12 machine for ALEGRA: system packages, local services
# (Mosquitto, PostgreSQL) when absent, and the project's virtual environment in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- system packages ---------------------------------------------------------------------
pkgs=()
command -v mosquitto >/dev/null 2>&1 || pkgs+=(mosquitto)
command -v espeak-ng >/dev/null 2>&1 || pkgs+=(espeak-ng)
command -v sox >/dev/null 2>&1 || pkgs+=(sox)
command -v pdftoppm >/dev/null 2>&1 || pkgs+=(poppler-utils)
[ -x /usr/bin/chromium ] || pkgs+=(chromium)
command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)  # HTTP load generator of bench/central.py
command -v pg_ctlcluster >/dev/null 2>&1 || pkgs+=(postgresql)
# shared libraries Qt needs even offscreen
for pair in libEGL.so.1:libegl1 libGL.so.1:libgl1 libxkbcommon.so.0:libxkbcommon0 \
            libfontconfig.so.1:libfontconfig1 libdbus-1.so.3:libdbus-1-3 \
            libglib-2.0.so.0:libglib2.0-0 libxkbcommon-x11.so.0:libxkbcommon-x11-0; do
  ldconfig -p | grep -q "${pair%%:*}" || pkgs+=("${pair##*:}")
done
[ -d /usr/share/fonts/truetype/dejavu ] || pkgs+=(fonts-dejavu-core)
if [ ${#pkgs[@]} -gt 0 ]; then
  log "installing Debian packages: ${pkgs[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&- 3<&-; }

# --- Mosquitto on 127.0.0.1:1883 ----------------------------------------------------------
if ! port_open 1883; then
  log "starting Mosquitto on 127.0.0.1:1883 (development configuration)"
  mosquitto -d -c installers/mosquitto/dev.conf
  for _ in $(seq 50); do port_open 1883 && break; sleep 0.1; done
fi

# --- PostgreSQL on 127.0.0.1:5432 ---------------------------------------------------------
if ! port_open 5432; then
  log "starting PostgreSQL"
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$ver" ]; then
    ver=$(ls /usr/lib/postgresql | sort -V | tail -n1)
    as_root pg_createcluster "$ver" main >/dev/null
  fi
  hba="/etc/postgresql/$ver/main/pg_hba.conf"
  if ! grep -q 'alegra-trust' "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust # alegra-trust\nlocal all all trust # alegra-trust' "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  for _ in $(seq 100); do port_open 5432 && break; sleep 0.1; done
fi
if command -v psql >/dev/null 2>&1 && port_open 5432; then
  psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='test'" 2>/dev/null | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "create database test" >/dev/null 2>&1 || true
fi

# --- Python virtual environment -----------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
stamp=".venv/.setup-stamp"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "installing Python dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi
log "ready"

#!/usr/bin/env bash
# System packages the test suite needs beyond Python: headless Chromium (the report's browser and PDF
# tests; under CI=true they fail without it) and DejaVu fonts (the same glyph metrics on every machine,
# so layout and text width do not depend on whichever fonts happen to be installed) and the PostgreSQL
# server (tests/dbt start a throwaway server from /usr/lib/postgresql/*/bin to build the dbt project on
# the `postgres` target; under CI=true they fail without it).
# Idempotent: installs only what is missing, and runs apt-get update only then.
set -euo pipefail

missing=()
if ! command -v chromium >/dev/null 2>&1; then
    missing+=(chromium)
fi
if ! dpkg-query -W -f='${Status}' fonts-dejavu-core 2>/dev/null | grep -q "install ok installed"; then
    missing+=(fonts-dejavu-core)
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    missing+=(postgresql)
fi
# Java 17 for PySpark (`make test-spark` builds the dbt project on Spark in local mode).
if ! command -v java >/dev/null 2>&1; then
    missing+=(openjdk-17-jre-headless)
fi

if [ "${#missing[@]}" -eq 0 ]; then
    echo "system packages: chromium, fonts-dejavu-core, postgresql and java already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system packages: missing ${missing[*]} and no apt-get here; install them with your package manager" >&2
    exit 1
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo_cmd=(sudo)
    else
        echo "system packages: missing ${missing[*]}; run this script as root" >&2
        exit 1
    fi
fi

echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
command -v chromium >/dev/null 2>&1 || { echo "system packages: chromium still not on PATH" >&2; exit 1; }
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "system packages: no /usr/lib/postgresql/*/bin/initdb after installing postgresql" >&2; exit 1; }

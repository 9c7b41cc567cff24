#!/usr/bin/env bash
# Shared helpers for infra/run and infra/test: idempotent, safe to call on a fresh machine or a warm one.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA="$REPO/.data"
PGPORT=${PGPORT:-5432}
S3_PORT=${MARKETPLACE_S3_PORT:-4569}
AZURITE_PORT=${MARKETPLACE_AZURITE_PORT:-10000}
mkdir -p "$DATA"

log() { printf '[infra] %s\n' "$*" >&2; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else bash -c "$*"; fi
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

ensure_dotnet() {
  command -v dotnet >/dev/null || { log "the .NET SDK is required (see global.json)"; exit 1; }
}

ensure_postgres() {
  if [ -z "$(pg_bin)" ]; then
    log "installing PostgreSQL (apt)"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi
  fi
  local bin; bin=$(pg_bin)
  if ! "$bin/pg_isready" -h 127.0.0.1 -p "$PGPORT" -q; then
    if [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null && [ "$PGPORT" = 5432 ]; then
      local version; version=$(basename "$(dirname "$bin")")
      [ -d "/etc/postgresql/$version/main" ] || pg_createcluster "$version" main >/dev/null
      log "starting PostgreSQL cluster $version/main"
      pg_ctlcluster "$version" main start || true
    else
      # Not root: a cluster of the project's own under .data/pg, owned by the current user.
      if [ ! -f "$DATA/pg/PG_VERSION" ]; then
        "$bin/initdb" -D "$DATA/pg" -U postgres --auth=trust >/dev/null
      fi
      log "starting PostgreSQL in $DATA/pg on port $PGPORT"
      "$bin/pg_ctl" -D "$DATA/pg" -o "-p $PGPORT -k $DATA -c listen_addresses=127.0.0.1" -l "$DATA/pg.log" start >/dev/null
    fi
    for _ in $(seq 1 60); do "$bin/pg_isready" -h 127.0.0.1 -p "$PGPORT" -q && break; sleep 0.5; done
  fi
  "$bin/pg_isready" -h 127.0.0.1 -p "$PGPORT" -q || { log "PostgreSQL did not start"; exit 1; }
  run_sql() { if [ "$(id -u)" = 0 ]; then su postgres -c "psql -p $PGPORT -v ON_ERROR_STOP=1 -qtA -c \"$1\""; else psql -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 -qtA -c "$1"; fi; }
  [ "$(run_sql "SELECT 1 FROM pg_roles WHERE rolname='marketplace'")" = 1 ] || run_sql "CREATE ROLE marketplace LOGIN PASSWORD 'marketplace' CREATEDB"
  # The functions' role: db-apply (run as the owner, marketplace) grants it the app's privileges, never UPDATE or
  # DELETE on events and log rows. infra/run connects with it; the tests create their schemas as the owner.
  [ "$(run_sql "SELECT 1 FROM pg_roles WHERE rolname='marketplace_app'")" = 1 ] || run_sql "CREATE ROLE marketplace_app LOGIN PASSWORD 'marketplace_app'"
  for db in marketplace marketplace_test; do
    [ "$(run_sql "SELECT 1 FROM pg_database WHERE datname='$db'")" = 1 ] || run_sql "CREATE DATABASE $db OWNER marketplace"
    # Search's trigram index needs pg_trgm; created once per database in public, where every schema finds it
    # (db-apply also creates it where missing: it is a trusted extension, the database owner may).
    if [ "$(id -u)" = 0 ]; then su postgres -c "PGOPTIONS=--client-min-messages=warning psql -p $PGPORT -d $db -v ON_ERROR_STOP=1 -qtA -c 'CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public'"
    else PGOPTIONS=--client-min-messages=warning psql -h 127.0.0.1 -p "$PGPORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 -qtA -c 'CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public'; fi
  done
  # The test suite runs several hosts at once, each with its own pool and daemon.
  if [ "$(run_sql "SHOW max_connections")" -lt 300 ]; then
    run_sql "ALTER SYSTEM SET max_connections = 300"
    log "restarting PostgreSQL for max_connections=300"
    if [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null && [ "$PGPORT" = 5432 ]; then
      pg_ctlcluster "$(basename "$(dirname "$bin")")" main restart
    else
      "$bin/pg_ctl" -D "$DATA/pg" -o "-p $PGPORT -k $DATA -c listen_addresses=127.0.0.1" -l "$DATA/pg.log" restart >/dev/null
    fi
    for _ in $(seq 1 60); do "$bin/pg_isready" -h 127.0.0.1 -p "$PGPORT" -q && break; sleep 0.5; done
  fi
}

# Each npm tool in a folder of its own: `npm install --no-save` in a shared folder prunes what the other installed.
ensure_s3rver() {
  local tools="$REPO/infra/.tools/s3rver"
  if [ ! -x "$tools/node_modules/.bin/s3rver" ]; then
    command -v npm >/dev/null || { log "npm is required for s3rver"; exit 1; }
    log "installing s3rver (npm)"
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-save --silent s3rver@3.7.1 >/dev/null 2>&1
  fi
  if ! curl -fsS -o /dev/null "http://127.0.0.1:$S3_PORT/" 2>/dev/null; then
    log "starting s3rver on 127.0.0.1:$S3_PORT"
    mkdir -p "$DATA/s3rver"
    nohup "$tools/node_modules/.bin/s3rver" -d "$DATA/s3rver" -a 127.0.0.1 -p "$S3_PORT" --silent \
      --configure-bucket marketplace >"$DATA/s3rver.log" 2>&1 &
    echo $! >"$DATA/s3rver.pid"
    for _ in $(seq 1 60); do curl -fsS -o /dev/null "http://127.0.0.1:$S3_PORT/" 2>/dev/null && break; sleep 0.5; done
  fi
  curl -fsS -o /dev/null "http://127.0.0.1:$S3_PORT/" || { log "s3rver did not start"; exit 1; }
}

# Azure Blob Storage emulator for the Azure blob adapter's tests; exports MARKETPLACE_TEST_AZURE (Azurite's
# well-known development account, on loopback only).
ensure_azurite() {
  local tools="$REPO/infra/.tools/azurite" url="http://127.0.0.1:$AZURITE_PORT/devstoreaccount1?comp=list"
  if [ ! -x "$tools/node_modules/.bin/azurite-blob" ]; then
    command -v npm >/dev/null || { log "npm is required for azurite"; exit 1; }
    log "installing azurite (npm)"
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-save --silent azurite@3.35.0 >/dev/null 2>&1
  fi
  # Any HTTP answer (an unsigned list is refused with 403) means it is up.
  if ! curl -sS -o /dev/null "$url" 2>/dev/null; then
    log "starting azurite-blob on 127.0.0.1:$AZURITE_PORT"
    mkdir -p "$DATA/azurite"
    nohup "$tools/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" \
      --location "$DATA/azurite" --silent --skipApiVersionCheck >"$DATA/azurite.log" 2>&1 &
    echo $! >"$DATA/azurite.pid"
    for _ in $(seq 1 60); do curl -sS -o /dev/null "$url" 2>/dev/null && break; sleep 0.5; done
  fi
  curl -sS -o /dev/null "$url" || { log "azurite did not start"; exit 1; }
  export MARKETPLACE_TEST_AZURE="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$AZURITE_PORT/devstoreaccount1;"
}

# The web pages' browser tests drive Debian's chromium through Playwright (never a browser Playwright downloads).
ensure_chromium() {
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
  command -v chromium >/dev/null && return 0
  log "installing chromium (apt)"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi
  command -v chromium >/dev/null || { log "chromium did not install"; exit 1; }
}

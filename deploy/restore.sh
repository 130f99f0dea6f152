#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into the database of DATABASE_URL.
#
#   deploy/restore.sh [--force] DIR/workflow-STAMP.dump
#
# The database must exist (createdb it first). A database that already holds tables is
# refused unless --force is given: then its tables are dropped and replaced by the dump's.
# Everything happens in one transaction: a failed restore leaves the database as it was.
# The attachments and archive taken at the same moment (workflow-STAMP.*.tar.gz beside the
# dump) are unpacked into ATTACHMENT_DIR and ARCHIVE_DIR when present.
#
# Stop the web app and the schedulers first and start them afterwards
# (systemctl stop workflow-web 'workflow-scheduler@*'): a running process would keep serving
# workflows it holds in memory from before the restore. If the code is newer than the backup,
# run `flask --app web db upgrade` before starting them.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
force=no
if [ "${1:-}" = "--force" ]; then force=yes; shift; fi
dump="${1:?usage: deploy/restore.sh [--force] DIR/workflow-STAMP.dump}"
[ -f "$dump" ] || { echo "no such dump: $dump" >&2; exit 2; }
url="${DATABASE_URL:?DATABASE_URL is not set (source /etc/workflow/workflow.env first)}"
case "$url" in
  postgres://*|postgresql://*|postgresql+*://*) ;;
  *) echo "restore.sh restores into PostgreSQL; DATABASE_URL is not a PostgreSQL URL" >&2; exit 2 ;;
esac
libpq_url="postgresql://${url#*://}"

tables="$(psql --no-psqlrc --tuples-only --no-align --dbname="$libpq_url" \
  -c "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")"
if [ "$tables" != "0" ] && [ "$force" != yes ]; then
  echo "the database already holds $tables tables; restore.sh --force replaces them with the dump's" >&2
  exit 1
fi

pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error \
  --dbname="$libpq_url" "$dump"

base="${dump%.dump}"
attachments="${ATTACHMENT_DIR:-$root/instance/attachments}"
archive="${ARCHIVE_DIR:-$root/instance/archive}"
for pair in "attachments:$attachments" "archive:$archive"; do
  name="${pair%%:*}" path="${pair#*:}"
  if [ -f "$base.$name.tar.gz" ]; then
    mkdir -p "$path"
    tar -xzf "$base.$name.tar.gz" -C "$path"
  fi
done
echo "restored $dump; start the web app and the schedulers again"

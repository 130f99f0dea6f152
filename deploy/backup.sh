#!/usr/bin/env bash
# Back up the workflow installation: the PostgreSQL database (pg_dump, custom format) and the
# files that live beside it (uploaded attachments, the archive of ended instances).
#
#   deploy/backup.sh [DIR]
#
# Reads the same settings as the app (source /etc/workflow/workflow.env, or let systemd's
# workflow-backup.service do it): DATABASE_URL, ATTACHMENT_DIR, ARCHIVE_DIR; DIR defaults to
# BACKUP_DIR (else ./backups). Writes, for one moment STAMP (UTC):
#   DIR/workflow-STAMP.dump                  the database (restore with deploy/restore.sh)
#   DIR/workflow-STAMP.attachments.tar.gz    ATTACHMENT_DIR, when it exists
#   DIR/workflow-STAMP.archive.tar.gz        ARCHIVE_DIR, when it exists
# and deletes backups older than BACKUP_KEEP_DAYS days (14; 0 keeps all). The web app and the
# schedulers keep running: pg_dump reads one consistent snapshot. Prints the dump's path.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
url="${DATABASE_URL:?DATABASE_URL is not set (source /etc/workflow/workflow.env first)}"
case "$url" in
  postgres://*|postgresql://*|postgresql+*://*) ;;
  *) echo "backup.sh backs up PostgreSQL; for SQLite stop the app and copy the file" >&2; exit 2 ;;
esac
# pg_dump speaks libpq's URL, without SQLAlchemy's +driver
libpq_url="postgresql://${url#*://}"
dir="${1:-${BACKUP_DIR:-backups}}"
keep="${BACKUP_KEEP_DAYS:-14}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$dir"

dump="$dir/workflow-$stamp.dump"
# written under a temporary name: a dump that exists under its own name is complete
pg_dump --format=custom --no-owner --no-privileges --file="$dump.partial" --dbname="$libpq_url"
mv "$dump.partial" "$dump"

# the files after the database: an attachment uploaded meanwhile is at worst an extra file,
# never a row whose file is missing
attachments="${ATTACHMENT_DIR:-$root/instance/attachments}"
archive="${ARCHIVE_DIR:-$root/instance/archive}"
for pair in "attachments:$attachments" "archive:$archive"; do
  name="${pair%%:*}" path="${pair#*:}"
  if [ -d "$path" ]; then
    tar -czf "$dir/workflow-$stamp.$name.tar.gz.partial" -C "$path" .
    mv "$dir/workflow-$stamp.$name.tar.gz.partial" "$dir/workflow-$stamp.$name.tar.gz"
  fi
done

if [ "$keep" -gt 0 ]; then
  find "$dir" -maxdepth 1 -name 'workflow-*' -type f -mtime "+$keep" -delete
fi
echo "$dump"

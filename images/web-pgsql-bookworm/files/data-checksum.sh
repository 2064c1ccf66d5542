#!/bin/sh
# Row count and a content checksum of the seeded notes, computed the same way on any
# PostgreSQL version, so the values before and after an upgrade can be compared.
exec runuser -u postgres -- psql -d notes -At -c \
  "SELECT 'notes=' || count(*) || ' checksum=' || md5(string_agg(id || '|' || title || '|' || body, ',' ORDER BY id)) FROM notes"

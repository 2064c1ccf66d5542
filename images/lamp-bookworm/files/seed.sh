#!/bin/sh
# Seed the shop on this host: its database and account, and customers' uploaded photos
# (owned by www-data, private modes) for a migration to carry over.
set -e
mysql < /srv/shop/seed.sql
mysql < /srv/shop/app-user.sql
mkdir -p /srv/shop/uploads
i=1
while [ "$i" -le 300 ]; do
    head -c $((i * 97)) /dev/urandom > "/srv/shop/uploads/photo-$i.jpg"
    i=$((i + 1))
done
chown -R www-data:www-data /srv/shop/uploads
chmod 0750 /srv/shop/uploads
chmod 0640 /srv/shop/uploads/*

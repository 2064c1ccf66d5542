<?php
// A small notes application: reads the seeded notes and records every visit, so a probe
// sees reads and writes go through PHP-FPM and PostgreSQL.
$db = @pg_connect("host=localhost dbname=notes user=notes password=notes-password");
if (!$db) {
    http_response_code(500);
    die("notes database unavailable\n");
}
if (!@pg_query($db, "INSERT INTO visits (seen_at) VALUES (now())")) {
    http_response_code(500);
    die("cannot record the visit: " . pg_last_error($db) . "\n");
}
$notes = pg_fetch_row(pg_query($db, "SELECT count(*) FROM notes"))[0];
$visits = pg_fetch_row(pg_query($db, "SELECT count(*) FROM visits"))[0];
$server = pg_fetch_row(pg_query($db, "SHOW server_version"))[0];
header('Content-Type: text/plain');
echo "notes ok: $notes notes, $visits visits, PHP " . PHP_VERSION . ", PostgreSQL $server\n";

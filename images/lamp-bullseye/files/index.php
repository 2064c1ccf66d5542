<?php
// A small shop: reads the seeded catalogue and records every visit, so a probe sees
// both reads and writes go through PHP and MariaDB.
mysqli_report(MYSQLI_REPORT_OFF);
$db = new mysqli('localhost', 'shop', 'shop-password', 'shop');
if ($db->connect_error) {
    http_response_code(500);
    die("shop database unavailable: " . $db->connect_error . "\n");
}
if (!$db->query("INSERT INTO visits (seen_at) VALUES (NOW())")) {
    http_response_code(500);
    die("cannot record the visit: " . $db->error . "\n");
}
$items = $db->query("SELECT COUNT(*) AS n FROM items")->fetch_assoc();
$visits = $db->query("SELECT COUNT(*) AS n FROM visits")->fetch_assoc();
header('Content-Type: text/plain');
echo "shop ok: {$items['n']} items, {$visits['n']} visits, PHP " . PHP_VERSION . "\n";

<?php
// The shop's front page: reads only, so it keeps working while the database is
// read-only during a move.
header('X-Served-By: ' . gethostname());
header('Content-Type: text/plain');
mysqli_report(MYSQLI_REPORT_OFF);
$db = new mysqli('localhost', 'shop', 'shop-password', 'shop');
if ($db->connect_error) {
    http_response_code(503);
    die("shop database unavailable: " . $db->connect_error . "\n");
}
$items = $db->query("SELECT COUNT(*) AS n FROM items");
$orders = $db->query("SELECT COUNT(*) AS n FROM orders");
if (!$items || !$orders) {
    http_response_code(503);
    die("shop database not ready: " . $db->error . "\n");
}
$items = $items->fetch_assoc();
$orders = $orders->fetch_assoc();
echo "shop ok: {$items['n']} items, {$orders['n']} orders, served by " . gethostname() . "\n";

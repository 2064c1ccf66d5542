<?php
// Takes an order: POST `token` (unique per order). Answers 201 with the order's id
// once the row is committed; anything else means the order was not taken.
header('X-Served-By: ' . gethostname());
header('Content-Type: text/plain');
if ($_SERVER['REQUEST_METHOD'] !== 'POST' || !isset($_POST['token'])) {
    http_response_code(400);
    die("POST a token\n");
}
mysqli_report(MYSQLI_REPORT_OFF);
$db = new mysqli('localhost', 'shop', 'shop-password', 'shop');
if ($db->connect_error) {
    http_response_code(503);
    die("shop database unavailable: " . $db->connect_error . "\n");
}
$insert = $db->prepare("INSERT INTO orders (token, taken_by, taken_at) VALUES (?, ?, NOW(6))");
$host = gethostname();
if (!$insert || !$insert->bind_param('ss', $_POST['token'], $host) || !$insert->execute()) {
    http_response_code(503);
    die("order not taken: " . $db->error . "\n");
}
http_response_code(201);
echo "order " . $db->insert_id . " taken by " . $host . "\n";

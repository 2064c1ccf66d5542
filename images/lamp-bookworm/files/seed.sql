-- The shop's database: a catalogue and the orders taken so far.
CREATE DATABASE IF NOT EXISTS shop CHARACTER SET utf8mb4;
USE shop;
CREATE TABLE IF NOT EXISTS items (
    id INT PRIMARY KEY,
    name VARCHAR(64) NOT NULL,
    price DECIMAL(10, 2) NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id INT AUTO_INCREMENT PRIMARY KEY,
    token VARCHAR(64) NOT NULL UNIQUE,
    taken_by VARCHAR(64) NOT NULL,
    taken_at DATETIME(6) NOT NULL
);
INSERT INTO items (id, name, price)
WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
SELECT i, CONCAT('item-', i), ROUND(i * 1.37, 2) FROM n;
INSERT INTO orders (token, taken_by, taken_at)
WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
SELECT CONCAT('seed-', i), 'seed', NOW(6) FROM n;

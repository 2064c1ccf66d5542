-- The shop's database, seeded by the scenario before the upgrade.
CREATE DATABASE IF NOT EXISTS shop CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'shop'@'localhost' IDENTIFIED BY 'shop-password';
GRANT SELECT, INSERT ON shop.* TO 'shop'@'localhost';
USE shop;
CREATE TABLE IF NOT EXISTS items (
    id INT PRIMARY KEY,
    name VARCHAR(64) NOT NULL,
    price DECIMAL(10, 2) NOT NULL
);
CREATE TABLE IF NOT EXISTS visits (
    id INT AUTO_INCREMENT PRIMARY KEY,
    seen_at DATETIME NOT NULL
);
INSERT INTO items (id, name, price)
WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
SELECT i, CONCAT('item-', i), ROUND(i * 1.37, 2) FROM n;

-- The application's database account: reads the catalogue, takes orders. No SUPER or
-- READ ONLY ADMIN privilege, so `SET GLOBAL read_only = ON` stops its writes.
CREATE USER IF NOT EXISTS 'shop'@'localhost' IDENTIFIED BY 'shop-password';
GRANT SELECT, INSERT ON shop.* TO 'shop'@'localhost';

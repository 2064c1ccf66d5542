-- The notes database, seeded by the scenario before the upgrade (run as postgres).
CREATE ROLE notes LOGIN PASSWORD 'notes-password';
CREATE DATABASE notes OWNER notes;
\connect notes
SET ROLE notes;
CREATE TABLE notes (id integer PRIMARY KEY, title text NOT NULL, body text NOT NULL);
CREATE TABLE visits (id serial PRIMARY KEY, seen_at timestamptz NOT NULL);
INSERT INTO notes SELECT i, 'note ' || i, repeat('text ', i % 17) FROM generate_series(1, 300) AS i;

-- The tables of `incidents` (PostgreSQL schema 2) partitioned by hash of tenant.
--
-- Run once on an empty database, before the first `PostgresStore::connect`: the store then
-- records schema 2 and makes nothing over these tables. The tenant is the first column of
-- every key, so each shop's rows (events, snapshot, position counter) live in one partition,
-- and every query of a tenant-scoped handle reads that one partition.
--
-- Four partitions here; pick MODULUS by the number of shops (a few hundred shops per
-- partition is plenty) and add one `PARTITION OF` line per remainder.

CREATE TABLE incidents_schema (version INTEGER NOT NULL);
INSERT INTO incidents_schema (version) VALUES (2);

CREATE TABLE incident_tenants (
    tenant        TEXT NOT NULL,
    last_position BIGINT NOT NULL,
    CONSTRAINT incident_tenants_pk PRIMARY KEY (tenant)
) PARTITION BY HASH (tenant);

CREATE TABLE incident_events (
    tenant   TEXT NOT NULL,
    position BIGINT NOT NULL,
    incident BYTEA NOT NULL,
    version  BIGINT NOT NULL,
    schema   SMALLINT NOT NULL,
    event    TEXT NOT NULL,
    CONSTRAINT incident_events_pk PRIMARY KEY (tenant, position),
    CONSTRAINT incident_events_key UNIQUE (tenant, incident, version)
) PARTITION BY HASH (tenant);

CREATE TABLE incident_snapshots (
    tenant TEXT NOT NULL,
    name   TEXT NOT NULL,
    bytes  BYTEA NOT NULL,
    CONSTRAINT incident_snapshots_pk PRIMARY KEY (tenant, name)
) PARTITION BY HASH (tenant);

CREATE TABLE incident_tenants_p0 PARTITION OF incident_tenants FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE incident_tenants_p1 PARTITION OF incident_tenants FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE incident_tenants_p2 PARTITION OF incident_tenants FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE incident_tenants_p3 PARTITION OF incident_tenants FOR VALUES WITH (MODULUS 4, REMAINDER 3);

CREATE TABLE incident_events_p0 PARTITION OF incident_events FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE incident_events_p1 PARTITION OF incident_events FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE incident_events_p2 PARTITION OF incident_events FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE incident_events_p3 PARTITION OF incident_events FOR VALUES WITH (MODULUS 4, REMAINDER 3);

CREATE TABLE incident_snapshots_p0 PARTITION OF incident_snapshots FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE incident_snapshots_p1 PARTITION OF incident_snapshots FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE incident_snapshots_p2 PARTITION OF incident_snapshots FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE incident_snapshots_p3 PARTITION OF incident_snapshots FOR VALUES WITH (MODULUS 4, REMAINDER 3);

-- What xds-service knows of each proxy's stream, per resource type: whether it is connected, and
-- the version (and revision) it last ACKed of each type. Written by the replica holding the
-- proxy's stream, debounced; the API shows it as the proxy's `xds`.
alter table proxies add column xds jsonb;

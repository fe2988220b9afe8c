-- The installed license shapes what proxies are sent (the WASM license filter's features and
-- edition, JWT-free paths), yet installing one makes no revision. Its change notifies
-- config_changed with {"license": true}; xds-service then re-publishes every cluster's current
-- revision (content-derived versions: proxies are sent only what really changed).
create function license_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('config_changed', json_build_object('license', true)::text);
  return null;
end
$$;

create trigger license_notify
  after insert or update or delete on license
  for each statement execute function license_notify();

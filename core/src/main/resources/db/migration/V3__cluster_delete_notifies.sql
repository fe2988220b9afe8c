-- A deleted cluster has no next revision; tell listeners anyway, with a revision no reader holds,
-- so every API instance drops what it cached for it and xds-service stops serving it.
create function clusters_notify_deleted() returns trigger language plpgsql as $$
begin
  perform pg_notify('config_changed',
    json_build_object('cluster_id', old.id, 'revision', 9223372036854775807, 'deleted', true)::text);
  return old;
end
$$;

create trigger clusters_notify_deleted
  after delete on clusters
  for each row execute function clusters_notify_deleted();

-- MarchProxy schema, first cut: operators, clusters, and the revision log every proxy's
-- configuration is derived from. Later migrations add services, routes, mappings, proxies.

create table users (
  id            uuid         primary key,
  username      varchar(64)  not null unique
                             check (username ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  password_hash varchar(100) not null,
  role          varchar(16)  not null check (role in ('ADMIN', 'OPERATOR', 'VIEWER')),
  created_at    timestamptz  not null default now(),
  updated_at    timestamptz  not null default now()
);

create table clusters (
  id          uuid          primary key,
  name        varchar(63)   not null unique
                            check (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
  description varchar(1024) not null default '',
  created_at  timestamptz   not null default now(),
  updated_at  timestamptz   not null default now()
);

-- One immutable row per change of a cluster's desired state. The document is the rendered
-- cluster config (deterministic JSON text, hashed as stored); history is never rewritten.
create table config_revisions (
  cluster_id   uuid          not null references clusters (id) on delete cascade,
  revision     bigint        not null check (revision > 0),
  document     text          not null,
  content_hash char(64)      not null check (content_hash ~ '^[0-9a-f]{64}$'),
  created_at   timestamptz   not null default now(),
  created_by   varchar(64),
  reason       varchar(256)  not null default '',
  primary key (cluster_id, revision)
);

create function config_revisions_immutable() returns trigger language plpgsql as $$
begin
  raise exception 'config_revisions are append-only (cluster %, revision %)',
    old.cluster_id, old.revision;
end
$$;

create trigger config_revisions_no_update
  before update on config_revisions
  for each row execute function config_revisions_immutable();

-- xds-service LISTENs on config_changed; the payload names the cluster and revision. The
-- notification is delivered when the writing transaction commits, never before.
create function config_revisions_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('config_changed',
    json_build_object('cluster_id', new.cluster_id, 'revision', new.revision)::text);
  return new;
end
$$;

create trigger config_revisions_notify
  after insert on config_revisions
  for each row execute function config_revisions_notify();

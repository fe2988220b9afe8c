-- The control-plane API: authentication, the desired state of each cluster, proxies, the license
-- and the audit log. Secrets are stored only hashed (random keys and tokens: sha256) or encrypted
-- (envelope encryption: *_ciphertext is AES-256-GCM under a data key, *_wrapped_key that data key
-- wrapped by the key-encryption key named in *_kek).

alter table users
  add column allowed_clusters uuid[],          -- operators limited to these clusters; null = all
  add column version bigint not null default 1,
  add column disabled boolean not null default false;

create table refresh_tokens (
  id          uuid        primary key,
  user_id     uuid        not null references users (id) on delete cascade,
  family_id   uuid        not null,             -- one login; reuse of a rotated token revokes it
  token_hash  char(64)    not null unique,
  expires_at  timestamptz not null,
  created_at  timestamptz not null default now(),
  rotated_at  timestamptz,
  revoked_at  timestamptz
);
create index refresh_tokens_family on refresh_tokens (family_id);

create table api_tokens (
  id           uuid         primary key,
  user_id      uuid         not null references users (id) on delete cascade,
  name         varchar(64)  not null,
  prefix       varchar(16)  not null,
  token_hash   char(64)     not null unique,
  expires_at   timestamptz,
  created_at   timestamptz  not null default now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);

-- Failed logins, per key ('user:<name>' or 'source:<ip>'), in a sliding window.
create table login_failures (
  key          varchar(200) primary key,
  failures     integer      not null,
  window_start timestamptz  not null,
  locked_until timestamptz
);

-- Keys the API signs access tokens with, encrypted; one row per purpose.
create table signing_keys (
  purpose           varchar(32) primary key,
  secret_ciphertext bytea       not null,
  secret_wrapped_key bytea      not null,
  secret_kek        varchar(64) not null,
  created_at        timestamptz not null default now()
);

alter table clusters
  add column version bigint not null default 1,
  add column current_revision bigint not null default 0;

create table cluster_api_keys (
  id          uuid        primary key,
  cluster_id  uuid        not null references clusters (id) on delete cascade,
  name        varchar(64) not null default '',
  prefix      varchar(16) not null,
  key_hash    char(64)    not null unique,
  created_at  timestamptz not null default now(),
  expires_at  timestamptz,                      -- set when rotated: the grace window's end
  revoked_at  timestamptz,
  last_used_at timestamptz
);
create index cluster_api_keys_cluster on cluster_api_keys (cluster_id);

create table services (
  id          uuid        primary key,
  cluster_id  uuid        not null references clusters (id) on delete cascade,
  name        varchar(63) not null,
  protocol    varchar(8)  not null check (protocol in ('http', 'grpc', 'tcp', 'udp')),
  spec        jsonb       not null,
  version     bigint      not null default 1,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  unique (cluster_id, name)
);

-- Caller credentials of a service: tokens stored as sha256, JWT secrets encrypted.
create table service_secrets (
  id                uuid        primary key,
  service_id        uuid        not null references services (id) on delete cascade,
  kind              varchar(8)  not null check (kind in ('token', 'jwt')),
  prefix            varchar(16) not null,
  token_hash        char(64),
  secret_ciphertext bytea,
  secret_wrapped_key bytea,
  secret_kek        varchar(64),
  created_at        timestamptz not null default now(),
  expires_at        timestamptz,
  revoked_at        timestamptz,
  check ((kind = 'token' and token_hash is not null)
      or (kind = 'jwt' and secret_ciphertext is not null))
);

create table routes (
  id          uuid        primary key,
  cluster_id  uuid        not null references clusters (id) on delete cascade,
  name        varchar(63) not null,
  spec        jsonb       not null,
  version     bigint      not null default 1,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  unique (cluster_id, name)
);

create table mappings (
  id          uuid        primary key,
  cluster_id  uuid        not null references clusters (id) on delete cascade,
  name        varchar(63) not null,
  protocol    varchar(4)  not null check (protocol in ('tcp', 'udp')),
  listen_port integer     not null check (listen_port between 1 and 65535),
  spec        jsonb       not null,
  version     bigint      not null default 1,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  unique (cluster_id, name),
  unique (cluster_id, protocol, listen_port)
);

create table certificates (
  id                 uuid          primary key,
  cluster_id         uuid          not null references clusters (id) on delete cascade,
  name               varchar(63)   not null,
  source             varchar(16)   not null default 'upload',  -- later: vault, infisical
  source_ref         varchar(512),
  subject            varchar(1024) not null,
  issuer             varchar(1024) not null,
  sans               text[]        not null,
  serial             varchar(128)  not null,
  fingerprint_sha256 char(64)      not null,
  not_before         timestamptz   not null,
  not_after          timestamptz   not null,
  chain_pem          text          not null,          -- public: leaf first, then intermediates
  key_ciphertext     bytea         not null,
  key_wrapped_key    bytea         not null,
  key_kek            varchar(64)   not null,
  version            bigint        not null default 1,
  created_at         timestamptz   not null default now(),
  updated_at         timestamptz   not null default now(),
  unique (cluster_id, name)
);
create index certificates_not_after on certificates (not_after);

create table proxies (
  id               uuid         primary key,
  cluster_id       uuid         not null references clusters (id) on delete cascade,
  name             varchar(63)  not null,
  kind             varchar(8)   not null check (kind in ('envoy', 'l4', 'grpc')),
  hostname         varchar(253) not null default '',
  region           varchar(64)  not null default '',
  zone             varchar(64)  not null default '',
  software_version varchar(64)  not null default '',
  status           varchar(8)   not null default 'online'
                                check (status in ('online', 'stale', 'offline')),
  registered_at    timestamptz  not null default now(),
  last_seen_at     timestamptz  not null default now(),
  applied_revision bigint,
  last_nack        jsonb,
  unique (cluster_id, name)
);
create index proxies_status on proxies (status, last_seen_at);

create table license (
  id           smallint    primary key check (id = 1),
  token        text        not null,
  installed_at timestamptz not null default now(),
  installed_by varchar(64)
);

-- Append-only, hash-chained: hash = sha256(prev_hash || canonical event), verified by the API.
create table audit_events (
  seq         bigserial    primary key,
  at          timestamptz  not null,
  actor       varchar(128) not null,
  source      varchar(64)  not null default '',
  action      varchar(64)  not null,
  entity_type varchar(32)  not null,
  entity_id   varchar(64),
  cluster_id  uuid,
  before      jsonb,
  after       jsonb,
  prev_hash   char(64)     not null,
  hash        char(64)     not null
);
create index audit_events_cluster on audit_events (cluster_id, seq);

create function audit_events_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_events are append-only';
end
$$;
create trigger audit_events_no_update before update or delete on audit_events
  for each row execute function audit_events_append_only();

-- What xds-service made of each revision, per data-plane kind: published (a snapshot was built and
-- handed to the proxies) or failed (validation found problems; proxies keep the last good snapshot).
-- Every replica translates the same revision to the same result, so they write the same row
-- (an idempotent upsert); the API shows these rows with the revision.
create table revision_publications (
  cluster_id   uuid         not null references clusters (id) on delete cascade,
  revision     bigint       not null,
  data_plane   varchar(16)  not null check (data_plane in ('envoy', 'l4', 'grpc')),
  state        varchar(16)  not null check (state in ('published', 'failed')),
  problems     jsonb        not null default '[]',
  at           timestamptz  not null default now(),
  primary key (cluster_id, revision, data_plane)
);

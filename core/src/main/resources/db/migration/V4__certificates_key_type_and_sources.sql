-- Certificates: the leaf's key type (RSA-2048, EC-P256, ...: what Envoy will serve), and the
-- sources a certificate can come from. An 'upload' has no reference; 'vault' and 'infisical'
-- (to come) name the secret they are synchronized from in source_ref, and keep a sealed copy of the
-- key in the same columns, so xds-service reads every certificate the same way and proxies keep
-- their certificates while the secret store is unreachable.
alter table certificates
  add column key_type varchar(16) not null default '',
  add constraint certificates_source check (source in ('upload', 'vault', 'infisical')),
  add constraint certificates_source_ref check ((source = 'upload') = (source_ref is null));
alter table certificates alter column key_type drop default;

-- Expiry listings per cluster.
create index certificates_cluster_not_after on certificates (cluster_id, not_after);

-- Retention for every table Cronwarden writes, so none grows without bound. Run history has its
-- own function (cron_prune_run_history); alerts, notifications and silences are pruned by
-- alert_prune; the tables below are pruned here, each by its time column and its setting:
--   export_metrics         created_at   EXPORT_METRICS_RETENTION_DAYS (default 90)
--   export_metrics_hourly  hour         EXPORT_ROLLUP_RETENTION_DAYS (default 400)
--   audit_logs             created_at   DELETION_AUDIT_RETENTION_DAYS (default 365)
--   deleted_users          deleted_at   DELETION_AUDIT_RETENTION_DAYS
--   export_file_claims     claimed_at   claims left behind by export rows that no longer exist
-- The other tables are bounded by construction (leases, counters, first-seen per job, pending
-- batches and queues that empty as their work is done, the bindings).

-- One batch of the oldest rows past the cutoff (whole days are exact hours, UTC), oldest first;
-- a dry run counts them.
create or replace function cronwarden.prune_own_table(
  p_table text,
  p_days integer,
  p_batch_size integer default 5000,
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (deleted_count bigint, has_more boolean)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_col text := case p_table when 'export_metrics' then 'created_at' when 'export_metrics_hourly' then 'hour'
                             when 'audit_logs' then 'created_at' when 'deleted_users' then 'deleted_at' end;
  v_cutoff timestamptz := p_now - make_interval(hours => 24 * p_days);
  v_n bigint;
begin
  if v_col is null then
    raise exception 'not a table with a retention setting: %', p_table using errcode = '22023';
  end if;
  if p_days is null or p_days < 1 or p_batch_size is null or p_batch_size < 1 then
    raise exception 'p_days and p_batch_size must be at least 1' using errcode = '22023';
  end if;
  if to_regclass('cronwarden.' || p_table) is null then
    return query select 0::bigint, false;
    return;
  end if;
  if p_dry_run then
    execute format('select count(*) from cronwarden.%I where %I < $1', p_table, v_col) into v_n using v_cutoff;
    return query select v_n, false;
    return;
  end if;
  execute format(
    'delete from cronwarden.%1$I t where t.ctid = any(array(select x.ctid from cronwarden.%1$I x where x.%2$I < $1 order by x.%2$I limit $2))',
    p_table, v_col) using v_cutoff, p_batch_size;
  get diagnostics v_n = row_count;
  return query select v_n, v_n = p_batch_size;
end;
$$;

-- File-cleanup claims whose export row is gone (deleted by log retention, a user's deletion or
-- the team), one batch. Set-aside claims of rows that still exist stay until released.
create or replace function cronwarden.prune_orphan_export_claims(
  p_batch_size integer default 5000,
  p_dry_run boolean default false
) returns table (deleted_count bigint, has_more boolean)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_n bigint;
begin
  if to_regclass('cronwarden.exports') is null then
    return query select 0::bigint, false;
    return;
  end if;
  if p_dry_run then
    select count(*) into v_n from export_file_claims c
     where not exists (select 1 from exports e where e.id = any (cast_keys((null::exports).id, array[c.export_key])));
    return query select v_n, false;
    return;
  end if;
  delete from export_file_claims c
   where c.export_key = any(array(
     select x.export_key from export_file_claims x
      where not exists (select 1 from exports e where e.id = any (cast_keys((null::exports).id, array[x.export_key])))
      limit p_batch_size));
  get diagnostics v_n = row_count;
  return query select v_n, v_n = p_batch_size;
end;
$$;

revoke all on function cronwarden.prune_own_table(text, integer, integer, boolean, timestamptz) from public;
revoke all on function cronwarden.prune_orphan_export_claims(integer, boolean) from public;

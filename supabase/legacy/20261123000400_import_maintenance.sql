-- Import maintenance: the import tables and the rules that keep them healthy.
--   1. runs stuck in 'processing' (no heartbeat for more than 24 h) are marked failed;
--   2. temp uploads older than 24 h are removed (object in storage first, then the row);
--   3. finished import jobs older than 7 days are compacted (payload and result dropped);
--   4. raw items of runs that failed more than 30 days ago are deleted.
-- Every age rule is strict: a row exactly at the threshold is not yet due.
-- The job /api/cron/maintenance (src/lib/jobs/maintenance.ts) runs all four; for databases
-- without the app, run_maintenance_cleanup() runs the SQL-only steps (1, 3, 4) from pg_cron.

create table if not exists import_runs (
  id uuid primary key default gen_random_uuid(),
  status text not null default 'queued'
    check (status in ('queued', 'processing', 'completed', 'failed', 'cancelled')),
  source text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  -- The heartbeat: a worker processing the run bumps it as it makes progress.
  updated_at timestamptz not null default now(),
  finished_at timestamptz,
  error text
);
-- Stuck-run detection scans only the processing runs, by heartbeat.
create index if not exists import_runs_processing_heartbeat_idx
  on import_runs (updated_at) where status = 'processing';
-- Raw-item purge finds failed runs by when they failed.
create index if not exists import_runs_failed_at_idx
  on import_runs ((coalesce(finished_at, updated_at))) where status = 'failed';

create table if not exists raw_import_items (
  id uuid primary key default gen_random_uuid(),
  run_id uuid not null references import_runs (id) on delete cascade,
  payload jsonb,
  created_at timestamptz not null default now()
);
create index if not exists raw_import_items_run_idx on raw_import_items (run_id);

create table if not exists temp_uploads (
  id uuid primary key default gen_random_uuid(),
  storage_path text not null,
  size_bytes bigint not null default 0 check (size_bytes >= 0),
  created_at timestamptz not null default now()
);
create index if not exists temp_uploads_created_idx on temp_uploads (created_at);
create index if not exists temp_uploads_path_idx on temp_uploads (storage_path);

create table if not exists import_jobs (
  id uuid primary key default gen_random_uuid(),
  run_id uuid references import_runs (id) on delete set null,
  status text not null default 'queued'
    check (status in ('queued', 'processing', 'completed', 'failed', 'cancelled')),
  payload jsonb,
  result jsonb,
  -- What survives compaction: id, status, timing, counts and the error summary.
  counts jsonb not null default '{}'::jsonb,
  error_summary text,
  compacted_at timestamptz,
  created_at timestamptz not null default now(),
  finished_at timestamptz
);
create index if not exists import_jobs_run_idx on import_jobs (run_id);
-- Compaction scans only finished jobs not yet compacted, by age.
create index if not exists import_jobs_compaction_due_idx
  on import_jobs ((coalesce(finished_at, created_at)))
  where compacted_at is null and status in ('completed', 'failed', 'cancelled');

-- On Supabase the service role (which the app uses) bypasses row level security; with RLS on and
-- no policies, the public API roles see nothing of these tables.
alter table import_runs enable row level security;
alter table raw_import_items enable row level security;
alter table temp_uploads enable row level security;
alter table import_jobs enable row level security;

create or replace function maintenance_check_args(p_batch_size integer, p_age integer, p_age_name text)
returns void
language plpgsql immutable as $$
begin
  if p_batch_size is null or p_batch_size < 1 or p_batch_size > 10000 then
    raise exception 'p_batch_size must be between 1 and 10000 (got %)', p_batch_size using errcode = '22023';
  end if;
  if p_age is null or p_age < 1 then
    raise exception '% must be at least 1 (got %)', p_age_name, p_age using errcode = '22023';
  end if;
end;
$$;

-- 1. Runs in 'processing' whose heartbeat (updated_at) is more than p_hours old are marked
-- failed with a timeout error; at most p_batch_size per call, oldest heartbeat first. A run that
-- beats between the selection and the update is left alone (the update re-checks the heartbeat).
-- Dry run: counts every stuck run and lists the first p_batch_size ids, changing nothing.
create or replace function mark_stuck_import_runs(
  p_hours integer default 24,
  p_batch_size integer default 1000,
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (marked_count integer, run_ids uuid[], has_more boolean)
language plpgsql as $$
declare
  v_cutoff timestamptz;
begin
  perform maintenance_check_args(p_batch_size, p_hours, 'p_hours');
  v_cutoff := p_now - make_interval(hours => p_hours);
  if p_dry_run then
    return query
      select (select count(*)::integer from import_runs r where r.status = 'processing' and r.updated_at < v_cutoff),
             coalesce((select array_agg(s.id order by s.updated_at, s.id) from (
                 select r.id, r.updated_at from import_runs r
                  where r.status = 'processing' and r.updated_at < v_cutoff
                  order by r.updated_at, r.id limit p_batch_size) s), '{}'::uuid[]),
             false;
    return;
  end if;
  return query
    with due as (
      select r.id from import_runs r
       where r.status = 'processing' and r.updated_at < v_cutoff
       order by r.updated_at, r.id
       limit p_batch_size
       for update skip locked
    ), marked as (
      update import_runs r
         set status = 'failed',
             error = format('Timed out: no progress for more than %s hours (last heartbeat %s)',
                            p_hours, to_char(r.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
             finished_at = p_now,
             updated_at = p_now
        from due d
       where r.id = d.id and r.status = 'processing' and r.updated_at < v_cutoff
      returning r.id
    )
    select count(*)::integer, coalesce(array_agg(m.id), '{}'::uuid[]), count(*) = p_batch_size from marked m;
end;
$$;

-- 2a. Temp uploads older than p_hours, in id order after p_after_id (a cursor that moves past
-- rows whose object could not be removed, so they wait for the next run). A path that a newer
-- upload still uses is skipped: removing the object would break that upload.
create or replace function list_expired_temp_uploads(
  p_hours integer default 24,
  p_batch_size integer default 1000,
  p_after_id uuid default null,
  p_now timestamptz default now()
) returns table (id uuid, storage_path text, size_bytes bigint, created_at timestamptz)
language plpgsql stable as $$
declare
  v_cutoff timestamptz;
begin
  perform maintenance_check_args(p_batch_size, p_hours, 'p_hours');
  v_cutoff := p_now - make_interval(hours => p_hours);
  return query
    select t.id, t.storage_path, t.size_bytes, t.created_at
      from temp_uploads t
     where t.created_at < v_cutoff
       and (p_after_id is null or t.id > p_after_id)
       and not exists (select 1 from temp_uploads f where f.storage_path = t.storage_path and f.created_at >= v_cutoff)
     order by t.id
     limit p_batch_size;
end;
$$;

-- 2b. Deletes the rows whose objects were removed (p_ids), re-checking that each is still
-- expired, and answers what it deleted.
create or replace function delete_temp_uploads(
  p_ids uuid[],
  p_hours integer default 24,
  p_now timestamptz default now()
) returns table (deleted_count integer, bytes_freed bigint, deleted_ids uuid[])
language plpgsql as $$
declare
  v_cutoff timestamptz;
begin
  perform maintenance_check_args(greatest(coalesce(cardinality(p_ids), 0), 1), p_hours, 'p_hours');
  v_cutoff := p_now - make_interval(hours => p_hours);
  return query
    with gone as (
      delete from temp_uploads t
       where t.id = any (coalesce(p_ids, '{}'::uuid[])) and t.created_at < v_cutoff
      returning t.id, t.size_bytes
    )
    select count(*)::integer, coalesce(sum(g.size_bytes), 0)::bigint, coalesce(array_agg(g.id), '{}'::uuid[]) from gone g;
end;
$$;

-- 3. Finished jobs (completed, failed, cancelled) that ended more than p_days ago keep their
-- id, run, status, timing, counts and error summary; payload and result are dropped and
-- compacted_at is set. Already compacted jobs are never touched again.
create or replace function compact_old_import_jobs(
  p_days integer default 7,
  p_batch_size integer default 1000,
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (compacted_count integer, bytes_freed bigint, has_more boolean)
language plpgsql as $$
declare
  v_cutoff timestamptz;
begin
  perform maintenance_check_args(p_batch_size, p_days, 'p_days');
  v_cutoff := p_now - make_interval(days => p_days);
  if p_dry_run then
    return query
      select count(*)::integer,
             coalesce(sum(coalesce(pg_column_size(j.payload), 0) + coalesce(pg_column_size(j.result), 0)), 0)::bigint,
             false
        from import_jobs j
       where j.compacted_at is null and j.status in ('completed', 'failed', 'cancelled')
         and coalesce(j.finished_at, j.created_at) < v_cutoff;
    return;
  end if;
  return query
    with due as (
      select j.id,
             coalesce(pg_column_size(j.payload), 0) + coalesce(pg_column_size(j.result), 0) as bytes
        from import_jobs j
       where j.compacted_at is null and j.status in ('completed', 'failed', 'cancelled')
         and coalesce(j.finished_at, j.created_at) < v_cutoff
       order by coalesce(j.finished_at, j.created_at), j.id
       limit p_batch_size
       for update skip locked
    ), done as (
      update import_jobs j
         set payload = null, result = null, compacted_at = p_now
        from due d
       where j.id = d.id and j.compacted_at is null
      returning d.bytes
    )
    select count(*)::integer, coalesce(sum(d.bytes), 0)::bigint, count(*) = p_batch_size from done d;
end;
$$;

-- 4. Raw items of runs that failed more than p_days ago (by finished_at, else their last
-- update), at most p_batch_size per call.
create or replace function purge_failed_run_raw_items(
  p_days integer default 30,
  p_batch_size integer default 1000,
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (deleted_count integer, has_more boolean)
language plpgsql as $$
declare
  v_cutoff timestamptz;
  v_n integer;
begin
  perform maintenance_check_args(p_batch_size, p_days, 'p_days');
  v_cutoff := p_now - make_interval(days => p_days);
  if p_dry_run then
    return query
      select count(*)::integer, false
        from raw_import_items i join import_runs r on r.id = i.run_id
       where r.status = 'failed' and coalesce(r.finished_at, r.updated_at) < v_cutoff;
    return;
  end if;
  with due as (
    select i.id
      from import_runs r join raw_import_items i on i.run_id = r.id
     where r.status = 'failed' and coalesce(r.finished_at, r.updated_at) < v_cutoff
     limit p_batch_size
     for update of i skip locked
  )
  delete from raw_import_items i using due d where i.id = d.id;
  get diagnostics v_n = row_count;
  return query select v_n, v_n = p_batch_size;
end;
$$;

-- What is due now: the numbers behind the maintenance_status view, the admin status endpoint
-- and the alert rules. Thresholds are the rules' defaults unless given.
create or replace function get_maintenance_status(
  p_now timestamptz default now(),
  p_hours integer default 24
) returns table (
  stuck_runs integer,
  oldest_stuck_heartbeat_at timestamptz,
  old_temp_uploads integer,
  old_temp_upload_bytes bigint,
  old_raw_items integer,
  jobs_due_for_compaction integer,
  checked_at timestamptz
)
language sql stable as $$
  select
    (select count(*)::integer from import_runs r
      where r.status = 'processing' and r.updated_at < p_now - make_interval(hours => p_hours)),
    (select min(r.updated_at) from import_runs r
      where r.status = 'processing' and r.updated_at < p_now - make_interval(hours => p_hours)),
    (select count(*)::integer from temp_uploads t where t.created_at < p_now - interval '24 hours'),
    (select coalesce(sum(t.size_bytes), 0)::bigint from temp_uploads t where t.created_at < p_now - interval '24 hours'),
    (select count(*)::integer from raw_import_items i join import_runs r on r.id = i.run_id
      where r.status = 'failed' and coalesce(r.finished_at, r.updated_at) < p_now - interval '30 days'),
    (select count(*)::integer from import_jobs j
      where j.compacted_at is null and j.status in ('completed', 'failed', 'cancelled')
        and coalesce(j.finished_at, j.created_at) < p_now - interval '7 days'),
    p_now;
$$;

create or replace view maintenance_status as select * from get_maintenance_status();

-- The SQL-only steps (1, 3, 4) with one summary, for databases maintained from pg_cron:
--   select cron.schedule('import-maintenance', '<cron expression>', 'select * from run_maintenance_cleanup()');
-- Each step runs in its own block: a step that fails is rolled back and reported in errors, and
-- the others still run. Temp uploads need object storage, so only the app's job removes them;
-- temp_uploads_pending says how many are due. Each step loops at most p_max_batches batches.
create or replace function run_maintenance_cleanup(
  p_hours integer default 24,
  p_batch_size integer default 1000,
  p_max_batches integer default 100,
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (
  stuck_runs_marked integer,
  import_jobs_compacted integer,
  raw_items_purged integer,
  temp_uploads_pending integer,
  errors jsonb,
  ran_at timestamptz
)
language plpgsql as $$
declare
  v_stuck integer := 0;
  v_compacted integer := 0;
  v_purged integer := 0;
  v_pending integer := 0;
  v_errors jsonb := '[]'::jsonb;
  v_n integer;
  v_more boolean;
  v_batches integer;
begin
  if p_max_batches is null or p_max_batches < 1 then
    raise exception 'p_max_batches must be at least 1 (got %)', p_max_batches using errcode = '22023';
  end if;
  perform maintenance_check_args(p_batch_size, p_hours, 'p_hours');

  begin
    v_batches := 0;
    loop
      select m.marked_count, m.has_more into v_n, v_more from mark_stuck_import_runs(p_hours, p_batch_size, p_dry_run, p_now) m;
      v_stuck := v_stuck + v_n;
      v_batches := v_batches + 1;
      exit when p_dry_run or not v_more or v_batches >= p_max_batches;
    end loop;
  exception when others then
    v_stuck := 0;
    v_errors := v_errors || jsonb_build_object('step', 'stuck_runs', 'message', sqlerrm, 'sqlstate', sqlstate);
  end;

  begin
    v_batches := 0;
    loop
      select c.compacted_count, c.has_more into v_n, v_more from compact_old_import_jobs(7, p_batch_size, p_dry_run, p_now) c;
      v_compacted := v_compacted + v_n;
      v_batches := v_batches + 1;
      exit when p_dry_run or not v_more or v_batches >= p_max_batches;
    end loop;
  exception when others then
    v_compacted := 0;
    v_errors := v_errors || jsonb_build_object('step', 'compact_import_jobs', 'message', sqlerrm, 'sqlstate', sqlstate);
  end;

  begin
    v_batches := 0;
    loop
      select p.deleted_count, p.has_more into v_n, v_more from purge_failed_run_raw_items(30, p_batch_size, p_dry_run, p_now) p;
      v_purged := v_purged + v_n;
      v_batches := v_batches + 1;
      exit when p_dry_run or not v_more or v_batches >= p_max_batches;
    end loop;
  exception when others then
    v_purged := 0;
    v_errors := v_errors || jsonb_build_object('step', 'raw_items', 'message', sqlerrm, 'sqlstate', sqlstate);
  end;

  begin
    select count(*)::integer into v_pending from temp_uploads t where t.created_at < p_now - interval '24 hours';
  exception when others then
    v_errors := v_errors || jsonb_build_object('step', 'temp_uploads', 'message', sqlerrm, 'sqlstate', sqlstate);
  end;

  return query select v_stuck, v_compacted, v_purged, v_pending, v_errors, p_now;
end;
$$;

-- The latest finished, non-dry run of the maintenance job, for the "maintenance step failed" alert.
create or replace function maintenance_last_run(p_job text default 'maintenance')
returns table (
  run_id uuid,
  status text,
  started_at timestamptz,
  finished_at timestamptz,
  error text,
  error_count integer,
  errors jsonb
)
language sql stable as $$
  select r.id, r.status, r.started_at, r.finished_at, r.error,
         coalesce(jsonb_array_length(case when jsonb_typeof(r.result -> 'errors') = 'array' then r.result -> 'errors' end), 0)::integer,
         case when jsonb_typeof(r.result -> 'errors') = 'array' then r.result -> 'errors' else '[]'::jsonb end
    from cron_job_runs r
   where r.job = p_job and r.status in ('succeeded', 'partial', 'failed') and not r.dry_run
   order by r.started_at desc
   limit 1;
$$;

-- These functions change or reveal import data: only the server (the service role on
-- Supabase, the database owner elsewhere) may call them, never the public API roles.
revoke all on function mark_stuck_import_runs(integer, integer, boolean, timestamptz) from public;
revoke all on function list_expired_temp_uploads(integer, integer, uuid, timestamptz) from public;
revoke all on function delete_temp_uploads(uuid[], integer, timestamptz) from public;
revoke all on function compact_old_import_jobs(integer, integer, boolean, timestamptz) from public;
revoke all on function purge_failed_run_raw_items(integer, integer, boolean, timestamptz) from public;
revoke all on function get_maintenance_status(timestamptz, integer) from public;
revoke all on function run_maintenance_cleanup(integer, integer, integer, boolean, timestamptz) from public;
revoke all on function maintenance_last_run(text) from public;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') and exists (select 1 from pg_roles where rolname = 'authenticated') then
    execute 'revoke all on function mark_stuck_import_runs(integer, integer, boolean, timestamptz) from anon, authenticated';
    execute 'revoke all on function list_expired_temp_uploads(integer, integer, uuid, timestamptz) from anon, authenticated';
    execute 'revoke all on function delete_temp_uploads(uuid[], integer, timestamptz) from anon, authenticated';
    execute 'revoke all on function compact_old_import_jobs(integer, integer, boolean, timestamptz) from anon, authenticated';
    execute 'revoke all on function purge_failed_run_raw_items(integer, integer, boolean, timestamptz) from anon, authenticated';
    execute 'revoke all on function get_maintenance_status(timestamptz, integer) from anon, authenticated';
    execute 'revoke all on function run_maintenance_cleanup(integer, integer, integer, boolean, timestamptz) from anon, authenticated';
    execute 'revoke all on function maintenance_last_run(text) from anon, authenticated';
    execute 'revoke all on maintenance_status from anon, authenticated';
  end if;
end;
$$;

-- Import maintenance: the rules that keep a team's import tables healthy, over the views the
-- imports binding creates (cronwarden.import_runs, import_raw_items, import_temp_uploads,
-- import_jobs; see src/lib/bindings/compile.ts):
--   1. runs stuck in processing (no heartbeat for more than 24 h) are marked failed;
--   2. temp uploads older than 24 h are removed: the row, and its object in storage unless a
--      live row of a bound table still references the path (the app's job does this part);
--   3. finished import jobs older than 7 days are compacted (the bound bulky columns set to null);
--   4. raw items of runs that failed more than 30 days ago are deleted.
-- Every age rule is strict: a row exactly at the threshold is not yet due. Ages are exact
-- durations (a day is 24 hours), whatever the session's time zone: `timestamptz - interval
-- '30 days'` would count days in the session's zone and move the cutoff by an hour across a
-- daylight-saving change.
-- Raw items, temp uploads and jobs may be left unbound (bindings.imports.rawItems = false, ...):
-- that step is skipped, never an error. Keys travel as text (a team's ids may be uuid, bigint,
-- text); no call returns more than 1000 rows (PostgREST's max-rows on Supabase).
-- The job /api/cron/maintenance (src/lib/jobs/maintenance.ts) runs all four; for databases
-- maintained from pg_cron, run_maintenance_cleanup() runs the SQL-only steps (1, 3, 4).
--
-- Every function reads the binding's views, which exist only once the feature is bound, so each
-- is plpgsql (its statements are planned at the first call, not at creation).

-- Whether a part of the imports binding is bound ('runs', 'raw_items', 'temp_uploads', 'jobs').
-- Raises 55000 when the feature itself is not bound: no function of it can do anything then.
create or replace function cronwarden.imports_part_bound(p_part text)
returns boolean
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  v jsonb;
begin
  if bound_setting('imports', 'runs') is null or to_regclass('cronwarden.import_runs') is null then
    raise exception 'Import maintenance is not bound to this database (bindings.imports in cronwarden.config.ts)'
      using errcode = '55000';
  end if;
  v := bound_setting('imports', p_part);
  return v is not null
     and (v = 'true'::jsonb or jsonb_typeof(v) = 'object')
     and to_regclass('cronwarden.' || case p_part when 'runs' then 'import_runs' when 'raw_items' then 'import_raw_items'
                                                  when 'temp_uploads' then 'import_temp_uploads' when 'jobs' then 'import_jobs' end) is not null;
end;
$$;

-- A value of a time column the binding writes: a column without time zone is written in UTC
-- (the views read it as UTC), whatever the session's time zone.
create or replace function cronwarden.imports_time_value(p_param text, p_with_time_zone boolean)
returns text
language sql immutable
set search_path = cronwarden, pg_temp
as $$ select case when p_with_time_zone then p_param else format('(%s at time zone ''UTC'')', p_param) end; $$;

create or replace function cronwarden.maintenance_check_args(p_batch_size integer, p_age integer, p_age_name text)
returns void
language plpgsql immutable
set search_path = cronwarden, pg_temp
as $$
begin
  if p_batch_size is null or p_batch_size < 1 or p_batch_size > 10000 then
    raise exception 'p_batch_size must be between 1 and 10000 (got %)', p_batch_size using errcode = '22023';
  end if;
  if p_age is null or p_age < 1 then
    raise exception '% must be at least 1 (got %)', p_age_name, p_age using errcode = '22023';
  end if;
end;
$$;

-- 1. Runs in a processing status whose heartbeat is more than p_hours old are marked failed (the
-- binding's failed word) with a timeout error; at most p_batch_size per call, oldest heartbeat
-- first. The heartbeat (and finished time, when bound) is set to p_now, so the raw-items rule
-- counts its 30 days from the failure. A run that beats between the selection and the update is
-- left alone: the selection skips rows locked by a writer and the update re-checks the heartbeat.
-- Dry run: counts every stuck run and lists the first p_batch_size ids, changing nothing.
-- run_ids: the marked runs' ids as text, oldest heartbeat first (one row, whatever the count).
create or replace function cronwarden.mark_stuck_import_runs(
  p_hours integer default 24,
  p_batch_size integer default 1000,
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (marked_count integer, run_ids text[], has_more boolean)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_cutoff timestamptz;
  v_runs jsonb;
  v_set text;
begin
  perform maintenance_check_args(p_batch_size, p_hours, 'p_hours');
  perform imports_part_bound('runs');
  v_cutoff := p_now - make_interval(hours => p_hours);
  if p_dry_run then
    return query
      select (select count(*)::integer from import_runs r where r.is_processing and r.heartbeat_at < v_cutoff),
             array(select s.id::text from (
                     select r.id, r.heartbeat_at from import_runs r
                      where r.is_processing and r.heartbeat_at < v_cutoff
                      order by r.heartbeat_at, r.id limit p_batch_size) s
                    order by s.heartbeat_at, s.id),
             false;
    return;
  end if;

  v_runs := bound_setting('imports', 'runs');
  v_set := 'status = r.failed_status, heartbeat_raw = ' || imports_time_value('$3', (v_runs ->> 'heartbeat_tz')::boolean);
  if (v_runs ->> 'finished')::boolean then
    v_set := v_set || ', finished_raw = ' || imports_time_value('$3', (v_runs ->> 'finished_tz')::boolean);
  end if;
  if (v_runs ->> 'error')::boolean then
    v_set := v_set || $s$, error_raw = format('Timed out: no progress for more than %s hours (last heartbeat %s)',
                                             $4, to_char(r.heartbeat_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))$s$;
  end if;
  return query execute format($q$
    with due as (
      select r.id, r.heartbeat_at as beat
        from cronwarden.import_runs r
       where r.is_processing and r.heartbeat_at < $1
       order by r.heartbeat_at, r.id
       limit $2
       for update skip locked
    ), marked as (
      update cronwarden.import_runs r
         set %s
        from due d
       where r.id = d.id and r.is_processing and r.heartbeat_at < $1
      returning r.id as key, d.beat
    )
    select count(*)::integer, coalesce(array_agg(m.key::text order by m.beat, m.key), '{}'::text[]), count(*) = $2
      from marked m
  $q$, v_set) using v_cutoff, p_batch_size, p_now, p_hours;
end;
$$;

-- 2a. Temp uploads older than p_hours, in key order after p_after_id (a cursor that moves past
-- rows kept for the next run), at most least(p_batch_size, 1000) per call: the caller pages until
-- a call returns no row. path_in_use: a live row of a bound table other than the rows of this page
-- (another upload, an export, a user's file...) still references the path, so its object must
-- stay; the row itself may go. Nothing when temp uploads are not bound.
create or replace function cronwarden.list_expired_temp_uploads(
  p_hours integer default 24,
  p_batch_size integer default 1000,
  p_after_id text default null,
  p_now timestamptz default now()
) returns table (id text, storage_path text, size_bytes bigint, created_at timestamptz, path_in_use boolean)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_cutoff timestamptz;
  v_ids text[];
  v_paths text[];
  v_sizes bigint[];
  v_created timestamptz[];
  v_in_use text[];
begin
  perform maintenance_check_args(p_batch_size, p_hours, 'p_hours');
  if not imports_part_bound('temp_uploads') then
    return;
  end if;
  v_cutoff := p_now - make_interval(hours => p_hours);
  select coalesce(array_agg(p.id::text order by p.id), '{}'::text[]),
         coalesce(array_agg(p.storage_path order by p.id), '{}'::text[]),
         coalesce(array_agg(p.size_bytes order by p.id), '{}'::bigint[]),
         coalesce(array_agg(p.created_at order by p.id), '{}'::timestamptz[])
    into v_ids, v_paths, v_sizes, v_created
    from (select t.id, t.storage_path, t.size_bytes, t.created_at
            from import_temp_uploads t
           where t.created_at < v_cutoff
             and (p_after_id is null
                  or t.id > (select (cast_keys((null::import_temp_uploads).id, array[p_after_id]))[1]))
           order by t.id
           limit least(p_batch_size, 1000)) p;
  if cardinality(v_ids) = 0 then
    return;
  end if;
  v_in_use := array(select distinct u.storage_path
                      from storage_paths_in_use(array(select distinct a.path from unnest(v_paths) as a(path)), 'imports.temp_uploads', v_ids) u);
  return query
    select x.id, x.path, x.size, x.created, x.path = any (v_in_use)
      from unnest(v_ids, v_paths, v_sizes, v_created) with ordinality as x(id, path, size, created, n)
     order by x.n;
end;
$$;

-- 2b. Deletes the given temp upload rows (p_ids: keys as text; their objects were removed, or are
-- kept for another row), re-checking that each is still expired, and answers what it deleted.
create or replace function cronwarden.delete_temp_uploads(
  p_ids text[],
  p_hours integer default 24,
  p_now timestamptz default now()
) returns table (deleted_count integer, bytes_freed bigint, deleted_ids text[])
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_cutoff timestamptz;
begin
  perform maintenance_check_args(greatest(coalesce(cardinality(p_ids), 0), 1), p_hours, 'p_hours');
  if not imports_part_bound('temp_uploads') or coalesce(cardinality(p_ids), 0) = 0 then
    return query select 0, 0::bigint, '{}'::text[];
    return;
  end if;
  v_cutoff := p_now - make_interval(hours => p_hours);
  return query
    with gone as (
      delete from import_temp_uploads t
       where t.id = any (cast_keys((null::import_temp_uploads).id, p_ids)) and t.created_at < v_cutoff
      returning t.id, t.size_bytes
    )
    select count(*)::integer, coalesce(sum(g.size_bytes), 0)::bigint, coalesce(array_agg(g.id::text), '{}'::text[]) from gone g;
end;
$$;

-- 3. Finished jobs (the binding's finished words) that ended more than p_days ago (finished
-- time, else creation) and still hold a payload: their bound bulky columns (compact_1..n of the
-- view) are set to null and, when bound, their compacted time to p_now. Everything else of the
-- row is kept. A compacted job (no payload left, or a compacted time) is never touched again.
-- Nothing when jobs are not bound.
create or replace function cronwarden.compact_old_import_jobs(
  p_days integer default 7,
  p_batch_size integer default 1000,
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (compacted_count integer, bytes_freed bigint, has_more boolean)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_cutoff timestamptz;
  v_jobs jsonb;
  v_set text;
begin
  perform maintenance_check_args(p_batch_size, p_days, 'p_days');
  if not imports_part_bound('jobs') then
    return query select 0, 0::bigint, false;
    return;
  end if;
  v_cutoff := p_now - make_interval(hours => 24 * p_days);
  if p_dry_run then
    return query
      select count(*)::integer, coalesce(sum(j.payload_bytes), 0)::bigint, false
        from import_jobs j
       where j.is_finished and j.has_payload and j.compacted_at is null
         and coalesce(j.finished_at, j.created_at) < v_cutoff;
    return;
  end if;

  v_jobs := bound_setting('imports', 'jobs');
  select string_agg(format('compact_%s = null', n), ', ' order by n) into v_set
    from generate_series(1, (v_jobs ->> 'compact_columns')::integer) n;
  if (v_jobs ->> 'compacted')::boolean then
    v_set := v_set || ', compacted_raw = ' || imports_time_value('$3', (v_jobs ->> 'compacted_tz')::boolean);
  end if;
  return query execute format($q$
    with due as (
      select j.id, j.payload_bytes as bytes
        from cronwarden.import_jobs j
       where j.is_finished and j.has_payload and j.compacted_at is null
         and coalesce(j.finished_at, j.created_at) < $1
       order by coalesce(j.finished_at, j.created_at), j.id
       limit $2
       for update skip locked
    ), done as (
      update cronwarden.import_jobs j
         set %s
        from due d
       where j.id = d.id and j.has_payload and j.compacted_at is null
      returning d.bytes
    )
    select count(*)::integer, coalesce(sum(d.bytes), 0)::bigint, count(*) = $2 from done d
  $q$, v_set) using v_cutoff, p_batch_size, p_now;
end;
$$;

-- 4. Raw items of runs that failed more than p_days ago (by their finished time when bound, else
-- their last heartbeat), at most p_batch_size per call. Nothing when raw items are not bound.
create or replace function cronwarden.purge_failed_run_raw_items(
  p_days integer default 30,
  p_batch_size integer default 1000,
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (deleted_count integer, has_more boolean)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_cutoff timestamptz;
  v_n integer;
begin
  perform maintenance_check_args(p_batch_size, p_days, 'p_days');
  if not imports_part_bound('raw_items') then
    return query select 0, false;
    return;
  end if;
  v_cutoff := p_now - make_interval(hours => 24 * p_days);
  if p_dry_run then
    return query
      select count(*)::integer, false
        from import_raw_items i join import_runs r on r.id = i.run_id
       where r.is_failed and coalesce(r.finished_at, r.heartbeat_at) < v_cutoff;
    return;
  end if;
  with due as (
    select i.id
      from import_runs r join import_raw_items i on i.run_id = r.id
     where r.is_failed and coalesce(r.finished_at, r.heartbeat_at) < v_cutoff
     limit p_batch_size
     for update of i skip locked
  )
  delete from import_raw_items i using due d where i.id = d.id;
  get diagnostics v_n = row_count;
  return query select v_n, v_n = p_batch_size;
end;
$$;

-- What is due now: the numbers behind the maintenance_status view, the admin status endpoint
-- and the alert rules. Thresholds are the rules' defaults unless given. A part that is not bound
-- counts 0.
create or replace function cronwarden.get_maintenance_status(
  p_now timestamptz default now(),
  p_hours integer default 24
) returns table (
  stuck_runs bigint,
  oldest_stuck_heartbeat_at timestamptz,
  old_temp_uploads bigint,
  old_temp_upload_bytes bigint,
  old_raw_items bigint,
  jobs_due_for_compaction bigint,
  checked_at timestamptz
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_stuck bigint := 0;
  v_oldest timestamptz;
  v_uploads bigint := 0;
  v_upload_bytes bigint := 0;
  v_items bigint := 0;
  v_jobs bigint := 0;
begin
  perform imports_part_bound('runs');
  select count(*), min(r.heartbeat_at) into v_stuck, v_oldest
    from import_runs r
   where r.is_processing and r.heartbeat_at < p_now - make_interval(hours => p_hours);
  if imports_part_bound('temp_uploads') then
    select count(*), coalesce(sum(t.size_bytes), 0) into v_uploads, v_upload_bytes
      from import_temp_uploads t where t.created_at < p_now - interval '24 hours';
  end if;
  if imports_part_bound('raw_items') then
    select count(*) into v_items
      from import_raw_items i join import_runs r on r.id = i.run_id
     where r.is_failed and coalesce(r.finished_at, r.heartbeat_at) < p_now - interval '720 hours';
  end if;
  if imports_part_bound('jobs') then
    select count(*) into v_jobs
      from import_jobs j
     where j.is_finished and j.has_payload and j.compacted_at is null
       and coalesce(j.finished_at, j.created_at) < p_now - interval '168 hours';
  end if;
  return query select v_stuck, v_oldest, v_uploads, v_upload_bytes, v_items, v_jobs, p_now;
end;
$$;

-- The SQL-only steps (1, 3, 4) with one summary, for databases maintained from pg_cron:
--   select cron.schedule('import-maintenance', '<cron expression>', 'select * from run_maintenance_cleanup()');
-- (public.run_maintenance_cleanup, created by the binding, calls this one.) Each step runs in its
-- own block: a step that fails is rolled back and reported in errors, and the others still run;
-- a part that is not bound counts 0. Temp uploads need object storage, so only the app's job
-- removes them; temp_uploads_pending says how many are due. Each step loops at most
-- p_max_batches batches.
create or replace function cronwarden.run_maintenance_cleanup(
  p_hours integer default 24,
  p_batch_size integer default 1000,
  p_max_batches integer default 100,
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (
  stuck_runs_marked bigint,
  import_jobs_compacted bigint,
  raw_items_purged bigint,
  temp_uploads_pending bigint,
  errors jsonb,
  ran_at timestamptz
)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_stuck bigint := 0;
  v_compacted bigint := 0;
  v_purged bigint := 0;
  v_pending bigint := 0;
  v_errors jsonb := '[]'::jsonb;
  v_n integer;
  v_more boolean;
  v_batches integer;
begin
  if p_max_batches is null or p_max_batches < 1 then
    raise exception 'p_max_batches must be at least 1 (got %)', p_max_batches using errcode = '22023';
  end if;
  perform maintenance_check_args(p_batch_size, p_hours, 'p_hours');
  perform imports_part_bound('runs');

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
    if imports_part_bound('temp_uploads') then
      select count(*) into v_pending from import_temp_uploads t where t.created_at < p_now - interval '24 hours';
    end if;
  exception when others then
    v_errors := v_errors || jsonb_build_object('step', 'temp_uploads', 'message', sqlerrm, 'sqlstate', sqlstate);
  end;

  return query select v_stuck, v_compacted, v_purged, v_pending, v_errors, p_now;
end;
$$;

-- The latest finished, non-dry run of the maintenance job, for the "maintenance step failed" alert.
create or replace function cronwarden.maintenance_last_run(p_job text default 'maintenance')
returns table (
  run_id uuid,
  status text,
  started_at timestamptz,
  finished_at timestamptz,
  error text,
  error_count integer,
  errors jsonb
)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select r.id, r.status, r.started_at, r.finished_at, r.error,
         coalesce(jsonb_array_length(case when jsonb_typeof(r.result -> 'errors') = 'array' then r.result -> 'errors' end), 0)::integer,
         case when jsonb_typeof(r.result -> 'errors') = 'array' then r.result -> 'errors' else '[]'::jsonb end
    from cron_job_runs r
   where r.job = p_job and r.status in ('succeeded', 'partial', 'failed') and not r.dry_run
   order by r.started_at desc
   limit 1;
$$;

-- These functions change or reveal import data: only the server (the service role on Supabase,
-- the database owner elsewhere) may call them, never the public API roles.
do $$
declare
  v_fn text;
  v_functions text[] := array[
    'cronwarden.imports_part_bound(text)',
    'cronwarden.imports_time_value(text, boolean)',
    'cronwarden.maintenance_check_args(integer, integer, text)',
    'cronwarden.mark_stuck_import_runs(integer, integer, boolean, timestamptz)',
    'cronwarden.list_expired_temp_uploads(integer, integer, text, timestamptz)',
    'cronwarden.delete_temp_uploads(text[], integer, timestamptz)',
    'cronwarden.compact_old_import_jobs(integer, integer, boolean, timestamptz)',
    'cronwarden.purge_failed_run_raw_items(integer, integer, boolean, timestamptz)',
    'cronwarden.get_maintenance_status(timestamptz, integer)',
    'cronwarden.run_maintenance_cleanup(integer, integer, integer, boolean, timestamptz)',
    'cronwarden.maintenance_last_run(text)'];
begin
  foreach v_fn in array v_functions loop
    execute format('revoke all on function %s from public', v_fn);
    if exists (select 1 from pg_roles where rolname = 'anon') then
      execute format('revoke all on function %s from anon', v_fn);
    end if;
    if exists (select 1 from pg_roles where rolname = 'authenticated') then
      execute format('revoke all on function %s from authenticated', v_fn);
    end if;
    if exists (select 1 from pg_roles where rolname = 'service_role') then
      execute format('grant execute on function %s to service_role', v_fn);
    end if;
  end loop;
end;
$$;

-- What the admin console reads beyond the runner's own functions: each run's log lines (captured
-- by the runner, src/lib/cron/run-log.ts), a job's runs page by page with filters, its durations
-- over time, and runs per day by outcome. Dry runs are kept apart everywhere: a dry run changes
-- nothing and is never counted as a run that did.

-- ---------------------------------------------------------------------------------------------
-- Log lines of a run
-- ---------------------------------------------------------------------------------------------
-- The lines the run's own logger wrote (already redacted by the logger), bounded in count and
-- size by the runner. They go with their run: run-history-prune deletes a run and its lines
-- together (on delete cascade), so this table needs no retention setting of its own.
create table if not exists cronwarden.cron_job_run_logs (
  run_id uuid not null references cronwarden.cron_job_runs (id) on delete cascade,
  seq integer not null,
  logged_at timestamptz not null,
  level text not null,
  line jsonb not null,
  primary key (run_id, seq)
);

-- Records a run's lines: p_lines is a JSON array of {"at": ISO time, "level": label, "line": {...}},
-- in the order they were written. At most 1000 lines per run; a second call for the same run
-- adds nothing.
create or replace function cronwarden.cron_record_run_logs(p_run_id uuid, p_lines jsonb)
returns table (recorded bigint)
language sql
set search_path = cronwarden, pg_temp
as $$
  with ins as (
    insert into cron_job_run_logs (run_id, seq, logged_at, level, line)
    select p_run_id, e.ord::integer, (e.item->>'at')::timestamptz, coalesce(e.item->>'level', 'info'), coalesce(e.item->'line', '{}'::jsonb)
      from jsonb_array_elements(case when jsonb_typeof(p_lines) = 'array' then p_lines else '[]'::jsonb end)
           with ordinality as e (item, ord)
     where e.ord <= 1000
    on conflict (run_id, seq) do nothing
    returning 1
  )
  select count(*) from ins;
$$;

-- A run's lines in the order they were written (at most 1000).
create or replace function cronwarden.cron_run_logs(p_run_id uuid, p_limit integer default 1000)
returns table (seq integer, logged_at timestamptz, level text, line jsonb)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select l.seq, l.logged_at, l.level, l.line from cron_job_run_logs l
   where l.run_id = p_run_id
   order by l.seq
   limit least(greatest(p_limit, 1), 1000);
$$;

-- ---------------------------------------------------------------------------------------------
-- A job's runs, page by page
-- ---------------------------------------------------------------------------------------------
-- Newest first, optionally of one status, one trigger, dry or not; p_before_id is the last run
-- of the previous page (the cursor compares (started_at, id) at full precision, so runs with the
-- same start are neither skipped nor repeated). A cursor run that is gone gives an empty page.
create or replace function cronwarden.cron_job_run_page(
  p_job text,
  p_limit integer default 25,
  p_status text default null,
  p_trigger text default null,
  p_dry_run boolean default null,
  p_before_id uuid default null
)
returns setof cronwarden.cron_job_runs
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select r.* from cron_job_runs r
   where r.job = p_job
     and (p_status is null or r.status = p_status)
     and (p_trigger is null or r.trigger = p_trigger)
     and (p_dry_run is null or r.dry_run = p_dry_run)
     and (p_before_id is null
          or (r.started_at, r.id) < (select b.started_at, b.id from cron_job_runs b where b.id = p_before_id))
   order by r.started_at desc, r.id desc
   limit least(greatest(p_limit, 1), 500);
$$;

-- How many runs the job has per status, trigger and dry run: the console's filter choices.
create or replace function cronwarden.cron_job_run_facets(p_job text)
returns table (status text, trigger text, dry_run boolean, runs bigint)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select r.status, r.trigger, r.dry_run, count(*) from cron_job_runs r
   where r.job = p_job
   group by r.status, r.trigger, r.dry_run
   order by r.status, r.trigger, r.dry_run;
$$;

-- ---------------------------------------------------------------------------------------------
-- Charts
-- ---------------------------------------------------------------------------------------------
-- Durations of a job's finished runs that changed something (no dry runs, no skipped
-- invocations) in [p_from, p_to), per bucket of p_bucket_seconds counted from the Unix epoch (so
-- buckets of whole hours and days are UTC hours and days): runs, failed runs, median, p95 and
-- longest duration in milliseconds.
create or replace function cronwarden.cron_job_durations(
  p_job text,
  p_from timestamptz,
  p_to timestamptz,
  p_bucket_seconds integer default 3600
)
returns table (bucket_start timestamptz, runs bigint, failed bigint, p50_ms bigint, p95_ms bigint, max_ms bigint)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select to_timestamp(floor(extract(epoch from r.started_at) / greatest(p_bucket_seconds, 60)) * greatest(p_bucket_seconds, 60)) as b,
         count(*),
         count(*) filter (where r.status = 'failed'),
         round(percentile_cont(0.5) within group (order by r.duration_ms))::bigint,
         round(percentile_cont(0.95) within group (order by r.duration_ms))::bigint,
         max(r.duration_ms)
    from cron_job_runs r
   where r.job = p_job
     and r.started_at >= p_from and r.started_at < p_to
     and r.status in ('succeeded', 'partial', 'failed')
     and not r.dry_run
     and r.duration_ms is not null
   group by b
   order by b;
$$;

-- Runs started on each of the last p_days UTC days up to p_now (of one job, or all), by final
-- status and dry run, the day as text 'YYYY-MM-DD' (no driver turns it into a local midnight).
-- Running runs are left out; days without runs have no row.
create or replace function cronwarden.cron_runs_per_day(
  p_days integer default 14,
  p_now timestamptz default now(),
  p_job text default null
)
returns table (day text, status text, dry_run boolean, runs bigint)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select to_char(r.started_at at time zone 'UTC', 'YYYY-MM-DD') as d, r.status, r.dry_run, count(*)
    from cron_job_runs r
   where r.started_at >= date_trunc('day', p_now, 'UTC') - make_interval(days => greatest(p_days, 1) - 1)
     and r.started_at <= p_now
     and r.status <> 'running'
     and (p_job is null or r.job = p_job)
   group by d, r.status, r.dry_run
   order by d, r.status, r.dry_run;
$$;

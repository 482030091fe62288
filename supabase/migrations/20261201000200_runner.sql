-- The job runner: one row per invocation, one lease per job, run counters and job health.
-- Milliseconds, bytes and counts are bigint: an integer overflows at 24.8 days of milliseconds.

create table if not exists cronwarden.cron_job_runs (
  id uuid primary key,
  job text not null,
  status text not null check (status in ('running', 'succeeded', 'failed', 'partial', 'skipped')),
  started_at timestamptz not null,
  finished_at timestamptz,
  duration_ms bigint,
  dry_run boolean not null default false,
  trigger text not null default 'http',
  input jsonb not null default '{}'::jsonb,
  result jsonb,
  rows_affected bigint not null default 0,
  error text
);
-- A table moved from the first release had duration_ms integer.
alter table cronwarden.cron_job_runs alter column duration_ms type bigint;
create index if not exists cron_job_runs_job_started_idx on cronwarden.cron_job_runs (job, started_at desc);
create index if not exists cron_job_runs_started_idx on cronwarden.cron_job_runs (started_at);
create index if not exists cron_job_runs_running_idx on cronwarden.cron_job_runs (job) where status = 'running';

create table if not exists cronwarden.cron_job_leases (
  job text primary key,
  run_id uuid not null,
  acquired_at timestamptz not null,
  expires_at timestamptz not null
);

-- Takes the job's lease for p_run_id and records the run as 'running'. When another live run
-- holds the lease, records this invocation as 'skipped' and answers the holder. A lease past its
-- expiry belongs to a dead holder: its run is marked failed.
-- The run's recorded start is never before the end of the job's previous run: the caller reads its
-- clock before it reaches the database, and a wait for a connection must not make two recorded
-- runs overlap, so the history itself shows that no two runs of a job overlapped.
create or replace function cronwarden.cron_begin_run(
  p_job text,
  p_run_id uuid,
  p_ttl_seconds integer,
  p_dry_run boolean default false,
  p_input jsonb default '{}'::jsonb,
  p_trigger text default 'http',
  p_now timestamptz default now()
) returns table (acquired boolean, holder_run_id uuid, expired_run_id uuid, started_at timestamptz)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_prev uuid;
  v_got uuid;
  v_holder uuid;
  v_start timestamptz;
begin
  select l.run_id into v_prev from cron_job_leases l where l.job = p_job and l.expires_at <= p_now;

  insert into cron_job_leases as l (job, run_id, acquired_at, expires_at)
  values (p_job, p_run_id, p_now, p_now + make_interval(secs => p_ttl_seconds))
  on conflict (job) do update
    set run_id = excluded.run_id, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
    where l.expires_at <= p_now
  returning l.run_id into v_got;

  if v_got is null then
    select l.run_id into v_holder from cron_job_leases l where l.job = p_job;
    insert into cron_job_runs (id, job, status, started_at, finished_at, duration_ms, dry_run, trigger, input, result)
    values (p_run_id, p_job, 'skipped', p_now, p_now, 0, p_dry_run, p_trigger, p_input,
            jsonb_build_object('reason', 'already_running', 'holder_run_id', v_holder));
    return query select false, v_holder, null::uuid, p_now;
    return;
  end if;

  if v_prev is not null then
    update cron_job_runs r
       set status = 'failed',
           finished_at = greatest(p_now, r.started_at),
           duration_ms = greatest(0, (extract(epoch from (p_now - r.started_at)) * 1000)::bigint),
           error = 'lease expired before the run finished: its process died or overran its time limit'
     where r.id = v_prev and r.status = 'running';
    if not found then v_prev := null; end if;
  end if;

  select greatest(p_now, coalesce(max(r.finished_at), p_now)) into v_start
    from (select r.finished_at from cron_job_runs r
           where r.job = p_job and r.status <> 'skipped'
           order by r.started_at desc limit 1) r;

  insert into cron_job_runs (id, job, status, started_at, dry_run, trigger, input)
  values (p_run_id, p_job, 'running', v_start, p_dry_run, p_trigger, p_input);
  return query select true, p_run_id, v_prev, v_start;
end;
$$;

-- Records the outcome and releases the lease (only if this run still holds it). The finish is
-- never before the run's recorded start.
create or replace function cronwarden.cron_finish_run(
  p_run_id uuid,
  p_status text,
  p_result jsonb default null,
  p_error text default null,
  p_rows_affected bigint default 0,
  p_duration_ms bigint default null,
  p_now timestamptz default now()
) returns table (job text, status text, duration_ms bigint)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
begin
  if p_status not in ('succeeded', 'failed', 'partial') then
    raise exception 'invalid final status %', p_status using errcode = '22023';
  end if;
  delete from cron_job_leases l where l.run_id = p_run_id;
  return query
    update cron_job_runs r
       set status = p_status,
           finished_at = greatest(p_now, r.started_at),
           duration_ms = coalesce(p_duration_ms, greatest(0, (extract(epoch from (p_now - r.started_at)) * 1000)::bigint)),
           result = p_result,
           error = p_error,
           rows_affected = coalesce(p_rows_affected, 0)
     where r.id = p_run_id and r.status = 'running'
    returning r.job, r.status, r.duration_ms;
end;
$$;

-- Keeps the monitor from becoming the table that grows without bound: deletes finished runs
-- older than p_days, at most p_batch_size per call (oldest first).
create or replace function cronwarden.cron_prune_run_history(
  p_days integer,
  p_batch_size integer default 5000,
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (deleted_count bigint, has_more boolean)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_cutoff timestamptz := p_now - make_interval(hours => 24 * p_days);
  v_n bigint;
begin
  if p_dry_run then
    return query
      select count(*), false from cron_job_runs r
       where r.started_at < v_cutoff and r.status <> 'running';
    return;
  end if;
  -- The batch goes in as an id array: one index lookup per id (a join let PGlite's planner
  -- scan the whole table).
  delete from cron_job_runs r
   where r.id = any(array(
     select o.id from cron_job_runs o
      where o.started_at < v_cutoff and o.status <> 'running'
      order by o.started_at
      limit p_batch_size
      for update skip locked));
  get diagnostics v_n = row_count;
  return query select v_n, v_n = p_batch_size;
end;
$$;

-- Latest run per job and counts, for the admin page, /api/metrics and the alert rules. The last
-- run is the last run that changed something (dry runs and skipped invocations are not it); the
-- last dry run is reported beside it.
create or replace function cronwarden.cron_job_summary(p_now timestamptz default now())
returns table (
  job text,
  last_run_id uuid,
  last_status text,
  last_started_at timestamptz,
  last_finished_at timestamptz,
  last_duration_ms bigint,
  last_rows_affected bigint,
  last_success_at timestamptz,
  running boolean,
  runs_24h bigint,
  failures_24h bigint,
  last_dry_run_id uuid,
  last_dry_run_at timestamptz,
  last_dry_run_status text,
  last_trigger text
)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  with jobs as (select distinct r.job from cron_job_runs r)
  select j.job,
         last.id, last.status, last.started_at, last.finished_at, last.duration_ms, last.rows_affected,
         (select max(s.finished_at) from cron_job_runs s where s.job = j.job and s.status in ('succeeded', 'partial') and not s.dry_run),
         exists (select 1 from cron_job_leases l where l.job = j.job and l.expires_at > p_now),
         (select count(*) from cron_job_runs c where c.job = j.job and not c.dry_run and c.status <> 'skipped'
                                                 and c.started_at > p_now - interval '24 hours'),
         (select count(*) from cron_job_runs c where c.job = j.job and not c.dry_run and c.status = 'failed'
                                                 and c.started_at > p_now - interval '24 hours'),
         dry.id, dry.started_at, dry.status,
         last.trigger
    from jobs j
    left join lateral (
      select r.* from cron_job_runs r where r.job = j.job and r.status <> 'skipped' and not r.dry_run
       order by r.started_at desc limit 1
    ) last on true
    left join lateral (
      select r.* from cron_job_runs r where r.job = j.job and r.dry_run and r.status <> 'skipped'
       order by r.started_at desc limit 1
    ) dry on true
   order by j.job;
$$;

-- Recent runs of one job (or all when p_job is null), newest first, optionally of one status
-- and one trigger, before a cursor (p_before: a started_at) for paging.
create or replace function cronwarden.cron_recent_runs(
  p_job text default null,
  p_limit integer default 50,
  p_status text default null,
  p_trigger text default null,
  p_before timestamptz default null,
  p_dry_run boolean default null
)
returns setof cronwarden.cron_job_runs
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select * from cron_job_runs r
   where (p_job is null or r.job = p_job)
     and (p_status is null or r.status = p_status)
     and (p_trigger is null or r.trigger = p_trigger)
     and (p_before is null or r.started_at < p_before)
     and (p_dry_run is null or r.dry_run = p_dry_run)
   order by r.started_at desc
   limit least(greatest(p_limit, 1), 500);
$$;

create or replace function cronwarden.cron_get_run(p_run_id uuid)
returns setof cronwarden.cron_job_runs
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select * from cron_job_runs r where r.id = p_run_id;
$$;

-- Liveness for /api/health: proves a round trip through the same path jobs use.
create or replace function cronwarden.cronwarden_ping()
returns table (ok boolean, server_time timestamptz)
language sql stable
as $$ select true, now(); $$;

-- ---------------------------------------------------------------------------------------------
-- Run counters for /api/metrics: monotonic, unaffected by run-history pruning
-- ---------------------------------------------------------------------------------------------

create table if not exists cronwarden.cron_run_counters (
  job text not null,
  status text not null,
  runs bigint not null default 0,
  rows_affected bigint not null default 0,
  primary key (job, status)
);

-- Dry runs change nothing: they are not counted as runs that did.
create or replace function cronwarden.cron_run_counters_bump() returns trigger
language plpgsql
set search_path = cronwarden, pg_temp
as $$
begin
  if new.status in ('succeeded', 'failed', 'partial', 'skipped') and not new.dry_run
     and (tg_op = 'INSERT' or old.status is distinct from new.status) then
    insert into cron_run_counters as c (job, status, runs, rows_affected)
    values (new.job, new.status, 1, coalesce(new.rows_affected, 0))
    on conflict (job, status) do update
      set runs = c.runs + 1, rows_affected = c.rows_affected + excluded.rows_affected;
  end if;
  return null;
end;
$$;

drop trigger if exists cron_job_runs_counters on cronwarden.cron_job_runs;
create trigger cron_job_runs_counters
  after insert or update of status on cronwarden.cron_job_runs
  for each row execute function cronwarden.cron_run_counters_bump();

-- Runs and rows affected per job and final status since the app was installed.
create or replace function cronwarden.cron_run_totals()
returns table (job text, status text, runs bigint, rows_affected bigint)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select c.job, c.status, c.runs, c.rows_affected from cron_run_counters c order by c.job, c.status;
$$;

-- ---------------------------------------------------------------------------------------------
-- Job health for the alert rules (src/lib/alerts/rules/jobs.ts)
-- ---------------------------------------------------------------------------------------------

create table if not exists cronwarden.cron_job_first_seen (
  job text primary key,
  first_seen_at timestamptz not null
);

-- For each scheduled job: the end of its last successful (succeeded or partial), non-dry run,
-- when the monitor first saw it (recorded now for a job seen for the first time, unless dry run)
-- and its last real run.
create or replace function cronwarden.cron_job_staleness(
  p_jobs text[],
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (job text, last_success_at timestamptz, first_seen_at timestamptz, last_run_at timestamptz, last_status text)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  if not p_dry_run then
    insert into cron_job_first_seen (job, first_seen_at)
    select distinct j.name, p_now from unnest(coalesce(p_jobs, '{}'::text[])) as j (name)
    on conflict (job) do nothing;
  end if;
  return query
    select j.name,
           (select coalesce(r.finished_at, r.started_at) from cron_job_runs r
             where r.job = j.name and r.status in ('succeeded', 'partial') and not r.dry_run and r.started_at <= p_now
             order by r.started_at desc limit 1),
           coalesce(f.first_seen_at, p_now),
           last.started_at,
           last.status
      from (select distinct u.name from unnest(coalesce(p_jobs, '{}'::text[])) as u (name)) j
      left join cron_job_first_seen f on f.job = j.name
      left join lateral (
        select r.started_at, r.status from cron_job_runs r
         where r.job = j.name and r.status <> 'skipped' and not r.dry_run and r.started_at <= p_now
         order by r.started_at desc limit 1
      ) last on true
     order by j.name;
end;
$$;

-- Consecutive failed runs per job, counted back from its newest finished, non-dry run (skipped
-- and running runs are ignored), over at most the last p_window runs.
create or replace function cronwarden.cron_job_failure_streaks(
  p_window integer default 20,
  p_now timestamptz default now()
) returns table (job text, consecutive_failures integer, last_failed_at timestamptz, run_ids uuid[], errors text[])
language sql stable
set search_path = cronwarden, pg_temp
as $$
  with jobs as (select distinct r.job from cron_job_runs r)
  select j.job, s.n, s.last_failed_at, s.ids, s.errors
    from jobs j
    cross join lateral (
      select count(*)::integer as n,
             max(x.started_at) as last_failed_at,
             coalesce(array_agg(x.id order by x.started_at desc, x.id), '{}'::uuid[]) as ids,
             coalesce(array_agg(left(coalesce(x.error, 'failed'), 300) order by x.started_at desc, x.id), '{}'::text[]) as errors
        from (
          select w.*, count(*) filter (where w.status <> 'failed')
                        over (order by w.started_at desc, w.id rows between unbounded preceding and current row) as breaks
            from (
              select r.id, r.status, r.started_at, r.error from cron_job_runs r
               where r.job = j.job and r.status in ('succeeded', 'partial', 'failed') and not r.dry_run
                 and r.started_at <= p_now
               order by r.started_at desc, r.id
               limit greatest(p_window, 1)
            ) w
        ) x
       where x.breaks = 0
    ) s
   order by j.job;
$$;

-- Runs still 'running' although their lease has expired (the process died, or the platform ended
-- it at its time limit), or that hold no lease at all (impossible unless the run's end could not
-- be recorded): marked failed now, with the same error text the runner uses when a new run takes
-- over an expired lease. A dry run only lists them.
create or replace function cronwarden.cron_fail_overrun_runs(
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (run_id uuid, job text, started_at timestamptz, lease_expires_at timestamptz)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  return query
    with overrun as (
      select r.id, r.job, r.started_at, l.expires_at
        from cron_job_runs r
        left join cron_job_leases l on l.run_id = r.id
       where r.status = 'running' and r.started_at <= p_now
         and (l.run_id is null or l.expires_at <= p_now)
       order by r.started_at
       limit 1000
    ),
    marked as (
      update cron_job_runs r
         set status = 'failed',
             finished_at = p_now,
             duration_ms = greatest(0, (extract(epoch from (p_now - r.started_at)) * 1000)::bigint),
             error = 'lease expired before the run finished: its process died or overran its time limit',
             result = coalesce(r.result, '{}'::jsonb) || jsonb_build_object('overran', true, 'lease_expires_at', o.expires_at)
        from overrun o
       where r.id = o.id and r.status = 'running' and not p_dry_run
      returning r.id
    )
    select o.id, o.job, o.started_at, o.expires_at from overrun o
     where p_dry_run or o.id in (select m.id from marked m)
     order by o.started_at;
end;
$$;

-- Per job: runs that ended because their lease expired, since the job's last successful non-dry
-- run and within the last p_since_hours. A job whose later run succeeded has none.
create or replace function cronwarden.cron_overrun_summary(
  p_since_hours integer default 168,
  p_now timestamptz default now()
) returns table (job text, overruns integer, last_run_id uuid, last_started_at timestamptz)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select r.job,
         count(*)::integer,
         (array_agg(r.id order by r.started_at desc, r.id))[1],
         max(r.started_at)
    from cron_job_runs r
   where r.status = 'failed'
     and r.error like 'lease expired before the run finished%'
     and r.started_at > p_now - make_interval(hours => p_since_hours)
     and r.started_at <= p_now
     and not exists (
       select 1 from cron_job_runs s
        where s.job = r.job and s.status in ('succeeded', 'partial') and not s.dry_run
          and s.started_at > r.started_at and s.started_at <= p_now)
   group by r.job
   order by r.job;
$$;

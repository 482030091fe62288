-- The job runner's own tables: one row per invocation, one lease per job.

create table if not exists cron_job_runs (
  id uuid primary key,
  job text not null,
  status text not null check (status in ('running', 'succeeded', 'failed', 'partial', 'skipped')),
  started_at timestamptz not null,
  finished_at timestamptz,
  duration_ms integer,
  dry_run boolean not null default false,
  trigger text not null default 'http',
  input jsonb not null default '{}'::jsonb,
  result jsonb,
  rows_affected bigint not null default 0,
  error text
);
create index if not exists cron_job_runs_job_started_idx on cron_job_runs (job, started_at desc);
create index if not exists cron_job_runs_started_idx on cron_job_runs (started_at);
create index if not exists cron_job_runs_running_idx on cron_job_runs (job) where status = 'running';

create table if not exists cron_job_leases (
  job text primary key,
  run_id uuid not null,
  acquired_at timestamptz not null,
  expires_at timestamptz not null
);

-- Takes the job's lease for p_run_id and records the run as 'running', in one statement's worth
-- of work. When another live run holds the lease, records this invocation as 'skipped' and
-- answers the holder. A lease past its expiry belongs to a dead holder: its run is marked failed.
create or replace function cron_begin_run(
  p_job text,
  p_run_id uuid,
  p_ttl_seconds integer,
  p_dry_run boolean default false,
  p_input jsonb default '{}'::jsonb,
  p_trigger text default 'http',
  p_now timestamptz default now()
) returns table (acquired boolean, holder_run_id uuid, expired_run_id uuid)
language plpgsql as $$
declare
  v_prev uuid;
  v_got uuid;
  v_holder uuid;
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
    return query select false, v_holder, null::uuid;
    return;
  end if;

  if v_prev is not null then
    update cron_job_runs r
       set status = 'failed',
           finished_at = p_now,
           duration_ms = (extract(epoch from (p_now - r.started_at)) * 1000)::integer,
           error = 'lease expired before the run finished: its process died or overran its time limit'
     where r.id = v_prev and r.status = 'running';
    if not found then v_prev := null; end if;
  end if;

  insert into cron_job_runs (id, job, status, started_at, dry_run, trigger, input)
  values (p_run_id, p_job, 'running', p_now, p_dry_run, p_trigger, p_input);
  return query select true, p_run_id, v_prev;
end;
$$;

-- Records the outcome and releases the lease (only if this run still holds it).
create or replace function cron_finish_run(
  p_run_id uuid,
  p_status text,
  p_result jsonb default null,
  p_error text default null,
  p_rows_affected bigint default 0,
  p_duration_ms integer default null,
  p_now timestamptz default now()
) returns table (job text, status text, duration_ms integer)
language plpgsql as $$
begin
  if p_status not in ('succeeded', 'failed', 'partial') then
    raise exception 'invalid final status %', p_status using errcode = '22023';
  end if;
  delete from cron_job_leases l where l.run_id = p_run_id;
  return query
    update cron_job_runs r
       set status = p_status,
           finished_at = p_now,
           duration_ms = coalesce(p_duration_ms, greatest(0, (extract(epoch from (p_now - r.started_at)) * 1000)::integer)),
           result = p_result,
           error = p_error,
           rows_affected = coalesce(p_rows_affected, 0)
     where r.id = p_run_id and r.status = 'running'
    returning r.job, r.status, r.duration_ms;
end;
$$;

-- Keeps the monitor from becoming the table that grows without bound: deletes finished runs
-- older than p_days, at most p_batch_size per call (oldest first).
create or replace function cron_prune_run_history(
  p_days integer,
  p_batch_size integer default 5000,
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (deleted_count integer, has_more boolean)
language plpgsql as $$
declare
  v_cutoff timestamptz := p_now - make_interval(days => p_days);
  v_n integer;
begin
  if p_dry_run then
    return query
      select count(*)::integer, false from cron_job_runs r
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

-- Latest run per job and counts, for the admin page, /api/metrics and the alert rules.
create or replace function cron_job_summary(p_now timestamptz default now())
returns table (
  job text,
  last_run_id uuid,
  last_status text,
  last_started_at timestamptz,
  last_finished_at timestamptz,
  last_duration_ms integer,
  last_rows_affected bigint,
  last_success_at timestamptz,
  running boolean,
  runs_24h bigint,
  failures_24h bigint
)
language sql stable as $$
  with jobs as (select distinct r.job from cron_job_runs r)
  select j.job,
         last.id, last.status, last.started_at, last.finished_at, last.duration_ms, last.rows_affected,
         (select max(s.finished_at) from cron_job_runs s where s.job = j.job and s.status in ('succeeded', 'partial') and not s.dry_run),
         exists (select 1 from cron_job_leases l where l.job = j.job and l.expires_at > p_now),
         (select count(*) from cron_job_runs c where c.job = j.job and c.started_at > p_now - interval '24 hours'),
         (select count(*) from cron_job_runs c where c.job = j.job and c.status = 'failed' and c.started_at > p_now - interval '24 hours')
    from jobs j
    cross join lateral (
      select r.* from cron_job_runs r where r.job = j.job and r.status <> 'skipped'
       order by r.started_at desc limit 1
    ) last
   order by j.job;
$$;

-- Recent runs of one job (or all when p_job is null), newest first.
create or replace function cron_recent_runs(p_job text default null, p_limit integer default 50)
returns setof cron_job_runs
language sql stable as $$
  select * from cron_job_runs r
   where p_job is null or r.job = p_job
   order by r.started_at desc
   limit least(greatest(p_limit, 1), 500);
$$;

create or replace function cron_get_run(p_run_id uuid)
returns setof cron_job_runs
language sql stable as $$
  select * from cron_job_runs r where r.id = p_run_id;
$$;

-- Liveness for /api/health: proves a round trip through the same path jobs use.
create or replace function cronwarden_ping()
returns table (ok boolean, server_time timestamptz)
language sql stable as $$ select true, now(); $$;

-- Draft cleanup and its monitoring, over the team's drafts table.
--
-- The drafts binding (cronwarden.config.ts, bindings.drafts) creates two views in this schema:
--   cronwarden.drafts (id, created_at, updated_at, organization_id, title, created_by, is_draft,
--                      is_unused)
--     every row of the team's table; is_draft: the binding's draft condition; is_unused: a draft
--     that was never worked on (the demo app: status = 'draft' and generation_status is null).
--   cronwarden.draft_organizations (id, name)
-- A flag that is NULL counts as false: a row is an unused draft only when its condition is true.
-- The functions reach the team's table only through these views, so they are plpgsql (a view
-- exists only while the feature is bound). The hourly draft-cleanup job deletes unused drafts
-- older than 24 hours; the draft_* functions below are the monitoring queries behind
-- /api/admin/drafts/<name>, the alert rules and the Prometheus gauges.
--
-- Conventions used by every function here:
--   * "created" counts are over every row of the table created in the window: each row is born
--     a draft, so these are draft creations, whatever the row became later.
--   * "draft" counts (totals, pollution) are over the current rows with is_draft.
--   * Days, weeks and hours are UTC whatever the session time zone; series step by fixed hours
--     so no session time zone or daylight-saving shift can move a boundary.
--   * Percentages are rounded to 2 decimals and returned as double precision (a JSON number on
--     every driver); a percentage of nothing is null.
--   * Ids of the team's rows are returned as text (their type is the team's: uuid, bigint, ...).
--   * Job history comes from cron_job_runs (job = 'draft-cleanup'), dry runs excluded.
--   * Cutoffs are strict: a draft exactly p_hours old is not yet due.

-- ---------------------------------------------------------------------------------------------
-- Cleanup
-- ---------------------------------------------------------------------------------------------

-- One batch of the cleanup: at most p_batch_size unused drafts created before the cutoff, the
-- oldest first. A draft that another transaction holds locked (being used right now) is never
-- waited for and survives; every deletion checks the predicate again on the row as it is then,
-- so a draft that stopped being an unused draft, or got a newer created_at, is never deleted.
--
-- The batch is a range of creation times: [p_from, created_at of the (p_batch_size + 1)-th
-- eligible draft from there), deleted by one DELETE over the index that serves the predicate,
-- as one DELETE of everything would be (locking every row first made the cleanup about 5x
-- slower than that one DELETE). The DELETE waits for a row lock at most 1 ms: a locked row in
-- the range makes it give up (its deletions roll back with it) and the batch is taken the
-- careful way, locking the oldest p_batch_size eligible drafts from p_from with `for update
-- skip locked` and deleting those. So is a range that would take nothing (more than
-- p_batch_size drafts created at one instant).
--
-- p_from: only drafts created at or after it (null: all). A run passes each batch the previous
-- batch's resume_from, so no batch walks again over what the run already deleted (their index
-- entries stay until vacuum) nor over a locked draft it already left behind.
-- deleted_ids: the deleted ids as text, oldest first, at most p_list_limit of them (null: all).
-- has_more: the batch was full, so more eligible drafts may remain; resume_from: where the next
-- batch of the run starts.
-- A dry run changes nothing: it counts every eligible draft and lists the oldest 100 ids.
-- Raises 22023 for p_hours outside 1..720 or p_batch_size outside 1..10000.
create or replace function cronwarden.draft_cleanup_batch(
  p_hours integer default 24,
  p_batch_size integer default 1000,
  p_dry_run boolean default false,
  p_now timestamptz default now(),
  p_list_limit integer default null,
  p_from timestamptz default null
) returns table (deleted_count integer, deleted_ids text[], cutoff_time timestamptz, has_more boolean, resume_from timestamptz)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_cutoff timestamptz;
  v_from timestamptz := coalesce(p_from, '-infinity'::timestamptz);
  v_next timestamptz;
  v_upto timestamptz;
  v_lock_timeout text := current_setting('lock_timeout');
  v_careful boolean := false;
  v_locked integer;
  v_last timestamptz;
  v_deleted integer := 0;
  v_ids text[] := '{}';
begin
  if p_hours is null or p_hours < 1 or p_hours > 720 then
    raise exception 'p_hours must be between 1 and 720, got %', p_hours using errcode = '22023';
  end if;
  if p_batch_size is null or p_batch_size < 1 or p_batch_size > 10000 then
    raise exception 'p_batch_size must be between 1 and 10000, got %', p_batch_size using errcode = '22023';
  end if;
  v_cutoff := p_now - make_interval(hours => p_hours);

  if p_dry_run then
    return query
      select (select count(*)::integer from drafts d where d.is_unused and d.created_at < v_cutoff),
             coalesce((select array_agg(s.id::text order by s.created_at, s.id) from (
                 select d.id, d.created_at from drafts d
                  where d.is_unused and d.created_at < v_cutoff
                  order by d.created_at, d.id
                  limit 100) s), '{}'::text[]),
             v_cutoff,
             false,
             null::timestamptz;
    return;
  end if;

  -- The range: up to (not including) the creation time of the first draft beyond this batch.
  select d.created_at into v_next
    from drafts d
   where d.is_unused and d.created_at >= v_from and d.created_at < v_cutoff
   order by d.created_at
  offset p_batch_size limit 1;
  v_upto := coalesce(v_next, v_cutoff);

  begin
    perform set_config('lock_timeout', '1ms', true);
    with gone as (
      delete from drafts d
       where d.is_unused and d.created_at >= v_from and d.created_at < v_upto
      returning d.id, d.created_at
    )
    select (select count(*)::integer from gone),
           array(select g.id::text from gone g order by g.created_at, g.id limit p_list_limit)
      into v_deleted, v_ids;
    perform set_config('lock_timeout', v_lock_timeout, true);
  exception when lock_not_available then
    -- A row of the range is locked (the setting went back with the rolled-back deletions).
    v_careful := true;
  end;

  if v_careful or (v_next is not null and v_deleted = 0) then
    with locked as materialized (
      select d.id, d.created_at from drafts d
       where d.is_unused and d.created_at >= v_from and d.created_at < v_cutoff
       order by d.created_at
       limit p_batch_size
       for update skip locked
    ),
    gone as (
      delete from drafts d
       where d.id = any (array(select l.id from locked l))
         and d.is_unused
         and d.created_at < v_cutoff
      returning d.id, d.created_at
    )
    select (select count(*)::integer from locked),
           (select max(l.created_at) from locked l),
           (select count(*)::integer from gone),
           array(select g.id::text from gone g order by g.created_at, g.id limit p_list_limit)
      into v_locked, v_last, v_deleted, v_ids;
    -- Drafts created at v_last may remain (beyond the batch): the next batch starts there.
    return query select v_deleted, v_ids, v_cutoff, v_locked = p_batch_size, coalesce(v_last, p_from);
    return;
  end if;

  return query select v_deleted, v_ids, v_cutoff, v_next is not null, v_upto;
end;
$$;

-- Manual cleanup for emergencies (`select * from trigger_manual_cleanup();`, the public name
-- calls this): one batch of up to p_batch_size unused drafts older than p_hours; call again
-- while deleted_count > 0.
create or replace function cronwarden.trigger_manual_cleanup(
  p_hours integer default 24,
  p_batch_size integer default 1000,
  p_now timestamptz default now()
) returns table (deleted_count integer, deleted_ids text[], cutoff_time timestamptz)
language sql
set search_path = cronwarden, pg_temp
as $$
  select b.deleted_count, b.deleted_ids, b.cutoff_time
    from draft_cleanup_batch(p_hours => p_hours, p_batch_size => p_batch_size, p_dry_run => false, p_now => p_now) b;
$$;

-- ---------------------------------------------------------------------------------------------
-- Monitoring queries
-- ---------------------------------------------------------------------------------------------

-- 1. System health: one row. total_courses: every row of the drafts table.
create or replace function cronwarden.draft_system_health(
  p_hours integer default 24,
  p_now timestamptz default now()
) returns table (
  total_courses integer,
  total_drafts integer,
  unused_drafts integer,
  active_drafts integer,
  pollution_percentage double precision,
  created_last_hour integer,
  created_last_24h integer,
  pending_cleanup integer,
  snapshot_time timestamptz
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  return query
    with s as (
      select count(*)::integer as total,
             count(*) filter (where d.is_draft)::integer as drafts,
             count(*) filter (where d.is_unused)::integer as unused,
             count(*) filter (where d.created_at > p_now - interval '1 hour' and d.created_at <= p_now)::integer as last_hour,
             count(*) filter (where d.created_at > p_now - interval '24 hours' and d.created_at <= p_now)::integer as last_day,
             count(*) filter (where d.is_unused and d.created_at < p_now - make_interval(hours => p_hours))::integer as pending
        from drafts d
    )
    select s.total, s.drafts, s.unused, s.drafts - s.unused,
           round(100.0 * s.unused / nullif(s.drafts, 0), 2)::double precision,
           s.last_hour, s.last_day, s.pending, p_now
      from s;
end;
$$;

-- 2. Drafts by age: four rows, always. '< 1h': age < 1 h; '1-6h': 1 h <= age < 6 h;
-- '6-24h': 6 h <= age <= 24 h; '> 24h': age > 24 h (exactly what the cleanup deletes).
create or replace function cronwarden.draft_age_distribution(p_now timestamptz default now())
returns table (bucket text, bucket_order integer, draft_count integer, unused_count integer, unused_percentage double precision)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  return query
    with b(name, ord) as (
      values ('< 1h', 1), ('1-6h', 2), ('6-24h', 3), ('> 24h', 4)
    ),
    x as (
      select case
               when d.created_at > p_now - interval '1 hour' then 1
               when d.created_at > p_now - interval '6 hours' then 2
               when d.created_at >= p_now - interval '24 hours' then 3
               else 4
             end as ord,
             d.is_unused as unused
        from drafts d
       where d.is_draft
    ),
    agg as (
      select x.ord, count(*)::integer as n, count(*) filter (where x.unused)::integer as u
        from x group by x.ord
    )
    select b.name, b.ord, coalesce(a.n, 0), coalesce(a.u, 0),
           round(100.0 * a.u / nullif(a.n, 0), 2)::double precision
      from b left join agg a on a.ord = b.ord
     order by b.ord;
end;
$$;

-- 3. Cleanup job performance: one row from the run history (dry runs and skipped invocations
-- excluded). consecutive_failures counts failed runs since the last succeeded/partial one.
create or replace function cronwarden.draft_cleanup_performance(
  p_job text default 'draft-cleanup',
  p_now timestamptz default now()
) returns table (
  job text,
  last_run_id uuid,
  last_run_at timestamptz,
  last_status text,
  last_duration_ms bigint,
  last_deleted_count bigint,
  last_success_at timestamptz,
  hours_since_last_run double precision,
  hours_since_last_success double precision,
  runs_24h integer,
  succeeded_24h integer,
  failed_24h integer,
  success_rate_24h double precision,
  deleted_24h bigint,
  avg_duration_ms_24h double precision,
  consecutive_failures integer
)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  with runs as (
    select r.* from cron_job_runs r
     where r.job = p_job and not r.dry_run and r.status <> 'skipped' and r.started_at <= p_now
  ),
  last_run as (
    select r.* from runs r order by r.started_at desc, r.id desc limit 1
  ),
  last_ok as (
    select max(r.finished_at) as at from runs r
     where r.status in ('succeeded', 'partial') and r.finished_at <= p_now
  ),
  last_ok_start as (
    select max(r.started_at) as at from runs r where r.status in ('succeeded', 'partial')
  ),
  day as (
    select count(*)::integer as n,
           count(*) filter (where r.status in ('succeeded', 'partial'))::integer as ok,
           count(*) filter (where r.status = 'failed')::integer as failed,
           coalesce(sum(case when r.status in ('succeeded', 'partial') then (r.result ->> 'deleted_count')::bigint end), 0)::bigint as deleted,
           avg(r.duration_ms) filter (where r.status <> 'running') as avg_ms
      from runs r where r.started_at > p_now - interval '24 hours'
  )
  select p_job,
         l.id, l.started_at, l.status, l.duration_ms, (l.result ->> 'deleted_count')::bigint,
         o.at,
         extract(epoch from (p_now - l.started_at))::double precision / 3600,
         extract(epoch from (p_now - o.at))::double precision / 3600,
         d.n, d.ok, d.failed,
         round(100.0 * d.ok / nullif(d.ok + d.failed, 0), 2)::double precision,
         d.deleted,
         round(d.avg_ms, 2)::double precision,
         (select count(*)::integer from runs r
           where r.status = 'failed'
             and r.started_at > coalesce((select s.at from last_ok_start s), '-infinity'::timestamptz))
    from day d
    cross join last_ok o
    left join last_run l on true;
$$;

-- 4. Organization leaderboard: organizations with unused drafts, most first. rank() shares a
-- rank between ties (1, 2, 2, 4). Drafts without an organization (or a binding without
-- organizations) form one group whose organization_id is null.
create or replace function cronwarden.draft_organization_leaderboard(
  p_limit integer default 10,
  p_hours integer default 24,
  p_now timestamptz default now()
) returns table (
  rank integer,
  organization_id text,
  organization_name text,
  total_drafts integer,
  unused_drafts integer,
  pollution_percentage double precision,
  share_of_unused_percentage double precision,
  pending_cleanup integer,
  oldest_unused_at timestamptz
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  return query
    with per_org as (
      select d.organization_id as org,
             count(*)::integer as drafts,
             count(*) filter (where d.is_unused)::integer as unused,
             count(*) filter (where d.is_unused and d.created_at < p_now - make_interval(hours => p_hours))::integer as pending,
             min(d.created_at) filter (where d.is_unused) as oldest
        from drafts d
       where d.is_draft
       group by d.organization_id
    ),
    ranked as (
      select rank() over (order by p.unused desc)::integer as pos,
             p.*,
             sum(p.unused) over () as all_unused
        from per_org p
       where p.unused > 0
    )
    select r.pos, r.org::text, o.name, r.drafts, r.unused,
           round(100.0 * r.unused / nullif(r.drafts, 0), 2)::double precision,
           round(100.0 * r.unused / nullif(r.all_unused, 0), 2)::double precision,
           r.pending, r.oldest
      from ranked r
      left join draft_organizations o on o.id = r.org
     order by r.pos, o.name, r.org
     limit least(greatest(p_limit, 1), 100);
end;
$$;

-- 5. Daily trend: one row per UTC day, the p_days days ending today (newest first), zero-filled.
-- ma7_drafts_created is the mean of drafts_created over the 7 days ending that day.
create or replace function cronwarden.draft_daily_trend(
  p_days integer default 30,
  p_now timestamptz default now()
) returns table (
  date text,
  day_start timestamptz,
  drafts_created integer,
  drafts_used integer,
  drafts_abandoned integer,
  usage_rate double precision,
  abandonment_rate double precision,
  ma7_drafts_created double precision
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  return query
    with bounds as (
      select date_trunc('day', p_now, 'UTC') as today,
             least(greatest(p_days, 1), 365) as n
    ),
    days as (
      select generate_series(b.today - (b.n + 5) * interval '24 hours', b.today, interval '24 hours') as day
        from bounds b
    ),
    counts as (
      select date_trunc('day', d.created_at, 'UTC') as day,
             count(*)::integer as created,
             count(*) filter (where d.is_unused)::integer as abandoned
        from drafts d, bounds b
       where d.created_at >= b.today - (b.n + 5) * interval '24 hours' and d.created_at <= p_now
       group by 1
    ),
    series as (
      select x.day,
             coalesce(k.created, 0) as created,
             coalesce(k.abandoned, 0) as abandoned,
             avg(coalesce(k.created, 0)) over (order by x.day rows between 6 preceding and current row) as ma7
        from days x left join counts k on k.day = x.day
    )
    select to_char(s.day at time zone 'UTC', 'YYYY-MM-DD'), s.day,
           s.created, s.created - s.abandoned, s.abandoned,
           round(100.0 * (s.created - s.abandoned) / nullif(s.created, 0), 2)::double precision,
           round(100.0 * s.abandoned / nullif(s.created, 0), 2)::double precision,
           round(s.ma7, 2)::double precision
      from series s, bounds b
     where s.day > b.today - b.n * interval '24 hours'
     order by s.day desc;
end;
$$;

-- 6. Pending cleanup audit: unused drafts older than p_hours, oldest first (at most 1000). Each
-- says how many successful cleanup runs started since it became eligible: more than zero means
-- the cleanup ran and did not take it (locked at the time, or a bug), zero means the cleanup
-- has not run.
create or replace function cronwarden.draft_pending_cleanup(
  p_hours integer default 24,
  p_limit integer default 100,
  p_now timestamptz default now()
) returns table (
  id text,
  organization_id text,
  organization_name text,
  title text,
  created_by text,
  created_at timestamptz,
  eligible_since timestamptz,
  age_hours double precision,
  hours_overdue double precision,
  cleanup_runs_since_eligible integer
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  return query
    with p as (
      select d.id, d.organization_id, d.title, d.created_by, d.created_at
        from drafts d
       where d.is_unused and d.created_at < p_now - make_interval(hours => p_hours)
       order by d.created_at, d.id
       limit least(greatest(p_limit, 1), 1000)
    )
    select p.id::text, p.organization_id::text, o.name, p.title, p.created_by::text, p.created_at,
           p.created_at + make_interval(hours => p_hours),
           round((extract(epoch from (p_now - p.created_at)) / 3600)::numeric, 2)::double precision,
           round((extract(epoch from (p_now - p.created_at)) / 3600 - p_hours)::numeric, 2)::double precision,
           (select count(*)::integer from cron_job_runs r
             where r.job = 'draft-cleanup' and not r.dry_run and r.status in ('succeeded', 'partial')
               and r.started_at > p.created_at + make_interval(hours => p_hours) and r.started_at <= p_now)
      from p
      left join draft_organizations o on o.id = p.organization_id
     order by p.created_at, p.id;
end;
$$;

-- 7. Hourly traffic: 168 rows (ISO day of week 1 = Monday .. 7 = Sunday, x hour 0..23, UTC),
-- zero-filled, over rows created in the last p_days days.
create or replace function cronwarden.draft_hourly_traffic(
  p_days integer default 7,
  p_now timestamptz default now()
) returns table (day_of_week integer, day_name text, hour_of_day integer, drafts_created integer, unused_drafts integer)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  return query
    with cells as (
      select dw, h from generate_series(1, 7) dw cross join generate_series(0, 23) h
    ),
    agg as (
      select extract(isodow from d.created_at at time zone 'UTC')::integer as dw,
             extract(hour from d.created_at at time zone 'UTC')::integer as h,
             count(*)::integer as n,
             count(*) filter (where d.is_unused)::integer as u
        from drafts d
       where d.created_at > p_now - least(greatest(p_days, 1), 365) * interval '24 hours' and d.created_at <= p_now
       group by 1, 2
    )
    select cells.dw, (array['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'])[cells.dw], cells.h,
           coalesce(a.n, 0), coalesce(a.u, 0)
      from cells left join agg a on a.dw = cells.dw and a.h = cells.h
     order by cells.dw, cells.h;
end;
$$;

-- 8. Redis consistency: two rows. In-progress drafts should live in Redis sessions and reach the
-- database only once used; this compares the unused drafts the database holds from the last
-- p_window_hours with the Redis session key count (passed in by the caller; null when Redis is
-- not configured or unreachable). share_percentage: each side's part of the in-progress drafts.
create or replace function cronwarden.draft_redis_consistency(
  p_redis_session_count integer default null,
  p_window_hours integer default 24,
  p_now timestamptz default now()
) returns table (source text, draft_count integer, unused_count integer, share_percentage double precision)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  return query
    with db as (
      select count(*)::integer as n,
             count(*) filter (where d.is_unused)::integer as u
        from drafts d
       where d.is_draft
         and d.created_at > p_now - make_interval(hours => p_window_hours) and d.created_at <= p_now
    )
    select x.src, x.n, x.u, x.share
      from db
      cross join lateral (
        values (1, 'database', db.n, db.u,
                round(100.0 * db.u / nullif(db.u + p_redis_session_count, 0), 2)::double precision),
               (2, 'redis', p_redis_session_count, p_redis_session_count,
                round(100.0 * p_redis_session_count / nullif(db.u + p_redis_session_count, 0), 2)::double precision)
      ) as x(ord, src, n, u, share)
     order by x.ord;
end;
$$;

-- 9. Cleanup effectiveness by week: the last p_weeks ISO weeks (Monday 00:00 UTC), newest
-- first, zero-filled. success_rate: succeeded or partial runs out of finished runs.
create or replace function cronwarden.draft_cleanup_effectiveness(
  p_weeks integer default 4,
  p_job text default 'draft-cleanup',
  p_now timestamptz default now()
) returns table (
  week_start timestamptz,
  total_runs integer,
  succeeded_runs integer,
  partial_runs integer,
  failed_runs integer,
  success_rate double precision,
  drafts_deleted bigint,
  avg_deleted_per_run double precision,
  avg_duration_ms double precision,
  max_duration_ms bigint
)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  with weeks as (
    select generate_series(
             date_trunc('week', p_now, 'UTC') - (least(greatest(p_weeks, 1), 52) - 1) * interval '168 hours',
             date_trunc('week', p_now, 'UTC'),
             interval '168 hours') as week_start
  ),
  runs as (
    select r.*,
           case when r.status in ('succeeded', 'partial') then coalesce((r.result ->> 'deleted_count')::bigint, 0) end as deleted
      from cron_job_runs r
     where r.job = p_job and not r.dry_run and r.status <> 'skipped'
       and r.started_at >= date_trunc('week', p_now, 'UTC') - (least(greatest(p_weeks, 1), 52) - 1) * interval '168 hours'
       and r.started_at <= p_now
  )
  select w.week_start,
         count(r.id)::integer,
         count(*) filter (where r.status = 'succeeded')::integer,
         count(*) filter (where r.status = 'partial')::integer,
         count(*) filter (where r.status = 'failed')::integer,
         round(100.0 * count(*) filter (where r.status in ('succeeded', 'partial'))
               / nullif(count(*) filter (where r.status in ('succeeded', 'partial', 'failed')), 0), 2)::double precision,
         coalesce(sum(r.deleted), 0)::bigint,
         round(avg(r.deleted), 2)::double precision,
         round(avg(r.duration_ms) filter (where r.status <> 'running'), 2)::double precision,
         max(r.duration_ms)
    from weeks w
    left join runs r on r.started_at >= w.week_start and r.started_at < w.week_start + interval '168 hours'
   group by w.week_start
   order by w.week_start desc;
$$;

-- 10. Before / after a cut-over (for example the day drafts moved to Redis sessions): three rows.
-- 'before': rows created in the p_days days before p_cutover; 'after': created from p_cutover
-- to p_now; 'current': the drafts in the table now. improvement_percentage (on 'after'): how
-- much lower the pollution is than before, relative to before.
create or replace function cronwarden.draft_before_after(
  p_cutover timestamptz,
  p_days integer default 30,
  p_now timestamptz default now()
) returns table (
  period text,
  label text,
  period_start timestamptz,
  period_end timestamptz,
  total_drafts integer,
  unused_drafts integer,
  pollution_percentage double precision,
  improvement_percentage double precision
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  return query
    with p as (
      select 'before'::text as name, 'Before cut-over'::text as title, 1 as ord,
             p_cutover - least(greatest(p_days, 1), 3650) * interval '24 hours' as lo, p_cutover as hi
      union all
      select 'after', 'After cut-over', 2, p_cutover, p_now
    ),
    w as (
      select p.name, p.title, p.ord, p.lo, p.hi,
             count(d.created_at)::integer as total,
             count(d.created_at) filter (where d.is_unused)::integer as unused
        from p
        left join drafts d
          on d.created_at >= p.lo
         and (d.created_at < p.hi or (p.ord = 2 and d.created_at = p.hi))
       group by p.name, p.title, p.ord, p.lo, p.hi
    ),
    pct as (
      select w.*, 100.0 * w.unused / nullif(w.total, 0) as pollution from w
    ),
    cur as (
      select count(*)::integer as total,
             count(*) filter (where d.is_unused)::integer as unused
        from drafts d where d.is_draft
    )
    select r.name, r.title, r.lo, r.hi, r.total, r.unused, r.pollution, r.improvement
      from (
        select x.ord, x.name, x.title, x.lo, x.hi, x.total, x.unused,
               round(x.pollution, 2)::double precision as pollution,
               case when x.ord = 2 then
                 round(100.0 * ((select b.pollution from pct b where b.ord = 1) - x.pollution)
                       / nullif((select b.pollution from pct b where b.ord = 1), 0), 2)::double precision
               end as improvement
          from pct x
        union all
        select 3, 'current', 'Current DB state', null, p_now, cur.total, cur.unused,
               round(100.0 * cur.unused / nullif(cur.total, 0), 2)::double precision, null
          from cur
      ) r
     order by r.ord;
end;
$$;

-- 11. Session duration: five buckets, always, over rows created in the last p_days days. A
-- draft's session runs from its creation to its last update (updated_at - created_at; no
-- update time: zero); converted: anything but an unused draft now.
create or replace function cronwarden.draft_session_duration(
  p_days integer default 7,
  p_now timestamptz default now()
) returns table (
  bucket text,
  bucket_order integer,
  min_seconds integer,
  max_seconds integer,
  session_count integer,
  converted_count integer,
  abandoned_count integer,
  conversion_rate double precision,
  share_percentage double precision
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  return query
    with b(name, ord, lo, hi) as (
      values ('< 1 min', 1, 0, 60), ('1-5 min', 2, 60, 300), ('5-15 min', 3, 300, 900),
             ('15-60 min', 4, 900, 3600), ('60+ min', 5, 3600, null::integer)
    ),
    s as (
      select greatest(extract(epoch from (coalesce(d.updated_at, d.created_at) - d.created_at)), 0) as secs,
             d.is_unused is not true as converted
        from drafts d
       where d.created_at > p_now - least(greatest(p_days, 1), 365) * interval '24 hours' and d.created_at <= p_now
    ),
    agg as (
      select b.ord, count(s.secs)::integer as n, count(*) filter (where s.converted)::integer as conv
        from b left join s on s.secs >= b.lo and (b.hi is null or s.secs < b.hi)
       group by b.ord
    ),
    tot as (select sum(agg.n) as n from agg)
    select b.name, b.ord, b.lo, b.hi, a.n, a.conv, a.n - a.conv,
           round(100.0 * a.conv / nullif(a.n, 0), 2)::double precision,
           round(100.0 * a.n / nullif(t.n, 0), 2)::double precision
      from b join agg a on a.ord = b.ord cross join tot t
     order by b.ord;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Privileges: for the server alone (the service role on Supabase, the owner elsewhere).
-- ---------------------------------------------------------------------------------------------
do $$
declare
  v_fn regprocedure;
  v_anon boolean := exists (select 1 from pg_roles where rolname = 'anon');
  v_authenticated boolean := exists (select 1 from pg_roles where rolname = 'authenticated');
  v_service boolean := exists (select 1 from pg_roles where rolname = 'service_role');
begin
  for v_fn in
    select p.oid::regprocedure
      from pg_proc p
     where p.pronamespace = 'cronwarden'::regnamespace
       and p.proname in ('draft_cleanup_batch', 'trigger_manual_cleanup', 'draft_system_health',
                         'draft_age_distribution', 'draft_cleanup_performance', 'draft_organization_leaderboard',
                         'draft_daily_trend', 'draft_pending_cleanup', 'draft_hourly_traffic',
                         'draft_redis_consistency', 'draft_cleanup_effectiveness', 'draft_before_after',
                         'draft_session_duration')
  loop
    execute format('revoke all on function %s from public', v_fn);
    if v_anon then execute format('revoke all on function %s from anon', v_fn); end if;
    if v_authenticated then execute format('revoke all on function %s from authenticated', v_fn); end if;
    if v_service then execute format('grant execute on function %s to service_role', v_fn); end if;
  end loop;
end;
$$;

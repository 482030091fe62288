-- Draft cleanup and its monitoring.
--
-- Every course starts life as a draft. A draft whose generation never started
-- (status = 'draft' and generation_status is null) is an "unused" draft: the create form was
-- opened and abandoned. The hourly draft-cleanup job deletes unused drafts older than 24 hours;
-- the draft_* functions below are the monitoring queries behind /api/admin/drafts/<name>,
-- the alert rules and the Prometheus gauges.
--
-- Conventions used by every function here:
--   * "created" counts are over every course row created in the window: each course is born
--     as a draft, so these are draft creations, whatever the course became later.
--   * "draft" counts (totals, pollution) are over the current rows with status = 'draft'.
--   * Days, weeks and hours are UTC; series step by fixed hours so no session time zone or
--     daylight-saving shift can move a boundary.
--   * Percentages are rounded to 2 decimals and returned as double precision (a JSON number on
--     every driver); a percentage of nothing is null.
--   * Job history comes from cron_job_runs (job = 'draft-cleanup'), dry runs excluded.

create table if not exists organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  created_at timestamptz not null default now()
);

create table if not exists courses (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  title text not null default 'Untitled course',
  status text not null default 'draft' check (status in ('draft', 'published', 'archived')),
  -- null: generation never started (an unused draft when status = 'draft')
  generation_status text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  created_by uuid
);

-- Cleanup selection, pending counts and the pending audit: only the unused drafts, oldest first.
create index if not exists courses_unused_draft_created_idx
  on courses (created_at) where status = 'draft' and generation_status is null;
-- Time windows (trend, traffic, before/after, sessions).
create index if not exists courses_created_at_idx on courses (created_at);
create index if not exists courses_organization_idx on courses (organization_id);

-- ---------------------------------------------------------------------------------------------
-- Cleanup
-- ---------------------------------------------------------------------------------------------

-- One batch of the cleanup: selects at most p_batch_size unused drafts created before the
-- cutoff (oldest first), skipping rows another transaction holds locked (a draft being used
-- right now), and deletes them with the predicate checked again at delete time, so a draft
-- that gained a generation status, a new status or a newer created_at is never deleted.
-- A dry run changes nothing: it counts every eligible draft and lists the oldest 100 ids.
create or replace function draft_cleanup_batch(
  p_hours integer default 24,
  p_batch_size integer default 1000,
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (deleted_count integer, deleted_ids uuid[], cutoff_time timestamptz, has_more boolean)
language plpgsql as $$
declare
  v_cutoff timestamptz;
  v_selected uuid[];
  v_deleted uuid[];
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
      select (select count(*)::integer from courses c
               where c.status = 'draft' and c.generation_status is null and c.created_at < v_cutoff),
             coalesce((select array_agg(s.id order by s.created_at, s.id) from (
                 select c.id, c.created_at from courses c
                  where c.status = 'draft' and c.generation_status is null and c.created_at < v_cutoff
                  order by c.created_at, c.id
                  limit 100) s), '{}'::uuid[]),
             v_cutoff,
             false;
    return;
  end if;

  select coalesce(array_agg(s.id), '{}'::uuid[]) into v_selected from (
    select c.id from courses c
     where c.status = 'draft' and c.generation_status is null and c.created_at < v_cutoff
     order by c.created_at
     limit p_batch_size
     for update skip locked
  ) s;

  with gone as (
    delete from courses c
     where c.id = any (v_selected)
       and c.status = 'draft'
       and c.generation_status is null
       and c.created_at < v_cutoff
    returning c.id
  )
  select coalesce(array_agg(g.id), '{}'::uuid[]) into v_deleted from gone g;

  return query select cardinality(v_deleted), v_deleted, v_cutoff, cardinality(v_selected) = p_batch_size;
end;
$$;

-- Manual cleanup for emergencies (`select * from trigger_manual_cleanup();`): one batch of up
-- to p_batch_size unused drafts older than p_hours; call again while deleted_count > 0.
create or replace function trigger_manual_cleanup(
  p_hours integer default 24,
  p_batch_size integer default 1000,
  p_now timestamptz default now()
) returns table (deleted_count integer, deleted_ids uuid[], cutoff_time timestamptz)
language sql as $$
  select b.deleted_count, b.deleted_ids, b.cutoff_time
    from draft_cleanup_batch(p_hours => p_hours, p_batch_size => p_batch_size, p_dry_run => false, p_now => p_now) b;
$$;

-- ---------------------------------------------------------------------------------------------
-- Monitoring queries
-- ---------------------------------------------------------------------------------------------

-- 1. System health: one row.
create or replace function draft_system_health(
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
language sql stable as $$
  with s as (
    select count(*)::integer as total_courses,
           count(*) filter (where c.status = 'draft')::integer as total_drafts,
           count(*) filter (where c.status = 'draft' and c.generation_status is null)::integer as unused_drafts,
           count(*) filter (where c.created_at > p_now - interval '1 hour' and c.created_at <= p_now)::integer as created_last_hour,
           count(*) filter (where c.created_at > p_now - interval '24 hours' and c.created_at <= p_now)::integer as created_last_24h,
           count(*) filter (where c.status = 'draft' and c.generation_status is null
                              and c.created_at < p_now - make_interval(hours => p_hours))::integer as pending_cleanup
      from courses c
  )
  select s.total_courses, s.total_drafts, s.unused_drafts, s.total_drafts - s.unused_drafts,
         round(100.0 * s.unused_drafts / nullif(s.total_drafts, 0), 2)::double precision,
         s.created_last_hour, s.created_last_24h, s.pending_cleanup, p_now
    from s;
$$;

-- 2. Drafts by age: four rows, always. '< 1h': age < 1 h; '1-6h': 1 h <= age < 6 h;
-- '6-24h': 6 h <= age <= 24 h; '> 24h': age > 24 h (exactly what the cleanup deletes).
create or replace function draft_age_distribution(p_now timestamptz default now())
returns table (bucket text, bucket_order integer, draft_count integer, unused_count integer, unused_percentage double precision)
language sql stable as $$
  with b(bucket, bucket_order) as (
    values ('< 1h', 1), ('1-6h', 2), ('6-24h', 3), ('> 24h', 4)
  ),
  d as (
    select case
             when c.created_at > p_now - interval '1 hour' then 1
             when c.created_at > p_now - interval '6 hours' then 2
             when c.created_at >= p_now - interval '24 hours' then 3
             else 4
           end as bucket_order,
           (c.generation_status is null) as unused
      from courses c
     where c.status = 'draft'
  ),
  agg as (
    select d.bucket_order, count(*)::integer as n, count(*) filter (where d.unused)::integer as u
      from d group by d.bucket_order
  )
  select b.bucket, b.bucket_order, coalesce(a.n, 0), coalesce(a.u, 0),
         round(100.0 * a.u / nullif(a.n, 0), 2)::double precision
    from b left join agg a on a.bucket_order = b.bucket_order
   order by b.bucket_order;
$$;

-- 3. Cleanup job performance: one row from the run history (dry runs and skipped invocations
-- excluded). consecutive_failures counts failed runs since the last succeeded/partial one.
create or replace function draft_cleanup_performance(
  p_job text default 'draft-cleanup',
  p_now timestamptz default now()
) returns table (
  job text,
  last_run_id uuid,
  last_run_at timestamptz,
  last_status text,
  last_duration_ms integer,
  last_deleted_count integer,
  last_success_at timestamptz,
  hours_since_last_run double precision,
  hours_since_last_success double precision,
  runs_24h integer,
  succeeded_24h integer,
  failed_24h integer,
  success_rate_24h double precision,
  deleted_24h integer,
  avg_duration_ms_24h double precision,
  consecutive_failures integer
)
language sql stable as $$
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
           coalesce(sum(case when r.status in ('succeeded', 'partial') then (r.result ->> 'deleted_count')::integer end), 0)::integer as deleted,
           avg(r.duration_ms) filter (where r.status <> 'running') as avg_ms
      from runs r where r.started_at > p_now - interval '24 hours'
  )
  select p_job,
         l.id, l.started_at, l.status, l.duration_ms, (l.result ->> 'deleted_count')::integer,
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
-- rank between ties (1, 2, 2, 4).
create or replace function draft_organization_leaderboard(
  p_limit integer default 10,
  p_hours integer default 24,
  p_now timestamptz default now()
) returns table (
  rank integer,
  organization_id uuid,
  organization_name text,
  total_drafts integer,
  unused_drafts integer,
  pollution_percentage double precision,
  share_of_unused_percentage double precision,
  pending_cleanup integer,
  oldest_unused_at timestamptz
)
language sql stable as $$
  with per_org as (
    select c.organization_id,
           count(*)::integer as total_drafts,
           count(*) filter (where c.generation_status is null)::integer as unused_drafts,
           count(*) filter (where c.generation_status is null
                              and c.created_at < p_now - make_interval(hours => p_hours))::integer as pending,
           min(c.created_at) filter (where c.generation_status is null) as oldest_unused_at
      from courses c
     where c.status = 'draft'
     group by c.organization_id
  ),
  ranked as (
    select rank() over (order by p.unused_drafts desc)::integer as rank,
           p.*,
           sum(p.unused_drafts) over () as all_unused
      from per_org p
     where p.unused_drafts > 0
  )
  select r.rank, r.organization_id, o.name, r.total_drafts, r.unused_drafts,
         round(100.0 * r.unused_drafts / nullif(r.total_drafts, 0), 2)::double precision,
         round(100.0 * r.unused_drafts / nullif(r.all_unused, 0), 2)::double precision,
         r.pending, r.oldest_unused_at
    from ranked r
    left join organizations o on o.id = r.organization_id
   order by r.rank, o.name, r.organization_id
   limit least(greatest(p_limit, 1), 100);
$$;

-- 5. Daily trend: one row per UTC day, the p_days days ending today (newest first), zero-filled.
-- ma7_drafts_created is the mean of drafts_created over the 7 days ending that day.
create or replace function draft_daily_trend(
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
language sql stable as $$
  with bounds as (
    select date_trunc('day', p_now, 'UTC') as today,
           least(greatest(p_days, 1), 365) as n
  ),
  days as (
    select generate_series(b.today - (b.n + 5) * interval '24 hours', b.today, interval '24 hours') as day
      from bounds b
  ),
  counts as (
    select date_trunc('day', c.created_at, 'UTC') as day,
           count(*)::integer as created,
           count(*) filter (where c.status = 'draft' and c.generation_status is null)::integer as abandoned
      from courses c, bounds b
     where c.created_at >= b.today - (b.n + 5) * interval '24 hours' and c.created_at <= p_now
     group by 1
  ),
  series as (
    select d.day,
           coalesce(k.created, 0) as created,
           coalesce(k.abandoned, 0) as abandoned,
           avg(coalesce(k.created, 0)) over (order by d.day rows between 6 preceding and current row) as ma7
      from days d left join counts k on k.day = d.day
  )
  select to_char(s.day at time zone 'UTC', 'YYYY-MM-DD'), s.day,
         s.created, s.created - s.abandoned, s.abandoned,
         round(100.0 * (s.created - s.abandoned) / nullif(s.created, 0), 2)::double precision,
         round(100.0 * s.abandoned / nullif(s.created, 0), 2)::double precision,
         round(s.ma7, 2)::double precision
    from series s, bounds b
   where s.day > b.today - b.n * interval '24 hours'
   order by s.day desc;
$$;

-- 6. Pending cleanup audit: unused drafts older than p_hours, oldest first. Each says how many
-- successful cleanup runs started since it became eligible: more than zero means the cleanup
-- ran and did not take it (locked at the time, or a bug), zero means the cleanup has not run.
create or replace function draft_pending_cleanup(
  p_hours integer default 24,
  p_limit integer default 100,
  p_now timestamptz default now()
) returns table (
  id uuid,
  organization_id uuid,
  organization_name text,
  title text,
  created_by uuid,
  created_at timestamptz,
  eligible_since timestamptz,
  age_hours double precision,
  hours_overdue double precision,
  cleanup_runs_since_eligible integer
)
language sql stable as $$
  select c.id, c.organization_id, o.name, c.title, c.created_by, c.created_at,
         c.created_at + make_interval(hours => p_hours),
         round((extract(epoch from (p_now - c.created_at)) / 3600)::numeric, 2)::double precision,
         round((extract(epoch from (p_now - c.created_at)) / 3600 - p_hours)::numeric, 2)::double precision,
         (select count(*)::integer from cron_job_runs r
           where r.job = 'draft-cleanup' and not r.dry_run and r.status in ('succeeded', 'partial')
             and r.started_at > c.created_at + make_interval(hours => p_hours) and r.started_at <= p_now)
    from courses c
    left join organizations o on o.id = c.organization_id
   where c.status = 'draft' and c.generation_status is null
     and c.created_at < p_now - make_interval(hours => p_hours)
   order by c.created_at, c.id
   limit least(greatest(p_limit, 1), 1000);
$$;

-- 7. Hourly traffic: 168 rows (ISO day of week 1 = Monday .. 7 = Sunday, x hour 0..23, UTC),
-- zero-filled, over courses created in the last p_days days.
create or replace function draft_hourly_traffic(
  p_days integer default 7,
  p_now timestamptz default now()
) returns table (day_of_week integer, day_name text, hour_of_day integer, drafts_created integer, unused_drafts integer)
language sql stable as $$
  with cells as (
    select d, h from generate_series(1, 7) d cross join generate_series(0, 23) h
  ),
  agg as (
    select extract(isodow from c.created_at at time zone 'UTC')::integer as d,
           extract(hour from c.created_at at time zone 'UTC')::integer as h,
           count(*)::integer as n,
           count(*) filter (where c.status = 'draft' and c.generation_status is null)::integer as u
      from courses c
     where c.created_at > p_now - least(greatest(p_days, 1), 365) * interval '24 hours' and c.created_at <= p_now
     group by 1, 2
  )
  select cells.d, (array['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'])[cells.d], cells.h,
         coalesce(a.n, 0), coalesce(a.u, 0)
    from cells left join agg a on a.d = cells.d and a.h = cells.h
   order by cells.d, cells.h;
$$;

-- 8. Redis consistency: two rows. In-progress drafts should live in Redis sessions and reach the
-- database only once used; this compares the unused drafts the database holds from the last
-- p_window_hours with the Redis session key count (passed in by the caller; null when Redis is
-- not configured or unreachable). share_percentage: each side's part of the in-progress drafts.
create or replace function draft_redis_consistency(
  p_redis_session_count integer default null,
  p_window_hours integer default 24,
  p_now timestamptz default now()
) returns table (source text, draft_count integer, unused_count integer, share_percentage double precision)
language sql stable as $$
  with db as (
    select count(*)::integer as n,
           count(*) filter (where c.generation_status is null)::integer as u
      from courses c
     where c.status = 'draft'
       and c.created_at > p_now - make_interval(hours => p_window_hours) and c.created_at <= p_now
  )
  select x.source, x.draft_count, x.unused_count, x.share_percentage
    from db
    cross join lateral (
      values (1, 'database', db.n, db.u,
              round(100.0 * db.u / nullif(db.u + p_redis_session_count, 0), 2)::double precision),
             (2, 'redis', p_redis_session_count, p_redis_session_count,
              round(100.0 * p_redis_session_count / nullif(db.u + p_redis_session_count, 0), 2)::double precision)
    ) as x(ord, source, draft_count, unused_count, share_percentage)
   order by x.ord;
$$;

-- 9. Cleanup effectiveness by week: the last p_weeks ISO weeks (Monday 00:00 UTC), newest
-- first, zero-filled. success_rate: succeeded or partial runs out of finished runs.
create or replace function draft_cleanup_effectiveness(
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
  drafts_deleted integer,
  avg_deleted_per_run double precision,
  avg_duration_ms double precision,
  max_duration_ms integer
)
language sql stable as $$
  with weeks as (
    select generate_series(
             date_trunc('week', p_now, 'UTC') - (least(greatest(p_weeks, 1), 52) - 1) * interval '168 hours',
             date_trunc('week', p_now, 'UTC'),
             interval '168 hours') as week_start
  ),
  runs as (
    select r.*,
           case when r.status in ('succeeded', 'partial') then coalesce((r.result ->> 'deleted_count')::integer, 0) end as deleted
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
         coalesce(sum(r.deleted), 0)::integer,
         round(avg(r.deleted), 2)::double precision,
         round(avg(r.duration_ms) filter (where r.status <> 'running'), 2)::double precision,
         max(r.duration_ms)
    from weeks w
    left join runs r on r.started_at >= w.week_start and r.started_at < w.week_start + interval '168 hours'
   group by w.week_start
   order by w.week_start desc;
$$;

-- 10. Before / after a cut-over (for example the day drafts moved to Redis sessions): three rows.
-- 'before': courses created in the p_days days before p_cutover; 'after': created from p_cutover
-- to p_now; 'current': the drafts in the table now. improvement_percentage (on 'after'): how
-- much lower the pollution is than before, relative to before.
create or replace function draft_before_after(
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
language sql stable as $$
  with p as (
    select 'before'::text as period, 'Before cut-over'::text as label, 1 as ord,
           p_cutover - least(greatest(p_days, 1), 3650) * interval '24 hours' as period_start, p_cutover as period_end
    union all
    select 'after', 'After cut-over', 2, p_cutover, p_now
  ),
  w as (
    select p.period, p.label, p.ord, p.period_start, p.period_end,
           count(c.id)::integer as total,
           count(c.id) filter (where c.status = 'draft' and c.generation_status is null)::integer as unused
      from p
      left join courses c
        on c.created_at >= p.period_start
       and (c.created_at < p.period_end or (p.ord = 2 and c.created_at = p.period_end))
     group by p.period, p.label, p.ord, p.period_start, p.period_end
  ),
  pct as (
    select w.*, 100.0 * w.unused / nullif(w.total, 0) as pollution from w
  ),
  cur as (
    select count(*)::integer as total,
           count(*) filter (where c.generation_status is null)::integer as unused
      from courses c where c.status = 'draft'
  )
  select r.period, r.label, r.period_start, r.period_end, r.total, r.unused, r.pollution, r.improvement
    from (
      select x.ord, x.period, x.label, x.period_start, x.period_end, x.total, x.unused,
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
$$;

-- 11. Session duration: five buckets, always, over courses created in the last p_days days.
-- A draft's session runs from its creation to its last update (updated_at - created_at);
-- converted: its generation started or it left the draft status.
create or replace function draft_session_duration(
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
language sql stable as $$
  with b(bucket, bucket_order, lo, hi) as (
    values ('< 1 min', 1, 0, 60), ('1-5 min', 2, 60, 300), ('5-15 min', 3, 300, 900),
           ('15-60 min', 4, 900, 3600), ('60+ min', 5, 3600, null::integer)
  ),
  s as (
    select greatest(extract(epoch from (c.updated_at - c.created_at)), 0) as secs,
           not (c.status = 'draft' and c.generation_status is null) as converted
      from courses c
     where c.created_at > p_now - least(greatest(p_days, 1), 365) * interval '24 hours' and c.created_at <= p_now
  ),
  agg as (
    select b.bucket_order, count(s.secs)::integer as n, count(*) filter (where s.converted)::integer as conv
      from b left join s on s.secs >= b.lo and (b.hi is null or s.secs < b.hi)
     group by b.bucket_order
  ),
  tot as (select sum(agg.n) as n from agg)
  select b.bucket, b.bucket_order, b.lo, b.hi, a.n, a.conv, a.n - a.conv,
         round(100.0 * a.conv / nullif(a.n, 0), 2)::double precision,
         round(100.0 * a.n / nullif(t.n, 0), 2)::double precision
    from b join agg a on a.bucket_order = b.bucket_order cross join tot t
   order by b.bucket_order;
$$;

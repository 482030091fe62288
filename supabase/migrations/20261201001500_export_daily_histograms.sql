-- Daily rollups of the export duration histograms: a rollup of the hourly rollups.
--
-- The 30-day report merged the histograms of every hourly rollup row in its window (720 hours x
-- 4 formats x 3 count ranges, up to about 120 non-empty buckets each: about a million array
-- elements at 10M exports a month). Whole UTC days now come from one merged histogram per day,
-- format and count range, and only the partial days at the window's ends from the hourly rows:
-- about 24 times fewer elements. Counts, sums and the hourly and daily volumes still come from the
-- hourly rows (small, no arrays), so they stay exact as before.
--
-- A day's row is always the merge of the hourly rows of that day: statement triggers on
-- export_metrics_hourly rebuild the days a statement touched (the rollup's upserts and its
-- removals, the retention prune), in the same transaction. Nothing else writes this table.

create table if not exists cronwarden.export_metrics_daily (
  day timestamptz not null,            -- UTC midnight
  format text not null,
  hours_rolled integer not null,       -- hourly rows merged (24 for a day rolled up whole)
  successful_exports bigint not null,  -- completed exports of those hours
  -- merged duration histograms per count range (layout: 20261201000500_exports.sql)
  duration_buckets_small bigint[],
  duration_buckets_medium bigint[],
  duration_buckets_large bigint[],
  updated_at timestamptz not null,
  primary key (day, format)
);

-- Rebuilds the daily rows of p_days (UTC midnights) from the hourly rows of those days: a day
-- without hourly rows loses its daily rows.
create or replace function cronwarden.export_rollup_days(p_days timestamptz[])
returns void
language plpgsql
set search_path = cronwarden, pg_temp
as $$
begin
  delete from export_metrics_daily d where d.day = any (p_days);
  insert into export_metrics_daily as d (day, format, hours_rolled, successful_exports,
                                         duration_buckets_small, duration_buckets_medium, duration_buckets_large, updated_at)
  with days as (
    select distinct x.day from unnest(p_days) x(day)
  ),
  hours as (
    select dd.day, h.format, h.successful_exports,
           h.duration_buckets_small, h.duration_buckets_medium, h.duration_buckets_large
      from days dd
      join export_metrics_hourly h on h.hour >= dd.day and h.hour < dd.day + interval '1 day'
  ),
  cells as (
    select x.day, x.format, count(*)::integer as hours_rolled, sum(x.successful_exports)::bigint as ok
      from hours x group by x.day, x.format
  ),
  counted as (
    select x.day, x.format, x.count_range, (array_lower(x.hist, 1) + u.k - 1)::integer as bucket, sum(u.n)::bigint as n
      from (select h.day, h.format, 'small' as count_range, h.duration_buckets_small as hist from hours h
            union all
            select h.day, h.format, 'medium', h.duration_buckets_medium from hours h
            union all
            select h.day, h.format, 'large', h.duration_buckets_large from hours h) x
     cross join lateral unnest(x.hist) with ordinality u(n, k)
     group by 1, 2, 3, 4
    having sum(u.n) > 0
  ),
  hists as (
    select c.day, c.format,
           export_histogram(array_agg(c.bucket order by c.bucket) filter (where c.count_range = 'small'),
                            array_agg(c.n order by c.bucket) filter (where c.count_range = 'small')) as small,
           export_histogram(array_agg(c.bucket order by c.bucket) filter (where c.count_range = 'medium'),
                            array_agg(c.n order by c.bucket) filter (where c.count_range = 'medium')) as medium,
           export_histogram(array_agg(c.bucket order by c.bucket) filter (where c.count_range = 'large'),
                            array_agg(c.n order by c.bucket) filter (where c.count_range = 'large')) as large
      from counted c group by c.day, c.format
  )
  select c.day, c.format, c.hours_rolled, c.ok, h.small, h.medium, h.large, now()
    from cells c
    left join hists h on h.day = c.day and h.format = c.format;
end;
$$;

-- The statement triggers: the days of the rows a statement inserted, updated or deleted.
create or replace function cronwarden.export_metrics_hourly_to_days()
returns trigger
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_days timestamptz[];
begin
  if tg_op = 'INSERT' then
    select array_agg(distinct date_trunc('day', n.hour, 'UTC')) into v_days from changed_new n;
  elsif tg_op = 'DELETE' then
    select array_agg(distinct date_trunc('day', o.hour, 'UTC')) into v_days from changed_old o;
  else
    select array_agg(distinct date_trunc('day', x.hour, 'UTC')) into v_days
      from (select n.hour from changed_new n union select o.hour from changed_old o) x;
  end if;
  if v_days is not null then
    perform export_rollup_days(v_days);
  end if;
  return null;
end;
$$;

drop trigger if exists export_metrics_hourly_days_on_insert on cronwarden.export_metrics_hourly;
create trigger export_metrics_hourly_days_on_insert
  after insert on cronwarden.export_metrics_hourly
  referencing new table as changed_new
  for each statement execute function cronwarden.export_metrics_hourly_to_days();
drop trigger if exists export_metrics_hourly_days_on_update on cronwarden.export_metrics_hourly;
create trigger export_metrics_hourly_days_on_update
  after update on cronwarden.export_metrics_hourly
  referencing old table as changed_old new table as changed_new
  for each statement execute function cronwarden.export_metrics_hourly_to_days();
drop trigger if exists export_metrics_hourly_days_on_delete on cronwarden.export_metrics_hourly;
create trigger export_metrics_hourly_days_on_delete
  after delete on cronwarden.export_metrics_hourly
  referencing old table as changed_old
  for each statement execute function cronwarden.export_metrics_hourly_to_days();

-- The days rolled up before this file.
select cronwarden.export_rollup_days(array(select distinct date_trunc('day', h.hour, 'UTC') from cronwarden.export_metrics_hourly h));

-- The report (same signature and answer as in 20261201000500_exports.sql): whole UTC days inside
-- the rolled-up stretch read their histograms from export_metrics_daily.
create or replace function cronwarden.export_metrics_report(p_from timestamptz, p_to timestamptz)
returns table (
  period_start timestamptz,
  period_end timestamptz,
  total_exports bigint,
  successful_exports bigint,
  failed_exports bigint,
  success_rate double precision,
  avg_duration_ms double precision,
  p95_duration_ms double precision,
  avg_duration_by_format jsonb,
  p95_duration_by_format jsonb,
  avg_duration_by_count_range jsonb,
  p95_duration_by_count_range jsonb,
  avg_file_size_by_format jsonb,
  max_file_size_by_format jsonb,
  format_distribution jsonb,
  volume_by_hour jsonb,
  volume_by_day jsonb,
  rollup_from timestamptz,
  rollup_to timestamptz,
  raw_rows bigint
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_first_hour timestamptz := date_trunc('hour', p_from, 'UTC')
                              + case when date_trunc('hour', p_from, 'UTC') < p_from then interval '1 hour' else interval '0' end;
  v_rf timestamptz;
  v_rt timestamptz;
  v_df timestamptz;  -- [v_df, v_dt): the whole UTC days inside [v_rf, v_rt)
  v_dt timestamptz;
begin
  if not (p_from < p_to) then
    raise exception 'p_from must be before p_to' using errcode = '22023';
  end if;
  select greatest(v_first_hour, c.covered_from), least(date_trunc('hour', p_to, 'UTC'), c.covered_until)
    into v_rf, v_rt
    from export_rollup_coverage c;
  if v_rf is null or v_rf >= v_rt then
    v_rf := null;  -- nothing to read from the rollups: the raw rows of the whole window
    v_rt := null;
  else
    v_df := date_trunc('day', v_rf, 'UTC') + case when date_trunc('day', v_rf, 'UTC') < v_rf then interval '1 day' else interval '0' end;
    v_dt := date_trunc('day', v_rt, 'UTC');
    if v_df >= v_dt then
      v_df := null;
      v_dt := null;
    end if;
  end if;

  return query
    -- the rolled hours' figures, without their histograms (copying those arrays cost more
    -- than all the rest at 1M exports)
    with rolled as (
      select h.hour, h.format, h.total_exports, h.successful_exports, h.failed_exports, h.sum_duration_ms, h.avg_duration_ms,
             h.min_duration_ms, h.max_duration_ms, h.sized_exports, h.avg_file_size_bytes, h.total_file_size_bytes,
             h.max_file_size_bytes, h.range_sum_duration_ms
        from export_metrics_hourly h where h.hour >= v_rf and h.hour < v_rt
    ),
    -- the rolled hours outside the whole days: their histograms are read hour by hour
    rolled_edges as (
      select h.format, h.duration_buckets_small, h.duration_buckets_medium, h.duration_buckets_large
        from export_metrics_hourly h
       where h.hour >= v_rf and h.hour < v_rt and (v_df is null or h.hour < v_df or h.hour >= v_dt)
    ),
    rolled_days as (
      select d.* from export_metrics_daily d where d.day >= v_df and d.day < v_dt
    ),
    raw as (
      select x.format, x.status, x.duration_ms, x.file_size_bytes, x.count_range, x.created_at
        from export_metrics x
       where x.created_at >= p_from and x.created_at < coalesce(v_rf, p_to)
      union all
      select x.format, x.status, x.duration_ms, x.file_size_bytes, x.count_range, x.created_at
        from export_metrics x
       where x.created_at >= v_rt and x.created_at < p_to
    ),
    -- per (hour, format): the exact figures, from either source
    cells as (
      select r.hour, r.format, r.total_exports as n, r.successful_exports as ok, r.failed_exports as f,
             coalesce(r.sum_duration_ms, round(r.avg_duration_ms * r.successful_exports)::bigint, 0) as sum_d,
             r.min_duration_ms as min_d, r.max_duration_ms as max_d,
             coalesce(r.sized_exports, case when r.avg_file_size_bytes is not null then r.successful_exports else 0 end) as sized,
             r.total_file_size_bytes as sum_s, r.max_file_size_bytes as max_s,
             coalesce(r.range_sum_duration_ms, '{0,0,0}'::bigint[]) as range_sums
        from rolled r
      union all
      select date_trunc('hour', x.created_at, 'UTC'), x.format, count(*),
             count(*) filter (where x.status = 'completed'),
             count(*) filter (where x.status = 'failed'),
             coalesce(sum(x.duration_ms) filter (where x.status = 'completed'), 0),
             min(x.duration_ms) filter (where x.status = 'completed'),
             max(x.duration_ms) filter (where x.status = 'completed'),
             count(x.file_size_bytes) filter (where x.status = 'completed'),
             coalesce(sum(x.file_size_bytes) filter (where x.status = 'completed'), 0),
             max(x.file_size_bytes) filter (where x.status = 'completed'),
             array[coalesce(sum(x.duration_ms) filter (where x.status = 'completed' and x.count_range = 'small'), 0),
                   coalesce(sum(x.duration_ms) filter (where x.status = 'completed' and x.count_range = 'medium'), 0),
                   coalesce(sum(x.duration_ms) filter (where x.status = 'completed' and x.count_range = 'large'), 0)]::bigint[]
        from raw x
       group by 1, 2
    ),
    -- the rollups' histograms: whole days from the daily rows, the other hours from the hourly
    hists as (
      select r.format, r.duration_buckets_small as small, r.duration_buckets_medium as medium, r.duration_buckets_large as large
        from rolled_edges r
      union all
      select d.format, d.duration_buckets_small, d.duration_buckets_medium, d.duration_buckets_large
        from rolled_days d
    ),
    -- completed durations as (format, count range, bucket, count), from either source
    buckets as (
      select b.format, b.count_range, b.bucket, sum(b.n) as n
        from (
          select r.format, 'small' as count_range, (array_lower(r.small, 1) + u.k - 1)::integer as bucket, u.n
            from hists r, unnest(r.small) with ordinality u(n, k)
          union all
          select r.format, 'medium', (array_lower(r.medium, 1) + u.k - 1)::integer, u.n
            from hists r, unnest(r.medium) with ordinality u(n, k)
          union all
          select r.format, 'large', (array_lower(r.large, 1) + u.k - 1)::integer, u.n
            from hists r, unnest(r.large) with ordinality u(n, k)
          union all
          select x.format, x.count_range, export_duration_bucket(x.duration_ms), 1
            from raw x where x.status = 'completed'
        ) b
       where b.n > 0
       group by b.format, b.count_range, b.bucket
    ),
    by_format as (
      select c.format, sum(c.n) as n, sum(c.ok) as ok, sum(c.sum_d) as sum_d, min(c.min_d) as min_d, max(c.max_d) as max_d,
             sum(c.sized) as sized, sum(c.sum_s) as sum_s, max(c.max_s) as max_s
        from cells c group by c.format
    ),
    format_hists as (
      select h.format, array_agg(h.bucket order by h.bucket) as bs, array_agg(h.n order by h.bucket) as ns
        from (select b.format, b.bucket, sum(b.n)::bigint as n from buckets b group by b.format, b.bucket) h
       group by h.format
    ),
    range_hists as (
      select h.count_range, array_agg(h.bucket order by h.bucket) as bs, array_agg(h.n order by h.bucket) as ns, sum(h.n) as n
        from (select b.count_range, b.bucket, sum(b.n)::bigint as n from buckets b group by b.count_range, b.bucket) h
       group by h.count_range
    ),
    all_hist as (
      select array_agg(h.bucket order by h.bucket) as bs, array_agg(h.n order by h.bucket) as ns
        from (select b.bucket, sum(b.n)::bigint as n from buckets b group by b.bucket) h
    ),
    range_sums as (
      select sum(c.range_sums[1]) as small, sum(c.range_sums[2]) as medium, sum(c.range_sums[3]) as large from cells c
    ),
    totals as (
      select coalesce(sum(b.n), 0)::bigint as n, coalesce(sum(b.ok), 0)::bigint as ok, coalesce(sum(b.sum_d), 0) as sum_d,
             min(b.min_d) as min_d, max(b.max_d) as max_d
        from by_format b
    ),
    per_hour as (
      select c.hour as bucket, sum(c.n) as n, sum(c.f) as f from cells c group by c.hour
    ),
    per_day as (
      select date_trunc('day', c.hour, 'UTC') as bucket, sum(c.n) as n, sum(c.f) as f from cells c group by 1
    )
    select
      p_from,
      p_to,
      t.n,
      t.ok,
      (select coalesce(sum(c.f), 0)::bigint from cells c),
      case when t.n = 0 then null else t.ok::double precision / t.n end,
      case when t.ok = 0 then null else t.sum_d::double precision / t.ok end,
      (select export_histogram_quantile(a.bs, a.ns, 0.95, t.min_d, t.max_d) from all_hist a),
      coalesce((select jsonb_object_agg(b.format, b.sum_d::double precision / b.ok) from by_format b where b.ok > 0), '{}'::jsonb),
      coalesce((select jsonb_object_agg(b.format, export_histogram_quantile(h.bs, h.ns, 0.95, b.min_d, b.max_d))
                  from by_format b join format_hists h on h.format = b.format where b.ok > 0), '{}'::jsonb),
      coalesce((select jsonb_object_agg(r.count_range,
                                        (case r.count_range when 'small' then s.small when 'medium' then s.medium else s.large end)::double precision / r.n)
                  from range_hists r, range_sums s), '{}'::jsonb),
      coalesce((select jsonb_object_agg(r.count_range, export_histogram_quantile(r.bs, r.ns, 0.95, t.min_d, t.max_d))
                  from range_hists r), '{}'::jsonb),
      coalesce((select jsonb_object_agg(b.format, b.sum_s::double precision / b.sized) from by_format b where b.sized > 0), '{}'::jsonb),
      coalesce((select jsonb_object_agg(b.format, b.max_s) from by_format b where b.max_s is not null), '{}'::jsonb),
      coalesce((select jsonb_object_agg(b.format, b.n) from by_format b), '{}'::jsonb),
      coalesce((select jsonb_agg(jsonb_build_object('hour', to_char(h.bucket at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                                    'count', h.n, 'failed', h.f) order by h.bucket)
                  from per_hour h), '[]'::jsonb),
      coalesce((select jsonb_agg(jsonb_build_object('day', to_char(d.bucket at time zone 'UTC', 'YYYY-MM-DD'), 'count', d.n, 'failed', d.f)
                                 order by d.bucket)
                  from per_day d), '[]'::jsonb),
      v_rf,
      v_rt,
      (select count(*) from raw)
    from totals t;
end;
$$;

do $$
declare
  v_fn text;
begin
  foreach v_fn in array array['cronwarden.export_rollup_days(timestamptz[])', 'cronwarden.export_metrics_hourly_to_days()'] loop
    execute format('revoke all on function %s from public', v_fn);
    if exists (select 1 from pg_roles where rolname = 'anon') then
      execute format('revoke all on function %s from anon', v_fn);
    end if;
    if exists (select 1 from pg_roles where rolname = 'authenticated') then
      execute format('revoke all on function %s from authenticated', v_fn);
    end if;
    -- The rollup runs as service_role on Supabase, and its statements fire the triggers.
    if exists (select 1 from pg_roles where rolname = 'service_role') then
      execute format('grant execute on function %s to service_role', v_fn);
    end if;
  end loop;
end;
$$;

-- Export operations: our metrics (one row per finished export, logged by the app's export
-- service), hourly rollups, file-cleanup claims and archive bookkeeping, and the functions the
-- export jobs call. The team's export log is reached through the view cronwarden.exports that
-- the exports binding creates (id, user_id, status, file_path, created_at, expires_at,
-- completed_at, file_size_bytes, is_completed, is_failed, is_expired, expired_status, row_json,
-- row_bytes);
-- functions that use it are plpgsql, since it exists only while the feature is bound.

-- ---------------------------------------------------------------------------------------------
-- Metrics (ours)
-- ---------------------------------------------------------------------------------------------

-- Conversation-count ranges used to compare durations:
--   small  : fewer than 100 conversations
--   medium : 100 to 499
--   large  : 500 or more
create or replace function cronwarden.export_count_range(p_count bigint)
returns text
language sql immutable
set search_path = cronwarden, pg_temp
as $$
  select case when p_count < 100 then 'small' when p_count < 500 then 'medium' else 'large' end;
$$;

create table if not exists cronwarden.export_metrics (
  export_id text primary key,
  -- null once the user is deleted: the counts stay, the person does not
  user_id text,
  format text not null,
  status text not null check (status in ('completed', 'failed')),
  duration_ms bigint not null check (duration_ms >= 0),
  file_size_bytes bigint check (file_size_bytes is null or file_size_bytes >= 0),
  conversation_count bigint not null default 0 check (conversation_count >= 0),
  count_range text not null check (count_range in ('small', 'medium', 'large')),
  error_type text,
  error_message text,
  created_at timestamptz not null default now()
);
-- Moved from the first release: uuid keys, integer durations, a fixed list of formats.
alter table cronwarden.export_metrics drop constraint if exists export_metrics_format_check;
alter table cronwarden.export_metrics alter column export_id type text using export_id::text;
alter table cronwarden.export_metrics alter column user_id type text using user_id::text;
alter table cronwarden.export_metrics alter column user_id drop not null;
alter table cronwarden.export_metrics alter column duration_ms type bigint;
alter table cronwarden.export_metrics alter column conversation_count type bigint;
create index if not exists export_metrics_created_idx on cronwarden.export_metrics (created_at);
create index if not exists export_metrics_user_created_idx on cronwarden.export_metrics (user_id, created_at);

create table if not exists cronwarden.export_metrics_hourly (
  hour timestamptz not null,
  format text not null,
  total_exports bigint not null,
  successful_exports bigint not null,
  failed_exports bigint not null,
  avg_duration_ms double precision,
  p95_duration_ms double precision,
  max_duration_ms bigint,
  total_file_size_bytes bigint not null default 0,
  avg_file_size_bytes double precision,
  conversation_count bigint not null default 0,
  updated_at timestamptz not null,
  primary key (hour, format)
);
alter table cronwarden.export_metrics_hourly alter column total_exports type bigint;
alter table cronwarden.export_metrics_hourly alter column successful_exports type bigint;
alter table cronwarden.export_metrics_hourly alter column failed_exports type bigint;
alter table cronwarden.export_metrics_hourly alter column max_duration_ms type bigint;

-- Besides the hour's own figures (its exact p95 for the charts), each row carries what the
-- statistics of any window are merged from: exact sums and extremes of the completed exports,
-- and their durations as histograms, one per count range, so a 30-day report reads 720 rows per
-- format instead of every export of the month.
--
-- Histogram bucket layout (fixed, log-spaced like Prometheus' native histograms with schema 4:
-- sixteen buckets per doubling, each 4.43% wider than the one before, so any quantile read from
-- them is within 4.43% of the exact value whatever the data):
--   bucket 0           0 ms
--   bucket k (1..400)  2^((k-1)/16) <= duration < 2^(k/16) ms   (1 ms up to 2^25 ms, 9.3 hours)
--   bucket 401         2^25 ms or more
-- A histogram is a bigint[] of counts whose subscripts ARE the bucket numbers, trimmed to its
-- first and last non-empty bucket ('[157:160]={3,0,12,5}': 3 exports in bucket 157, ...); null
-- when it holds nothing. Rows rolled up before this layout existed have nulls here: their counts
-- and sums still count, their durations are not in any percentile.
alter table cronwarden.export_metrics_hourly add column if not exists sum_duration_ms bigint;
alter table cronwarden.export_metrics_hourly add column if not exists min_duration_ms bigint;
alter table cronwarden.export_metrics_hourly add column if not exists sized_exports bigint;
alter table cronwarden.export_metrics_hourly add column if not exists max_file_size_bytes bigint;
-- {small, medium, large}: sums of the completed exports' durations per count range
alter table cronwarden.export_metrics_hourly add column if not exists range_sum_duration_ms bigint[];
alter table cronwarden.export_metrics_hourly add column if not exists duration_buckets_small bigint[];
alter table cronwarden.export_metrics_hourly add column if not exists duration_buckets_medium bigint[];
alter table cronwarden.export_metrics_hourly add column if not exists duration_buckets_large bigint[];

-- The hours the rollups hold completely: [covered_from, covered_until), one contiguous stretch
-- (export_rollup_hourly keeps it so). A report reads the rollups inside it and the raw metrics
-- outside it, so a window is exact whether or not the job has run.
create table if not exists cronwarden.export_rollup_coverage (
  only_row boolean primary key default true check (only_row),
  covered_from timestamptz not null,
  covered_until timestamptz not null,
  updated_at timestamptz not null
);

-- The histogram bucket of a duration (layout above). The float logarithm can land one bucket
-- off at an exact power of two; the two comparisons put it back. One expression and no SET
-- clause, so PostgreSQL inlines it into the rollup's query (a SET clause forbids inlining and
-- costs a function call per row); it names no table, and pg_catalog comes first on any path.
create or replace function cronwarden.export_duration_bucket(p_ms bigint)
returns integer
language sql immutable parallel safe
as $$
  select case when p_ms < 1 then 0
              when p_ms >= 33554432 then 401
              else floor(16 * ln(p_ms::float8) / ln(2::float8))::integer + 1
                   + (case when p_ms::float8 >= power(2::float8, (floor(16 * ln(p_ms::float8) / ln(2::float8)) + 1) / 16)
                           then 1
                           when p_ms::float8 < power(2::float8, floor(16 * ln(p_ms::float8) / ln(2::float8)) / 16)
                           then -1
                           else 0 end)
         end
$$;

-- The whole milliseconds a bucket can hold: [lowest, highest] (durations are whole ms).
create or replace function cronwarden.export_bucket_bounds(p_bucket integer, out lowest double precision, out highest double precision)
language sql immutable parallel safe
set search_path = cronwarden, pg_temp
as $$
  select case when p_bucket <= 0 then 0 else ceil(power(2::float8, (p_bucket - 1) / 16.0)) end,
         case when p_bucket <= 0 then 0 when p_bucket >= 401 then 'infinity'::float8
              else ceil(power(2::float8, p_bucket / 16.0)) - 1 end;
$$;

-- A trimmed histogram (layout above) from its non-empty buckets, given in ascending order.
create or replace function cronwarden.export_histogram(p_buckets integer[], p_counts bigint[])
returns bigint[]
language sql immutable parallel safe
set search_path = cronwarden, pg_temp
as $$
  select case when coalesce(cardinality(p_buckets), 0) = 0 then null
              else (format('[%s:%s]=', p_buckets[1], p_buckets[cardinality(p_buckets)])
                    || (select array_agg(coalesce(c.n, 0) order by k)
                          from generate_series(p_buckets[1], p_buckets[cardinality(p_buckets)]) k
                          left join unnest(p_buckets, p_counts) c(b, n) on c.b = k)::text)::bigint[]
         end;
$$;

-- One metrics row per finished export (logging the same export again replaces its row).
create or replace function cronwarden.export_log_metric(
  p_export_id text,
  p_user_id text,
  p_format text,
  p_status text,
  p_duration_ms bigint,
  p_file_size_bytes bigint default null,
  p_conversation_count bigint default 0,
  p_error_type text default null,
  p_error_message text default null,
  p_created_at timestamptz default now()
) returns table (export_id text, count_range text, created_at timestamptz)
language sql
set search_path = cronwarden, pg_temp
as $$
  insert into export_metrics as m (export_id, user_id, format, status, duration_ms, file_size_bytes,
                                   conversation_count, count_range, error_type, error_message, created_at)
  values (p_export_id, p_user_id, p_format, p_status, p_duration_ms, p_file_size_bytes,
          coalesce(p_conversation_count, 0), export_count_range(coalesce(p_conversation_count, 0)),
          p_error_type, left(p_error_message, 2000), coalesce(p_created_at, now()))
  on conflict (export_id) do update
    set user_id = excluded.user_id,
        format = excluded.format,
        status = excluded.status,
        duration_ms = excluded.duration_ms,
        file_size_bytes = excluded.file_size_bytes,
        conversation_count = excluded.conversation_count,
        count_range = excluded.count_range,
        error_type = excluded.error_type,
        error_message = excluded.error_message,
        created_at = excluded.created_at
  returning m.export_id, m.count_range, m.created_at;
$$;

-- Every aggregate of finished exports in [p_from, p_to), in one statement (one row). Ages are
-- exact hours (an interval of days moves with daylight saving in the session time zone).
-- Durations and sizes are over completed exports (a failure's duration says little about the
-- export's cost); counts, rates and volume include both outcomes. p95 is percentile_cont(0.95).
-- Hours and days are UTC whatever the session's time zone.
create or replace function cronwarden.export_aggregate_metrics(
  p_from timestamptz,
  p_to timestamptz,
  p_user_id text default null,
  p_top_users integer default 50
) returns table (
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
  unique_users bigint,
  user_activity jsonb
)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  with m as (
    select * from export_metrics x
     where x.created_at >= p_from and x.created_at < p_to
       and (p_user_id is null or x.user_id = p_user_id)
  ),
  ok as (select * from m where m.status = 'completed'),
  by_format as (
    select ok.format,
           avg(ok.duration_ms)::double precision as avg_d,
           percentile_cont(0.95) within group (order by ok.duration_ms) as p95_d,
           avg(ok.file_size_bytes)::double precision as avg_s,
           max(ok.file_size_bytes) as max_s
      from ok group by ok.format
  ),
  by_range as (
    select ok.count_range,
           avg(ok.duration_ms)::double precision as avg_d,
           percentile_cont(0.95) within group (order by ok.duration_ms) as p95_d
      from ok group by ok.count_range
  ),
  dist as (select m.format, count(*) as n from m group by m.format),
  per_hour as (
    select date_trunc('hour', m.created_at, 'UTC') as bucket, count(*) as n,
           count(*) filter (where m.status = 'failed') as f
      from m group by 1
  ),
  per_day as (
    select date_trunc('day', m.created_at, 'UTC') as bucket, count(*) as n,
           count(*) filter (where m.status = 'failed') as f
      from m group by 1
  ),
  users as (
    select m.user_id, count(*) as n,
           count(*) filter (where m.status = 'failed') as f,
           coalesce(sum(m.file_size_bytes), 0)::double precision as bytes,
           max(m.created_at) as last_at
      from m where m.user_id is not null group by m.user_id
  )
  select
    p_from,
    p_to,
    (select count(*) from m),
    (select count(*) from ok),
    (select count(*) from m where m.status = 'failed'),
    (select case when count(*) = 0 then null
                 else (count(*) filter (where m.status = 'completed'))::double precision / count(*) end from m),
    (select avg(ok.duration_ms)::double precision from ok),
    (select percentile_cont(0.95) within group (order by ok.duration_ms) from ok),
    coalesce((select jsonb_object_agg(b.format, b.avg_d) from by_format b), '{}'::jsonb),
    coalesce((select jsonb_object_agg(b.format, b.p95_d) from by_format b), '{}'::jsonb),
    coalesce((select jsonb_object_agg(r.count_range, r.avg_d) from by_range r), '{}'::jsonb),
    coalesce((select jsonb_object_agg(r.count_range, r.p95_d) from by_range r), '{}'::jsonb),
    coalesce((select jsonb_object_agg(b.format, b.avg_s) from by_format b where b.avg_s is not null), '{}'::jsonb),
    coalesce((select jsonb_object_agg(b.format, b.max_s) from by_format b where b.max_s is not null), '{}'::jsonb),
    coalesce((select jsonb_object_agg(d.format, d.n) from dist d), '{}'::jsonb),
    coalesce((select jsonb_agg(jsonb_build_object('hour', to_char(h.bucket at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                                  'count', h.n, 'failed', h.f) order by h.bucket)
                from per_hour h), '[]'::jsonb),
    coalesce((select jsonb_agg(jsonb_build_object('day', to_char(d.bucket at time zone 'UTC', 'YYYY-MM-DD'), 'count', d.n, 'failed', d.f)
                               order by d.bucket)
                from per_day d), '[]'::jsonb),
    (select count(*) from users),
    coalesce((select jsonb_agg(jsonb_build_object('user_id', u.user_id, 'export_count', u.n, 'failed_count', u.f,
                                                  'total_file_size_bytes', u.bytes, 'last_export_at', u.last_at)
                               order by u.n desc, u.user_id)
                from (select * from users order by n desc, user_id limit greatest(p_top_users, 0)) u), '[]'::jsonb);
$$;

-- Finished exports in the last p_minutes before p_now, and how many failed.
create or replace function cronwarden.export_failure_stats(
  p_minutes integer,
  p_now timestamptz default now(),
  p_user_id text default null
) returns table (total bigint, failed bigint, failure_rate double precision)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select count(*),
         count(*) filter (where m.status = 'failed'),
         case when count(*) = 0 then 0::double precision
              else (count(*) filter (where m.status = 'failed'))::double precision / count(*) end
    from export_metrics m
   where m.created_at > p_now - make_interval(mins => p_minutes)
     and m.created_at <= p_now
     and (p_user_id is null or m.user_id = p_user_id);
$$;

-- The q-quantile (0..1) of a merged histogram given as its non-empty buckets (ascending) and
-- their counts, estimated the way percentile_cont computes it: the values at the two ranks
-- around q * (n - 1), interpolated. A value of a given rank is estimated inside its bucket, whose
-- values are taken as spread evenly in log space between the bucket's whole-millisecond bounds
-- (narrowed to [p_min, p_max], the exact extremes, when given); a bucket that can hold one whole
-- millisecond value only (every duration under 24 ms) gives it exactly. Each estimate is within
-- its bucket, so the result is within one bucket's width (4.43%) of percentile_cont's, and in
-- practice within a fraction of it.
create or replace function cronwarden.export_histogram_quantile(
  p_buckets integer[],
  p_counts bigint[],
  p_q double precision,
  p_min bigint default null,
  p_max bigint default null
) returns double precision
language plpgsql immutable parallel safe
set search_path = cronwarden, pg_temp
as $$
declare
  v_total numeric;
  v_rank double precision;
  v_ranks numeric[];
  v_values double precision[] := '{}';
  v_before numeric := 0;
  v_lo double precision;
  v_hi double precision;
  v_want numeric;
  i integer;
  j integer := 1;
begin
  select sum(c) into v_total from unnest(p_counts) c;
  if v_total is null or v_total = 0 then
    return null;
  end if;
  v_rank := p_q * (v_total - 1);
  v_ranks := array[floor(v_rank), least(floor(v_rank) + 1, v_total - 1)];
  for i in 1 .. cardinality(p_buckets) loop
    continue when coalesce(p_counts[i], 0) = 0;
    while j <= 2 and v_ranks[j] < v_before + p_counts[i] loop
      select b.lowest, b.highest into v_lo, v_hi from export_bucket_bounds(p_buckets[i]) b;
      v_lo := greatest(v_lo, coalesce(p_min, v_lo));
      v_hi := least(v_hi, coalesce(p_max, v_hi));
      if v_hi = 'infinity' then v_hi := v_lo; end if;
      if v_hi < v_lo then v_hi := v_lo; end if;
      v_want := v_ranks[j] - v_before;
      v_values := v_values || case when v_lo <= 0 then v_hi * 0.5
                                   when p_counts[i] = 1 then sqrt(v_lo * v_hi)
                                   else v_lo * power(v_hi / v_lo, (v_want / (p_counts[i] - 1))::double precision) end;
      j := j + 1;
    end loop;
    exit when j > 2;
    v_before := v_before + p_counts[i];
  end loop;
  return v_values[1] + (v_rank - v_ranks[1]) * (v_values[2] - v_values[1]);
end;
$$;

-- Earlier signatures (a database that ran an earlier build of this file): a call by name would
-- otherwise match two of them.
drop function if exists cronwarden.export_rollup_hourly(integer, timestamptz, boolean);
drop function if exists cronwarden.export_hourly_series(timestamptz, timestamptz);

-- Rolls export_metrics into export_metrics_hourly for the completed hours of the last
-- p_lookback_hours (the current, unfinished hour is left for the next run). Re-running gives
-- the same rows: it upserts each (hour, format) and drops rollups whose source rows are gone.
-- It also keeps export_rollup_coverage: the hours rolled form one stretch ending at the current
-- hour. A run that finds the stretch broken (the job did not run for longer than its lookback)
-- starts it again at its own window. Each run also rolls up to p_backfill_hours more before the
-- stretch, until it reaches back 720 hours (the longest admin report), so a new install or an
-- upgrade has its 30-day report served from rollups after a few runs, none of them long.
-- Backfilled hours are only upserted: an hour whose metrics were pruned keeps its rollup.
create or replace function cronwarden.export_rollup_hourly(
  p_lookback_hours integer default 48,
  p_now timestamptz default now(),
  p_dry_run boolean default false,
  p_backfill_hours integer default 72
) returns table (
  hours_covered integer,
  rows_upserted integer,
  rows_removed integer,
  window_start timestamptz,
  window_end timestamptz,
  backfill_start timestamptz,
  covered_from timestamptz,
  covered_until timestamptz
)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_end timestamptz := date_trunc('hour', p_now, 'UTC');
  v_start timestamptz := date_trunc('hour', p_now, 'UTC') - make_interval(hours => p_lookback_hours);
  v_reach timestamptz := date_trunc('hour', p_now, 'UTC') - interval '720 hours';
  v_cf timestamptz;
  v_cu timestamptz;
  v_base timestamptz;
  v_fill timestamptz;
  v_new_from timestamptz;
  v_new_until timestamptz;
  v_upserted integer;
  v_removed integer;
  v_hours integer;
begin
  if p_lookback_hours < 1 or p_backfill_hours < 0 then
    raise exception 'p_lookback_hours must be at least 1 and p_backfill_hours at least 0' using errcode = '22023';
  end if;
  select c.covered_from, c.covered_until into v_cf, v_cu from export_rollup_coverage c;
  if v_cf is not null and v_cu >= v_start and v_cf <= v_end then
    v_base := least(v_start, v_cf);
    v_new_until := greatest(v_end, v_cu);
  else
    v_base := v_start;
    v_new_until := v_end;
  end if;
  -- [v_fill, v_base): backfill, upserted only; [v_start, v_end): recomputed
  v_fill := case when v_base > v_reach then greatest(v_base - make_interval(hours => p_backfill_hours), v_reach) else v_base end;
  v_new_from := least(v_fill, v_base);

  select count(distinct date_trunc('hour', m.created_at, 'UTC'))::integer into v_hours
    from export_metrics m
   where (m.created_at >= v_start and m.created_at < v_end) or (m.created_at >= v_fill and m.created_at < v_base);

  if p_dry_run then
    return query
      select v_hours,
             (select count(*)::integer from (
                select 1 from export_metrics m
                 where (m.created_at >= v_start and m.created_at < v_end) or (m.created_at >= v_fill and m.created_at < v_base)
                 group by date_trunc('hour', m.created_at, 'UTC'), m.format) g),
             (select count(*)::integer from export_metrics_hourly h
               where h.hour >= v_start and h.hour < v_end
                 and not exists (select 1 from export_metrics m
                                  where m.created_at >= h.hour and m.created_at < h.hour + interval '1 hour'
                                    and m.format = h.format
                                 offset 0)),
             v_start, v_end, case when v_fill < v_base then v_fill end, v_new_from, v_new_until;
    return;
  end if;

  with m as (
    select date_trunc('hour', x.created_at, 'UTC') as hour, x.format, x.status, x.duration_ms, x.file_size_bytes,
           x.conversation_count, x.count_range,
           case when x.status = 'completed' then export_duration_bucket(x.duration_ms) end as bucket
      from export_metrics x
     where (x.created_at >= v_start and x.created_at < v_end) or (x.created_at >= v_fill and x.created_at < v_base)
  ),
  cells as (
    select m.hour, m.format,
           count(*) as total,
           count(*) filter (where m.status = 'completed') as ok,
           count(*) filter (where m.status = 'failed') as failed,
           (avg(m.duration_ms) filter (where m.status = 'completed'))::double precision as avg_d,
           percentile_cont(0.95) within group (order by m.duration_ms) filter (where m.status = 'completed') as p95_d,
           max(m.duration_ms) filter (where m.status = 'completed') as max_d,
           min(m.duration_ms) filter (where m.status = 'completed') as min_d,
           sum(m.duration_ms) filter (where m.status = 'completed') as sum_d,
           coalesce(sum(m.file_size_bytes) filter (where m.status = 'completed'), 0) as sum_s,
           (avg(m.file_size_bytes) filter (where m.status = 'completed'))::double precision as avg_s,
           count(m.file_size_bytes) filter (where m.status = 'completed') as sized,
           max(m.file_size_bytes) filter (where m.status = 'completed') as max_s,
           coalesce(sum(m.conversation_count), 0) as conv,
           array[coalesce(sum(m.duration_ms) filter (where m.status = 'completed' and m.count_range = 'small'), 0),
                 coalesce(sum(m.duration_ms) filter (where m.status = 'completed' and m.count_range = 'medium'), 0),
                 coalesce(sum(m.duration_ms) filter (where m.status = 'completed' and m.count_range = 'large'), 0)]::bigint[] as range_sums
      from m
     group by m.hour, m.format
  ),
  counted as (
    select m.hour, m.format, m.count_range, m.bucket, count(*) as n
      from m where m.bucket is not null
     group by m.hour, m.format, m.count_range, m.bucket
  ),
  hists as (
    select c.hour, c.format, c.count_range,
           export_histogram(array_agg(c.bucket order by c.bucket), array_agg(c.n order by c.bucket)) as buckets
      from counted c
     group by c.hour, c.format, c.count_range
  ),
  by_cell as (
    select h.hour, h.format,
           min(h.buckets) filter (where h.count_range = 'small') as small,
           min(h.buckets) filter (where h.count_range = 'medium') as medium,
           min(h.buckets) filter (where h.count_range = 'large') as large
      from hists h
     group by h.hour, h.format
  )
  insert into export_metrics_hourly as h (hour, format, total_exports, successful_exports, failed_exports,
                                          avg_duration_ms, p95_duration_ms, max_duration_ms,
                                          total_file_size_bytes, avg_file_size_bytes, conversation_count, updated_at,
                                          sum_duration_ms, min_duration_ms, sized_exports, max_file_size_bytes,
                                          range_sum_duration_ms, duration_buckets_small, duration_buckets_medium,
                                          duration_buckets_large)
  select c.hour, c.format, c.total, c.ok, c.failed, c.avg_d, c.p95_d, c.max_d, c.sum_s, c.avg_s, c.conv, p_now,
         coalesce(c.sum_d, 0), c.min_d, c.sized, c.max_s, c.range_sums, b.small, b.medium, b.large
    from cells c
    left join by_cell b on b.hour = c.hour and b.format = c.format
  on conflict (hour, format) do update
    set total_exports = excluded.total_exports,
        successful_exports = excluded.successful_exports,
        failed_exports = excluded.failed_exports,
        avg_duration_ms = excluded.avg_duration_ms,
        p95_duration_ms = excluded.p95_duration_ms,
        max_duration_ms = excluded.max_duration_ms,
        total_file_size_bytes = excluded.total_file_size_bytes,
        avg_file_size_bytes = excluded.avg_file_size_bytes,
        conversation_count = excluded.conversation_count,
        updated_at = excluded.updated_at,
        sum_duration_ms = excluded.sum_duration_ms,
        min_duration_ms = excluded.min_duration_ms,
        sized_exports = excluded.sized_exports,
        max_file_size_bytes = excluded.max_file_size_bytes,
        range_sum_duration_ms = excluded.range_sum_duration_ms,
        duration_buckets_small = excluded.duration_buckets_small,
        duration_buckets_medium = excluded.duration_buckets_medium,
        duration_buckets_large = excluded.duration_buckets_large;
  get diagnostics v_upserted = row_count;

  -- One index probe per rollup row (OFFSET 0 keeps the planner from turning this into an anti
  -- join on format alone, which compares every row of a format with every hour of it).
  delete from export_metrics_hourly h
   where h.hour >= v_start and h.hour < v_end
     and not exists (select 1 from export_metrics m
                      where m.created_at >= h.hour and m.created_at < h.hour + interval '1 hour'
                        and m.format = h.format
                     offset 0);
  get diagnostics v_removed = row_count;

  insert into export_rollup_coverage as c (only_row, covered_from, covered_until, updated_at)
  values (true, v_new_from, v_new_until, p_now)
  on conflict (only_row) do update
    set covered_from = excluded.covered_from, covered_until = excluded.covered_until, updated_at = excluded.updated_at;

  return query select v_hours, v_upserted, v_removed, v_start, v_end, case when v_fill < v_base then v_fill end,
                      v_new_from, v_new_until;
end;
$$;

-- The hourly rollup rows in [p_from, p_to) for charts, one row per (hour UTC, format), ordered
-- by hour then format, at most p_limit (1 to 1000: PostgREST's max-rows) per call: pass the last
-- row's hour and format as p_after_hour and p_after_format for the next page. A 30-day window of
-- four formats is 2,880 rows, three pages.
create or replace function cronwarden.export_hourly_series(
  p_from timestamptz,
  p_to timestamptz,
  p_after_hour timestamptz default null,
  p_after_format text default null,
  p_limit integer default 1000
)
returns table (
  hour timestamptz,
  format text,
  total_exports bigint,
  successful_exports bigint,
  failed_exports bigint,
  avg_duration_ms double precision,
  p95_duration_ms double precision,
  max_duration_ms bigint,
  total_file_size_bytes double precision,
  avg_file_size_bytes double precision
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
begin
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'p_limit must be between 1 and 1000' using errcode = '22023';
  end if;
  return query
    select h.hour, h.format, h.total_exports, h.successful_exports, h.failed_exports, h.avg_duration_ms,
           h.p95_duration_ms, h.max_duration_ms, h.total_file_size_bytes::double precision, h.avg_file_size_bytes
      from export_metrics_hourly h
     where h.hour >= p_from and h.hour < p_to
       and (p_after_hour is null or (h.hour, h.format) > (p_after_hour, coalesce(p_after_format, '')))
     order by h.hour, h.format
     limit p_limit;
end;
$$;

-- The statistics of finished exports in [p_from, p_to) for dashboards, in one row, from the
-- hourly rollups for the whole hours export_rollup_coverage vouches for and from the raw metrics
-- for the rest (the current partial hour, a partial first hour, hours not rolled up yet): a
-- 30-day window reads about 720 rollup rows per format and one hour of metrics.
-- Counts, success rate, means, total and largest sizes, the format mix and the hourly and daily
-- volumes are exact; percentiles come from the merged duration histograms
-- (export_histogram_quantile). What only the raw rows can tell (distinct users, the most active
-- users) is left to export_aggregate_metrics. Hours and days are UTC.
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
  end if;

  return query
    with rolled as (
      select h.* from export_metrics_hourly h where h.hour >= v_rf and h.hour < v_rt
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
    -- completed durations as (format, count range, bucket, count), from either source
    buckets as (
      select b.format, b.count_range, b.bucket, sum(b.n) as n
        from (
          select r.format, 'small' as count_range, (array_lower(r.duration_buckets_small, 1) + u.k - 1)::integer as bucket, u.n
            from rolled r, unnest(r.duration_buckets_small) with ordinality u(n, k)
          union all
          select r.format, 'medium', (array_lower(r.duration_buckets_medium, 1) + u.k - 1)::integer, u.n
            from rolled r, unnest(r.duration_buckets_medium) with ordinality u(n, k)
          union all
          select r.format, 'large', (array_lower(r.duration_buckets_large, 1) + u.k - 1)::integer, u.n
            from rolled r, unnest(r.duration_buckets_large) with ordinality u(n, k)
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

-- ---------------------------------------------------------------------------------------------
-- File cleanup
-- ---------------------------------------------------------------------------------------------
-- Claims live here, not on the team's rows: a run claims rows before touching storage; a claim
-- older than the claim TTL belongs to a run that died (or whose removal failed) and may be taken
-- again. After p_max_attempts failed attempts a row is set aside with its reason: no run takes it
-- again until an operator clears it (export_file_claim_release), and an alert says so.
create table if not exists cronwarden.export_file_claims (
  export_key text primary key,
  claimed_at timestamptz,
  attempts integer not null default 0,
  last_error text,
  set_aside_at timestamptz,
  set_aside_reason text
);
create index if not exists export_file_claims_set_aside_idx on cronwarden.export_file_claims (set_aside_at) where set_aside_at is not null;

-- A completed export is due when it is past expires_at (or, with p_retention_hours, completed
-- more than that many hours ago), nobody holds a live claim on it and it is not set aside.
create or replace function cronwarden.export_file_cleanup_preview(
  p_retention_hours integer default null,
  p_claim_ttl_seconds integer default 900,
  p_now timestamptz default now()
) returns table (due_count bigint, due_bytes double precision, with_file_count bigint, claimed_count bigint, set_aside_count bigint)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  return query
    with candidates as (
      select e.id, e.file_path, e.file_size_bytes, c.claimed_at, c.set_aside_at
        from exports e
        left join export_file_claims c on c.export_key = e.id::text
       where e.is_completed
         and (case when p_retention_hours is null then e.expires_at <= p_now
                   else coalesce(e.completed_at, e.created_at) <= p_now - make_interval(hours => p_retention_hours) end)
    ),
    tagged as (
      select x.*, x.set_aside_at is null
                  and (x.claimed_at is null or x.claimed_at <= p_now - make_interval(secs => p_claim_ttl_seconds)) as due
        from candidates x
    )
    select count(*) filter (where t.due),
           coalesce(sum(t.file_size_bytes) filter (where t.due), 0)::double precision,
           count(*) filter (where t.due and t.file_path is not null),
           count(*) filter (where not t.due and t.set_aside_at is null),
           count(*) filter (where t.set_aside_at is not null)
      from tagged t;
end;
$$;

-- Claims up to p_batch_size (at most 1000) due rows, oldest expiry first. FOR UPDATE SKIP LOCKED
-- keeps two concurrent claimers apart; the claim keeps the rows away from other runs until the
-- claim TTL passes, so a run that dies mid-batch releases its rows by timing out.
create or replace function cronwarden.export_claim_expired_files(
  p_batch_size integer,
  p_claim_ttl_seconds integer default 900,
  p_retention_hours integer default null,
  p_now timestamptz default now()
) returns table (export_id text, file_path text, file_size_bytes bigint, attempts integer)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  if p_batch_size is null or p_batch_size < 1 or p_batch_size > 1000 then
    raise exception 'p_batch_size must be between 1 and 1000' using errcode = '22023';
  end if;
  return query
    with due as (
      select e.id::text as key, e.file_path, e.file_size_bytes
        from exports e
       where e.is_completed
         and (case when p_retention_hours is null then e.expires_at <= p_now
                   else coalesce(e.completed_at, e.created_at) <= p_now - make_interval(hours => p_retention_hours) end)
         and not exists (
           select 1 from export_file_claims c
            where c.export_key = e.id::text
              and (c.set_aside_at is not null or c.claimed_at > p_now - make_interval(secs => p_claim_ttl_seconds)))
       order by case when p_retention_hours is null then e.expires_at else coalesce(e.completed_at, e.created_at) end, e.id
       limit p_batch_size
       for update of e skip locked
    ),
    claimed as (
      insert into export_file_claims as c (export_key, claimed_at, attempts)
      select d.key, p_now, 1 from due d
      on conflict (export_key) do update set claimed_at = p_now, attempts = c.attempts + 1
      returning c.export_key, c.attempts
    )
    select d.key, d.file_path, d.file_size_bytes, c.attempts
      from due d join claimed c on c.export_key = d.key
     order by d.key;
end;
$$;

-- After storage has answered: rows whose file is confirmed gone (or that another live row still
-- needs: they give up their claim on it) become expired and lose their claim; rows whose removal
-- failed keep their claim (so this run does not take them again) and the error, and are retried
-- once the claim has timed out, or set aside once p_max_attempts attempts have failed.
create or replace function cronwarden.export_finish_file_cleanup(
  p_gone_ids text[],
  p_failed_ids text[] default '{}',
  p_failed_errors text[] default '{}',
  p_now timestamptz default now(),
  p_max_attempts integer default 3
) returns table (logs_updated integer, failures_recorded integer, set_aside integer)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_updated integer;
  v_failed integer;
  v_aside integer;
begin
  update exports e
     set status = e.expired_status
   where e.id = any (cast_keys((null::exports).id, p_gone_ids)) and e.is_completed;
  get diagnostics v_updated = row_count;
  delete from export_file_claims c where c.export_key = any (coalesce(p_gone_ids, '{}'));

  update export_file_claims c
     set last_error = left(f.err, 2000),
         set_aside_at = case when c.attempts >= p_max_attempts then p_now end,
         set_aside_reason = case when c.attempts >= p_max_attempts
                                 then format('%s failed attempts; last: %s', c.attempts, left(f.err, 500)) end
    from unnest(coalesce(p_failed_ids, '{}'), coalesce(p_failed_errors, '{}')) as f(id, err)
   where c.export_key = f.id;
  get diagnostics v_failed = row_count;
  select count(*)::integer into v_aside from export_file_claims c
   where c.export_key = any (coalesce(p_failed_ids, '{}')) and c.set_aside_at = p_now;

  return query select v_updated, v_failed, v_aside;
end;
$$;

-- Rows set aside by file cleanup (for the alert and the admin page): how many, and the newest.
create or replace function cronwarden.export_file_set_aside(p_limit integer default 20)
returns table (set_aside_count bigint, samples jsonb)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select (select count(*) from export_file_claims c where c.set_aside_at is not null),
         coalesce((select jsonb_agg(jsonb_build_object('export_id', s.export_key, 'reason', s.set_aside_reason,
                                                       'set_aside_at', s.set_aside_at, 'attempts', s.attempts)
                                    order by s.set_aside_at desc, s.export_key)
                     from (select * from export_file_claims c where c.set_aside_at is not null
                            order by c.set_aside_at desc, c.export_key limit least(greatest(p_limit, 1), 100)) s), '[]'::jsonb);
$$;

-- An operator's answer to a set-aside row (after fixing its path): the next run takes it again.
create or replace function cronwarden.export_file_claim_release(p_export_ids text[])
returns table (released integer)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_n integer;
begin
  delete from export_file_claims c where c.export_key = any (coalesce(p_export_ids, '{}'));
  get diagnostics v_n = row_count;
  return query select v_n;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Log retention
-- ---------------------------------------------------------------------------------------------
-- A log row is eligible when it is older than the retention period, except a completed export
-- whose file has not been confirmed gone: it stays until export-file-cleanup expires it, so
-- no file is left without the row that points at it.
create or replace function cronwarden.export_log_cleanup_stats(
  p_retention_days integer,
  p_now timestamptz default now(),
  p_user_id text default null
) returns table (
  cutoff timestamptz,
  total_logs bigint,
  eligible_for_cleanup bigint,
  estimated_bytes double precision,
  kept_with_live_file bigint,
  oldest_eligible_at timestamptz,
  newest_eligible_at timestamptz
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  return query
    with old as (
      select e.is_completed, e.file_path, e.created_at, e.row_bytes as bytes
        from exports e
       where e.created_at < p_now - make_interval(hours => 24 * p_retention_days)
         and (p_user_id is null or e.user_id = any (cast_keys((null::exports).user_id, array[p_user_id])))
    )
    select p_now - make_interval(hours => 24 * p_retention_days),
           (select count(*) from exports e where p_user_id is null or e.user_id = any (cast_keys((null::exports).user_id, array[p_user_id]))),
           count(*) filter (where not (o.is_completed and o.file_path is not null)),
           coalesce(sum(o.bytes) filter (where not (o.is_completed and o.file_path is not null)), 0)::double precision,
           count(*) filter (where o.is_completed and o.file_path is not null),
           min(o.created_at) filter (where not (o.is_completed and o.file_path is not null)),
           max(o.created_at) filter (where not (o.is_completed and o.file_path is not null))
      from old o;
end;
$$;

-- Deletes the oldest eligible logs, at most p_batch_size per call, in one statement over a
-- created_at range (no archival):
--   1. the first eligible row at or after p_after (the previous call's next_after), so a run
--      reads each stretch of the index once instead of walking again, on every call, over the
--      rows it has already deleted or kept;
--   2. the (p_batch_size + 1)-th row from there, by an index-only scan on created_at;
--   3. one DELETE of the eligible rows between the two: it visits only the rows it removes, in
--      heap order when created_at follows insertion order, as a log's does. Measured on
--      PostgreSQL 15 (2 cores) deleting 475k of 1M rows in 20,000-row calls: 0.37 s in all,
--      against 1.6 s for selecting each batch's ids (for update skip locked) and deleting by id,
--      and 0.28-0.32 s for one unbatched DELETE.
-- Every call that finds an eligible row deletes at least one, so a run always ends. A row being
-- updated by a concurrent transaction is waited for and checked again, not skipped. next_after
-- may come back through a client that keeps only milliseconds: the search starts a millisecond
-- early, which only re-reads rows that are already gone or kept.
create or replace function cronwarden.export_delete_old_logs(
  p_retention_days integer,
  p_batch_size integer default 20000,
  p_now timestamptz default now(),
  p_user_id text default null,
  p_after timestamptz default null
) returns table (deleted_count integer, has_more boolean, next_after timestamptz)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_cutoff timestamptz := p_now - make_interval(hours => 24 * p_retention_days);
  v_from timestamptz := coalesce(p_after - interval '1 millisecond', '-infinity');
  v_first timestamptz;
  v_upper timestamptz;
  v_n integer;
begin
  if p_retention_days < 1 or p_batch_size < 1 then
    raise exception 'p_retention_days and p_batch_size must be at least 1' using errcode = '22023';
  end if;

  if p_user_id is null then
    select x.created_at into v_first from exports x
     where x.created_at >= v_from and x.created_at < v_cutoff
       and not (x.is_completed and x.file_path is not null)
     order by x.created_at limit 1;
    select x.created_at into v_upper from exports x
     where x.created_at >= v_first and x.created_at < v_cutoff
     order by x.created_at offset p_batch_size limit 1;
  else
    select x.created_at into v_first from exports x
     where x.user_id = any (cast_keys((null::exports).user_id, array[p_user_id])) and x.created_at >= v_from and x.created_at < v_cutoff
       and not (x.is_completed and x.file_path is not null)
     order by x.created_at limit 1;
    select x.created_at into v_upper from exports x
     where x.user_id = any (cast_keys((null::exports).user_id, array[p_user_id])) and x.created_at >= v_first and x.created_at < v_cutoff
     order by x.created_at offset p_batch_size limit 1;
  end if;
  if v_first is null then
    return query select 0, false, null::timestamptz;
    return;
  end if;

  if v_upper = v_first then
    -- More than p_batch_size rows share this instant: its eligible rows, a batch at a time.
    delete from exports l
     where l.id = any(array(
       select x.id from exports x
        where x.created_at = v_first
          and not (x.is_completed and x.file_path is not null)
          and (p_user_id is null or x.user_id = any (cast_keys((null::exports).user_id, array[p_user_id])))
        limit p_batch_size))
       and l.created_at = v_first
       and not (l.is_completed and l.file_path is not null);
    get diagnostics v_n = row_count;
    return query select v_n, true, v_first;
    return;
  end if;

  -- Every row in [v_first, v_upper) comes before the (p_batch_size + 1)-th: at most p_batch_size.
  if p_user_id is null then
    delete from exports l
     where l.created_at >= v_first and l.created_at < coalesce(v_upper, v_cutoff)
       and not (l.is_completed and l.file_path is not null);
  else
    delete from exports l
     where l.user_id = any (cast_keys((null::exports).user_id, array[p_user_id]))
       and l.created_at >= v_first and l.created_at < coalesce(v_upper, v_cutoff)
       and not (l.is_completed and l.file_path is not null);
  end if;
  get diagnostics v_n = row_count;
  return query select v_n, v_upper is not null, v_upper;
end;
$$;

-- The oldest eligible batch as NDJSON (one JSON object per row: the team's whole row, ordered by
-- created_at then id), with the exact ids, for archival. Reads only: the rows are deleted by
-- export_delete_logs_by_id after the archive has been written and verified. One row.
create or replace function cronwarden.export_log_archive_batch(
  p_retention_days integer,
  p_batch_size integer default 5000,
  p_now timestamptz default now(),
  p_user_id text default null
) returns table (
  export_ids text[],
  row_count integer,
  ndjson text,
  first_created_at timestamptz,
  last_created_at timestamptz
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  return query
    with batch as (
      select e.id, e.created_at, e.row_json from exports e
       where e.created_at < p_now - make_interval(hours => 24 * p_retention_days)
         and not (e.is_completed and e.file_path is not null)
         and (p_user_id is null or e.user_id = any (cast_keys((null::exports).user_id, array[p_user_id])))
       order by e.created_at, e.id
       limit greatest(p_batch_size, 1)
    )
    select coalesce(array_agg(b.id::text order by b.created_at, b.id), '{}'),
           count(*)::integer,
           coalesce(string_agg(b.row_json::text, E'\n' order by b.created_at, b.id), ''),
           min(b.created_at),
           max(b.created_at)
      from batch b;
end;
$$;

-- Archive batches between "object written" and "rows deleted". The job records a batch here
-- before writing its object, and export_delete_logs_by_id drops the entry in the transaction that
-- deletes the rows, so an entry left behind is a batch whose run stopped in between. The next run
-- finishes that batch first, under the same object key: its rows never land in a second object,
-- however that run's batches fall (another batch size, an older row that became eligible since).
create table if not exists cronwarden.export_log_archive_pending (
  object_key text primary key,
  export_keys text[] not null,
  created_at timestamptz not null
);
-- Moved from the first release: its batches listed uuids under export_ids.
do $$
begin
  if exists (select 1 from pg_attribute where attrelid = 'cronwarden.export_log_archive_pending'::regclass and attname = 'export_ids' and not attisdropped) then
    alter table cronwarden.export_log_archive_pending rename column export_ids to export_keys;
    alter table cronwarden.export_log_archive_pending alter column export_keys type text[] using export_keys::text[];
  end if;
end;
$$;

create or replace function cronwarden.export_log_archive_begin(
  p_object_key text,
  p_export_ids text[],
  p_now timestamptz default now()
) returns table (archive_key text)
language sql
set search_path = cronwarden, pg_temp
as $$
  insert into export_log_archive_pending as p (object_key, export_keys, created_at)
  values (p_object_key, coalesce(p_export_ids, '{}'), p_now)
  on conflict (object_key) do update set export_keys = excluded.export_keys
  returning p.object_key;
$$;

-- The oldest unfinished batch (no row when there is none): its object key and those of its rows
-- the rule still selects, as export_log_archive_batch gives them.
create or replace function cronwarden.export_log_archive_pending_batch(
  p_retention_days integer,
  p_now timestamptz default now(),
  p_user_id text default null
) returns table (
  object_key text,
  export_ids text[],
  row_count integer,
  ndjson text,
  first_created_at timestamptz,
  last_created_at timestamptz
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_key text;
  v_ids text[];
begin
  select p.object_key, p.export_keys into v_key, v_ids from export_log_archive_pending p
   order by p.created_at, p.object_key limit 1;
  if v_key is null then
    return;
  end if;
  return query
    with batch as (
      select e.id, e.created_at, e.row_json from exports e
       where e.id = any (cast_keys((null::exports).id, v_ids))
         and e.created_at < p_now - make_interval(hours => 24 * p_retention_days)
         and not (e.is_completed and e.file_path is not null)
         and (p_user_id is null or e.user_id = any (cast_keys((null::exports).user_id, array[p_user_id])))
    )
    select v_key,
           coalesce((select array_agg(b.id::text order by b.created_at, b.id) from batch b), '{}'),
           (select count(*)::integer from batch),
           coalesce((select string_agg(b.row_json::text, E'\n' order by b.created_at, b.id) from batch b), ''),
           (select min(b.created_at) from batch b),
           (select max(b.created_at) from batch b);
end;
$$;

-- Deletes exactly the given rows (an archived batch), re-checking that each is still eligible,
-- and drops the batch's pending entry (p_object_key) in the same transaction.
create or replace function cronwarden.export_delete_logs_by_id(
  p_export_ids text[],
  p_retention_days integer,
  p_now timestamptz default now(),
  p_object_key text default null
) returns table (deleted_count integer)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_n integer;
begin
  delete from exports l
   where l.id = any (cast_keys((null::exports).id, p_export_ids))
     and l.created_at < p_now - make_interval(hours => 24 * p_retention_days)
     and not (l.is_completed and l.file_path is not null);
  get diagnostics v_n = row_count;
  delete from export_log_archive_pending p where p.object_key = p_object_key;
  return query select v_n;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Log retention by partition
-- ---------------------------------------------------------------------------------------------
-- When the bound table is range-partitioned on its created-at column (pg_partman's layout, or
-- any declarative RANGE partitioning on that one column), a partition wholly older than the
-- cutoff goes whole instead of row by row: a drop of a 1M-row partition takes milliseconds where
-- deleting its rows takes over a second and leaves the space to vacuum. Steps, each its own call:
--   1. export_partition_detach: under a lock that keeps writers out of the partition, count its
--      rows and check that none is kept by the rule (a completed export whose file is not yet
--      confirmed gone): a partition holding one stays attached, and its eligible rows go row by
--      row with the rest. Otherwise DETACH it and record it in export_partitions_detached, in
--      the same transaction. Detached, its rows are out of the team's table, unchanged.
--   2. with archival on, export_partition_archive_batch / _archive_begin / _archived write its
--      rows to the archive (the same NDJSON+gzip objects as row archival) in order, each batch
--      verified before the partition's cursor moves past it.
--   3. export_partition_drop drops it once every row is archived (or archival is off).
-- A run that stops anywhere leaves the step recorded; the next run finishes it first. The rows
-- in the partition the cutoff falls in, in the default partition and in kept partitions are
-- deleted in batches by export_delete_old_logs / the row archival, as on any table.
--
-- DETACH and DROP need the table's owner, which on Supabase is the role that runs migrations,
-- not the service role the app calls with: these functions are SECURITY DEFINER, take only a
-- partition of the bound exports table that is wholly past the cutoff (detach) or one that they
-- detached themselves (archive, drop), and are executable by the service role alone.

create table if not exists cronwarden.export_partitions_detached (
  partition_name text primary key,
  parent_name text not null,
  range_from timestamptz not null,
  range_to timestamptz not null,
  -- the binding's key and time columns when it was detached (a later binding may differ)
  id_column name not null,
  time_column name not null,
  time_tz boolean not null,
  row_count bigint not null,
  -- archival was on when it was detached: it is dropped only after every row is archived
  archive boolean not null,
  archived_rows bigint not null default 0,
  -- the last archived row (time as UTC, key as text): archiving goes on after it
  cursor_at timestamptz,
  cursor_key text,
  -- a batch whose object is being written: the next call re-reads exactly these rows
  pending_key text,
  pending_rows integer,
  detached_at timestamptz not null,
  updated_at timestamptz not null
);

-- The bound exports table when it is range-partitioned on its created-at column alone: the
-- table, that column and whether it has a time zone. No row otherwise.
create or replace function cronwarden.export_partitioning()
returns table (parent regclass, time_column name, time_tz boolean, id_column name)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  v_table regclass := to_regclass(bound_setting('exports', 'table') #>> '{}');
  v_cols jsonb := bound_setting('exports', 'columns');
begin
  if v_table is null or not coalesce((bound_setting('exports', 'partitioned'))::boolean, false) then
    return;
  end if;
  return query
    select v_table, a.attname, a.atttypid = 'timestamptz'::regtype, (v_cols ->> 'id')::name
      from pg_partitioned_table pt
      join pg_attribute a on a.attrelid = pt.partrelid and a.attnum = pt.partattrs[0]
     where pt.partrelid = v_table and pt.partstrat = 'r' and pt.partnatts = 1
       and a.attname = v_cols ->> 'createdAt';
end;
$$;

-- A range partition's bounds [range_from, range_to) as UTC instants (a column without time zone
-- holds UTC); nulls for a default partition. MINVALUE and MAXVALUE are -infinity and infinity.
create or replace function cronwarden.export_partition_bounds(p_partition regclass, p_tz boolean,
                                                              out range_from timestamptz, out range_to timestamptz)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  v_m text[] := regexp_match(pg_get_expr((select c.relpartbound from pg_class c where c.oid = p_partition), p_partition),
                             '^FOR VALUES FROM \((.*)\) TO \((.*)\)$');
  v_lit text;
  i integer;
begin
  if v_m is null then
    return;
  end if;
  for i in 1 .. 2 loop
    v_lit := v_m[i];
    v_m[i] := case when v_lit = 'MINVALUE' then '-infinity'
                   when v_lit = 'MAXVALUE' then 'infinity'
                   when p_tz then trim(both '''' from v_lit)::timestamptz::text
                   else (trim(both '''' from v_lit)::timestamp at time zone 'UTC')::text end;
  end loop;
  range_from := v_m[1]::timestamptz;
  range_to := v_m[2]::timestamptz;
end;
$$;

-- What partition retention has to do, oldest first, at most p_limit (1 to 1000) rows: first the
-- partitions detached by an earlier run and not yet dropped (step 'detached'), then the
-- attached partitions wholly older than the cutoff (step 'due'; whether one holds a kept row is
-- known only when detaching it). No row when the bound table is not partitioned that way.
create or replace function cronwarden.export_partitions_due(
  p_retention_days integer,
  p_now timestamptz default now(),
  p_limit integer default 100
) returns table (
  partition_name text,
  step text,
  range_from timestamptz,
  range_to timestamptz,
  row_count bigint,
  archive boolean,
  archived_rows bigint
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_cutoff timestamptz := p_now - make_interval(hours => 24 * p_retention_days);
begin
  if p_retention_days is null or p_retention_days < 1 or p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'p_retention_days must be at least 1 and p_limit between 1 and 1000' using errcode = '22023';
  end if;
  return query
    with detached as (
      select d.partition_name, 'detached'::text as step, d.range_from, d.range_to, d.row_count, d.archive, d.archived_rows
        from export_partitions_detached d
    ),
    attached as (
      select c.oid::regclass::text as partition_name, 'due'::text as step, b.range_from, b.range_to,
             null::bigint as row_count, null::boolean as archive, null::bigint as archived_rows
        from export_partitioning() p
        join pg_inherits i on i.inhparent = p.parent
        join pg_class c on c.oid = i.inhrelid
        cross join lateral export_partition_bounds(c.oid::regclass, p.time_tz) b
       where b.range_to <= v_cutoff
    )
    select x.* from (select * from detached union all select * from attached) x
     order by (x.step = 'due'), x.range_from, x.partition_name
     limit p_limit;
end;
$$;

-- Step 1: detaches p_partition when it is a partition of the bound exports table wholly older
-- than the cutoff and holds no kept row, and records it, in one transaction. outcome:
--   detached  done; row_count rows left the table (to be archived when p_archive, then dropped)
--   kept      it holds row_count kept rows: it stays, its eligible rows go row by row
--   not_due   not a partition of the bound table, or not wholly older than the cutoff
--   busy      a lock was not granted within 2 s (long transactions on the table): next run
-- The partition is locked against writers while it is counted; DETACH then holds the table's
-- ACCESS EXCLUSIVE lock until commit, a few milliseconds (lock_timeout keeps a wait short, so
-- the app's queries do not queue behind it for long).
create or replace function cronwarden.export_partition_detach(
  p_partition text,
  p_retention_days integer,
  p_now timestamptz default now(),
  p_archive boolean default false
) returns table (outcome text, row_count bigint)
language plpgsql
security definer
set search_path = cronwarden, pg_temp
set lock_timeout = '2s'
as $$
#variable_conflict use_column
declare
  v_cutoff timestamptz := p_now - make_interval(hours => 24 * p_retention_days);
  v_part regclass := to_regclass(p_partition);
  v_cols jsonb := bound_setting('exports', 'columns');
  v_words jsonb := bound_setting('exports', 'statuses');
  v record;
  v_lo timestamptz;
  v_hi timestamptz;
  v_rows bigint;
  v_kept bigint;
begin
  if p_retention_days is null or p_retention_days < 1 then
    raise exception 'p_retention_days must be at least 1' using errcode = '22023';
  end if;
  select * into v from export_partitioning();
  if v.parent is null or v_part is null
     or not exists (select 1 from pg_inherits i where i.inhrelid = v_part and i.inhparent = v.parent) then
    return query select 'not_due'::text, 0::bigint;
    return;
  end if;
  select b.range_from, b.range_to into v_lo, v_hi from export_partition_bounds(v_part, v.time_tz) b;
  if v_hi is null or v_hi > v_cutoff then
    return query select 'not_due'::text, 0::bigint;
    return;
  end if;
  begin
    execute format('lock table %s in share mode', v_part);
    execute format('select count(*), count(*) filter (where t.%I in (%s) and t.%I is not null) from %s t',
                   v_cols ->> 'status',
                   (select string_agg(quote_literal(w), ', ') from jsonb_array_elements_text(v_words -> 'completed') w),
                   v_cols ->> 'filePath', v_part)
      into v_rows, v_kept;
    if v_kept > 0 then
      return query select 'kept'::text, v_kept;
      return;
    end if;
    execute format('alter table %s detach partition %s', v.parent, v_part);
  exception when lock_not_available then
    return query select 'busy'::text, 0::bigint;
    return;
  end;
  insert into export_partitions_detached (partition_name, parent_name, range_from, range_to, id_column, time_column,
                                          time_tz, row_count, archive, detached_at, updated_at)
  values (v_part::text, v.parent::text, v_lo, v_hi, v.id_column, v.time_column, v.time_tz, v_rows,
          coalesce(p_archive, false) and v_rows > 0, p_now, p_now);
  return query select 'detached'::text, v_rows;
end;
$$;

-- Step 2 (archival on): the next batch of a detached partition's rows after its cursor, ordered
-- by created_at then key, as NDJSON of the whole rows (exactly what row archival writes). When a
-- batch was begun and not finished (a run stopped while writing its object) it returns that
-- batch again, the same rows under its recorded object_key; object_key is null otherwise.
-- cursor_at and cursor_key name the batch's last row, for export_partition_archived.
create or replace function cronwarden.export_partition_archive_batch(p_partition text, p_batch_size integer default 5000)
returns table (
  object_key text,
  row_count integer,
  ndjson text,
  first_created_at timestamptz,
  last_created_at timestamptz,
  cursor_at timestamptz,
  cursor_key text
)
language plpgsql stable
security definer
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  d export_partitions_detached;
  v_at text;
  v_id_type text;
  v_time_type text;
begin
  select * into d from export_partitions_detached x where x.partition_name = p_partition;
  if d.partition_name is null or to_regclass(d.partition_name) is null then
    return;
  end if;
  select format_type(a.atttypid, a.atttypmod) into v_id_type
    from pg_attribute a where a.attrelid = d.partition_name::regclass and a.attname = d.id_column;
  select format_type(a.atttypid, a.atttypmod) into v_time_type
    from pg_attribute a where a.attrelid = d.partition_name::regclass and a.attname = d.time_column;
  v_at := case when d.time_tz then format('t.%I', d.time_column) else format('(t.%I at time zone ''UTC'')', d.time_column) end;
  return query execute format(
    $q$
    with b as (
      select t.%1$I as k, %2$s as at, to_jsonb(t) as j
        from %3$s t
       where $1 is null or (t.%4$I, t.%1$I) > (%5$s, $2::%6$s)
       order by t.%4$I, t.%1$I
       limit $3
    )
    select $4, count(*)::integer, coalesce(string_agg(b.j::text, E'\n' order by b.at, b.k), ''),
           min(b.at), max(b.at),
           (array_agg(b.at order by b.at desc, b.k desc))[1],
           (array_agg(b.k::text order by b.at desc, b.k desc))[1]
      from b
    $q$,
    d.id_column, v_at, d.partition_name, d.time_column,
    case when d.time_tz then format('$1::%s', v_time_type) else format('($1 at time zone ''UTC'')::%s', v_time_type) end,
    v_id_type)
    using d.cursor_at, d.cursor_key, coalesce(d.pending_rows, greatest(p_batch_size, 1)), d.pending_key;
end;
$$;

-- Records that p_object_key is being written with the next p_rows rows of the partition.
create or replace function cronwarden.export_partition_archive_begin(p_partition text, p_object_key text, p_rows integer)
returns table (archive_key text)
language sql
security definer
set search_path = cronwarden, pg_temp
as $$
  update export_partitions_detached d
     set pending_key = p_object_key, pending_rows = p_rows
   where d.partition_name = p_partition
  returning d.pending_key;
$$;

-- The batch under p_object_key is written and verified: the cursor moves past its last row.
create or replace function cronwarden.export_partition_archived(
  p_partition text,
  p_object_key text,
  p_rows integer,
  p_cursor_at timestamptz,
  p_cursor_key text,
  p_now timestamptz default now()
) returns table (archived_rows bigint)
language sql
security definer
set search_path = cronwarden, pg_temp
as $$
  update export_partitions_detached d
     set archived_rows = d.archived_rows + p_rows, cursor_at = p_cursor_at, cursor_key = p_cursor_key,
         pending_key = null, pending_rows = null, updated_at = p_now
   where d.partition_name = p_partition and d.pending_key is not distinct from p_object_key
  returning d.archived_rows;
$$;

-- Step 3: drops a partition this file detached, once every row is archived when archival was on.
-- outcome: dropped (row_count rows went with it), not_archived (rows remain after the cursor),
-- or unknown (not a partition detached here). A detached table that is attached again (by
-- hand) is forgotten, not dropped.
create or replace function cronwarden.export_partition_drop(p_partition text)
returns table (outcome text, row_count bigint)
language plpgsql
security definer
set search_path = cronwarden, pg_temp
set lock_timeout = '2s'
as $$
#variable_conflict use_column
declare
  d export_partitions_detached;
  v_rel regclass;
  v_left boolean;
begin
  select * into d from export_partitions_detached x where x.partition_name = p_partition for update;
  if d.partition_name is null then
    return query select 'unknown'::text, 0::bigint;
    return;
  end if;
  v_rel := to_regclass(d.partition_name);
  if v_rel is not null and exists (select 1 from pg_inherits i where i.inhrelid = v_rel) then
    delete from export_partitions_detached x where x.partition_name = p_partition;
    return query select 'unknown'::text, 0::bigint;
    return;
  end if;
  if v_rel is not null and d.archive then
    execute format(
      'select exists (select 1 from %s t where $1 is null or (t.%I, t.%I) > (%s, $2::%s))',
      v_rel, d.time_column, d.id_column,
      case when d.time_tz then '$1' else '($1 at time zone ''UTC'')' end,
      (select format_type(a.atttypid, a.atttypmod) from pg_attribute a where a.attrelid = v_rel and a.attname = d.id_column))
      into v_left using d.cursor_at, d.cursor_key;
    if v_left then
      return query select 'not_archived'::text, d.row_count - d.archived_rows;
      return;
    end if;
  end if;
  if v_rel is not null then
    execute format('drop table %s', v_rel);
  end if;
  delete from export_partitions_detached x where x.partition_name = p_partition;
  return query select 'dropped'::text, d.row_count;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Test and demo helpers
-- ---------------------------------------------------------------------------------------------

-- Creates or updates one export row in the bound table (the seed's test script and the tests),
-- writing the bound columns only. p_status is a canonical word: completed, failed and expired
-- are written as the binding's words; any other word (queued, processing, ...) as given.
-- format, conversation_count, error_type and error_message are written when the table has
-- columns of those names (the demo app's does).
create or replace function cronwarden.export_record(
  p_export_id text,
  p_user_id text,
  p_format text,
  p_status text,
  p_conversation_count integer default 0,
  p_file_path text default null,
  p_file_size_bytes bigint default null,
  p_created_at timestamptz default now(),
  p_completed_at timestamptz default null,
  p_expires_at timestamptz default null,
  p_error_type text default null,
  p_error_message text default null
) returns table (export_id text, status text)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_table regclass := (bound_setting('exports', 'table') #>> '{}')::regclass;
  v_cols jsonb := bound_setting('exports', 'columns');
  v_words jsonb := bound_setting('exports', 'statuses');
  v_names text[] := '{}';
  v_values text[] := '{}';
  v_sql text;
  v_word text := case p_status when 'completed' then v_words -> 'completed' ->> 0
                               when 'failed' then v_words -> 'failed' ->> 0
                               when 'expired' then v_words ->> 'expired'
                               else p_status end;
begin
  if v_table is null then
    raise exception 'exports is not bound' using errcode = '55000';
  end if;
  -- (column, value as text, type of the value) for every column we write
  with w(canon, val) as (
    values ('id', coalesce(p_export_id, gen_random_uuid()::text)), ('userId', p_user_id), ('status', v_word),
           ('filePath', p_file_path), ('fileSizeBytes', p_file_size_bytes::text),
           ('createdAt', coalesce(p_created_at, now())::text), ('completedAt', p_completed_at::text),
           ('expiresAt', p_expires_at::text)
  ),
  bound as (
    select v_cols ->> w.canon as col, w.val from w where v_cols ->> w.canon is not null
    union all
    select x.col, x.val from (values ('format', p_format), ('conversation_count', coalesce(p_conversation_count, 0)::text),
                                     ('error_type', p_error_type), ('error_message', left(p_error_message, 2000))) x(col, val)
     where exists (select 1 from pg_attribute a where a.attrelid = v_table and a.attname = x.col and not a.attisdropped)
       and not exists (select 1 from jsonb_each_text(v_cols) c where c.value = x.col)
  )
  select array_agg(b.col), array_agg(b.val) into v_names, v_values from bound b;

  -- Each value is cast to its column's type; a time column without time zone gets UTC.
  select format('insert into %s as t (%s) values (%s) on conflict (%I) do update set %s returning t.%I::text, t.%I::text',
                v_table,
                string_agg(format('%I', n.col), ', ' order by n.ord),
                string_agg(case when a.atttypid = 'timestamp'::regtype
                                then format('($1[%s]::timestamptz at time zone ''UTC'')', n.ord)
                                else format('$1[%s]::%s', n.ord, format_type(a.atttypid, a.atttypmod)) end, ', ' order by n.ord),
                v_cols ->> 'id',
                string_agg(format('%I = excluded.%I', n.col, n.col), ', ' order by n.ord) filter (where n.col <> v_cols ->> 'id'),
                v_cols ->> 'id', v_cols ->> 'status')
    into v_sql
    from unnest(v_names) with ordinality as n(col, ord)
    join pg_attribute a on a.attrelid = v_table and a.attname = n.col;
  return query execute v_sql using v_values;
end;
$$;

-- Removes every export row and metric of one user (test data, account removal).
create or replace function cronwarden.export_purge_user_data(p_user_id text)
returns table (logs_deleted integer, metrics_deleted integer)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_logs integer;
  v_metrics integer;
begin
  delete from exports l where l.user_id = (cast_keys((null::exports).user_id, array[p_user_id]))[1];
  get diagnostics v_logs = row_count;
  delete from export_metrics m where m.user_id = p_user_id;
  get diagnostics v_metrics = row_count;
  return query select v_logs, v_metrics;
end;
$$;

do $$
declare
  f text;
begin
  foreach f in array array[
    'export_log_metric(text,text,text,text,bigint,bigint,bigint,text,text,timestamptz)',
    'export_aggregate_metrics(timestamptz,timestamptz,text,integer)',
    'export_failure_stats(integer,timestamptz,text)',
    'export_duration_bucket(bigint)',
    'export_bucket_bounds(integer)',
    'export_histogram(integer[],bigint[])',
    'export_histogram_quantile(integer[],bigint[],double precision,bigint,bigint)',
    'export_rollup_hourly(integer,timestamptz,boolean,integer)',
    'export_hourly_series(timestamptz,timestamptz,timestamptz,text,integer)',
    'export_metrics_report(timestamptz,timestamptz)',
    'export_file_cleanup_preview(integer,integer,timestamptz)',
    'export_claim_expired_files(integer,integer,integer,timestamptz)',
    'export_finish_file_cleanup(text[],text[],text[],timestamptz,integer)',
    'export_file_set_aside(integer)',
    'export_file_claim_release(text[])',
    'export_log_cleanup_stats(integer,timestamptz,text)',
    'export_delete_old_logs(integer,integer,timestamptz,text,timestamptz)',
    'export_log_archive_batch(integer,integer,timestamptz,text)',
    'export_log_archive_begin(text,text[],timestamptz)',
    'export_log_archive_pending_batch(integer,timestamptz,text)',
    'export_delete_logs_by_id(text[],integer,timestamptz,text)',
    'export_partitioning()',
    'export_partition_bounds(regclass,boolean)',
    'export_partitions_due(integer,timestamptz,integer)',
    'export_partition_detach(text,integer,timestamptz,boolean)',
    'export_partition_archive_batch(text,integer)',
    'export_partition_archive_begin(text,text,integer)',
    'export_partition_archived(text,text,integer,timestamptz,text,timestamptz)',
    'export_partition_drop(text)',
    'export_record(text,text,text,text,integer,text,bigint,timestamptz,timestamptz,timestamptz,text,text)',
    'export_purge_user_data(text)']
  loop
    execute format('revoke all on function cronwarden.%s from public', f);
  end loop;
end;
$$;

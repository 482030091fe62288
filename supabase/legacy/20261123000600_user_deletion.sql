-- User deletion (DELETE /api/users/[userId]) and its monitors.
--
-- The product tables the endpoint cleans up, as a real app has them:
--   dispatches    user_id references users, no cascade: must be deleted by hand before the user.
--   addresses     user_id references users NOT VALID: legacy rows from before the constraint may
--                 point at users that no longer exist; new writes are checked.
--   file_uploads  no foreign key at all (rows are written by the upload pipeline); each row owns
--                 an object in storage that is removed after the deletion commits.
--   user_sessions, user_preferences   on delete cascade: the database removes them.
-- Orphans can therefore exist in addresses and file_uploads (and in any table whose constraint
-- triggers were disabled), which is what the integrity validator looks for.

create table if not exists users (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  type text not null default 'member' check (type in ('admin', 'member', 'guest')),
  created_at timestamptz not null default now()
);
create unique index if not exists users_email_lower_key on users (lower(email));

create table if not exists dispatches (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null constraint dispatches_user_id_fkey references users (id),
  status text not null default 'pending',
  created_at timestamptz not null default now()
);
create index if not exists dispatches_user_id_idx on dispatches (user_id);

create table if not exists addresses (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  line1 text not null,
  city text not null,
  created_at timestamptz not null default now()
);
create index if not exists addresses_user_id_idx on addresses (user_id);
do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'addresses_user_id_fkey') then
    alter table addresses add constraint addresses_user_id_fkey foreign key (user_id) references users (id) not valid;
  end if;
end;
$$;

create table if not exists file_uploads (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  storage_path text not null,
  size_bytes bigint not null default 0,
  created_at timestamptz not null default now()
);
create index if not exists file_uploads_user_id_idx on file_uploads (user_id);
create unique index if not exists file_uploads_storage_path_key on file_uploads (storage_path);

create table if not exists user_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '30 days'
);
create index if not exists user_sessions_user_id_idx on user_sessions (user_id);

create table if not exists user_preferences (
  user_id uuid primary key references users (id) on delete cascade,
  preferences jsonb not null default '{}'::jsonb,
  updated_at timestamptz not null default now()
);

-- Generic audit trail; user deletions are action 'USER_DELETION', target_type 'user'.
create table if not exists audit_logs (
  id uuid primary key default gen_random_uuid(),
  action text not null,
  actor text not null,
  target_type text not null,
  target_id text,
  status text not null check (status in ('success', 'failure')),
  duration_ms integer check (duration_ms is null or duration_ms >= 0),
  error_type text,
  error_message text,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  constraint audit_logs_failure_has_type check (status = 'success' or error_type is not null)
);
create index if not exists audit_logs_action_created_idx on audit_logs (action, created_at);
create index if not exists audit_logs_target_idx on audit_logs (target_type, target_id, action);
create index if not exists audit_logs_failures_idx on audit_logs (action, error_type, created_at) where status = 'failure';

-- One row per deleted user, written by a trigger whatever deleted it (the endpoint or a manual
-- DELETE): the validator compares it with the audit trail. No e-mail: the person is gone.
create table if not exists deleted_users (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  user_type text not null,
  user_created_at timestamptz,
  deleted_at timestamptz not null default now()
);
create index if not exists deleted_users_user_id_idx on deleted_users (user_id);
create index if not exists deleted_users_deleted_at_idx on deleted_users (deleted_at);

create or replace function users_record_deletion() returns trigger
language plpgsql as $$
begin
  insert into deleted_users (user_id, user_type, user_created_at) values (old.id, old.type, old.created_at);
  return old;
end;
$$;
drop trigger if exists users_record_deletion on users;
create trigger users_record_deletion after delete on users for each row execute function users_record_deletion();

-- A claim per user being deleted, committed before the deletion starts, so a second request for
-- the same user is refused (409) on every engine: advisory locks and row locks mean nothing when
-- all clients share one backend (PGlite). A claim left by a dead process expires.
create table if not exists user_deletions_in_progress (
  user_id uuid primary key,
  attempt_id uuid not null,
  actor text not null,
  started_at timestamptz not null,
  expires_at timestamptz not null
);

-- Storage objects whose removal failed after their rows were deleted; retried by the
-- storage-cleanup-retry job with backoff until removed.
create table if not exists storage_cleanup_queue (
  id bigint generated always as identity primary key,
  storage_path text not null,
  source text not null,
  reference_id text,
  attempts integer not null default 0,
  last_error text,
  created_at timestamptz not null default now(),
  next_attempt_at timestamptz not null default now(),
  last_attempt_at timestamptz
);
create unique index if not exists storage_cleanup_queue_path_key on storage_cleanup_queue (storage_path);
create index if not exists storage_cleanup_queue_due_idx on storage_cleanup_queue (next_attempt_at, id);

-- ---------------------------------------------------------------------------------------------
-- The deletion
-- ---------------------------------------------------------------------------------------------

-- Claims the user for this attempt. acquired=false with user_exists=true: another live attempt
-- holds the claim (409). user_exists=false: no such user (404), and no claim is kept.
create or replace function user_deletion_begin(
  p_user_id uuid,
  p_attempt_id uuid,
  p_actor text,
  p_ttl_seconds integer default 300,
  p_now timestamptz default now()
) returns table (acquired boolean, user_exists boolean, user_type text, holder_attempt_id uuid, holder_started_at timestamptz)
language plpgsql as $$
#variable_conflict use_column
declare
  v_got uuid;
  v_type text;
begin
  insert into user_deletions_in_progress as c (user_id, attempt_id, actor, started_at, expires_at)
  values (p_user_id, p_attempt_id, p_actor, p_now, p_now + make_interval(secs => p_ttl_seconds))
  on conflict (user_id) do update
    set attempt_id = excluded.attempt_id, actor = excluded.actor,
        started_at = excluded.started_at, expires_at = excluded.expires_at
    where c.expires_at <= p_now
  returning c.attempt_id into v_got;

  select u.type into v_type from users u where u.id = p_user_id;

  if v_got is null then
    return query
      select false, v_type is not null, v_type, c.attempt_id, c.started_at
        from user_deletions_in_progress c where c.user_id = p_user_id;
    return;
  end if;
  if v_type is null then
    delete from user_deletions_in_progress c where c.user_id = p_user_id and c.attempt_id = p_attempt_id;
    return query select false, false, null::text, null::uuid, null::timestamptz;
    return;
  end if;
  return query select true, true, v_type, p_attempt_id, p_now;
end;
$$;

-- Deletes one user and everything that belongs to it in ONE transaction (this call is one
-- statement): dispatches, addresses and file_uploads by hand (no cascade on them), then the
-- user (sessions and preferences cascade), and writes the success audit row. Returns the
-- counts and the storage paths of the deleted uploads; the caller removes those objects after
-- commit. Anything that fails rolls all of it back.
--
-- p_statement_timeout_ms is a deadline checked between the steps (and used as lock_timeout):
-- a SET statement_timeout inside a function does not apply to the running statement on
-- PostgreSQL, and PGlite has no statement timer at all. An overrun raises SQLSTATE 57014,
-- the same code a server-side statement_timeout gives, so callers handle one case.
create or replace function delete_user_cascade(
  p_user_id uuid,
  p_actor text,
  p_statement_timeout_ms integer default null,
  p_attempt_id uuid default null,
  p_elapsed_ms integer default 0,
  p_now timestamptz default now()
) returns table (
  user_id uuid,
  user_type text,
  dispatches_deleted integer,
  addresses_deleted integer,
  file_uploads_deleted integer,
  sessions_deleted integer,
  preferences_deleted integer,
  storage_paths text[],
  audit_id uuid,
  db_duration_ms integer
)
language plpgsql as $$
#variable_conflict use_column
declare
  v_started timestamptz := clock_timestamp();
  v_deadline timestamptz;
  v_type text;
  v_dispatches integer;
  v_addresses integer;
  v_uploads integer;
  v_sessions integer;
  v_prefs integer;
  v_paths text[];
  v_audit uuid := gen_random_uuid();
  v_db_ms integer;
  v_timeout_msg text := format('canceling statement due to statement timeout (user deletion over %s ms)', p_statement_timeout_ms);
begin
  if p_statement_timeout_ms is not null then
    if p_statement_timeout_ms <= 0 then
      raise exception 'p_statement_timeout_ms must be positive' using errcode = '22023';
    end if;
    v_deadline := v_started + make_interval(secs => p_statement_timeout_ms / 1000.0);
    perform set_config('lock_timeout', p_statement_timeout_ms || 'ms', true);
  end if;

  select u.type into v_type from users u where u.id = p_user_id for update;
  if not found then
    raise exception 'user % not found', p_user_id using errcode = 'P0002';
  end if;

  with d as (delete from dispatches x where x.user_id = p_user_id returning 1)
  select count(*)::integer into v_dispatches from d;
  if clock_timestamp() > v_deadline then raise exception '%', v_timeout_msg using errcode = '57014'; end if;

  with d as (delete from addresses x where x.user_id = p_user_id returning 1)
  select count(*)::integer into v_addresses from d;
  if clock_timestamp() > v_deadline then raise exception '%', v_timeout_msg using errcode = '57014'; end if;

  with d as (delete from file_uploads x where x.user_id = p_user_id returning x.storage_path)
  select count(*)::integer, coalesce(array_agg(d.storage_path order by d.storage_path), '{}'::text[])
    into v_uploads, v_paths from d;
  if clock_timestamp() > v_deadline then raise exception '%', v_timeout_msg using errcode = '57014'; end if;

  select count(*)::integer into v_sessions from user_sessions s where s.user_id = p_user_id;
  select count(*)::integer into v_prefs from user_preferences s where s.user_id = p_user_id;
  delete from users u where u.id = p_user_id;
  if clock_timestamp() > v_deadline then raise exception '%', v_timeout_msg using errcode = '57014'; end if;

  delete from user_deletions_in_progress c
   where c.user_id = p_user_id and (p_attempt_id is null or c.attempt_id = p_attempt_id);

  v_db_ms := ceil(extract(epoch from (clock_timestamp() - v_started)) * 1000)::integer;
  insert into audit_logs (id, action, actor, target_type, target_id, status, duration_ms, details, created_at)
  values (
    v_audit, 'USER_DELETION', p_actor, 'user', p_user_id::text, 'success',
    greatest(coalesce(p_elapsed_ms, 0), 0) + v_db_ms,
    jsonb_build_object(
      'user_type', v_type,
      'attempt_id', p_attempt_id,
      'db_duration_ms', v_db_ms,
      'deleted', jsonb_build_object(
        'dispatches', v_dispatches, 'addresses', v_addresses, 'file_uploads', v_uploads,
        'sessions', v_sessions, 'preferences', v_prefs),
      'storage_objects', cardinality(v_paths)),
    p_now);

  return query select p_user_id, v_type, v_dispatches, v_addresses, v_uploads, v_sessions, v_prefs, v_paths, v_audit, v_db_ms;
end;
$$;

-- A failed attempt's audit row (written outside the rolled-back transaction), releasing the
-- attempt's claim if it holds one.
create or replace function record_user_deletion_audit(
  p_target_id text,
  p_actor text,
  p_status text,
  p_error_type text default null,
  p_error_message text default null,
  p_duration_ms integer default null,
  p_details jsonb default '{}'::jsonb,
  p_attempt_id uuid default null,
  p_now timestamptz default now()
) returns table (audit_id uuid, claim_released boolean)
language plpgsql as $$
#variable_conflict use_column
declare
  v_id uuid := gen_random_uuid();
  v_released boolean := false;
begin
  if p_status not in ('success', 'failure') then
    raise exception 'invalid audit status %', p_status using errcode = '22023';
  end if;
  insert into audit_logs (id, action, actor, target_type, target_id, status, duration_ms, error_type, error_message, details, created_at)
  values (v_id, 'USER_DELETION', p_actor, 'user', left(p_target_id, 100), p_status, p_duration_ms,
          p_error_type, left(p_error_message, 2000),
          coalesce(p_details, '{}'::jsonb) || jsonb_build_object('attempt_id', p_attempt_id), p_now);
  if p_attempt_id is not null then
    delete from user_deletions_in_progress c where c.attempt_id = p_attempt_id;
    v_released := found;
  end if;
  return query select v_id, v_released;
end;
$$;

-- After the storage clean-up: the attempt's full duration and what happened to its objects.
create or replace function user_deletion_audit_complete(
  p_audit_id uuid,
  p_duration_ms integer,
  p_details jsonb default '{}'::jsonb
) returns table (audit_id uuid, duration_ms integer)
language sql as $$
  update audit_logs a
     set duration_ms = greatest(a.duration_ms, p_duration_ms),
         details = a.details || coalesce(p_details, '{}'::jsonb)
   where a.id = p_audit_id
  returning a.id, a.duration_ms;
$$;

-- ---------------------------------------------------------------------------------------------
-- Storage clean-up queue
-- ---------------------------------------------------------------------------------------------

create or replace function storage_cleanup_enqueue(
  p_paths text[],
  p_errors text[] default null,
  p_source text default 'user_deletion',
  p_reference_id text default null,
  p_now timestamptz default now()
) returns table (queued integer)
language plpgsql as $$
declare
  v_n integer;
begin
  insert into storage_cleanup_queue as q (storage_path, source, reference_id, last_error, created_at, next_attempt_at)
  select p.path, p_source, p_reference_id, left(p_errors[p.ord::integer], 1000), p_now, p_now
    from unnest(p_paths) with ordinality as p(path, ord)
   where p.path is not null
  on conflict (storage_path) do update
    set last_error = coalesce(excluded.last_error, q.last_error), reference_id = coalesce(excluded.reference_id, q.reference_id);
  get diagnostics v_n = row_count;
  return query select v_n;
end;
$$;

-- Due entries after p_after_id (oldest first), at most p_limit.
create or replace function storage_cleanup_due(
  p_limit integer default 500,
  p_after_id bigint default 0,
  p_now timestamptz default now()
) returns table (id bigint, storage_path text, source text, attempts integer)
language sql stable as $$
  select q.id, q.storage_path, q.source, q.attempts
    from storage_cleanup_queue q
   where q.next_attempt_at <= p_now and q.id > coalesce(p_after_id, 0)
   order by q.id
   limit least(greatest(p_limit, 1), 5000);
$$;

-- Removes the entries whose objects are gone; reschedules the others with exponential backoff
-- (30 min, 1 h, 2 h, ... capped at 24 h).
create or replace function storage_cleanup_resolve(
  p_done_ids bigint[],
  p_failed_ids bigint[] default '{}',
  p_failed_errors text[] default '{}',
  p_now timestamptz default now()
) returns table (deleted_count integer, rescheduled_count integer)
language plpgsql as $$
declare
  v_deleted integer;
  v_rescheduled integer;
begin
  delete from storage_cleanup_queue q where q.id = any (coalesce(p_done_ids, '{}'));
  get diagnostics v_deleted = row_count;
  update storage_cleanup_queue q
     set attempts = q.attempts + 1,
         last_error = left(f.err, 1000),
         last_attempt_at = p_now,
         next_attempt_at = p_now + make_interval(mins => least(24 * 60, 15 * power(2, least(q.attempts + 1, 10))::integer))
    from unnest(coalesce(p_failed_ids, '{}'), coalesce(p_failed_errors, '{}')) as f(id, err)
   where q.id = f.id;
  get diagnostics v_rescheduled = row_count;
  return query select v_deleted, v_rescheduled;
end;
$$;

create or replace function storage_cleanup_stats(p_now timestamptz default now())
returns table (pending integer, due integer, max_attempts integer, oldest_created_at timestamptz)
language sql stable as $$
  select count(*)::integer,
         (count(*) filter (where q.next_attempt_at <= p_now))::integer,
         coalesce(max(q.attempts), 0)::integer,
         min(q.created_at)
    from storage_cleanup_queue q;
$$;

-- ---------------------------------------------------------------------------------------------
-- Monitoring: live figures (immediate monitor, admin endpoint, alert rules, gauges)
-- ---------------------------------------------------------------------------------------------

-- Attempts in (p_now - p_minutes, p_now]. Latency is over every attempt that has a duration.
create or replace function user_deletion_stats(
  p_minutes integer default 60,
  p_now timestamptz default now()
) returns table (
  window_minutes integer,
  window_start timestamptz,
  window_end timestamptz,
  total_deletions integer,
  successful_deletions integer,
  failed_deletions integer,
  error_rate_percent double precision,
  avg_duration_ms double precision,
  p95_duration_ms double precision,
  max_duration_ms integer,
  timeouts integer,
  not_found integer,
  conflicts integer,
  db_errors integer,
  last_attempt_at timestamptz
)
language sql stable as $$
  select p_minutes,
         p_now - make_interval(mins => p_minutes),
         p_now,
         count(*)::integer,
         (count(*) filter (where a.status = 'success'))::integer,
         (count(*) filter (where a.status = 'failure'))::integer,
         case when count(*) = 0 then 0
              else round(100.0 * count(*) filter (where a.status = 'failure') / count(*), 2)::double precision end,
         round(avg(a.duration_ms), 1)::double precision,
         round((percentile_cont(0.95) within group (order by a.duration_ms))::numeric, 1)::double precision,
         max(a.duration_ms),
         (count(*) filter (where a.error_type = 'timeout'))::integer,
         (count(*) filter (where a.error_type = 'not_found'))::integer,
         (count(*) filter (where a.error_type = 'conflict'))::integer,
         (count(*) filter (where a.error_type = 'db_error'))::integer,
         max(a.created_at)
    from audit_logs a
   where a.action = 'USER_DELETION'
     and a.created_at > p_now - make_interval(mins => p_minutes)
     and a.created_at <= p_now;
$$;

-- One row per clock hour (UTC) for the last p_hours hours, oldest first, zero-filled; the last
-- bucket is the current, partial hour (up to p_now).
create or replace function user_deletion_error_rate_series(
  p_hours integer default 24,
  p_now timestamptz default now()
) returns table (
  hour_start timestamptz,
  total integer,
  failed integer,
  error_rate_percent double precision,
  timeouts integer,
  p95_duration_ms double precision
)
language sql stable as $$
  with buckets as (
    select date_trunc('hour', p_now at time zone 'UTC') at time zone 'UTC' - make_interval(hours => n) as h
      from generate_series(0, least(greatest(p_hours, 1), 24 * 31) - 1) as n
  )
  select b.h,
         count(a.id)::integer,
         (count(a.id) filter (where a.status = 'failure'))::integer,
         case when count(a.id) = 0 then 0
              else round(100.0 * count(a.id) filter (where a.status = 'failure') / count(a.id), 2)::double precision end,
         (count(a.id) filter (where a.error_type = 'timeout'))::integer,
         round((percentile_cont(0.95) within group (order by a.duration_ms))::numeric, 1)::double precision
    from buckets b
    left join audit_logs a
      on a.action = 'USER_DELETION'
     and a.created_at >= b.h and a.created_at < b.h + interval '1 hour'
     and a.created_at <= p_now
   group by b.h
   order by b.h;
$$;

-- ---------------------------------------------------------------------------------------------
-- Reports (usage patterns, long-term): one slice of time per call, merged in TypeScript
-- ---------------------------------------------------------------------------------------------

-- Attempts in [p_from, p_to) grouped by UTC hour of day, ISO weekday (1 = Monday), user type,
-- outcome and failure class.
create or replace function user_deletion_usage_slice(
  p_from timestamptz,
  p_to timestamptz,
  p_slow_ms integer default 3000
) returns table (
  hour_of_day integer,
  iso_dow integer,
  user_type text,
  status text,
  error_type text,
  attempts integer,
  duration_sum_ms bigint,
  duration_count integer,
  slow integer
)
language sql stable as $$
  select extract(hour from a.created_at at time zone 'UTC')::integer,
         extract(isodow from a.created_at at time zone 'UTC')::integer,
         coalesce(a.details ->> 'user_type', 'unknown'),
         a.status,
         a.error_type,
         count(*)::integer,
         coalesce(sum(a.duration_ms), 0)::bigint,
         count(a.duration_ms)::integer,
         (count(*) filter (where a.duration_ms > p_slow_ms))::integer
    from audit_logs a
   where a.action = 'USER_DELETION' and a.created_at >= p_from and a.created_at < p_to
   group by 1, 2, 3, 4, 5
   order by 1, 2, 3, 4, 5;
$$;

-- Figures over the whole period that do not merge from slices: latency percentiles
-- (percentile_cont, linear interpolation) and the busiest clock hour / day.
create or replace function user_deletion_period_stats(
  p_from timestamptz,
  p_to timestamptz,
  p_slow_ms integer default 3000
) returns table (
  attempts integer,
  timed integer,
  avg_ms double precision,
  p50_ms double precision,
  p90_ms double precision,
  p95_ms double precision,
  p99_ms double precision,
  max_ms integer,
  slow integer,
  max_attempts_in_an_hour integer,
  max_timeouts_in_an_hour integer,
  max_slow_in_a_day integer
)
language sql stable as $$
  with a as (
    select l.* from audit_logs l
     where l.action = 'USER_DELETION' and l.created_at >= p_from and l.created_at < p_to
  ),
  hours as (
    select date_trunc('hour', a.created_at at time zone 'UTC') as h, count(*) as n,
           count(*) filter (where a.error_type = 'timeout') as t
      from a group by 1
  ),
  days as (
    select date_trunc('day', a.created_at at time zone 'UTC') as d,
           count(*) filter (where a.duration_ms > p_slow_ms) as s
      from a group by 1
  )
  select (select count(*) from a)::integer,
         (select count(a.duration_ms) from a)::integer,
         (select round(avg(a.duration_ms), 1) from a)::double precision,
         (select round((percentile_cont(0.50) within group (order by a.duration_ms))::numeric, 1) from a)::double precision,
         (select round((percentile_cont(0.90) within group (order by a.duration_ms))::numeric, 1) from a)::double precision,
         (select round((percentile_cont(0.95) within group (order by a.duration_ms))::numeric, 1) from a)::double precision,
         (select round((percentile_cont(0.99) within group (order by a.duration_ms))::numeric, 1) from a)::double precision,
         (select max(a.duration_ms) from a),
         (select count(*) from a where a.duration_ms > p_slow_ms)::integer,
         coalesce((select max(h.n) from hours h), 0)::integer,
         coalesce((select max(h.t) from hours h), 0)::integer,
         coalesce((select max(d.s) from days d), 0)::integer;
$$;

-- ---------------------------------------------------------------------------------------------
-- Data integrity
-- ---------------------------------------------------------------------------------------------

-- One keyset batch of a user-owned table: rows whose user no longer exists. p_table is one of
-- the tables below (checked); the key is the table's primary key.
create or replace function user_integrity_orphans_batch(
  p_table text,
  p_after uuid default null,
  p_batch_size integer default 5000,
  p_sample_limit integer default 20
) returns table (scanned integer, orphan_count integer, samples jsonb, last_key uuid, has_more boolean)
language plpgsql stable as $$
declare
  v_key text;
begin
  v_key := case p_table
    when 'dispatches' then 'id'
    when 'addresses' then 'id'
    when 'file_uploads' then 'id'
    when 'user_sessions' then 'id'
    when 'user_preferences' then 'user_id'
  end;
  if v_key is null then
    raise exception 'not a user-owned table: %', p_table using errcode = '22023';
  end if;
  return query execute format(
    $q$
    with batch as (
      select t.%1$I as k, t.user_id from %2$I t
       where $1 is null or t.%1$I > $1
       order by t.%1$I
       limit $2
    ),
    orphans as (
      select b.k, b.user_id from batch b
       where b.user_id is not null and not exists (select 1 from users u where u.id = b.user_id)
    )
    select (select count(*) from batch)::integer,
           (select count(*) from orphans)::integer,
           coalesce((select jsonb_agg(jsonb_build_object('id', o.k, 'user_id', o.user_id) order by o.k)
                       from (select * from orphans order by k limit $3) o), '[]'::jsonb),
           (select b.k from batch b order by b.k desc limit 1),
           (select count(*) from batch) = $2
    $q$, v_key, p_table)
    using p_after, greatest(p_batch_size, 1), greatest(p_sample_limit, 0);
end;
$$;

-- Planner estimates of the scanned tables' sizes (progress bars; never exact, never a scan).
create or replace function user_integrity_table_estimates()
returns table (table_name text, estimated_rows bigint)
language sql stable as $$
  select c.relname::text, greatest(c.reltuples, 0)::bigint
    from pg_class c
   where c.oid in ('dispatches'::regclass, 'file_uploads'::regclass, 'addresses'::regclass,
                   'user_sessions'::regclass, 'user_preferences'::regclass)
   order by c.relname;
$$;

-- Live orphan counts (for the alert rule): rows in the hand-cleaned tables without a user.
create or replace function user_orphan_counts()
returns table (table_name text, orphan_count integer)
language sql stable as $$
  select 'dispatches', count(*)::integer from dispatches x where not exists (select 1 from users u where u.id = x.user_id)
  union all
  select 'file_uploads', count(*)::integer from file_uploads x where not exists (select 1 from users u where u.id = x.user_id)
  union all
  select 'addresses', count(*)::integer from addresses x where not exists (select 1 from users u where u.id = x.user_id);
$$;

-- Every single-column foreign key that references users: whether it is validated and enforced
-- (its triggers enabled), and how many rows dangle (point at a user that does not exist).
create or replace function user_integrity_foreign_keys()
returns table (
  table_name text,
  column_name text,
  constraint_name text,
  on_delete text,
  validated boolean,
  enforced boolean,
  dangling_rows integer
)
language plpgsql stable as $$
declare
  r record;
  v_n integer;
begin
  for r in
    select c.oid, c.conname, c.conrelid, c.convalidated, c.confdeltype,
           (select a.attname from pg_attribute a where a.attrelid = c.conrelid and a.attnum = c.conkey[1]) as col,
           (select a.attname from pg_attribute a where a.attrelid = c.confrelid and a.attnum = c.confkey[1]) as refcol
      from pg_constraint c
     where c.contype = 'f' and c.confrelid = 'users'::regclass and cardinality(c.conkey) = 1
     order by c.conrelid::regclass::text, c.conname
  loop
    execute format(
      'select count(*)::integer from %s t where t.%I is not null and not exists (select 1 from users u where u.%I = t.%I)',
      r.conrelid::regclass, r.col, r.refcol, r.col)
      into v_n;
    table_name := r.conrelid::regclass::text;
    column_name := r.col;
    constraint_name := r.conname;
    on_delete := case r.confdeltype when 'c' then 'cascade' when 'n' then 'set null' when 'd' then 'set default'
                                    when 'r' then 'restrict' else 'no action' end;
    validated := r.convalidated;
    enforced := not exists (select 1 from pg_trigger t where t.tgconstraint = r.oid and t.tgenabled = 'D');
    dangling_rows := v_n;
    return next;
  end loop;
end;
$$;

-- The audit trail against what happened: deletions (deleted_users) without a success audit row,
-- success rows that lack their duration or counts, and success rows whose user still exists.
create or replace function user_integrity_audit(p_sample_limit integer default 20)
returns table (
  deletions_recorded integer,
  audited_deletions integer,
  gap_count integer,
  gap_user_ids uuid[],
  incomplete_count integer,
  incomplete_audit_ids uuid[],
  inconsistent_count integer,
  inconsistent_user_ids uuid[]
)
language sql stable as $$
  with success as (
    select a.id, a.target_id, a.duration_ms, a.details from audit_logs a
     where a.action = 'USER_DELETION' and a.target_type = 'user' and a.status = 'success'
  ),
  gaps as (
    select distinct d.user_id from deleted_users d
     where not exists (select 1 from success s where s.target_id = d.user_id::text)
  ),
  incomplete as (
    select s.id from success s where s.duration_ms is null or not (s.details ? 'deleted')
  ),
  inconsistent as (
    select distinct u.id from success s join users u on u.id::text = s.target_id
  )
  select (select count(distinct d.user_id) from deleted_users d)::integer,
         (select count(distinct s.target_id) from success s)::integer,
         (select count(*) from gaps)::integer,
         coalesce((select array_agg(g.user_id order by g.user_id) from (select * from gaps order by user_id limit p_sample_limit) g), '{}'),
         (select count(*) from incomplete)::integer,
         coalesce((select array_agg(i.id order by i.id) from (select * from incomplete order by id limit p_sample_limit) i), '{}'),
         (select count(*) from inconsistent)::integer,
         coalesce((select array_agg(i.id order by i.id) from (select * from inconsistent order by id limit p_sample_limit) i), '{}');
$$;

-- Which of these storage paths have no file_uploads row (objects left behind).
create or replace function user_uploads_unknown_paths(p_paths text[])
returns table (storage_path text)
language sql stable as $$
  select p.path from unnest(p_paths) as p(path)
   where not exists (select 1 from file_uploads f where f.storage_path = p.path)
   order by p.path;
$$;

-- Random audit of deletion completeness: for a sample of deleted users, what is left of them.
create or replace function user_deletion_completeness_sample(
  p_sample_size integer default 25,
  p_since timestamptz default null
) returns table (
  user_id uuid,
  deleted_at timestamptz,
  remaining_dispatches integer,
  remaining_addresses integer,
  remaining_file_uploads integer,
  remaining_sessions integer,
  remaining_preferences integer,
  user_exists boolean,
  has_success_audit boolean
)
language sql volatile as $$
  with sample as (
    select d.user_id, max(d.deleted_at) as deleted_at from deleted_users d
     where p_since is null or d.deleted_at >= p_since
     group by d.user_id
     order by random()
     limit greatest(p_sample_size, 0)
  )
  select s.user_id, s.deleted_at,
         (select count(*) from dispatches x where x.user_id = s.user_id)::integer,
         (select count(*) from addresses x where x.user_id = s.user_id)::integer,
         (select count(*) from file_uploads x where x.user_id = s.user_id)::integer,
         (select count(*) from user_sessions x where x.user_id = s.user_id)::integer,
         (select count(*) from user_preferences x where x.user_id = s.user_id)::integer,
         exists (select 1 from users u where u.id = s.user_id),
         exists (select 1 from audit_logs a where a.action = 'USER_DELETION' and a.status = 'success'
                                              and a.target_type = 'user' and a.target_id = s.user_id::text)
    from sample s
   order by s.user_id;
$$;

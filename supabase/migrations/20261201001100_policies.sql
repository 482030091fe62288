-- Retention policies: the team's own rules over its own tables (cronwarden.config.ts, `policies`).
--
-- A policy is data, never SQL text: a table, its key and time columns, an age, terms over the
-- table's columns, an action. At start the app checks it against the catalog and creates one
-- simple view per policy in this schema (src/lib/policies/compile.ts), with quoted identifiers
-- and literals only:
--
--   create view cronwarden.policy_<name> as
--   select t."<key>"  as key,        -- the team's key (uuid, bigint, text, ...)
--          t."<time>" as time_raw,   -- the time column as stored: what its index serves
--          <time as timestamptz>     as time,  -- a column without time zone is read as UTC
--          (<terms>)                 as selected,
--          t."<path>" or null::text  as path,
--          (<row still needs its object>) as holds_path,
--          [t."<column>" as update_column, <value typed like it> as update_value,]  -- update action
--          to_jsonb(t) as row_json, pg_column_size(t.*)::bigint as row_bytes
--     from "<schema>"."<table>" t;
--
-- The functions below are the same for every policy: they read the view's name from
-- cronwarden.bound_rules and run fixed statements over it (format('%I') for the view name, bound
-- parameters for every value). PostgreSQL inlines the view, so `v.time_raw < $1 and v.selected`
-- is the team's own column and condition, and the team's index on the time column (partial on
-- the condition, as `npm run doctor` prints it) serves; DELETE and UPDATE pass through the view
-- to the table. The age is never in SQL: callers pass the cutoff (now - age, computed in UTC).
-- Functions are plpgsql: the views exist only while a policy is applied.

-- What is applied: one row per policy (with its view) and per orphan sweep (which has no view,
-- only the references it adds to bound_storage_references), with the hash of what was generated.
create table if not exists cronwarden.bound_rules (
  kind text not null check (kind in ('policy', 'orphanSweep')),
  name text not null,
  view_name name,
  relation regclass,
  -- the table's key column (the view's `key`)
  key_column name,
  -- the time column has a time zone (else it is a timestamp read as UTC)
  time_tz boolean,
  action text check (action in ('delete', 'update')),
  has_path boolean not null default false,
  spec_hash text not null,
  applied_at timestamptz not null default now(),
  primary key (kind, name)
);

-- Archive batches of a policy between "object written" and "rows deleted", as
-- export_log_archive_pending is for the export log: recorded before the object is written,
-- dropped in the transaction that deletes the rows, finished first (same object key) by the next
-- run when a run stopped in between, so no deleted row is ever in two archives.
create table if not exists cronwarden.policy_archive_pending (
  object_key text primary key,
  policy text not null,
  keys text[] not null,
  created_at timestamptz not null
);
create index if not exists policy_archive_pending_policy_idx on cronwarden.policy_archive_pending (policy, created_at);

-- What is applied, for the start-up check on every adapter: one row per rule, and whether a
-- policy's view exists.
create or replace function cronwarden.rule_state()
returns table (kind text, name text, spec_hash text, applied_at timestamptz, view_present boolean)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select r.kind, r.name, r.spec_hash, r.applied_at,
         r.view_name is null or to_regclass(format('cronwarden.%I', r.view_name)) is not null
    from bound_rules r
   order by r.kind, r.name;
$$;

-- The columns whose paths storage_paths_in_use counts as in use (bindings, policies, sweeps), for
-- the doctor: what an orphan sweep knows about.
create or replace function cronwarden.storage_reference_sources()
returns table (source text, relation text, path_column text)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select b.source, b.relation::text, b.path_column::text from bound_storage_references b order by b.source;
$$;

-- The registry row of an applied policy; 55000 naming it when it is not applied.
create or replace function cronwarden.policy_entry(p_policy text)
returns cronwarden.bound_rules
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  r bound_rules;
begin
  select * into r from bound_rules b where b.kind = 'policy' and b.name = p_policy;
  if not found or r.view_name is null or to_regclass(format('cronwarden.%I', r.view_name)) is null then
    raise exception 'policy % is not applied to this database', p_policy using errcode = '55000';
  end if;
  return r;
end;
$$;

-- The SQL for parameter $n as a value of the policy's time column: a timestamptz parameter is
-- compared as is with a timestamptz column, and turned into UTC wall time for a column without
-- time zone, so the comparison is on the column itself and its index serves.
create or replace function cronwarden.policy_time_param(p_tz boolean, p_n integer)
returns text
language sql immutable
set search_path = cronwarden, pg_temp
as $$
  select case when p_tz then format('$%s', p_n) else format('($%s at time zone ''UTC'')', p_n) end;
$$;

-- What a run would do now (the dry run): the rows the policy selects (older than p_cutoff and
-- meeting its terms), their on-disk size (pg_column_size, before indexes), how many hold a
-- storage path, the old rows its terms keep, the rows never selected for a NULL time, and the
-- oldest and newest selected time.
create or replace function cronwarden.policy_stats(p_policy text, p_cutoff timestamptz)
returns table (
  selected_count bigint,
  selected_bytes bigint,
  with_path_count bigint,
  kept_by_condition bigint,
  null_time_count bigint,
  oldest_at timestamptz,
  newest_at timestamptz
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  r bound_rules := policy_entry(p_policy);
  v_nulls bigint;
begin
  if p_cutoff is null then
    raise exception 'p_cutoff is required' using errcode = '22023';
  end if;
  execute format('select count(*) from cronwarden.%I v where v.time_raw is null', r.view_name) into v_nulls;
  return query execute format(
    'select count(*) filter (where v.selected),
            coalesce(sum(v.row_bytes) filter (where v.selected), 0)::bigint,
            count(*) filter (where v.selected and v.path is not null),
            count(*) filter (where not coalesce(v.selected, false)),
            $2::bigint,
            min(v.time) filter (where v.selected),
            max(v.time) filter (where v.selected)
       from cronwarden.%I v
      where v.time_raw < %s',
    r.view_name, policy_time_param(r.time_tz, 1))
    using p_cutoff, v_nulls;
end;
$$;

-- Applies the policy's action (delete, or set its column) to its oldest selected rows, at most
-- p_batch_size per call, in one statement over a range of the time column, as
-- export_delete_old_logs does for the export log (no archive, no storage path):
--   1. the first selected row at or after p_after (the previous call's next_after);
--   2. the (p_batch_size + 1)-th selected row from there, along the time column's index;
--   3. one DELETE / UPDATE of the selected rows between the two.
-- No row is locked or listed beforehand; each call visits only the rows it changes. Every call
-- that finds a selected row changes at least one, so a run always ends (an updated row is no
-- longer selected). next_after may come back through a client that keeps milliseconds only: the
-- search starts a millisecond early, which only re-reads rows already gone or not selected.
create or replace function cronwarden.policy_range_batch(
  p_policy text,
  p_cutoff timestamptz,
  p_batch_size integer default 20000,
  p_after timestamptz default null
) returns table (affected_count integer, has_more boolean, next_after timestamptz)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  r bound_rules := policy_entry(p_policy);
  v_from timestamptz := coalesce(p_after - interval '1 millisecond', '-infinity');
  v_act text;
  v_first timestamptz;
  v_upper timestamptz;
  v_n integer;
begin
  if p_cutoff is null or p_batch_size is null or p_batch_size < 1 then
    raise exception 'p_cutoff is required and p_batch_size must be at least 1' using errcode = '22023';
  end if;
  v_act := case r.action
             when 'delete' then format('delete from cronwarden.%I v', r.view_name)
             else format('update cronwarden.%I v set update_column = v.update_value', r.view_name) end;

  execute format(
    'select v.time from cronwarden.%I v
      where v.selected and v.time_raw >= %s and v.time_raw < %s
      order by v.time_raw limit 1',
    r.view_name, policy_time_param(r.time_tz, 1), policy_time_param(r.time_tz, 2))
    into v_first using v_from, p_cutoff;
  if v_first is null then
    return query select 0, false, null::timestamptz;
    return;
  end if;
  execute format(
    'select v.time from cronwarden.%I v
      where v.selected and v.time_raw >= %s and v.time_raw < %s
      order by v.time_raw offset $3 limit 1',
    r.view_name, policy_time_param(r.time_tz, 1), policy_time_param(r.time_tz, 2))
    into v_upper using v_first, p_cutoff, p_batch_size;

  if v_upper = v_first then
    -- More than p_batch_size selected rows share this instant: a batch of them by key.
    execute format(
      '%s where v.key = any (array(select x.key from cronwarden.%I x
                                    where x.selected and x.time_raw = %s limit $2))
          and v.selected and v.time_raw = %s',
      v_act, r.view_name, policy_time_param(r.time_tz, 1), policy_time_param(r.time_tz, 1))
      using v_first, p_batch_size;
    get diagnostics v_n = row_count;
    return query select v_n, true, v_first;
    return;
  end if;

  -- Every selected row in [v_first, v_upper) comes before the (p_batch_size + 1)-th: at most p_batch_size.
  execute format('%s where v.selected and v.time_raw >= %s and v.time_raw < %s',
                 v_act, policy_time_param(r.time_tz, 1), policy_time_param(r.time_tz, 2))
    using v_first, coalesce(v_upper, p_cutoff);
  get diagnostics v_n = row_count;
  return query select v_n, v_upper is not null, v_upper;
end;
$$;

-- The oldest selected rows after a cursor, by (time, key), at most p_batch_size (one row back):
-- their keys and storage paths as text, each row as JSON when p_with_rows (for the archive),
-- and the cursor of the last one (its time as text, at the column's full precision, and its
-- key), so a run moves past rows it leaves in place (an object whose removal failed). Reads only.
create or replace function cronwarden.policy_select_batch(
  p_policy text,
  p_cutoff timestamptz,
  p_batch_size integer default 1000,
  p_after_time text default null,
  p_after_key text default null,
  p_with_rows boolean default false
) returns table (
  object_key text,
  keys text[],
  paths text[],
  row_jsons text[],
  row_count integer,
  first_at timestamptz,
  last_at timestamptz,
  cursor_time text,
  cursor_key text
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  r bound_rules := policy_entry(p_policy);
begin
  if p_cutoff is null or p_batch_size is null or p_batch_size < 1 then
    raise exception 'p_cutoff is required and p_batch_size must be at least 1' using errcode = '22023';
  end if;
  return query execute format(
    'with batch as (
       select v.key, v.time, v.time_raw, v.path, %s as row_json
         from cronwarden.%I v
        where v.selected and v.time_raw < %s %s
        order by v.time_raw, v.key
        limit $4
     ),
     ordered as (select b.*, row_number() over (order by b.time_raw, b.key) as n from batch b)
     select null::text,
            coalesce(array_agg(o.key::text order by o.n), ''{}''),
            coalesce(array_agg(o.path::text order by o.n), ''{}''),
            coalesce(array_agg(o.row_json order by o.n), ''{}''),
            count(*)::integer,
            min(o.time),
            max(o.time),
            (array_agg(o.time_raw::text order by o.n desc))[1],
            (array_agg(o.key::text order by o.n desc))[1]
       from ordered o',
    case when p_with_rows then 'v.row_json::text' else 'null::text' end,
    r.view_name,
    policy_time_param(r.time_tz, 1),
    case when p_after_time is null then ''
         else format('and v.time_raw >= (cast_keys((null::cronwarden.%1$I).time_raw, array[$2]))[1]
                      and (v.time_raw > (cast_keys((null::cronwarden.%1$I).time_raw, array[$2]))[1]
                           or v.key > (cast_keys((null::cronwarden.%1$I).key, array[$3]))[1])', r.view_name) end)
    using p_cutoff, p_after_time, p_after_key, p_batch_size;
end;
$$;

create or replace function cronwarden.policy_archive_begin(
  p_policy text,
  p_object_key text,
  p_keys text[],
  p_now timestamptz default now()
) returns table (archive_key text)
language sql
set search_path = cronwarden, pg_temp
as $$
  insert into policy_archive_pending as p (object_key, policy, keys, created_at)
  values (p_object_key, p_policy, coalesce(p_keys, '{}'), p_now)
  on conflict (object_key) do update set keys = excluded.keys
  returning p.object_key;
$$;

-- The policy's oldest unfinished archive batch (no row when there is none): its object key and
-- those of its rows the policy still selects, in policy_select_batch's shape.
create or replace function cronwarden.policy_archive_pending_batch(p_policy text, p_cutoff timestamptz)
returns table (
  object_key text,
  keys text[],
  paths text[],
  row_jsons text[],
  row_count integer,
  first_at timestamptz,
  last_at timestamptz,
  cursor_time text,
  cursor_key text
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  r bound_rules := policy_entry(p_policy);
  v_key text;
  v_keys text[];
begin
  select p.object_key, p.keys into v_key, v_keys from policy_archive_pending p
   where p.policy = p_policy
   order by p.created_at, p.object_key limit 1;
  if v_key is null then
    return;
  end if;
  return query execute format(
    'with batch as (
       select v.key, v.time, v.time_raw, v.path, v.row_json::text as row_json
         from cronwarden.%1$I v
        where v.key = any (cast_keys((null::cronwarden.%1$I).key, $3))
          and v.selected and v.time_raw < %2$s
     ),
     ordered as (select b.*, row_number() over (order by b.time_raw, b.key) as n from batch b)
     select $2::text,
            coalesce(array_agg(o.key::text order by o.n), ''{}''),
            coalesce(array_agg(o.path::text order by o.n), ''{}''),
            coalesce(array_agg(o.row_json order by o.n), ''{}''),
            count(*)::integer,
            min(o.time),
            max(o.time),
            (array_agg(o.time_raw::text order by o.n desc))[1],
            (array_agg(o.key::text order by o.n desc))[1]
       from ordered o',
    r.view_name, policy_time_param(r.time_tz, 1))
    using p_cutoff, v_key, v_keys;
end;
$$;

-- Applies the policy's action to exactly the given rows (a batch whose objects are gone, or an
-- archived batch), re-checking that each is still selected and older than p_cutoff, and drops
-- the batch's pending archive entry (p_object_key) in the same transaction.
create or replace function cronwarden.policy_act_on_keys(
  p_policy text,
  p_keys text[],
  p_cutoff timestamptz,
  p_object_key text default null
) returns table (affected_count integer)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  r bound_rules := policy_entry(p_policy);
  v_n integer := 0;
begin
  if p_cutoff is null then
    raise exception 'p_cutoff is required' using errcode = '22023';
  end if;
  if coalesce(cardinality(p_keys), 0) > 0 then
    execute format(
      '%s where v.key = any (cast_keys((null::cronwarden.%I).key, $2)) and v.selected and v.time_raw < %s',
      case r.action when 'delete' then format('delete from cronwarden.%I v', r.view_name)
                    else format('update cronwarden.%I v set update_column = v.update_value', r.view_name) end,
      r.view_name, policy_time_param(r.time_tz, 1))
      using p_cutoff, p_keys;
    get diagnostics v_n = row_count;
  end if;
  delete from policy_archive_pending p where p.object_key = p_object_key and p.policy = p_policy;
  return query select v_n;
end;
$$;

-- Which of p_paths a live row still references, as storage_paths_in_use answers it, leaving out
-- the policy's batch (p_keys: the rows whose objects it is about to remove) wherever those rows
-- are seen: through the policy's own view, and in a reference registered on the policy's table
-- itself (a binding's child table with a storage path column, for instance). A reference
-- through another view over the same table (a feature binding's) still counts them: the object
-- stays (the row goes), and an orphan sweep of the prefix collects it. One row per path in use.
create or replace function cronwarden.policy_paths_in_use(p_policy text, p_paths text[], p_keys text[])
returns table (storage_path text, source text)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  p bound_rules := policy_entry(p_policy);
  r record;
  v_found text[] := '{}';
  v_sources text[] := '{}';
  v_path text;
begin
  if coalesce(cardinality(p_paths), 0) = 0 then
    return;
  end if;
  for r in select * from bound_storage_references b order by b.source loop
    for v_path in execute format(
      'select distinct x.%1$I::text from %2$s x where x.%1$I = any($1) %3$s %4$s',
      r.path_column, r.relation,
      case when r.live_condition is not null then 'and (' || r.live_condition || ')' else '' end,
      case when r.relation = to_regclass(format('cronwarden.%I', p.view_name))
             then format('and not (x.key = any (cast_keys((null::cronwarden.%I).key, $2)))', p.view_name)
           when r.relation = p.relation
             then format('and not (x.%I = any (cast_keys((null::cronwarden.%I).key, $2)))', p.key_column, p.view_name)
           else '' end)
      using p_paths, coalesce(p_keys, '{}'::text[])
    loop
      if not (v_path = any (v_found)) then
        v_found := v_found || v_path;
        v_sources := v_sources || r.source::text;
      end if;
    end loop;
  end loop;
  return query select f.p, f.s from unnest(v_found, v_sources) as f(p, s) order by f.p;
end;
$$;

do $$
declare
  v_fn text;
  v_functions text[] := array[
    'cronwarden.rule_state()',
    'cronwarden.storage_reference_sources()',
    'cronwarden.policy_entry(text)',
    'cronwarden.policy_time_param(boolean, integer)',
    'cronwarden.policy_stats(text, timestamptz)',
    'cronwarden.policy_range_batch(text, timestamptz, integer, timestamptz)',
    'cronwarden.policy_select_batch(text, timestamptz, integer, text, text, boolean)',
    'cronwarden.policy_archive_begin(text, text, text[], timestamptz)',
    'cronwarden.policy_archive_pending_batch(text, timestamptz)',
    'cronwarden.policy_act_on_keys(text, text[], timestamptz, text)',
    'cronwarden.policy_paths_in_use(text, text[], text[])'];
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

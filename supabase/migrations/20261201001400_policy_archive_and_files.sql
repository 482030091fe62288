-- Retention policies that archive their rows or remove the stored objects their rows name
-- (cronwarden.config.ts, a policy's `archive` and `storagePathColumn`).
--
-- policy_range_batch (20261201001100_policies.sql) changes a range of rows in one statement and
-- never sees them. A policy that archives or removes objects must know each row first, so it
-- works on keyed batches instead:
--   1. policy_select_batch: the oldest selected rows after a cursor (time, key), their keys,
--      storage paths and (for the archive) the rows as JSON;
--   2. the app removes the objects that nothing else references (policy_paths_in_use), then
--      archives the rows whose objects are gone (policy_archive_begin, a verified object),
--   3. policy_act_on_keys: deletes (or updates) exactly those rows, re-checking that each is still
--      selected, and drops the pending archive entry in the same transaction.
-- A row whose object could not be removed stays (the cursor moves past it; the next run tries
-- again). A run that stops between 2 and 3 leaves its pending entry: the next run finishes that
-- batch first under the same object key (policy_archive_pending_batch), so no deleted row is in
-- two archives and none is deleted unarchived.

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

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

do $$
declare
  v_fn text;
  v_functions text[] := array[
    'cronwarden.rule_state()',
    'cronwarden.policy_entry(text)',
    'cronwarden.policy_time_param(boolean, integer)',
    'cronwarden.policy_stats(text, timestamptz)',
    'cronwarden.policy_range_batch(text, timestamptz, integer, timestamptz)'];
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

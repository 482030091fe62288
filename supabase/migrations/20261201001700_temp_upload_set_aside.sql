-- Temp uploads that cannot be removed are set aside instead of being read again on every run.
--
-- An expired temp upload whose path is invalid ('../outside.csv'), or whose object storage
-- refuses to remove, used to stay in the team's table and come back in every maintenance run
-- with the same error, for ever. Now each failed attempt is counted per row, here (never on the
-- team's row); after p_max_attempts failed attempts the row is set aside with its reason: no run
-- reads it again until an operator releases it (temp_upload_release) or removes the row, and the
-- maintenance.temp_uploads_set_aside alert says so. The same rule export rows follow
-- (export_file_claims).
create table if not exists cronwarden.temp_upload_attempts (
  -- The temp upload's key, as text (a team's keys may be uuid, bigint, text).
  upload_key text primary key,
  attempts integer not null default 0,
  last_attempt_at timestamptz,
  last_error text,
  set_aside_at timestamptz,
  set_aside_reason text
);
create index if not exists temp_upload_attempts_set_aside_idx on cronwarden.temp_upload_attempts (set_aside_at) where set_aside_at is not null;

-- 2a. Temp uploads older than p_hours, in key order after p_after_id (a cursor that moves past
-- rows kept for the next run), at most least(p_batch_size, 1000) per call: the caller pages until
-- a call returns no row. Rows set aside (temp_upload_attempts) are left out. path_in_use: a live
-- row of a bound table other than the rows of this page (another upload, an export, a user's
-- file...) still references the path, so its object must stay; the row itself may go. Nothing
-- when temp uploads are not bound.
create or replace function cronwarden.list_expired_temp_uploads(
  p_hours integer default 24,
  p_batch_size integer default 1000,
  p_after_id text default null,
  p_now timestamptz default now()
) returns table (id text, storage_path text, size_bytes bigint, created_at timestamptz, path_in_use boolean)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_cutoff timestamptz;
  v_ids text[];
  v_paths text[];
  v_sizes bigint[];
  v_created timestamptz[];
  v_in_use text[];
begin
  perform maintenance_check_args(p_batch_size, p_hours, 'p_hours');
  if not imports_part_bound('temp_uploads') then
    return;
  end if;
  v_cutoff := p_now - make_interval(hours => p_hours);
  select coalesce(array_agg(p.id::text order by p.id), '{}'::text[]),
         coalesce(array_agg(p.storage_path order by p.id), '{}'::text[]),
         coalesce(array_agg(p.size_bytes order by p.id), '{}'::bigint[]),
         coalesce(array_agg(p.created_at order by p.id), '{}'::timestamptz[])
    into v_ids, v_paths, v_sizes, v_created
    from (select t.id, t.storage_path, t.size_bytes, t.created_at
            from import_temp_uploads t
           where t.created_at < v_cutoff
             and (p_after_id is null
                  or t.id > (select (cast_keys((null::import_temp_uploads).id, array[p_after_id]))[1]))
             and not exists (select 1 from temp_upload_attempts a
                              where a.upload_key = t.id::text and a.set_aside_at is not null)
           order by t.id
           limit least(p_batch_size, 1000)) p;
  if cardinality(v_ids) = 0 then
    return;
  end if;
  v_in_use := array(select distinct u.storage_path
                      from storage_paths_in_use(array(select distinct a.path from unnest(v_paths) as a(path)), 'imports.temp_uploads', v_ids) u);
  return query
    select x.id, x.path, x.size, x.created, x.path = any (v_in_use)
      from unnest(v_ids, v_paths, v_sizes, v_created) with ordinality as x(id, path, size, created, n)
     order by x.n;
end;
$$;

-- 2b. Deletes the given temp upload rows (p_ids: keys as text; their objects were removed, or are
-- kept for another row), re-checking that each is still expired, and answers what it deleted.
-- The failed attempts counted for a deleted row go with it.
create or replace function cronwarden.delete_temp_uploads(
  p_ids text[],
  p_hours integer default 24,
  p_now timestamptz default now()
) returns table (deleted_count integer, bytes_freed bigint, deleted_ids text[])
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_cutoff timestamptz;
begin
  perform maintenance_check_args(greatest(coalesce(cardinality(p_ids), 0), 1), p_hours, 'p_hours');
  if not imports_part_bound('temp_uploads') or coalesce(cardinality(p_ids), 0) = 0 then
    return query select 0, 0::bigint, '{}'::text[];
    return;
  end if;
  v_cutoff := p_now - make_interval(hours => p_hours);
  return query
    with gone as (
      delete from import_temp_uploads t
       where t.id = any (cast_keys((null::import_temp_uploads).id, p_ids)) and t.created_at < v_cutoff
      returning t.id, t.size_bytes
    ), forgotten as (
      delete from temp_upload_attempts a
       where a.upload_key in (select g.id::text from gone g)
    )
    select count(*)::integer, coalesce(sum(g.size_bytes), 0)::bigint, coalesce(array_agg(g.id::text), '{}'::text[]) from gone g;
end;
$$;

-- Whether temp uploads are bound right now (the view exists and the binding names them); unlike
-- imports_part_bound, never raises: the alert and retention ask it on databases of every shape.
create or replace function cronwarden.temp_uploads_bound()
returns boolean
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  v jsonb;
begin
  if to_regclass('cronwarden.import_temp_uploads') is null then
    return false;
  end if;
  v := bound_setting('imports', 'temp_uploads');
  return v is not null and (v = 'true'::jsonb or jsonb_typeof(v) = 'object');
end;
$$;

-- 2c. Records one failed attempt for each of p_ids (temp upload keys as text; p_errors: the
-- reason of each, same order). A row that has now failed p_max_attempts times is set aside at
-- p_now with its reason. Answers how many attempts were recorded and the keys set aside now.
create or replace function cronwarden.temp_upload_record_failures(
  p_ids text[],
  p_errors text[],
  p_now timestamptz default now(),
  p_max_attempts integer default 3
) returns table (failures_recorded integer, set_aside_ids text[])
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_n integer;
  v_aside text[];
begin
  if p_max_attempts is null or p_max_attempts < 1 then
    raise exception 'p_max_attempts must be at least 1 (got %)', p_max_attempts using errcode = '22023';
  end if;
  if coalesce(cardinality(p_ids), 0) <> coalesce(cardinality(p_errors), 0) then
    raise exception 'p_ids and p_errors must have the same length' using errcode = '22023';
  end if;
  with failed as (
    select distinct on (f.id) f.id, left(f.err, 2000) as err
      from unnest(coalesce(p_ids, '{}'), coalesce(p_errors, '{}')) as f(id, err)
     where f.id is not null
     order by f.id
  ), counted as (
    insert into temp_upload_attempts as a (upload_key, attempts, last_attempt_at, last_error, set_aside_at, set_aside_reason)
    select f.id, 1, p_now, f.err,
           case when p_max_attempts <= 1 then p_now end,
           case when p_max_attempts <= 1 then format('1 failed attempt; last: %s', left(f.err, 500)) end
      from failed f
    on conflict (upload_key) do update
      set attempts = a.attempts + 1,
          last_attempt_at = excluded.last_attempt_at,
          last_error = excluded.last_error,
          set_aside_at = case when a.set_aside_at is not null then a.set_aside_at
                              when a.attempts + 1 >= p_max_attempts then p_now end,
          set_aside_reason = case when a.set_aside_at is not null then a.set_aside_reason
                                  when a.attempts + 1 >= p_max_attempts
                                  then format('%s failed attempts; last: %s', a.attempts + 1, left(excluded.last_error, 500)) end
    returning a.upload_key, a.set_aside_at
  )
  select count(*)::integer,
         coalesce(array_agg(c.upload_key order by c.upload_key) filter (where c.set_aside_at = p_now), '{}'::text[])
    into v_n, v_aside
    from counted c;
  return query select v_n, v_aside;
end;
$$;

-- Temp uploads set aside by maintenance whose row still exists (for the alert and the admin
-- page): how many, and the newest p_limit (at most 100) with their reasons. 0 when temp uploads
-- are not bound.
create or replace function cronwarden.temp_upload_set_aside(p_limit integer default 20)
returns table (set_aside_count bigint, samples jsonb)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  if not temp_uploads_bound() then
    return query select 0::bigint, '[]'::jsonb;
    return;
  end if;
  -- Dynamic: the view exists only once temp uploads are bound.
  return query execute $q$
    with aside as (
      select a.upload_key, a.set_aside_at, a.set_aside_reason, a.attempts, t.storage_path
        from cronwarden.temp_upload_attempts a
        join cronwarden.import_temp_uploads t on t.id::text = a.upload_key
       where a.set_aside_at is not null
    )
    select (select count(*) from aside),
           coalesce((select jsonb_agg(jsonb_build_object('upload_id', s.upload_key, 'storage_path', left(s.storage_path, 200),
                                                         'reason', s.set_aside_reason, 'set_aside_at', s.set_aside_at,
                                                         'attempts', s.attempts)
                                      order by s.set_aside_at desc, s.upload_key)
                       from (select * from aside x order by x.set_aside_at desc, x.upload_key limit $1) s), '[]'::jsonb)
  $q$ using least(greatest(coalesce(p_limit, 20), 1), 100);
end;
$$;

-- An operator's answer to a set-aside temp upload (after fixing its path): the next run reads it
-- again, with a fresh count of attempts.
create or replace function cronwarden.temp_upload_release(p_ids text[])
returns table (released integer)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_n integer;
begin
  delete from temp_upload_attempts a where a.upload_key = any (coalesce(p_ids, '{}'));
  get diagnostics v_n = row_count;
  return query select v_n;
end;
$$;

-- Retention: attempts of temp uploads whose row is gone (removed by the team, or by a run that
-- died between the delete and this bookkeeping), one batch. Every attempt when temp uploads are
-- not bound.
create or replace function cronwarden.prune_orphan_temp_upload_attempts(
  p_batch_size integer default 5000,
  p_dry_run boolean default false
) returns table (deleted_count bigint, has_more boolean)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_n bigint;
  v_orphans text := case when temp_uploads_bound()
    then 'select x.upload_key from cronwarden.temp_upload_attempts x
           where not exists (select 1 from cronwarden.import_temp_uploads t where t.id::text = x.upload_key)'
    else 'select x.upload_key from cronwarden.temp_upload_attempts x' end;
begin
  if p_batch_size is null or p_batch_size < 1 then
    raise exception 'p_batch_size must be at least 1' using errcode = '22023';
  end if;
  if p_dry_run then
    execute format('select count(*) from (%s) o', v_orphans) into v_n;
    return query select v_n, false;
    return;
  end if;
  execute format('delete from cronwarden.temp_upload_attempts a where a.upload_key = any(array(%s limit $1))', v_orphans)
    using p_batch_size;
  get diagnostics v_n = row_count;
  return query select v_n, v_n = p_batch_size;
end;
$$;

-- These functions change or reveal import data: only the server (the service role on Supabase,
-- the database owner elsewhere) may call them, never the public API roles.
do $$
declare
  v_fn text;
  v_functions text[] := array[
    'cronwarden.list_expired_temp_uploads(integer, integer, text, timestamptz)',
    'cronwarden.delete_temp_uploads(text[], integer, timestamptz)',
    'cronwarden.temp_uploads_bound()',
    'cronwarden.temp_upload_record_failures(text[], text[], timestamptz, integer)',
    'cronwarden.temp_upload_set_aside(integer)',
    'cronwarden.temp_upload_release(text[])',
    'cronwarden.prune_orphan_temp_upload_attempts(integer, boolean)'];
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

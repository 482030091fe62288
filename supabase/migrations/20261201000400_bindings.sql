-- Bindings: how each feature reaches the team's tables.
--
-- A binding (cronwarden.config.ts) names the team's table, columns and values for a feature. It
-- becomes simple views in this schema with our canonical column names (cronwarden.exports,
-- cronwarden.drafts, ...): PostgreSQL inlines them, so the team's indexes serve, and DELETE,
-- UPDATE and row locks pass through to the table. The feature's functions are written against
-- those views. The views are created by the app at start (PGlite, PostgreSQL) or by a migration
-- the team generates and pushes (Supabase: `npm run bindings -- --write-migration`); this file
-- creates only the bookkeeping and the catalog queries the start-up check uses.

-- What is applied, per feature: the hash of its binding (and of the catalog facts it was built
-- from), so the app applies a changed binding once and tells a stale one apart.
create table if not exists cronwarden.bindings (
  feature text primary key,
  spec_hash text not null,
  spec jsonb not null,
  applied_at timestamptz not null default now()
);

-- Every column of the team's tables that holds a storage path, with the condition under which a
-- row still needs its object: an object is removed only when no such row references it.
create table if not exists cronwarden.bound_storage_references (
  source text primary key,
  relation regclass not null,
  path_column name not null,
  -- the relation's key, so a job can leave out the rows it is cleaning up itself
  key_column name,
  -- SQL over the relation's own columns, written by the binding generator (never user text)
  live_condition text
);

-- Tables whose rows belong to a user beyond those a foreign key shows (found at deletion time from
-- the catalog), the tables to leave to the database, and the storage path column of each.
create table if not exists cronwarden.bound_user_tables (
  relation regclass primary key,
  user_column name not null,
  path_column name,
  -- declared: delete its rows; excluded: a foreign-key child the database handles (set null, ...)
  mode text not null check (mode in ('declared', 'excluded'))
);

-- Settings of a binding the feature functions read (which optional columns are bound, ...).
create table if not exists cronwarden.bound_settings (
  feature text not null,
  key text not null,
  value jsonb not null,
  primary key (feature, key)
);

create or replace function cronwarden.bound_setting(p_feature text, p_key text)
returns jsonb
language sql stable
set search_path = cronwarden, pg_temp
as $$ select s.value from bound_settings s where s.feature = p_feature and s.key = p_key; $$;

-- The columns of the given tables ('schema.table', names as stored, case-sensitive), for the
-- binding check: one row per column, or one row with found = false for a table that is missing.
create or replace function cronwarden.catalog_columns(p_tables text[])
returns table (
  table_name text,
  found boolean,
  relkind text,
  column_name text,
  data_type text,
  type_category text,
  enum_labels text[],
  not_null boolean,
  is_partitioned boolean
)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  with wanted as (
    select distinct t as name, split_part(t, '.', 1) as nsp, substr(t, length(split_part(t, '.', 1)) + 2) as rel
      from unnest(coalesce(p_tables, '{}'::text[])) t
  ),
  rels as (
    select w.name, c.oid, c.relkind::text as relkind
      from wanted w
      left join pg_namespace n on n.nspname = w.nsp
      left join pg_class c on c.relnamespace = n.oid and c.relname = w.rel and c.relkind in ('r', 'p', 'v', 'm', 'f')
  )
  select r.name, r.oid is not null, r.relkind,
         a.attname::text, format_type(a.atttypid, a.atttypmod), ty.typcategory::text,
         case when ty.typtype = 'e' then array(select e.enumlabel::text from pg_enum e where e.enumtypid = ty.oid order by e.enumsortorder) end,
         a.attnotnull, r.relkind = 'p'
    from rels r
    left join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
    left join pg_type ty on ty.oid = a.atttypid
   order by r.name, a.attnum;
$$;

-- Single-column foreign keys that reference p_table's p_column: the tables whose rows belong to
-- a row of p_table (user deletion), with what the database does on delete.
create or replace function cronwarden.catalog_foreign_keys(p_table text, p_column text)
returns table (child_table text, child_column text, on_delete text, validated boolean, constraint_name text)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select format('%s.%s', cn.nspname, cc.relname),
         ca.attname::text,
         case c.confdeltype when 'c' then 'cascade' when 'n' then 'set null' when 'd' then 'set default'
                            when 'r' then 'restrict' else 'no action' end,
         c.convalidated,
         c.conname::text
    from pg_constraint c
    join pg_class pc on pc.oid = c.confrelid
    join pg_namespace pn on pn.oid = pc.relnamespace
    join pg_attribute pa on pa.attrelid = c.confrelid and pa.attnum = c.confkey[1]
    join pg_class cc on cc.oid = c.conrelid
    join pg_namespace cn on cn.oid = cc.relnamespace
    join pg_attribute ca on ca.attrelid = c.conrelid and ca.attnum = c.conkey[1]
   where c.contype = 'f' and cardinality(c.conkey) = 1
     and format('%s.%s', pn.nspname, pc.relname) = p_table
     and pa.attname = p_column
   order by 1, 2;
$$;

-- Indexes of the given tables: their key columns (expressions as text) and partial predicate,
-- for the doctor's "the index this job needs" check.
create or replace function cronwarden.catalog_indexes(p_tables text[])
returns table (table_name text, index_name text, key_columns text[], predicate text, definition text)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select format('%s.%s', n.nspname, c.relname),
         ic.relname::text,
         array(select pg_get_indexdef(i.indexrelid, k, true) from generate_series(1, i.indnkeyatts) k),
         pg_get_expr(i.indpred, i.indrelid, true),
         pg_get_indexdef(i.indexrelid)
    from pg_index i
    join pg_class c on c.oid = i.indrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_class ic on ic.oid = i.indexrelid
   where format('%s.%s', n.nspname, c.relname) = any (coalesce(p_tables, '{}'::text[]))
   order by 1, 2;
$$;

-- What is applied, for the start-up check on every adapter (Supabase included): the recorded
-- hash per feature and whether the feature's main view exists.
create or replace function cronwarden.binding_state()
returns table (feature text, spec_hash text, applied_at timestamptz, views_present boolean)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select b.feature, b.spec_hash, b.applied_at,
         to_regclass('cronwarden.' || case b.feature when 'exports' then 'exports' when 'imports' then 'import_runs'
                                                     when 'drafts' then 'drafts' when 'userDeletion' then 'users' end) is not null
    from bindings b
   order by b.feature;
$$;

-- Keys travel between the app and SQL as text (a team's ids may be uuid, bigint, text, ...). This
-- turns them back into the type of a view's key column, so `where v.id = any(cast_keys(
-- (null::cronwarden.exports).id, p_ids))` uses the team's primary key index. A key that is not
-- of that type raises 22P02.
create or replace function cronwarden.cast_keys(p_like anyelement, p_keys text[])
returns anyarray
language plpgsql immutable
set search_path = cronwarden, pg_temp
as $$
declare
  v_out alias for $0;
begin
  execute format('select $1::%s[]', pg_typeof(p_like)) into v_out using coalesce(p_keys, '{}'::text[]);
  return v_out;
end;
$$;

-- Which of p_paths a live row of a bound table still references (bound_storage_references),
-- leaving out the rows of p_exclude_source whose keys are p_exclude_keys: the rows a job is
-- cleaning up right now. An object is removed only when none does. One row per path that is in
-- use (with one source that uses it), so the answer is never larger than the question: PostgREST
-- cuts larger answers at max-rows, and a cut answer here would lose a reference.
create or replace function cronwarden.storage_paths_in_use(
  p_paths text[],
  p_exclude_source text default null,
  p_exclude_keys text[] default null
) returns table (storage_path text, source text)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
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
      case when r.source = p_exclude_source and r.key_column is not null
           then format('and not (x.%I::text = any($2))', r.key_column) else '' end)
      using p_paths, coalesce(p_exclude_keys, '{}'::text[])
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

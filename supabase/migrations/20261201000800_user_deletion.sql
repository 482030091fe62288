-- User deletion (DELETE /api/users/[userId]) and its monitors: our bookkeeping and the functions
-- behind the endpoint, over the users view and the registry of user-owned tables that the
-- userDeletion binding creates.
--
-- The userDeletion binding (cronwarden.config.ts, bindings.userDeletion) gives:
--   cronwarden.users (id, type, created_at)   a view over the team's users table
--   bound_settings ('userDeletion', ...)      table, id_column, type_column, created_at_column,
--                                             discover_foreign_keys
--   bound_user_tables                         declared children (user column, storage path column;
--                                             the bound exports table is one of them) and the
--                                             foreign-key children to leave to the database
--   bound_storage_references                  every column of a bound table that holds a path
-- The tables a user owns are found when a deletion runs (user_deletion_plan): every single-column
-- foreign key that references the users table's id, and recursively every foreign key that
-- references one of those tables (a child's children go first), plus the declared children,
-- minus the excluded ones. A table created or changed after the binding is therefore included.
--
-- Ids travel as text (a team's users may have uuid, bigint or text ids): the canonical text of
-- the typed id (`id::text`), turned back into the column's type in every comparison so the
-- team's indexes serve.

-- ---------------------------------------------------------------------------------------------
-- Our tables (a database that ran the first release has them from public, moved by ..0100)
-- ---------------------------------------------------------------------------------------------

-- The audit trail of every deletion attempt: action 'USER_DELETION', target_type 'user'. Our own
-- table: a team's public.audit_logs is never read or written.
create table if not exists cronwarden.audit_logs (
  id uuid primary key default gen_random_uuid(),
  action text not null,
  actor text not null,
  target_type text not null,
  target_id text,
  status text not null check (status in ('success', 'failure')),
  duration_ms bigint check (duration_ms is null or duration_ms >= 0),
  error_type text,
  error_message text,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  constraint audit_logs_failure_has_type check (status = 'success' or error_type is not null)
);
alter table cronwarden.audit_logs alter column duration_ms type bigint;
create index if not exists audit_logs_action_created_idx on cronwarden.audit_logs (action, created_at);
create index if not exists audit_logs_target_idx on cronwarden.audit_logs (target_type, target_id, action);
create index if not exists audit_logs_failures_idx on cronwarden.audit_logs (action, error_type, created_at) where status = 'failure';

-- One row per deleted user, whatever deleted it (the endpoint or a manual DELETE), written by a
-- trigger on the users table when the team installs it (the demo app does; the doctor prints the
-- statement, see user_deletion_tracking): the validator compares it with the audit trail. No
-- e-mail: the person is gone.
create table if not exists cronwarden.deleted_users (
  id bigint generated always as identity primary key,
  user_id text not null,
  user_type text,
  user_created_at timestamptz,
  deleted_at timestamptz not null default now()
);
-- Moved from the first release: its ids were uuids, a team's may be anything.
alter table cronwarden.deleted_users alter column user_id type text using user_id::text;
alter table cronwarden.deleted_users alter column user_type drop not null;
create index if not exists deleted_users_user_id_idx on cronwarden.deleted_users (user_id);
create index if not exists deleted_users_deleted_at_idx on cronwarden.deleted_users (deleted_at);

-- A claim per user being deleted, committed before the deletion starts, so a second request for
-- the same user is refused (409) on every engine: advisory locks and row locks mean nothing when
-- all clients share one backend (PGlite). A claim left by a dead process expires.
create table if not exists cronwarden.user_deletions_in_progress (
  user_id text primary key,
  attempt_id uuid not null,
  actor text not null,
  started_at timestamptz not null,
  expires_at timestamptz not null
);
alter table cronwarden.user_deletions_in_progress alter column user_id type text using user_id::text;

-- The outbox of stored objects to remove. A deletion records the paths of the rows it deletes
-- here in its own transaction (reference_id: the attempt), then removes the objects after the
-- commit; an entry leaves only once its object is confirmed gone (or a live row still needs it,
-- or it lies under the archive prefix: then the object is kept). A crash at any point therefore
-- leaves every path either removed or queued. An attempt's entries are due for the
-- storage-cleanup-retry job when its claim would have expired (a live attempt removes its own),
-- failed removals at once, then with backoff.
create table if not exists cronwarden.storage_cleanup_queue (
  id bigint generated always as identity primary key,
  storage_path text not null,
  source text not null,
  reference_id text,
  attempts bigint not null default 0,
  last_error text,
  created_at timestamptz not null default now(),
  next_attempt_at timestamptz not null default now(),
  last_attempt_at timestamptz
);
alter table cronwarden.storage_cleanup_queue alter column attempts type bigint;
create unique index if not exists storage_cleanup_queue_path_key on cronwarden.storage_cleanup_queue (storage_path);
create index if not exists storage_cleanup_queue_due_idx on cronwarden.storage_cleanup_queue (next_attempt_at, id);
create index if not exists storage_cleanup_queue_reference_idx on cronwarden.storage_cleanup_queue (reference_id, id);

-- ---------------------------------------------------------------------------------------------
-- Recording deletions
-- ---------------------------------------------------------------------------------------------

-- The trigger function. `execute function cronwarden.users_record_deletion('id', 'type',
-- 'created_at')` names the users table's id, type and creation columns ('' for none); without
-- arguments the bound columns are used. A creation time without time zone is read as UTC.
-- Security definer: whoever deletes a user (an API role on Supabase) may not write our schema.
create or replace function cronwarden.users_record_deletion() returns trigger
language plpgsql
security definer
set search_path = cronwarden, pg_temp
as $$
declare
  v jsonb := to_jsonb(old);
  v_id_col text := coalesce(tg_argv[0], bound_setting('userDeletion', 'id_column') #>> '{}', 'id');
  v_type_col text := coalesce(tg_argv[1], bound_setting('userDeletion', 'type_column') #>> '{}', 'type');
  v_created_col text := coalesce(tg_argv[2], bound_setting('userDeletion', 'created_at_column') #>> '{}', 'created_at');
  v_created text;
begin
  v_created := nullif(v, '{}'::jsonb) ->> nullif(v_created_col, '');
  insert into deleted_users (user_id, user_type, user_created_at)
  values (
    v ->> v_id_col,
    v ->> nullif(v_type_col, ''),
    case when v_created is null then null
         when v_created ~ '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' then v_created::timestamptz
         else v_created::timestamp at time zone 'UTC' end);
  return old;
end;
$$;

-- The bound users table (bound_settings 'userDeletion'.'table', 'schema.table' as written).
-- Raises 55000 when user deletion is not bound.
create or replace function cronwarden.users_relation() returns regclass
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  v_name text := bound_setting('userDeletion', 'table') #>> '{}';
  v_rel regclass;
begin
  if v_name is not null then
    v_rel := to_regclass(format('%I.%I', split_part(v_name, '.', 1), substr(v_name, length(split_part(v_name, '.', 1)) + 2)));
  end if;
  if v_rel is null then
    raise exception 'user deletion is not bound to a users table (bindings.userDeletion in cronwarden.config.ts)' using errcode = '55000';
  end if;
  return v_rel;
end;
$$;

-- Whether deletions of the bound users table are recorded in deleted_users (a trigger calls
-- users_record_deletion), and the statement that installs that trigger.
create or replace function cronwarden.user_deletion_tracking()
returns table (tracked boolean, users_table text, trigger_statement text)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  v_rel regclass := users_relation();
begin
  return query
    select exists (select 1 from pg_trigger t
                    where t.tgrelid = v_rel and not t.tgisinternal and t.tgenabled <> 'D'
                      and t.tgfoid = 'cronwarden.users_record_deletion()'::regprocedure),
           format('%s.%s', n.nspname, c.relname),
           format('create trigger cronwarden_record_deletion after delete on %I.%I for each row execute function cronwarden.users_record_deletion(%L, %L, %L);',
                  n.nspname, c.relname,
                  coalesce(bound_setting('userDeletion', 'id_column') #>> '{}', 'id'),
                  coalesce(bound_setting('userDeletion', 'type_column') #>> '{}', ''),
                  coalesce(bound_setting('userDeletion', 'created_at_column') #>> '{}', ''))
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.oid = v_rel;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- The tables a user owns
-- ---------------------------------------------------------------------------------------------

-- Every table holding rows of a user, read from the catalog now. One row per way to reach rows:
--   depth 1: a single-column foreign key that references the users table's id, or a declared
--            child (bound_user_tables, mode 'declared'); selector: `t1.<col> = $1::<type>`
--   depth n: a single-column foreign key that references a table of depth n - 1 whose rows the
--            deletion removes (not one the database sets to null); selector: its key in the rows
--            of the parent
-- Excluded tables are left out at every depth; a table already on the path from the users table
-- is not entered again (cycles, self references), and the walk stops at depth 8.
-- action: 'delete' (deleted by the function, deepest first: no cascade, a declared child, or a
-- table whose rows own stored objects) or 'count' (the database cascades or sets null; counted
-- before). table_key: the table's name without schema and without a 'user_' prefix
-- (user_sessions: sessions), qualified with the schema when two tables would share it.
create or replace function cronwarden.user_deletion_plan()
returns table (
  depth integer,
  relation regclass,
  table_name text,
  table_key text,
  user_column text,
  column_type text,
  parent_table text,
  parent_column text,
  on_delete text,
  action text,
  path_column text,
  constraint_name text,
  validated boolean,
  selector text
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_users regclass := users_relation();
  v_id_col text := coalesce(bound_setting('userDeletion', 'id_column') #>> '{}', 'id');
  v_discover boolean := coalesce((bound_setting('userDeletion', 'discover_foreign_keys') #>> '{}')::boolean, true);
begin
  return query
  with recursive
  excluded as (
    select b.relation::oid as rel from bound_user_tables b where b.mode = 'excluded'
  ),
  fks as materialized (
    select c.conname::text collate "default" as conname, c.conrelid as child, ca.attname::text collate "default" as child_col,
           format_type(ca.atttypid, ca.atttypmod) as child_type,
           c.confrelid as parent, pa.attname::text collate "default" as parent_col,
           case c.confdeltype when 'c' then 'cascade' when 'n' then 'set null' when 'd' then 'set default'
                              when 'r' then 'restrict' else 'no action' end as on_delete,
           c.convalidated as validated
      from pg_constraint c
      join pg_attribute ca on ca.attrelid = c.conrelid and ca.attnum = c.conkey[1]
      join pg_attribute pa on pa.attrelid = c.confrelid and pa.attnum = c.confkey[1]
     where c.contype = 'f' and cardinality(c.conkey) = 1 and c.conparentid = 0
       and v_discover
       and c.conrelid not in (select e.rel from excluded e)
  ),
  declared as (
    select b.relation::oid as rel, b.user_column::text collate "default" as col, b.path_column::text collate "default" as path_col,
           format_type(a.atttypid, a.atttypmod) as col_type
      from bound_user_tables b
      join pg_attribute a on a.attrelid = b.relation and a.attname = b.user_column and not a.attisdropped
     where b.mode = 'declared'
  ),
  roots as (
    select f.child as rel, f.child_col as col, f.child_type as col_type, f.on_delete, f.conname, f.validated
      from fks f
     where f.parent = v_users and f.parent_col = v_id_col
    union all
    select d.rel, d.col, d.col_type, 'declared', null::text, null::boolean
      from declared d
     where not exists (select 1 from fks f where f.parent = v_users and f.parent_col = v_id_col
                                             and f.child = d.rel and f.child_col = d.col)
  ),
  tree as (
    select 1 as depth, r.rel, r.col, r.col_type, null::oid as parent, null::text as parent_col,
           r.on_delete, r.conname, r.validated,
           array[v_users::oid, r.rel] as path,
           format('t1.%I = $1::%s', r.col, r.col_type) as selector
      from roots r
     where r.rel <> v_users::oid
    union all
    select t.depth + 1, f.child, f.child_col, f.child_type, t.rel, f.parent_col,
           f.on_delete, f.conname, f.validated,
           t.path || f.child,
           format('t%s.%I in (select t%s.%I from %s t%s where %s)',
                  t.depth + 1, f.child_col, t.depth, f.parent_col, t.rel::regclass, t.depth, t.selector)
      from tree t
      join fks f on f.parent = t.rel
     where t.on_delete not in ('set null', 'set default')
       and f.child <> all (t.path)
       and t.depth < 8
  ),
  named as (
    select t.*, n.nspname::text as nsp, c.relname::text as relname,
           case when c.relname ~ '^user_.' then substr(c.relname, 6) else c.relname::text end as short,
           (select d.path_col from declared d where d.rel = t.rel and d.path_col is not null order by d.col limit 1) as path_col,
           pn.nspname::text as parent_nsp, pc.relname::text as parent_relname
      from tree t
      join pg_class c on c.oid = t.rel
      join pg_namespace n on n.oid = c.relnamespace
      left join pg_class pc on pc.oid = t.parent
      left join pg_namespace pn on pn.oid = pc.relnamespace
  )
  select x.depth, x.rel::regclass, format('%s.%s', x.nsp, x.relname),
         case when exists (select 1 from named y where y.short = x.short and y.rel <> x.rel) then format('%s.%s', x.nsp, x.relname) else x.short end,
         x.col, x.col_type,
         case when x.parent is null then null else format('%s.%s', x.parent_nsp, x.parent_relname) end,
         x.parent_col, x.on_delete,
         case when x.on_delete in ('set null', 'set default') then 'count'
              when x.on_delete = 'cascade' and x.path_col is null then 'count'
              else 'delete' end,
         case when x.on_delete in ('set null', 'set default') then null else x.path_col end,
         x.conname, x.validated, x.selector
    from named x
   order by x.depth, x.nsp, x.relname, x.col
   limit 500;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- The deletion
-- ---------------------------------------------------------------------------------------------

-- Checks the id against the type of the users table's id, then claims the user for this attempt.
-- id_valid = false: the id cannot be a value of that type (400; nothing is claimed). Otherwise
-- user_id is the id's canonical text and: acquired = false with user_exists = true: another live
-- attempt holds the claim (409); user_exists = false: no such user (404), and no claim is kept.
create or replace function cronwarden.user_deletion_begin(
  p_user_id text,
  p_attempt_id uuid,
  p_actor text,
  p_ttl_seconds integer default 300,
  p_now timestamptz default now()
) returns table (
  id_valid boolean,
  id_type text,
  user_id text,
  acquired boolean,
  user_exists boolean,
  user_type text,
  holder_attempt_id uuid,
  holder_started_at timestamptz
)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_type_name text := pg_typeof((null::users).id)::text;
  v_id text;
  v_got uuid;
  v_found boolean;
  v_type text;
begin
  begin
    v_id := (cast_keys((null::users).id, array[p_user_id]))[1]::text;
  exception when data_exception then
    v_id := null;
  end;
  if v_id is null then
    return query select false, v_type_name, null::text, false, false, null::text, null::uuid, null::timestamptz;
    return;
  end if;

  insert into user_deletions_in_progress as c (user_id, attempt_id, actor, started_at, expires_at)
  values (v_id, p_attempt_id, p_actor, p_now, p_now + make_interval(secs => p_ttl_seconds))
  on conflict (user_id) do update
    set attempt_id = excluded.attempt_id, actor = excluded.actor,
        started_at = excluded.started_at, expires_at = excluded.expires_at
    where c.expires_at <= p_now
  returning c.attempt_id into v_got;

  select true, u.type into v_found, v_type from users u where u.id = any (cast_keys((null::users).id, array[v_id]));
  v_found := coalesce(v_found, false);

  if v_got is null then
    return query
      select true, v_type_name, v_id, false, v_found, v_type, c.attempt_id, c.started_at
        from user_deletions_in_progress c where c.user_id = v_id;
    return;
  end if;
  if not v_found then
    delete from user_deletions_in_progress c where c.user_id = v_id and c.attempt_id = p_attempt_id;
    return query select true, v_type_name, v_id, false, false, null::text, null::uuid, null::timestamptz;
    return;
  end if;
  return query select true, v_type_name, v_id, true, true, v_type, p_attempt_id, p_now;
end;
$$;

-- Deletes one user and everything that belongs to it in ONE transaction (this call is one
-- statement): the rows of every table of user_deletion_plan() that the database does not
-- cascade, deepest first (dynamic SQL, the id cast to each column's type), then the user
-- (cascades and set-nulls are counted before), the user id set to null in export metrics (the
-- counts stay), the success audit row. The storage paths of the deleted rows are written to
-- storage_cleanup_queue in this same transaction (reference_id: the attempt); the caller pages
-- them with storage_cleanup_page and removes them after the commit. Anything that fails rolls
-- all of it back.
--
-- deleted: rows per table (table_key of the plan: {"dispatches": 2, "sessions": 1, ...}).
-- storage_objects: paths queued. Raises P0002 for an unknown user, 22P02 for an id that is not
-- of the users id type, 23503 when a row the plan does not reach still references the user.
--
-- p_statement_timeout_ms is a deadline checked between the steps (and used as lock_timeout):
-- a SET statement_timeout inside a function does not apply to the running statement on
-- PostgreSQL, and PGlite has no statement timer at all. An overrun raises SQLSTATE 57014,
-- the same code a server-side statement_timeout gives, so callers handle one case.
create or replace function cronwarden.delete_user_cascade(
  p_user_id text,
  p_actor text,
  p_statement_timeout_ms integer default null,
  p_attempt_id uuid default null,
  p_elapsed_ms bigint default 0,
  p_now timestamptz default now()
) returns table (
  user_id text,
  user_type text,
  deleted jsonb,
  storage_objects integer,
  storage_reference_id text,
  audit_id uuid,
  db_duration_ms bigint
)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_started timestamptz := clock_timestamp();
  v_deadline timestamptz;
  v_id text;
  v_type text;
  v_reference text := coalesce(p_attempt_id, gen_random_uuid())::text;
  v_due timestamptz;
  v_deleted jsonb := '{}'::jsonb;
  v_paths integer := 0;
  v_n bigint;
  v_q bigint;
  v_audit uuid := gen_random_uuid();
  v_db_ms bigint;
  v_metrics_type text;
  r record;
  v_timeout_msg text := format('canceling statement due to statement timeout (user deletion over %s ms)', p_statement_timeout_ms);
begin
  if p_statement_timeout_ms is not null then
    if p_statement_timeout_ms <= 0 then
      raise exception 'p_statement_timeout_ms must be positive' using errcode = '22023';
    end if;
    v_deadline := v_started + make_interval(secs => p_statement_timeout_ms / 1000.0);
    perform set_config('lock_timeout', p_statement_timeout_ms || 'ms', true);
  end if;

  select u.id::text, u.type into v_id, v_type
    from users u where u.id = any (cast_keys((null::users).id, array[p_user_id]))
     for update;
  if not found then
    raise exception 'user % not found', p_user_id using errcode = 'P0002';
  end if;

  -- The attempt removes its own objects; they are due for the retry job when its claim would
  -- have expired (the process died), not before.
  select c.expires_at into v_due from user_deletions_in_progress c
   where c.user_id = v_id and c.attempt_id = p_attempt_id;
  v_due := coalesce(v_due, p_now + interval '5 minutes');

  -- One reading of the plan: first what the database will cascade or set null, counted while
  -- the rows are still there; then the rest by hand, deepest first, recording the stored objects
  -- of what is deleted.
  for r in
    select * from user_deletion_plan() p
     order by p.action = 'delete', case when p.action = 'delete' then -p.depth else p.depth end, p.table_name, p.user_column
  loop
    if r.action = 'count' then
      execute format('select count(*) from %s t%s where %s', r.relation, r.depth, r.selector) into v_n using v_id;
    elsif r.path_column is not null then
      execute format(
        $q$
        with d as (delete from %1$s t%2$s where %3$s returning t%2$s.%4$I::text as p),
        q as (
          insert into storage_cleanup_queue as sq (storage_path, source, reference_id, created_at, next_attempt_at)
          select distinct d.p, 'user_deletion'::text, $2, $3, $4 from d where d.p is not null and d.p <> ''
          on conflict (storage_path) do update
            set source = excluded.source, reference_id = excluded.reference_id,
                next_attempt_at = excluded.next_attempt_at, last_error = null
          returning 1)
        select (select count(*) from d), (select count(*) from q)
        $q$, r.relation, r.depth, r.selector, r.path_column)
        into v_n, v_q using v_id, v_reference, p_now, v_due;
      v_paths := v_paths + v_q;
    else
      execute format('delete from %s t%s where %s', r.relation, r.depth, r.selector) using v_id;
      get diagnostics v_n = row_count;
    end if;
    v_deleted := jsonb_set(v_deleted, array[r.table_key], to_jsonb(coalesce((v_deleted ->> r.table_key)::bigint, 0) + v_n));
    if clock_timestamp() > v_deadline then raise exception '%', v_timeout_msg using errcode = '57014'; end if;
  end loop;

  delete from users u where u.id = any (cast_keys((null::users).id, array[v_id]));
  if clock_timestamp() > v_deadline then raise exception '%', v_timeout_msg using errcode = '57014'; end if;

  -- Export metrics keep their counts, not the person (the table belongs to export operations).
  if to_regclass('cronwarden.export_metrics') is not null then
    select format_type(a.atttypid, a.atttypmod) into v_metrics_type
      from pg_attribute a
     where a.attrelid = 'cronwarden.export_metrics'::regclass and a.attname = 'user_id' and not a.attisdropped;
    if v_metrics_type in ('text', 'character varying') then
      update export_metrics m set user_id = null where m.user_id = v_id;
    elsif v_metrics_type is not null then
      begin
        execute format('update cronwarden.export_metrics m set user_id = null where m.user_id = $1::%s', v_metrics_type) using v_id;
      exception when data_exception then
        null; -- an id of another type cannot be in that column
      end;
    end if;
  end if;

  delete from user_deletions_in_progress c
   where c.user_id = v_id and (p_attempt_id is null or c.attempt_id = p_attempt_id);

  v_db_ms := ceil(extract(epoch from (clock_timestamp() - v_started)) * 1000)::bigint;
  insert into audit_logs (id, action, actor, target_type, target_id, status, duration_ms, details, created_at)
  values (
    v_audit, 'USER_DELETION', p_actor, 'user', v_id, 'success',
    greatest(coalesce(p_elapsed_ms, 0), 0) + v_db_ms,
    jsonb_build_object(
      'user_type', v_type,
      'attempt_id', p_attempt_id,
      'db_duration_ms', v_db_ms,
      'deleted', v_deleted,
      'storage_objects', v_paths),
    p_now);

  return query select v_id, v_type, v_deleted, v_paths, v_reference, v_audit, v_db_ms;
end;
$$;

-- A failed attempt's audit row (written outside the rolled-back transaction), releasing the
-- attempt's claim if it holds one.
create or replace function cronwarden.record_user_deletion_audit(
  p_target_id text,
  p_actor text,
  p_status text,
  p_error_type text default null,
  p_error_message text default null,
  p_duration_ms bigint default null,
  p_details jsonb default '{}'::jsonb,
  p_attempt_id uuid default null,
  p_now timestamptz default now()
) returns table (audit_id uuid, claim_released boolean)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_id uuid := gen_random_uuid();
  v_released boolean := false;
begin
  if p_status not in ('success', 'failure') then
    raise exception 'invalid audit status %', p_status using errcode = '22023';
  end if;
  insert into audit_logs (id, action, actor, target_type, target_id, status, duration_ms, error_type, error_message, details, created_at)
  values (v_id, 'USER_DELETION', p_actor, 'user', left(p_target_id, 255), p_status, p_duration_ms,
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
create or replace function cronwarden.user_deletion_audit_complete(
  p_audit_id uuid,
  p_duration_ms bigint,
  p_details jsonb default '{}'::jsonb
) returns table (audit_id uuid, duration_ms bigint)
language sql
set search_path = cronwarden, pg_temp
as $$
  update audit_logs a
     set duration_ms = greatest(a.duration_ms, p_duration_ms),
         details = a.details || coalesce(p_details, '{}'::jsonb)
   where a.id = p_audit_id
  returning a.id, a.duration_ms;
$$;

-- ---------------------------------------------------------------------------------------------
-- Storage clean-up queue (the outbox)
-- ---------------------------------------------------------------------------------------------

-- Paths whose removal failed elsewhere, due at once. A path already queued keeps its entry.
create or replace function cronwarden.storage_cleanup_enqueue(
  p_paths text[],
  p_errors text[] default null,
  p_source text default 'user_deletion',
  p_reference_id text default null,
  p_now timestamptz default now()
) returns table (queued integer)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_n integer;
begin
  insert into storage_cleanup_queue as q (storage_path, source, reference_id, last_error, created_at, next_attempt_at)
  select distinct on (p.path) p.path, p_source, p_reference_id, left(p_errors[p.ord::integer], 1000), p_now, p_now
    from unnest(p_paths) with ordinality as p(path, ord)
   where p.path is not null
   order by p.path, p.ord
  on conflict (storage_path) do update
    set last_error = coalesce(excluded.last_error, q.last_error), reference_id = coalesce(excluded.reference_id, q.reference_id);
  get diagnostics v_n = row_count;
  return query select v_n;
end;
$$;

-- One page of an attempt's entries (reference_id), after p_after_id, at most 1000: the paths a
-- deletion removes after its commit.
create or replace function cronwarden.storage_cleanup_page(
  p_reference_id text,
  p_after_id bigint default 0,
  p_limit integer default 1000
) returns table (id bigint, storage_path text)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select q.id, q.storage_path
    from storage_cleanup_queue q
   where q.reference_id = p_reference_id and q.id > coalesce(p_after_id, 0)
   order by q.id
   limit least(greatest(coalesce(p_limit, 1000), 1), 1000);
$$;

-- Due entries after p_after_id (oldest first), at most p_limit (never more than 1000).
create or replace function cronwarden.storage_cleanup_due(
  p_limit integer default 500,
  p_after_id bigint default 0,
  p_now timestamptz default now()
) returns table (id bigint, storage_path text, source text, attempts bigint)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select q.id, q.storage_path, q.source, q.attempts
    from storage_cleanup_queue q
   where q.next_attempt_at <= p_now and q.id > coalesce(p_after_id, 0)
   order by q.id
   limit least(greatest(coalesce(p_limit, 500), 1), 1000);
$$;

-- Removes the entries that are done (object gone, or kept on purpose); reschedules the failed
-- ones: with p_count_attempt, as a retry (attempts + 1, exponential backoff: 30 min, 1 h, 2 h,
-- ... capped at 24 h); without, as a first failure right after a deletion (due at once).
create or replace function cronwarden.storage_cleanup_resolve(
  p_done_ids bigint[],
  p_failed_ids bigint[] default '{}',
  p_failed_errors text[] default '{}',
  p_now timestamptz default now(),
  p_count_attempt boolean default true
) returns table (deleted_count integer, rescheduled_count integer)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_deleted integer;
  v_rescheduled integer;
begin
  delete from storage_cleanup_queue q where q.id = any (coalesce(p_done_ids, '{}'));
  get diagnostics v_deleted = row_count;
  update storage_cleanup_queue q
     set attempts = q.attempts + case when p_count_attempt then 1 else 0 end,
         last_error = left(f.err, 1000),
         last_attempt_at = p_now,
         next_attempt_at = case when p_count_attempt
                                then p_now + make_interval(mins => least(24 * 60, 15 * power(2, least(q.attempts + 1, 10))::integer))
                                else p_now end
    from unnest(coalesce(p_failed_ids, '{}'), coalesce(p_failed_errors, '{}')) as f(id, err)
   where q.id = f.id;
  get diagnostics v_rescheduled = row_count;
  return query select v_deleted, v_rescheduled;
end;
$$;

create or replace function cronwarden.storage_cleanup_stats(p_now timestamptz default now())
returns table (pending integer, due integer, max_attempts bigint, oldest_created_at timestamptz)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select count(*)::integer,
         (count(*) filter (where q.next_attempt_at <= p_now))::integer,
         coalesce(max(q.attempts), 0)::bigint,
         min(q.created_at)
    from storage_cleanup_queue q;
$$;

-- ---------------------------------------------------------------------------------------------
-- Monitoring: live figures (immediate monitor, admin endpoint, alert rules, gauges)
-- ---------------------------------------------------------------------------------------------
-- A 404 (error_type 'not_found': no such user) is an attempt but not a deletion: it is counted
-- in total_attempts and not_found, never in total_deletions, failed_deletions, the error rate or
-- the latency figures.

-- Attempts in (p_now - p_minutes, p_now].
create or replace function cronwarden.user_deletion_stats(
  p_minutes integer default 60,
  p_now timestamptz default now()
) returns table (
  window_minutes integer,
  window_start timestamptz,
  window_end timestamptz,
  total_attempts integer,
  total_deletions integer,
  successful_deletions integer,
  failed_deletions integer,
  error_rate_percent double precision,
  avg_duration_ms double precision,
  p95_duration_ms double precision,
  max_duration_ms bigint,
  timeouts integer,
  not_found integer,
  conflicts integer,
  db_errors integer,
  last_attempt_at timestamptz
)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  with a as (
    select l.*, l.error_type is distinct from 'not_found' as is_deletion
      from audit_logs l
     where l.action = 'USER_DELETION'
       and l.created_at > p_now - make_interval(mins => p_minutes)
       and l.created_at <= p_now
  )
  select p_minutes,
         p_now - make_interval(mins => p_minutes),
         p_now,
         count(*)::integer,
         (count(*) filter (where a.is_deletion))::integer,
         (count(*) filter (where a.status = 'success'))::integer,
         (count(*) filter (where a.status = 'failure' and a.is_deletion))::integer,
         case when count(*) filter (where a.is_deletion) = 0 then 0
              else round(100.0 * count(*) filter (where a.status = 'failure' and a.is_deletion)
                         / count(*) filter (where a.is_deletion), 2)::double precision end,
         round(avg(a.duration_ms) filter (where a.is_deletion), 1)::double precision,
         round((percentile_cont(0.95) within group (order by a.duration_ms) filter (where a.is_deletion))::numeric, 1)::double precision,
         max(a.duration_ms) filter (where a.is_deletion),
         (count(*) filter (where a.error_type = 'timeout'))::integer,
         (count(*) filter (where a.error_type = 'not_found'))::integer,
         (count(*) filter (where a.error_type = 'conflict'))::integer,
         (count(*) filter (where a.error_type = 'db_error'))::integer,
         max(a.created_at)
    from a;
$$;

-- One row per clock hour (UTC) for the last p_hours hours, oldest first, zero-filled; the last
-- bucket is the current, partial hour (up to p_now). total and failed leave out the 404s.
create or replace function cronwarden.user_deletion_error_rate_series(
  p_hours integer default 24,
  p_now timestamptz default now()
) returns table (
  hour_start timestamptz,
  total integer,
  failed integer,
  error_rate_percent double precision,
  timeouts integer,
  p95_duration_ms double precision,
  not_found integer
)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  with buckets as (
    select date_trunc('hour', p_now at time zone 'UTC') at time zone 'UTC' - make_interval(hours => n) as h
      from generate_series(0, least(greatest(p_hours, 1), 24 * 31) - 1) as n
  ),
  a as (
    select l.id, l.status, l.error_type, l.duration_ms, l.created_at,
           l.error_type is distinct from 'not_found' as is_deletion
      from audit_logs l
     where l.action = 'USER_DELETION'
       and l.created_at >= date_trunc('hour', p_now at time zone 'UTC') at time zone 'UTC' - make_interval(hours => least(greatest(p_hours, 1), 24 * 31) - 1)
       and l.created_at <= p_now
  )
  select b.h,
         (count(a.id) filter (where a.is_deletion))::integer,
         (count(a.id) filter (where a.status = 'failure' and a.is_deletion))::integer,
         case when count(a.id) filter (where a.is_deletion) = 0 then 0
              else round(100.0 * count(a.id) filter (where a.status = 'failure' and a.is_deletion)
                         / count(a.id) filter (where a.is_deletion), 2)::double precision end,
         (count(a.id) filter (where a.error_type = 'timeout'))::integer,
         round((percentile_cont(0.95) within group (order by a.duration_ms) filter (where a.is_deletion))::numeric, 1)::double precision,
         (count(a.id) filter (where a.error_type = 'not_found'))::integer
    from buckets b
    left join a on a.created_at >= b.h and a.created_at < b.h + interval '1 hour'
   group by b.h
   order by b.h;
$$;

-- ---------------------------------------------------------------------------------------------
-- Reports (usage patterns, long-term): one slice of time per call, merged in TypeScript
-- ---------------------------------------------------------------------------------------------

-- Attempts in [p_from, p_to) grouped by UTC hour of day, ISO weekday (1 = Monday), user type,
-- outcome and failure class (at most 24 * 7 * types * outcomes rows per slice).
create or replace function cronwarden.user_deletion_usage_slice(
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
language sql stable
set search_path = cronwarden, pg_temp
as $$
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
-- (percentile_cont, linear interpolation) and the busiest clock hour / day (UTC).
create or replace function cronwarden.user_deletion_period_stats(
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
  max_ms bigint,
  slow integer,
  max_attempts_in_an_hour integer,
  max_timeouts_in_an_hour integer,
  max_slow_in_a_day integer
)
language sql stable
set search_path = cronwarden, pg_temp
as $$
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

-- The tables the validator scans: the plan's first level (a user column compared with the users
-- table), what happens to their rows on deletion, and the planner's estimate of their size
-- (progress bars; never exact, never a scan). by_hand: the deletion deletes these rows itself
-- (no cascade, or a declared child), so only a deletion that bypassed it can leave orphans.
create or replace function cronwarden.user_integrity_targets()
returns table (table_name text, table_key text, user_column text, on_delete text, by_hand boolean, estimated_rows bigint)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  return query
    select p.table_name, p.table_key, p.user_column, p.on_delete,
           p.on_delete not in ('cascade', 'set null', 'set default'),
           greatest(c.reltuples, 0)::bigint
      from user_deletion_plan() p
      join pg_class c on c.oid = p.relation
     where p.depth = 1
     order by p.table_name, p.user_column;
end;
$$;

-- One keyset batch of a table of user_integrity_targets(): rows whose user no longer exists.
-- The key is the table's single-column primary key (its ctid when it has none); p_after and
-- last_key are its text. Raises 22023 for a table and column that are not a target.
create or replace function cronwarden.user_integrity_orphans_batch(
  p_table text,
  p_column text,
  p_after text default null,
  p_batch_size integer default 5000,
  p_sample_limit integer default 20
) returns table (scanned integer, orphan_count integer, samples jsonb, last_key text, has_more boolean)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  v_rel regclass;
  v_key text;
  v_key_type text;
begin
  select p.relation into v_rel from user_deletion_plan() p
   where p.depth = 1 and p.table_name = p_table and p.user_column = p_column
   limit 1;
  if v_rel is null then
    raise exception 'not a user-owned table and column: %.%', p_table, p_column using errcode = '22023';
  end if;
  select quote_ident(a.attname), format_type(a.atttypid, a.atttypmod) into v_key, v_key_type
    from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
   where i.indrelid = v_rel and i.indisprimary and i.indnkeyatts = 1;
  if v_key is null then
    v_key := 'ctid';
    v_key_type := 'tid';
  end if;
  return query execute format(
    $q$
    with batch as (
      select t.%1$s as k, t.%2$I as u from %3$s t
       where $1::%4$s is null or t.%1$s > $1::%4$s
       order by t.%1$s
       limit $2
    ),
    orphans as (
      select b.k, b.u from batch b
       where b.u is not null and not exists (select 1 from users x where x.id = b.u)
    )
    select (select count(*) from batch)::integer,
           (select count(*) from orphans)::integer,
           coalesce((select jsonb_agg(jsonb_build_object('id', o.k::text, 'user_id', o.u::text) order by o.k)
                       from (select * from orphans order by k limit $3) o), '[]'::jsonb),
           (select b.k::text from batch b order by b.k desc limit 1),
           (select count(*) from batch) = $2
    $q$, v_key, p_column, v_rel, v_key_type)
    using p_after, greatest(p_batch_size, 1), greatest(p_sample_limit, 0);
end;
$$;

-- Live orphan counts (for the alert rule): rows of the tables the deletion cleans by hand whose
-- user no longer exists, one row per table_key.
create or replace function cronwarden.user_orphan_counts()
returns table (table_name text, orphan_count integer)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  r record;
  v_n integer;
  v_counts jsonb := '{}'::jsonb;
begin
  for r in select * from user_deletion_plan() p where p.depth = 1 and p.on_delete not in ('cascade', 'set null', 'set default') loop
    execute format('select count(*)::integer from %s t where t.%I is not null and not exists (select 1 from users x where x.id = t.%I)',
                   r.relation, r.user_column, r.user_column)
      into v_n;
    v_counts := jsonb_set(v_counts, array[r.table_key], to_jsonb(coalesce((v_counts ->> r.table_key)::integer, 0) + v_n));
  end loop;
  return query select e.key, e.value::integer from jsonb_each_text(v_counts) e order by e.key;
end;
$$;

-- Every single-column foreign key that references the users table: whether it is validated and
-- enforced (its triggers enabled), and how many rows dangle (point at a user that does not exist).
create or replace function cronwarden.user_integrity_foreign_keys()
returns table (
  table_name text,
  column_name text,
  constraint_name text,
  on_delete text,
  validated boolean,
  enforced boolean,
  dangling_rows integer
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  v_users regclass := users_relation();
  r record;
  v_n integer;
begin
  for r in
    select c.oid, c.conname, c.conrelid, c.convalidated, c.confdeltype,
           format('%s.%s', cn.nspname, cc.relname) as child_name,
           (select a.attname from pg_attribute a where a.attrelid = c.conrelid and a.attnum = c.conkey[1]) as col,
           (select a.attname from pg_attribute a where a.attrelid = c.confrelid and a.attnum = c.confkey[1]) as refcol
      from pg_constraint c
      join pg_class cc on cc.oid = c.conrelid
      join pg_namespace cn on cn.oid = cc.relnamespace
     where c.contype = 'f' and c.confrelid = v_users and cardinality(c.conkey) = 1 and c.conparentid = 0
     order by 6, c.conname
  loop
    execute format(
      'select count(*)::integer from %s t where t.%I is not null and not exists (select 1 from %s u where u.%I = t.%I)',
      r.conrelid::regclass, r.col, v_users, r.refcol, r.col)
      into v_n;
    table_name := r.child_name;
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

-- Which of p_ids (canonical text ids) are users that exist. Ids that cannot be of the users id
-- type (written under another binding) are not users.
create or replace function cronwarden.users_existing(p_ids text[])
returns table (user_id text)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
declare
  v_id text;
begin
  begin
    return query select u.id::text from users u where u.id = any (cast_keys((null::users).id, p_ids));
    return;
  exception when data_exception then
    null; -- some ids do not fit the type: one at a time
  end;
  foreach v_id in array coalesce(p_ids, '{}'::text[]) loop
    begin
      return query select u.id::text from users u where u.id = any (cast_keys((null::users).id, array[v_id]));
    exception when data_exception then
      null;
    end;
  end loop;
end;
$$;

-- The audit trail against what happened. deletions_tracked: a trigger records deletions of the
-- users table in deleted_users (user_deletion_tracking); only then are deletions without a
-- success audit row (gaps) known, otherwise deletions_recorded and gap_count are 0. Also: success
-- rows that lack their duration or counts, and success rows whose user still exists.
create or replace function cronwarden.user_integrity_audit(p_sample_limit integer default 20)
returns table (
  deletions_tracked boolean,
  deletions_recorded integer,
  audited_deletions integer,
  gap_count integer,
  gap_user_ids text[],
  incomplete_count integer,
  incomplete_audit_ids uuid[],
  inconsistent_count integer,
  inconsistent_user_ids text[]
)
language plpgsql stable
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_tracked boolean := (select t.tracked from user_deletion_tracking() t);
  v_targets text[];
  v_present text[];
begin
  v_targets := array(select distinct a.target_id from audit_logs a
                      where a.action = 'USER_DELETION' and a.target_type = 'user' and a.status = 'success' and a.target_id is not null);
  v_present := array(select e.user_id from users_existing(v_targets) e order by e.user_id);
  return query
  with success as (
    select a.id, a.target_id, a.duration_ms, a.details from audit_logs a
     where a.action = 'USER_DELETION' and a.target_type = 'user' and a.status = 'success'
  ),
  gaps as (
    select distinct d.user_id from deleted_users d
     where v_tracked and not exists (select 1 from success s where s.target_id = d.user_id)
  ),
  incomplete as (
    select s.id from success s where s.duration_ms is null or not (s.details ? 'deleted')
  )
  select v_tracked,
         case when v_tracked then (select count(distinct d.user_id) from deleted_users d)::integer else 0 end,
         cardinality(v_targets),
         (select count(*) from gaps)::integer,
         coalesce((select array_agg(g.user_id order by g.user_id) from (select * from gaps order by user_id limit p_sample_limit) g), '{}'),
         (select count(*) from incomplete)::integer,
         coalesce((select array_agg(i.id order by i.id) from (select * from incomplete order by id limit p_sample_limit) i), '{}'),
         cardinality(v_present),
         v_present[1:greatest(p_sample_limit, 0)];
end;
$$;

-- Which of these storage paths no live row of a bound table references (objects left behind).
-- At most as many rows as paths given (callers pass at most 1000).
create or replace function cronwarden.user_uploads_unknown_paths(p_paths text[])
returns table (storage_path text)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select p.path from unnest(p_paths) as p(path)
   where not exists (select 1 from storage_paths_in_use(p_paths) s where s.storage_path = p.path)
   order by p.path;
$$;

-- Random audit of deletion completeness: for a sample of deleted users (deleted_users; at most
-- 1000), what is left of them: remaining rows per table_key of the plan's first level (the
-- set-null tables included: their user column should be null now), whether the user row exists,
-- and whether a success audit row records the deletion.
create or replace function cronwarden.user_deletion_completeness_sample(
  p_sample_size integer default 25,
  p_since timestamptz default null
) returns table (
  user_id text,
  deleted_at timestamptz,
  remaining jsonb,
  remaining_total bigint,
  user_exists boolean,
  has_success_audit boolean
)
language plpgsql volatile
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  s record;
  r record;
  v_n bigint;
  v_remaining jsonb;
begin
  for s in
    select d.user_id, max(d.deleted_at) as deleted_at from deleted_users d
     where p_since is null or d.deleted_at >= p_since
     group by d.user_id
     order by random()
     limit least(greatest(p_sample_size, 0), 1000)
  loop
    v_remaining := '{}'::jsonb;
    for r in select * from user_deletion_plan() p where p.depth = 1 loop
      begin
        execute format('select count(*) from %s t1 where %s', r.relation, r.selector) into v_n using s.user_id;
      exception when data_exception then
        v_n := 0; -- an id that cannot be in this column
      end;
      v_remaining := jsonb_set(v_remaining, array[r.table_key], to_jsonb(coalesce((v_remaining ->> r.table_key)::bigint, 0) + v_n));
    end loop;
    user_id := s.user_id;
    deleted_at := s.deleted_at;
    remaining := v_remaining;
    remaining_total := (select coalesce(sum(e.value::bigint), 0) from jsonb_each_text(v_remaining) e);
    user_exists := exists (select 1 from users_existing(array[s.user_id]));
    has_success_audit := exists (select 1 from audit_logs a where a.action = 'USER_DELETION' and a.status = 'success'
                                                          and a.target_type = 'user' and a.target_id = s.user_id);
    return next;
  end loop;
end;
$$;

-- For the server alone: PUBLIC may execute a new function unless revoked (a schema's default
-- privileges cannot take back that global default).
do $$
declare
  f regprocedure;
begin
  for f in
    select p.oid::regprocedure from pg_proc p
     where p.pronamespace = 'cronwarden'::regnamespace
       and p.proname = any (array[
         'users_record_deletion', 'users_relation', 'user_deletion_tracking', 'user_deletion_plan',
         'user_deletion_begin', 'delete_user_cascade', 'record_user_deletion_audit', 'user_deletion_audit_complete',
         'storage_cleanup_enqueue', 'storage_cleanup_page', 'storage_cleanup_due', 'storage_cleanup_resolve',
         'storage_cleanup_stats', 'user_deletion_stats', 'user_deletion_error_rate_series', 'user_deletion_usage_slice',
         'user_deletion_period_stats', 'user_integrity_targets', 'user_integrity_orphans_batch', 'user_orphan_counts',
         'user_integrity_foreign_keys', 'users_existing', 'user_integrity_audit', 'user_uploads_unknown_paths',
         'user_deletion_completeness_sample'])
  loop
    execute format('revoke all on function %s from public', f);
  end loop;
end;
$$;

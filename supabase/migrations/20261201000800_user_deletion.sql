-- User deletion (DELETE /api/users/[userId]) and its monitors: our bookkeeping and the functions
-- behind the endpoint, over the users view and the registry of user-owned tables that the
-- userDeletion binding creates.

-- One row per deleted user, whatever deleted it (the endpoint or a manual DELETE), written by a
-- trigger on the users table when the team installs it (the demo app does; the doctor prints the
-- statement): the validator compares it with the audit trail. No e-mail: the person is gone.
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

-- The trigger function: `execute function cronwarden.users_record_deletion('id', 'type', 'created_at')`
-- names the users table's id, type and creation columns (these are the defaults).
create or replace function cronwarden.users_record_deletion() returns trigger
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v jsonb := to_jsonb(old);
begin
  insert into deleted_users (user_id, user_type, user_created_at)
  values (v ->> coalesce(tg_argv[0], 'id'), v ->> coalesce(tg_argv[1], 'type'), (v ->> coalesce(tg_argv[2], 'created_at'))::timestamptz);
  return old;
end;
$$;

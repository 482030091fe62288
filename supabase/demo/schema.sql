-- The demo app: the domain tables of a small Next.js + Supabase product, as the seeds describe
-- it. They belong to the demo, not to Cronwarden: on the embedded default they are created (with
-- the rows of seed.sql) so the quick start shows every feature with data; on a server only when
-- asked (DEMO_APP=tables or DEMO_APP=data). Cronwarden reaches them through the default bindings,
-- exactly as it reaches a team's own tables. Every statement is safe to run again.

-- --- Export operations ---
create table if not exists export_logs (
  export_id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  format text not null check (format in ('json', 'jsonl', 'csv', 'markdown')),
  status text not null default 'queued'
    check (status in ('queued', 'processing', 'completed', 'failed', 'expired')),
  conversation_count integer not null default 0 check (conversation_count >= 0),
  file_path text,
  file_size_bytes bigint check (file_size_bytes is null or file_size_bytes >= 0),
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  expires_at timestamptz,
  error_type text,
  error_message text,
  expired_at timestamptz
);
-- File cleanup by expiry and by age: only completed rows are candidates.
create index if not exists export_logs_expires_idx on export_logs (expires_at) where status = 'completed';
create index if not exists export_logs_completed_at_idx on export_logs (completed_at) where status = 'completed';
-- Log retention: oldest first, a batch at a time.
create index if not exists export_logs_created_idx on export_logs (created_at);
create index if not exists export_logs_user_created_idx on export_logs (user_id, created_at);
create index if not exists export_logs_file_path_idx on export_logs (file_path);

-- --- Import maintenance ---
create table if not exists import_runs (
  id uuid primary key default gen_random_uuid(),
  status text not null default 'queued'
    check (status in ('queued', 'processing', 'completed', 'failed', 'cancelled')),
  source text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  -- The heartbeat: a worker processing the run bumps it as it makes progress.
  updated_at timestamptz not null default now(),
  finished_at timestamptz,
  error text
);
create index if not exists import_runs_processing_heartbeat_idx on import_runs (updated_at) where status = 'processing';
create index if not exists import_runs_failed_at_idx on import_runs ((coalesce(finished_at, updated_at))) where status = 'failed';

create table if not exists raw_import_items (
  id uuid primary key default gen_random_uuid(),
  run_id uuid not null references import_runs (id) on delete cascade,
  payload jsonb,
  created_at timestamptz not null default now()
);
create index if not exists raw_import_items_run_idx on raw_import_items (run_id);

create table if not exists temp_uploads (
  id uuid primary key default gen_random_uuid(),
  storage_path text not null,
  size_bytes bigint not null default 0 check (size_bytes >= 0),
  created_at timestamptz not null default now()
);
create index if not exists temp_uploads_created_idx on temp_uploads (created_at);
create index if not exists temp_uploads_path_idx on temp_uploads (storage_path);

create table if not exists import_jobs (
  id uuid primary key default gen_random_uuid(),
  run_id uuid references import_runs (id) on delete set null,
  status text not null default 'queued'
    check (status in ('queued', 'processing', 'completed', 'failed', 'cancelled')),
  payload jsonb,
  result jsonb,
  counts jsonb not null default '{}'::jsonb,
  error_summary text,
  compacted_at timestamptz,
  created_at timestamptz not null default now(),
  finished_at timestamptz
);
create index if not exists import_jobs_run_idx on import_jobs (run_id);
create index if not exists import_jobs_compaction_due_idx
  on import_jobs ((coalesce(finished_at, created_at)))
  where compacted_at is null and status in ('completed', 'failed', 'cancelled');

-- On Supabase the service role bypasses row level security; the public API roles see nothing.
alter table import_runs enable row level security;
alter table raw_import_items enable row level security;
alter table temp_uploads enable row level security;
alter table import_jobs enable row level security;

-- --- Draft cleanup ---
-- Every course starts life as a draft; a draft whose generation never started is unused.
create table if not exists organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  created_at timestamptz not null default now()
);

create table if not exists courses (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  title text not null default 'Untitled course',
  status text not null default 'draft' check (status in ('draft', 'published', 'archived')),
  generation_status text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  created_by uuid
);
create index if not exists courses_unused_draft_created_idx
  on courses (created_at) where status = 'draft' and generation_status is null;
create index if not exists courses_created_at_idx on courses (created_at);
create index if not exists courses_organization_idx on courses (organization_id);

-- --- User deletion ---
--   dispatches    user_id references users, no cascade: deleted by hand before the user.
--   addresses     user_id references users NOT VALID: legacy rows may point at missing users.
--   file_uploads  no foreign key (written by the upload pipeline); each row owns a stored object.
--   user_sessions, user_preferences   on delete cascade.
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

-- The demo app records every deleted user, whatever deleted it, so the integrity validator can
-- compare deletions with the audit trail (cronwarden.deleted_users; see docs/user-deletion.md
-- for the same trigger on your own users table).
drop trigger if exists users_record_deletion on users;
create trigger users_record_deletion after delete on users
  for each row execute function cronwarden.users_record_deletion('id', 'type', 'created_at');

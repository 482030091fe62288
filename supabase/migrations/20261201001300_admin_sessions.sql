-- Admin sign-in sessions kept on the server, so that sign-out and a change of ADMIN_PASSWORD end
-- them and nobody can set their own expiry. The cookie holds a random token; only its SHA-256
-- is stored. A session also remembers a fingerprint of the password it was opened with
-- (scrypt under this install's random salt): when ADMIN_PASSWORD changes, the fingerprint no
-- longer matches and the session ends. Nothing in the cookie depends on the password, so a
-- copied cookie cannot be used to guess it offline.

create table if not exists cronwarden.install_secrets (
  name text primary key,
  value text not null,
  created_at timestamptz not null default now()
);

create table if not exists cronwarden.admin_sessions (
  token_sha256 text primary key,
  password_fingerprint text not null,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  constraint admin_sessions_expiry_after_creation check (expires_at > created_at)
);
create index if not exists admin_sessions_expires_at_idx on cronwarden.admin_sessions (expires_at);

-- This install's random value `p_name`: the first caller's candidate is kept, later callers get it.
create or replace function cronwarden.install_secret(p_name text, p_candidate text)
returns table (value text)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
begin
  insert into cronwarden.install_secrets (name, value) values (p_name, p_candidate) on conflict (name) do nothing;
  return query select s.value from cronwarden.install_secrets s where s.name = p_name;
end;
$$;

-- Opens a session of p_ttl_seconds from p_now. Sessions that ended more than a day ago are
-- deleted here (the table's retention: it only grows with sign-ins).
create or replace function cronwarden.admin_session_open(
  p_token_sha256 text,
  p_password_fingerprint text,
  p_ttl_seconds integer,
  p_now timestamptz default now()
) returns table (expires_at timestamptz)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
begin
  if p_ttl_seconds is null or p_ttl_seconds < 1 then
    raise exception 'p_ttl_seconds must be at least 1' using errcode = '22023';
  end if;
  delete from cronwarden.admin_sessions s
   where coalesce(least(s.revoked_at, s.expires_at), s.expires_at) < p_now - interval '1 day';
  insert into cronwarden.admin_sessions (token_sha256, password_fingerprint, created_at, expires_at)
  values (p_token_sha256, p_password_fingerprint, p_now, p_now + make_interval(secs => p_ttl_seconds));
  return query select p_now + make_interval(secs => p_ttl_seconds);
end;
$$;

-- True while the session exists, is not revoked, is inside both its stored expiry and
-- p_max_ttl_seconds from its creation, and was opened with the current password. A session
-- opened with another password is revoked on the spot.
create or replace function cronwarden.admin_session_check(
  p_token_sha256 text,
  p_password_fingerprint text,
  p_max_ttl_seconds integer,
  p_now timestamptz default now()
) returns table (valid boolean)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  s cronwarden.admin_sessions;
begin
  select * into s from cronwarden.admin_sessions a where a.token_sha256 = p_token_sha256;
  if not found or s.revoked_at is not null then
    return query select false;
    return;
  end if;
  if s.password_fingerprint <> p_password_fingerprint then
    update cronwarden.admin_sessions a set revoked_at = p_now where a.token_sha256 = p_token_sha256;
    return query select false;
    return;
  end if;
  return query select p_now >= s.created_at
                  and p_now < s.expires_at
                  and p_now < s.created_at + make_interval(secs => p_max_ttl_seconds);
end;
$$;

-- Ends one session (sign-out). Returns how many were ended (0 or 1).
create or replace function cronwarden.admin_session_revoke(p_token_sha256 text, p_now timestamptz default now())
returns table (revoked_count bigint)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_n bigint;
begin
  update cronwarden.admin_sessions a set revoked_at = p_now
   where a.token_sha256 = p_token_sha256 and a.revoked_at is null;
  get diagnostics v_n = row_count;
  return query select v_n;
end;
$$;

revoke all on table cronwarden.install_secrets, cronwarden.admin_sessions from public;
revoke all on function cronwarden.install_secret(text, text) from public;
revoke all on function cronwarden.admin_session_open(text, text, integer, timestamptz) from public;
revoke all on function cronwarden.admin_session_check(text, text, integer, timestamptz) from public;
revoke all on function cronwarden.admin_session_revoke(text, timestamptz) from public;

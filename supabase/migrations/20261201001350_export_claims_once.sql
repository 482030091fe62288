-- Export file cleanup: a row claimed by a live run is never claimed again by a concurrent run.
--
-- The claim used to rest on FOR UPDATE SKIP LOCKED over the exports plus a NOT EXISTS over the
-- claims, both read in the statement's snapshot. A second run whose snapshot was taken before
-- the first run committed its claims, and whose scan reached the rows after that commit (their
-- row locks gone, the rows themselves unchanged, so nothing re-checks them), took the same rows:
-- its ON CONFLICT branch renewed the claim it could not see. Two runs then removed the same
-- objects (seen in CI: 10 remove calls for 8 paths). The claims table is now the arbiter: the
-- ON CONFLICT update happens only when the latest committed claim is set aside-free and timed
-- out, and a row whose claim was not taken or renewed by this statement is not returned.
create or replace function cronwarden.export_claim_expired_files(
  p_batch_size integer,
  p_claim_ttl_seconds integer default 900,
  p_retention_hours integer default null,
  p_now timestamptz default now()
) returns table (export_id text, file_path text, file_size_bytes bigint, attempts integer)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
begin
  if p_batch_size is null or p_batch_size < 1 or p_batch_size > 1000 then
    raise exception 'p_batch_size must be between 1 and 1000' using errcode = '22023';
  end if;
  return query
    with due as (
      select e.id::text as key, e.file_path, e.file_size_bytes
        from exports e
       where e.is_completed
         and (case when p_retention_hours is null then e.expires_at <= p_now
                   else coalesce(e.completed_at, e.created_at) <= p_now - make_interval(hours => p_retention_hours) end)
         and not exists (
           select 1 from export_file_claims c
            where c.export_key = e.id::text
              and (c.set_aside_at is not null or c.claimed_at > p_now - make_interval(secs => p_claim_ttl_seconds)))
       order by case when p_retention_hours is null then e.expires_at else coalesce(e.completed_at, e.created_at) end, e.id
       limit p_batch_size
       for update of e skip locked
    ),
    claimed as (
      insert into export_file_claims as c (export_key, claimed_at, attempts)
      select d.key, p_now, 1 from due d
      on conflict (export_key) do update set claimed_at = p_now, attempts = c.attempts + 1
        -- Evaluated on the latest committed claim, not on this statement's snapshot.
        where c.set_aside_at is null
          and c.claimed_at <= p_now - make_interval(secs => p_claim_ttl_seconds)
      returning c.export_key, c.attempts
    )
    select d.key, d.file_path, d.file_size_bytes, c.attempts
      from due d join claimed c on c.export_key = d.key
     order by d.key;
end;
$$;

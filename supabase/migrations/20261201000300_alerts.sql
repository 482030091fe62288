-- Alerting and run monitoring.
--
--   alerts               one row per alert episode; at most one active (pending or open) row per
--                        (rule_id, subject), enforced by a partial unique index
--   alert_silences       mute notifications for a rule (every subject, or one) until a time
--   alert_notifications  every delivery attempt per channel (bounded: alert_prune, 30 days)
--
-- Flapping: a condition that clears and holds again within the repeat interval is the same alert
-- (the resolved row is opened again), and its channels hear of it at most once per interval: a
-- resolve not yet sent is dropped when the alert fires again, a new trigger waits for the interval
-- since the last one, and a resolve is sent only if the last thing the channels heard was a
-- trigger or a repeat.
--
-- Notification rounds: an alert that owes a notification has notify_pending = true, the round's
-- kind (trigger, repeat, resolve) and its start (notify_since). A round is complete when every
-- configured channel has delivered (alert_notifications rows with ok = true since notify_since);
-- failed channels are retried at the next evaluation. The TypeScript engine sends, SQL decides
-- what is owed (alert_due_notifications) and records what happened (alert_record_notifications).

create table if not exists cronwarden.alerts (
  id uuid primary key default gen_random_uuid(),
  rule_id text not null,
  subject text not null,
  severity text not null check (severity in ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
  title text not null,
  state text not null check (state in ('pending', 'open', 'resolved')),
  value double precision,
  threshold double precision,
  details jsonb not null default '{}'::jsonb,
  first_seen timestamptz not null,
  last_seen timestamptz not null,
  opened_at timestamptz,
  resolved_at timestamptz,
  last_notified_at timestamptz,
  -- a notification is owed (or a channel failed and is retried at the next evaluation)
  notify_pending boolean not null default false,
  notify_kind text check (notify_kind in ('trigger', 'repeat', 'resolve')),
  notify_since timestamptz,
  -- when a trigger or repeat, and when a resolve, last reached a channel
  last_fired_notice_at timestamptz,
  last_resolve_notice_at timestamptz,
  -- times the alert fired again within the repeat interval after it had resolved
  flaps integer not null default 0,
  check ((state = 'resolved') = (resolved_at is not null)),
  check (state <> 'open' or opened_at is not null),
  check (not notify_pending or (notify_kind is not null and notify_since is not null))
);
-- Tables moved from the first release.
alter table cronwarden.alerts add column if not exists last_fired_notice_at timestamptz;
alter table cronwarden.alerts add column if not exists last_resolve_notice_at timestamptz;
alter table cronwarden.alerts add column if not exists flaps integer not null default 0;
update cronwarden.alerts set last_fired_notice_at = last_notified_at
 where last_fired_notice_at is null and last_notified_at is not null and state <> 'resolved';
create index if not exists alerts_recently_resolved_idx on cronwarden.alerts (rule_id, subject, resolved_at desc) where state = 'resolved';
create unique index if not exists alerts_one_active_idx on cronwarden.alerts (rule_id, subject) where state in ('pending', 'open');
create index if not exists alerts_notify_pending_idx on cronwarden.alerts (notify_since) where notify_pending;
create index if not exists alerts_resolved_at_idx on cronwarden.alerts (resolved_at) where state = 'resolved';
create index if not exists alerts_open_repeat_idx on cronwarden.alerts (last_notified_at) where state = 'open';

create table if not exists cronwarden.alert_silences (
  id uuid primary key default gen_random_uuid(),
  rule_id text not null,
  -- null: every subject of the rule
  subject text,
  created_at timestamptz not null,
  until timestamptz not null,
  reason text not null check (length(reason) between 1 and 500),
  created_by text not null default 'admin',
  check (until > created_at)
);
create index if not exists alert_silences_rule_idx on cronwarden.alert_silences (rule_id, until);
create index if not exists alert_silences_until_idx on cronwarden.alert_silences (until);

create table if not exists cronwarden.alert_notifications (
  id bigint generated always as identity primary key,
  alert_id uuid not null references cronwarden.alerts (id) on delete cascade,
  channel text not null,
  kind text not null check (kind in ('trigger', 'repeat', 'resolve')),
  ok boolean not null,
  error text,
  sent_at timestamptz not null
);
create index if not exists alert_notifications_alert_idx on cronwarden.alert_notifications (alert_id, kind, sent_at);
create index if not exists alert_notifications_sent_idx on cronwarden.alert_notifications (sent_at);

-- What every alert function answers: the alert's columns, the transition the call caused
-- (none | pending | opened | updated | resolved; null for plain listings) and whether a silence
-- covers it at the evaluation time.
create type cronwarden.alert_info as (
  transition text,
  silenced boolean,
  id uuid,
  rule_id text,
  subject text,
  severity text,
  title text,
  state text,
  value double precision,
  threshold double precision,
  details jsonb,
  first_seen timestamptz,
  last_seen timestamptz,
  opened_at timestamptz,
  resolved_at timestamptz,
  last_notified_at timestamptz,
  notify_pending boolean,
  notify_kind text
);

-- ---------------------------------------------------------------------------------------------
-- Observations
-- ---------------------------------------------------------------------------------------------

-- Feeds one observation of a rule for one subject into the alert state machine:
--   breached, no active alert      -> the same alert again when it resolved less than
--                                     p_reopen_seconds ago ('reopened', see Flapping above);
--                                     else open at once (p_for_seconds <= 0): 'opened', a trigger
--                                     owed; otherwise pending: 'pending'
--   breached, pending              -> open once the condition has held p_for_seconds since
--                                     first_seen: 'opened'; else 'updated'
--   breached, open                 -> value, details, last_seen refreshed: 'updated'
--   not breached, pending or open  -> 'resolved' (a resolve notification is owed only when the
--                                     channels last heard that it fired)
--   not breached, nothing active   -> 'none'
-- A dry run computes the same answer and writes nothing.
create or replace function cronwarden.alert_observe(
  p_rule_id text,
  p_subject text,
  p_breached boolean,
  p_value double precision,
  p_threshold double precision,
  p_severity text,
  p_title text,
  p_details jsonb default '{}'::jsonb,
  p_for_seconds integer default 0,
  p_now timestamptz default now(),
  p_dry_run boolean default false,
  p_reopen_seconds integer default 0
) returns setof cronwarden.alert_info
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  a alerts%rowtype;
  v_exists boolean;
  v_reopen boolean := false;
  v_transition text := 'none';
  v_silenced boolean;
begin
  if coalesce(p_rule_id, '') = '' or coalesce(p_subject, '') = '' then
    raise exception 'alert_observe: rule_id and subject are required' using errcode = '22023';
  end if;
  if p_severity is null or p_severity not in ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL') then
    raise exception 'alert_observe: unknown severity %', p_severity using errcode = '22023';
  end if;

  select * into a from alerts x
   where x.rule_id = p_rule_id and x.subject = p_subject and x.state in ('pending', 'open')
   for update;
  v_exists := found;

  if not v_exists and p_breached and coalesce(p_reopen_seconds, 0) > 0 then
    select * into a from alerts x
     where x.rule_id = p_rule_id and x.subject = p_subject and x.state = 'resolved'
       and x.opened_at is not null
       and x.resolved_at > p_now - make_interval(secs => p_reopen_seconds) and x.resolved_at <= p_now
     order by x.resolved_at desc
     limit 1
     for update;
    v_reopen := found;
  end if;

  v_silenced := exists (
    select 1 from alert_silences s
     where s.rule_id = p_rule_id and (s.subject is null or s.subject = p_subject)
       and s.created_at <= p_now and s.until > p_now);

  if p_breached then
    if v_reopen then
      a.state := 'open';
      a.resolved_at := null;
      a.flaps := a.flaps + 1;
      v_transition := 'reopened';
      if a.notify_pending and a.notify_kind = 'resolve' then
        -- The resolve never reached anyone: for them the alert simply continues.
        a.notify_pending := false;
        a.notify_kind := null;
        a.notify_since := null;
      elsif a.last_fired_notice_at is not null then
        -- They heard it resolve: a trigger is owed, one repeat interval after the last one.
        a.notify_pending := true;
        a.notify_kind := 'trigger';
        a.notify_since := greatest(p_now, a.last_fired_notice_at + make_interval(secs => p_reopen_seconds));
      else
        a.notify_pending := true;
        a.notify_kind := 'trigger';
        a.notify_since := p_now;
      end if;
    elsif not v_exists then
      a.id := gen_random_uuid();
      a.rule_id := p_rule_id;
      a.subject := p_subject;
      a.first_seen := p_now;
      a.notify_pending := false;
      a.flaps := 0;
      if coalesce(p_for_seconds, 0) <= 0 then
        a.state := 'open';
        a.opened_at := p_now;
        a.notify_pending := true;
        a.notify_kind := 'trigger';
        a.notify_since := p_now;
        v_transition := 'opened';
      else
        a.state := 'pending';
        v_transition := 'pending';
      end if;
    elsif a.state = 'pending' and p_now >= a.first_seen + make_interval(secs => greatest(coalesce(p_for_seconds, 0), 0)) then
      a.state := 'open';
      a.opened_at := p_now;
      a.notify_pending := true;
      a.notify_kind := 'trigger';
      a.notify_since := p_now;
      v_transition := 'opened';
    else
      v_transition := 'updated';
    end if;
    a.severity := p_severity;
    a.title := p_title;
    a.value := p_value;
    a.threshold := p_threshold;
    a.details := coalesce(p_details, '{}'::jsonb);
    a.last_seen := p_now;

    if not p_dry_run then
      if not v_exists and not v_reopen then
        insert into alerts (id, rule_id, subject, severity, title, state, value, threshold, details,
                            first_seen, last_seen, opened_at, notify_pending, notify_kind, notify_since, flaps)
        values (a.id, a.rule_id, a.subject, a.severity, a.title, a.state, a.value, a.threshold, a.details,
                a.first_seen, a.last_seen, a.opened_at, a.notify_pending, a.notify_kind, a.notify_since, a.flaps);
      else
        update alerts x
           set severity = a.severity, title = a.title, state = a.state, value = a.value,
               threshold = a.threshold, details = a.details, last_seen = a.last_seen,
               opened_at = a.opened_at, resolved_at = a.resolved_at, notify_pending = a.notify_pending,
               notify_kind = a.notify_kind, notify_since = a.notify_since, flaps = a.flaps
         where x.id = a.id;
      end if;
    end if;
  elsif v_exists then
    a.state := 'resolved';
    a.resolved_at := p_now;
    a.last_seen := p_now;
    a.details := a.details || jsonb_build_object('resolved_value', p_value);
    -- A resolve is owed when the channels last heard that it fired; a trigger that has not gone
    -- out yet (it fired again and resolved within the interval) is simply dropped.
    a.notify_pending := a.opened_at is not null and a.last_fired_notice_at is not null
                        and (a.last_resolve_notice_at is null or a.last_fired_notice_at > a.last_resolve_notice_at);
    a.notify_kind := case when a.notify_pending then 'resolve' end;
    a.notify_since := case when a.notify_pending then p_now end;
    v_transition := 'resolved';
    if not p_dry_run then
      update alerts x
         set state = a.state, resolved_at = a.resolved_at, last_seen = a.last_seen, details = a.details,
             notify_pending = a.notify_pending, notify_kind = a.notify_kind, notify_since = a.notify_since
       where x.id = a.id;
    end if;
  else
    a.rule_id := p_rule_id;
    a.subject := p_subject;
  end if;

  return query select v_transition, v_silenced, a.id, a.rule_id, a.subject, a.severity, a.title, a.state,
                      a.value, a.threshold, a.details, a.first_seen, a.last_seen, a.opened_at,
                      a.resolved_at, a.last_notified_at, a.notify_pending, a.notify_kind;
end;
$$;

-- Resolves the active alerts of a rule whose subject is not among p_subjects (the rule no longer
-- reports it: a job removed, an organization deleted, ...). Pass an empty array to resolve every
-- active alert of the rule (a rule that is disabled by configuration).
create or replace function cronwarden.alert_resolve_absent(
  p_rule_id text,
  p_subjects text[],
  p_reason text default 'subject no longer observed',
  p_now timestamptz default now(),
  p_dry_run boolean default false
) returns setof cronwarden.alert_info
language plpgsql
set search_path = cronwarden, pg_temp
as $$
begin
  return query
    with doomed as (
      select x.id from alerts x
       where x.rule_id = p_rule_id and x.state in ('pending', 'open')
         and not (x.subject = any (coalesce(p_subjects, '{}'::text[])))
       order by x.id
       for update
    ),
    changed as (
      update alerts a
         set state = 'resolved',
             resolved_at = p_now,
             notify_pending = (a.opened_at is not null and a.last_fired_notice_at is not null and (a.last_resolve_notice_at is null or a.last_fired_notice_at > a.last_resolve_notice_at)),
             notify_kind = case when (a.opened_at is not null and a.last_fired_notice_at is not null and (a.last_resolve_notice_at is null or a.last_fired_notice_at > a.last_resolve_notice_at)) then 'resolve' end,
             notify_since = case when (a.opened_at is not null and a.last_fired_notice_at is not null and (a.last_resolve_notice_at is null or a.last_fired_notice_at > a.last_resolve_notice_at)) then p_now end,
             details = a.details || jsonb_build_object('resolved_reason', p_reason)
        from doomed d
       where a.id = d.id and not p_dry_run
      returning a.*
    ),
    would as (
      select x.* from alerts x join doomed d on d.id = x.id where p_dry_run
    ),
    res as (
      select * from changed
      union all
      select * from would
    )
    select 'resolved'::text,
           exists (select 1 from alert_silences s
                    where s.rule_id = o.rule_id and (s.subject is null or s.subject = o.subject)
                      and s.created_at <= p_now and s.until > p_now),
           o.id, o.rule_id, o.subject, o.severity, o.title,
           'resolved'::text, o.value, o.threshold, o.details, o.first_seen, o.last_seen,
           o.opened_at, p_now, o.last_notified_at,
           (o.opened_at is not null and o.last_fired_notice_at is not null and (o.last_resolve_notice_at is null or o.last_fired_notice_at > o.last_resolve_notice_at)),
           case when (o.opened_at is not null and o.last_fired_notice_at is not null and (o.last_resolve_notice_at is null or o.last_fired_notice_at > o.last_resolve_notice_at)) then 'resolve' end
      from res o
     order by o.subject;
end;
$$;

-- Resolves active alerts of rules that are not in p_rule_ids (a rule that was removed or renamed
-- would otherwise leave its alerts open forever).
create or replace function cronwarden.alert_resolve_unknown_rules(
  p_rule_ids text[],
  p_now timestamptz default now(),
  p_dry_run boolean default false
) returns setof cronwarden.alert_info
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_rule text;
begin
  for v_rule in
    select distinct x.rule_id from alerts x
     where x.state in ('pending', 'open') and not (x.rule_id = any (coalesce(p_rule_ids, '{}'::text[])))
     order by 1
  loop
    return query select * from alert_resolve_absent(v_rule, '{}'::text[], 'rule no longer exists', p_now, p_dry_run);
  end loop;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Notifications
-- ---------------------------------------------------------------------------------------------

-- Starts the rounds that are due and answers every alert that owes a notification:
--   * an open alert whose round has been pending for a whole repeat interval (its channels kept
--     failing, or a silence held it) starts over: a new trigger round if nobody was ever told,
--     otherwise a repeat round;
--   * an open alert last notified at least p_repeat_seconds ago gets a repeat round;
--   * a resolve round still undelivered after p_resolve_retry_seconds (default 7 days, the
--     longest silence) is abandoned and answered once with abandoned = true.
-- delivered lists the channels that already succeeded in the current round.
create or replace function cronwarden.alert_due_notifications(
  p_repeat_seconds integer,
  p_resolve_retry_seconds integer default 604800,
  p_limit integer default 200,
  p_now timestamptz default now()
) returns table (
  id uuid,
  rule_id text,
  subject text,
  severity text,
  title text,
  state text,
  value double precision,
  threshold double precision,
  details jsonb,
  first_seen timestamptz,
  opened_at timestamptz,
  resolved_at timestamptz,
  last_notified_at timestamptz,
  notify_kind text,
  notify_since timestamptz,
  silenced boolean,
  delivered text[],
  abandoned boolean
)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_repeat interval := make_interval(secs => greatest(p_repeat_seconds, 60));
  v_abandoned uuid[];
begin
  update alerts a
     set notify_since = p_now,
         notify_kind = case when a.last_notified_at is null then 'trigger' else 'repeat' end
   where a.notify_pending and a.state = 'open' and a.notify_since <= p_now - v_repeat;

  update alerts a
     set notify_pending = true, notify_kind = 'repeat', notify_since = p_now
   where a.state = 'open' and not a.notify_pending
     and a.last_notified_at is not null and a.last_notified_at <= p_now - v_repeat;

  with gone as (
    update alerts a
       set notify_pending = false
     where a.notify_pending and a.state = 'resolved'
       and a.notify_since <= p_now - make_interval(secs => greatest(p_resolve_retry_seconds, 60))
    returning a.id
  )
  select coalesce(array_agg(g.id), '{}'::uuid[]) into v_abandoned from gone g;

  return query
    select a.id, a.rule_id, a.subject, a.severity, a.title, a.state, a.value, a.threshold, a.details,
           a.first_seen, a.opened_at, a.resolved_at, a.last_notified_at, a.notify_kind, a.notify_since,
           exists (select 1 from alert_silences s
                    where s.rule_id = a.rule_id and (s.subject is null or s.subject = a.subject)
                      and s.created_at <= p_now and s.until > p_now),
           coalesce((select array_agg(distinct n.channel order by n.channel) from alert_notifications n
                      where n.alert_id = a.id and n.kind = a.notify_kind and n.ok
                        and n.sent_at >= a.notify_since), '{}'::text[]),
           a.id = any (v_abandoned)
      from alerts a
     where (a.notify_pending and a.notify_since <= p_now) or a.id = any (v_abandoned)
     order by case a.severity when 'CRITICAL' then 0 when 'HIGH' then 1 when 'MEDIUM' then 2 else 3 end,
              a.notify_since, a.id
     limit least(greatest(p_limit, 1), 1000);
end;
$$;

-- Records one round's delivery attempts (p_results: [{channel, ok, error}]) and closes the round
-- when p_complete (every channel delivered, or none to deliver to). last_notified_at moves when
-- anyone was told; the next repeat is due a repeat interval after it.
create or replace function cronwarden.alert_record_notifications(
  p_alert_id uuid,
  p_kind text,
  p_results jsonb,
  p_complete boolean,
  p_now timestamptz default now()
) returns table (alert_id uuid, notify_pending boolean, last_notified_at timestamptz)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
#variable_conflict use_column
declare
  v_any_ok boolean;
begin
  insert into alert_notifications (alert_id, channel, kind, ok, error, sent_at)
  select p_alert_id, r->>'channel', p_kind, coalesce((r->>'ok')::boolean, false), left(r->>'error', 2000), p_now
    from jsonb_array_elements(coalesce(p_results, '[]'::jsonb)) r;
  select coalesce(bool_or(coalesce((r->>'ok')::boolean, false)), false) into v_any_ok
    from jsonb_array_elements(coalesce(p_results, '[]'::jsonb)) r;
  return query
    update alerts a
       set last_notified_at = case when p_complete or v_any_ok then p_now else a.last_notified_at end,
           last_fired_notice_at = case when v_any_ok and p_kind in ('trigger', 'repeat') then p_now else a.last_fired_notice_at end,
           last_resolve_notice_at = case when v_any_ok and p_kind = 'resolve' then p_now else a.last_resolve_notice_at end,
           notify_pending = case when p_complete then false else a.notify_pending end,
           notify_kind = case when p_complete then null else a.notify_kind end,
           notify_since = case when p_complete then null else a.notify_since end
     where a.id = p_alert_id and a.notify_pending and a.notify_kind = p_kind
    returning a.id, a.notify_pending, a.last_notified_at;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Listings (admin page, /api/admin/alerts, /api/metrics)
-- ---------------------------------------------------------------------------------------------

-- Pending and open alerts, most severe first.
create or replace function cronwarden.alert_list_active(p_now timestamptz default now())
returns setof cronwarden.alert_info
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select null::text,
         exists (select 1 from alert_silences s
                  where s.rule_id = a.rule_id and (s.subject is null or s.subject = a.subject)
                    and s.created_at <= p_now and s.until > p_now),
         a.id, a.rule_id, a.subject, a.severity, a.title, a.state, a.value, a.threshold, a.details,
         a.first_seen, a.last_seen, a.opened_at, a.resolved_at, a.last_notified_at, a.notify_pending, a.notify_kind
    from alerts a
   where a.state in ('pending', 'open')
   order by case a.state when 'open' then 0 else 1 end,
            case a.severity when 'CRITICAL' then 0 when 'HIGH' then 1 when 'MEDIUM' then 2 else 3 end,
            coalesce(a.opened_at, a.first_seen), a.rule_id, a.subject;
$$;

-- Resolved alerts, newest first. Alerts that never left 'pending' are left out unless asked for.
create or replace function cronwarden.alert_list_recent(
  p_limit integer default 50,
  p_include_unopened boolean default false,
  p_now timestamptz default now()
) returns setof cronwarden.alert_info
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select null::text, false,
         a.id, a.rule_id, a.subject, a.severity, a.title, a.state, a.value, a.threshold, a.details,
         a.first_seen, a.last_seen, a.opened_at, a.resolved_at, a.last_notified_at, a.notify_pending, a.notify_kind
    from alerts a
   where a.state = 'resolved' and a.resolved_at <= p_now
     and (p_include_unopened or a.opened_at is not null)
   order by a.resolved_at desc, a.id
   limit least(greatest(p_limit, 1), 500);
$$;

-- Alert counts per severity (all four severities, zeros included).
create or replace function cronwarden.alert_counts(p_now timestamptz default now())
returns table (severity text, open_alerts integer, pending_alerts integer, silenced_alerts integer)
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select s.severity,
         count(a.id) filter (where a.state = 'open')::integer,
         count(a.id) filter (where a.state = 'pending')::integer,
         count(a.id) filter (where a.state = 'open' and exists (
           select 1 from alert_silences x
            where x.rule_id = a.rule_id and (x.subject is null or x.subject = a.subject)
              and x.created_at <= p_now and x.until > p_now))::integer
    from (values ('CRITICAL', 0), ('HIGH', 1), ('MEDIUM', 2), ('LOW', 3)) as s (severity, rank)
    left join alerts a on a.severity = s.severity and a.state in ('pending', 'open')
   group by s.severity, s.rank
   order by s.rank;
$$;

-- ---------------------------------------------------------------------------------------------
-- Silences
-- ---------------------------------------------------------------------------------------------

create or replace function cronwarden.alert_silence_create(
  p_rule_id text,
  p_subject text,
  p_minutes integer,
  p_reason text,
  p_created_by text default 'admin',
  p_now timestamptz default now()
) returns setof cronwarden.alert_silences
language plpgsql
set search_path = cronwarden, pg_temp
as $$
begin
  if coalesce(p_rule_id, '') = '' then
    raise exception 'alert_silence_create: rule_id is required' using errcode = '22023';
  end if;
  if p_minutes is null or p_minutes < 1 or p_minutes > 10080 then
    raise exception 'alert_silence_create: minutes must be between 1 and 10080' using errcode = '22023';
  end if;
  return query
    insert into alert_silences (rule_id, subject, created_at, until, reason, created_by)
    values (p_rule_id, nullif(p_subject, ''), p_now, p_now + make_interval(mins => p_minutes),
            p_reason, coalesce(p_created_by, 'admin'))
    returning *;
end;
$$;

create or replace function cronwarden.alert_silence_delete(p_id uuid)
returns setof cronwarden.alert_silences
language sql
set search_path = cronwarden, pg_temp
as $$
  delete from alert_silences s where s.id = p_id returning *;
$$;

-- Silences in force at p_now, soonest to end first.
create or replace function cronwarden.alert_silence_list(p_now timestamptz default now())
returns setof cronwarden.alert_silences
language sql stable
set search_path = cronwarden, pg_temp
as $$
  select * from alert_silences s where s.until > p_now order by s.until, s.id;
$$;

-- ---------------------------------------------------------------------------------------------
-- Retention
-- ---------------------------------------------------------------------------------------------

-- One batch per table: notifications older than p_notification_days, alerts resolved more than
-- p_resolved_days ago (their notifications go with them), silences ended more than
-- p_notification_days ago.
create or replace function cronwarden.alert_prune(
  p_notification_days integer default 30,
  p_resolved_days integer default 90,
  p_batch_size integer default 5000,
  p_dry_run boolean default false,
  p_now timestamptz default now()
) returns table (notifications_deleted integer, alerts_deleted integer, silences_deleted integer, has_more boolean)
language plpgsql
set search_path = cronwarden, pg_temp
as $$
declare
  v_n_cut timestamptz := p_now - make_interval(hours => 24 * p_notification_days);
  v_a_cut timestamptz := p_now - make_interval(hours => 24 * p_resolved_days);
  v_n integer;
  v_a integer;
  v_s integer;
begin
  if p_dry_run then
    return query select
      (select count(*)::integer from alert_notifications n where n.sent_at < v_n_cut),
      (select count(*)::integer from alerts a where a.state = 'resolved' and a.resolved_at < v_a_cut),
      (select count(*)::integer from alert_silences s where s.until < v_n_cut),
      false;
    return;
  end if;
  with d as (
    select n.id from alert_notifications n where n.sent_at < v_n_cut order by n.sent_at limit p_batch_size
  )
  delete from alert_notifications n using d where n.id = d.id;
  get diagnostics v_n = row_count;
  with d as (
    select a.id from alerts a where a.state = 'resolved' and a.resolved_at < v_a_cut
     order by a.resolved_at limit p_batch_size for update skip locked
  )
  delete from alerts a using d where a.id = d.id;
  get diagnostics v_a = row_count;
  with d as (
    select s.id from alert_silences s where s.until < v_n_cut order by s.until limit p_batch_size
  )
  delete from alert_silences s using d where s.id = d.id;
  get diagnostics v_s = row_count;
  return query select v_n, v_a, v_s, (v_n = p_batch_size or v_a = p_batch_size or v_s = p_batch_size);
end;
$$;


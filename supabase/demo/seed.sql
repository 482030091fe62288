-- Demo data for the embedded default (applied by the app's migrator on first start and
-- whenever this file changes; every statement is safe to run again).
select 1;

-- --- Import maintenance (the demo's import tables; rules in supabase/migrations/20261201000600_imports.sql) ---
-- One run stuck in processing (heartbeat 26 h ago), one live, one that failed 45 days ago with
-- raw items to purge, one that failed yesterday (kept); two expired temp uploads and one fresh;
-- two finished import jobs due for compaction, one recent, one still processing.
insert into import_runs (id, status, source, created_at, started_at, updated_at, finished_at, error) values
  ('6d1e0000-0000-4000-8000-000000000001', 'completed', 'contacts-q3.csv', now() - interval '3 days', now() - interval '3 days', now() - interval '3 days' + interval '12 minutes', now() - interval '3 days' + interval '12 minutes', null),
  ('6d1e0000-0000-4000-8000-000000000002', 'processing', 'orders-backfill.csv', now() - interval '30 hours', now() - interval '30 hours', now() - interval '26 hours', null, null),
  ('6d1e0000-0000-4000-8000-000000000003', 'processing', 'products.csv', now() - interval '2 hours', now() - interval '2 hours', now() - interval '1 minute', null, null),
  ('6d1e0000-0000-4000-8000-000000000004', 'failed', 'legacy-customers.csv', now() - interval '45 days', now() - interval '45 days', now() - interval '45 days', now() - interval '45 days', 'Row 1204: invalid date "31/02/2019"'),
  ('6d1e0000-0000-4000-8000-000000000005', 'failed', 'suppliers.csv', now() - interval '1 day', now() - interval '1 day', now() - interval '1 day', now() - interval '1 day', 'Missing required column "vat_id"'),
  ('6d1e0000-0000-4000-8000-000000000006', 'queued', 'inventory.csv', now() - interval '5 minutes', null, now() - interval '5 minutes', null, null)
on conflict (id) do nothing;

insert into raw_import_items (id, run_id, payload, created_at) values
  ('6d1e0001-0000-4000-8000-000000000001', '6d1e0000-0000-4000-8000-000000000004', '{"row": 1203, "name": "Ada Lovelace", "joined": "10/12/2018"}', now() - interval '45 days'),
  ('6d1e0001-0000-4000-8000-000000000002', '6d1e0000-0000-4000-8000-000000000004', '{"row": 1204, "name": "Alan Turing", "joined": "31/02/2019"}', now() - interval '45 days'),
  ('6d1e0001-0000-4000-8000-000000000003', '6d1e0000-0000-4000-8000-000000000004', '{"row": 1205, "name": "Grace Hopper", "joined": "09/12/2019"}', now() - interval '45 days'),
  ('6d1e0001-0000-4000-8000-000000000004', '6d1e0000-0000-4000-8000-000000000005', '{"row": 1, "supplier": "Acme"}', now() - interval '1 day'),
  ('6d1e0001-0000-4000-8000-000000000005', '6d1e0000-0000-4000-8000-000000000005', '{"row": 2, "supplier": "Globex"}', now() - interval '1 day')
on conflict (id) do nothing;

insert into temp_uploads (id, storage_path, size_bytes, created_at) values
  ('6d1e0002-0000-4000-8000-000000000001', 'tmp/uploads/orders-backfill.csv', 482133, now() - interval '30 hours'),
  ('6d1e0002-0000-4000-8000-000000000002', 'tmp/uploads/contacts-q3.csv', 120455, now() - interval '3 days'),
  ('6d1e0002-0000-4000-8000-000000000003', 'tmp/uploads/products.csv', 9921, now() - interval '2 hours')
on conflict (id) do nothing;

insert into import_jobs (id, run_id, status, payload, result, counts, error_summary, created_at, finished_at) values
  ('6d1e0003-0000-4000-8000-000000000001', null, 'completed', '{"file": "tmp/uploads/contacts-q2.csv", "mapping": {"email": "E-mail", "name": "Full name"}}', '{"inserted": 1180, "updated": 64, "skipped": 3}', '{"total": 1247, "succeeded": 1244, "failed": 3}', null, now() - interval '10 days', now() - interval '10 days' + interval '8 minutes'),
  ('6d1e0003-0000-4000-8000-000000000002', null, 'failed', '{"file": "tmp/uploads/legacy.csv"}', '{"failedRows": [17, 18, 19]}', '{"total": 40, "succeeded": 37, "failed": 3}', '3 rows with invalid dates', now() - interval '9 days', now() - interval '9 days' + interval '1 minute'),
  ('6d1e0003-0000-4000-8000-000000000003', '6d1e0000-0000-4000-8000-000000000001', 'completed', '{"file": "tmp/uploads/contacts-q3.csv"}', '{"inserted": 2210}', '{"total": 2210, "succeeded": 2210, "failed": 0}', null, now() - interval '3 days', now() - interval '3 days' + interval '12 minutes'),
  ('6d1e0003-0000-4000-8000-000000000004', '6d1e0000-0000-4000-8000-000000000003', 'processing', '{"file": "tmp/uploads/products.csv"}', null, '{"total": 900, "succeeded": 350, "failed": 0}', null, now() - interval '2 hours', null)
on conflict (id) do nothing;

-- --- Admin page: job run history (supabase/migrations/20261201000200_runner.sql) ---
-- Fourteen days of history for every job on its vercel.json schedule (UTC), and the monthly
-- export-log-cleanup's last two runs, as if Cronwarden had been installed then: each run starts a moment after its slot, takes a time that
-- suits the job, and records the result its job returns, with numbers that agree (rows_affected
-- is what the job's counts add up to; listed ids are as many as deleted, at most 100). A few
-- runs failed, and one draft-cleanup run was cut short by its time budget (partial: 48 batches
-- of 1000 drafts, 48,000 deleted, 100 ids listed) and the next run finished the backlog. Nothing
-- is older than RUN_HISTORY_DAYS (90), as on a real install. Marked trigger 'demo', inserted
-- only into a history that has no real runs yet, and never twice into the same slot; times are
-- computed in UTC whatever the session time zone.
with slots as (
  select 'run-history-prune'::text as job, s as at
    from generate_series(date_trunc('day', now(), 'UTC') - interval '336 hours' + interval '4 hours 30 minutes', now() - interval '1 minute', interval '24 hours') s
  union all
  select 'alerts-evaluate', s
    from generate_series(date_trunc('hour', now(), 'UTC') - interval '336 hours', now() - interval '1 minute', interval '5 minutes') s
  union all
  select 'maintenance', s
    from generate_series(date_trunc('day', now(), 'UTC') - interval '336 hours' + interval '3 hours', now() - interval '1 minute', interval '24 hours') s
  union all
  select 'draft-cleanup', s
    from generate_series(date_trunc('hour', now(), 'UTC') - interval '336 hours', now() - interval '1 minute', interval '1 hour') s
  union all
  select 'export-file-cleanup', s
    from generate_series(date_trunc('day', now(), 'UTC') - interval '336 hours' + interval '2 hours', now() - interval '1 minute', interval '24 hours') s
  union all
  -- 03:00 UTC on the 1st of the month: its last two runs (a monthly job has at most one in two weeks)
  select 'export-log-cleanup', m
    from generate_series(0, 2) k
   cross join lateral (select (date_trunc('month', now() at time zone 'UTC') - make_interval(months => k) + interval '3 hours') at time zone 'UTC' as m) x
   where m between now() - interval '1488 hours' and now() - interval '1 minute'
  union all
  select 'export-metrics-aggregate', s
    from generate_series(date_trunc('hour', now(), 'UTC') - interval '336 hours', now() - interval '1 minute', interval '1 hour') s
  union all
  select 'storage-cleanup-retry', s
    from generate_series(date_trunc('hour', now(), 'UTC') - interval '336 hours' + interval '15 minutes', now() - interval '1 minute', interval '1 hour') s
),
numbered as (
  -- k = 1 is the job's newest slot; u is a fixed pseudo-random number in [0, 1) per slot.
  select s.job, s.at,
         row_number() over (partition by s.job order by s.at desc) as k,
         ('x' || substr(md5(s.job || extract(epoch from s.at)::text), 1, 7))::bit(28)::int / 268435456.0 as u
    from slots s
),
shaped as (
  select n.*,
         n.at + make_interval(secs => 0.2 + n.u * 1.3) as started,
         -- What each run found to do, and how it ended.
         case
           when n.job = 'alerts-evaluate' and n.k in (1730, 2951) then 'timeout'
           when n.job = 'draft-cleanup' and n.k = 241 then 'timeout'
           when n.job = 'draft-cleanup' and n.k = 97 then 'partial'
           when n.job = 'draft-cleanup' and n.k = 96 then 'backlog'
           when n.job = 'export-file-cleanup' and n.k = 9 then 'storage_down'
           when n.job = 'storage-cleanup-retry' and n.k = 150 then 'storage_down'
           when n.job = 'export-metrics-aggregate' and n.k = 200 then 'timeout'
           when n.job = 'run-history-prune' and n.k = 3 then 'lease_expired'
           else 'ok'
         end as outcome,
         floor(n.u * n.u * 40)::int as drafts,                -- drafts past 24 h this hour
         5 + floor(n.u * 21)::int as files,                    -- export files due today
         case when n.k % 23 = 5 then 2 else 0 end as retries   -- storage removals owed from earlier runs
    from numbered n
),
runs as (
  select x.*,
         case x.outcome when 'ok' then 'succeeded' when 'backlog' then 'succeeded' when 'partial' then 'partial' else 'failed' end as status,
         case
           when x.outcome = 'timeout' then 30000 + round(x.u * 1500)
           when x.outcome = 'lease_expired' then 120000
           when x.outcome = 'partial' then 57412
           when x.outcome = 'backlog' then 4160
           when x.outcome = 'storage_down' then 10200 + round(x.u * 800)
           when x.job = 'alerts-evaluate' then 180 + round(x.u * 420)
           when x.job = 'draft-cleanup' then 45 + x.drafts * 4 + round(x.u * 30)
           when x.job = 'export-metrics-aggregate' then 160 + round(x.u * 240)
           when x.job = 'storage-cleanup-retry' then 25 + x.retries * 180 + round(x.u * 40)
           when x.job = 'maintenance' then 900 + round(x.u * 2600)
           when x.job = 'export-file-cleanup' then 600 + x.files * 38 + round(x.u * 200)
           when x.job = 'export-log-cleanup' then 4200 + round(x.u * 2500)
           else 40 + round(x.u * 160)
         end::bigint as duration
    from shaped x
),
final as (
  select r.*,
         case
           when r.outcome in ('timeout', 'lease_expired') then null
           when r.job = 'alerts-evaluate' then jsonb_build_object(
             'errors', '[]'::jsonb, 'rows_affected', 0, 'failed', false,
             'rules_evaluated', 27, 'rules_disabled', 0, 'rules_deferred', 0,
             'observations', 38 + floor(r.u * 6)::int,
             'transitions', jsonb_build_object('pending', 0, 'opened', 0, 'updated', 2, 'resolved', 0),
             'changes', '[]'::jsonb,
             'notifications', jsonb_build_object('sent', 0, 'failed', 0, 'silenced', 0, 'below_min_severity', 0, 'deferred', 0, 'abandoned', 0),
             'channels', '[]'::jsonb, 'open_alerts', 2,
             'pruned', jsonb_build_object('notifications_deleted', 0, 'alerts_deleted', 0, 'silences_deleted', 0),
             'partial', false)
           when r.job = 'draft-cleanup' then (
             select jsonb_build_object(
               'errors', '[]'::jsonb, 'rows_affected', d.n, 'deleted_count', d.n,
               'deleted_ids', coalesce((select jsonb_agg(md5('cronwarden-demo-draft-' || extract(epoch from r.at)::text || '-' || i)::uuid::text)
                                          from generate_series(1, least(d.n, 100)) i), '[]'::jsonb),
               'deleted_ids_truncated', d.n > 100,
               'cutoff_time', to_char((r.started - interval '24 hours') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'hours', 24, 'batches', greatest(1, ceil(d.n / 1000.0))::int, 'partial', r.outcome = 'partial')
               from (select case r.outcome when 'partial' then 48000 when 'backlog' then 3412 else r.drafts end as n) d)
           when r.job = 'export-metrics-aggregate' then (
             select jsonb_build_object(
               'errors', '[]'::jsonb, 'rows_affected', 192, 'lookback_hours', 48,
               'window_start', to_char((date_trunc('hour', r.started, 'UTC') - interval '48 hours') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'window_end', to_char(date_trunc('hour', r.started, 'UTC') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'hours_covered', 48, 'rows_upserted', 192, 'rows_removed', 0,
               'last_hour', jsonb_build_object('total_exports', e.total, 'failed_exports', e.failed, 'success_rate', round((e.total - e.failed)::numeric / e.total, 4)),
               'failure_rate', round(e.failed::numeric / e.total, 4), 'failure_window_minutes', 60,
               'total_count', e.total, 'failed_count', e.failed, 'alert', false, 'threshold', 0.1, 'min_sample', 10)
               from (select 3 + floor(r.u * 2)::int as total, case when r.k % 11 = 0 then 1 else 0 end as failed) e)
           when r.job = 'storage-cleanup-retry' and r.outcome = 'storage_down' then jsonb_build_object(
             'errors', jsonb_build_array(
               jsonb_build_object('subject', 'exports/demo-user-3/export-2231.jsonl', 'message', 'Storage remove failed: 503 Service Unavailable'),
               jsonb_build_object('subject', 'exports/demo-user-5/export-2240.json', 'message', 'Storage remove failed: 503 Service Unavailable')),
             'rows_affected', 0, 'removed_count', 0, 'failed_count', 2, 'pending_count', 2, 'batches', 1, 'partial', false, 'failed', true)
           when r.job = 'storage-cleanup-retry' then jsonb_build_object(
             'errors', '[]'::jsonb, 'rows_affected', r.retries, 'removed_count', r.retries, 'failed_count', 0,
             'pending_count', r.retries, 'batches', case when r.retries > 0 then 1 else 0 end, 'partial', false, 'failed', false)
           when r.job = 'maintenance' then (
             select jsonb_build_object(
               'errors', '[]'::jsonb, 'rows_affected', m.stuck + m.temp + m.compact + m.raw,
               'stuckRunsMarked', m.stuck, 'tempUploadsPurged', m.temp, 'importJobsCompacted', m.compact, 'rawItemsPurged', m.raw,
               'tempUploadsFailed', 0, 'tempUploadObjectsKept', 0,
               'tempUploadBytesFreed', m.temp * 1843200 + floor(r.u * 90000)::int, 'importJobBytesFreed', m.compact * 22528,
               'stuckRunIds', coalesce((select jsonb_agg(md5('cronwarden-demo-stuck-' || extract(epoch from r.at)::text || '-' || i)::uuid::text)
                                          from generate_series(1, m.stuck) i), '[]'::jsonb),
               'steps', jsonb_build_object('stuck_runs', 'ok', 'temp_uploads', 'ok', 'compact_import_jobs', 'ok', 'raw_items', 'ok'),
               'thresholds', jsonb_build_object('stuckHours', 24, 'tempUploadHours', 24, 'compactAfterDays', 7, 'rawItemsAfterDays', 30),
               'batchSize', 1000, 'batches', 4, 'partial', false, 'failed', false)
               from (select case when r.k % 5 = 2 then 1 else 0 end as stuck, floor(r.u * 7)::int as temp,
                            1 + floor(r.u * 4)::int as compact, case when r.k % 4 = 0 then floor(r.u * 300)::int else 0 end as raw) m)
           when r.job = 'export-file-cleanup' and r.outcome = 'storage_down' then jsonb_build_object(
             'errors', (select jsonb_agg(jsonb_build_object('subject', 'exports/demo-user-' || (i % 6 + 1) || '/export-' || (1900 + i) || '.jsonl',
                                                            'message', 'Storage remove failed: 503 Service Unavailable')) from generate_series(1, 14) i),
             'rows_affected', 0, 'mode', 'expired', 'retention_hours', null, 'total_found', 14, 'deleted_count', 0, 'failed_count', 14,
             'logs_updated', 0, 'kept_shared_count', 0, 'set_aside_count', 0, 'freed_bytes', 0, 'batches', 1, 'partial', false, 'failed', true)
           when r.job = 'export-file-cleanup' then jsonb_build_object(
             'errors', '[]'::jsonb, 'rows_affected', r.files, 'mode', 'expired', 'retention_hours', null,
             'total_found', r.files, 'deleted_count', r.files, 'failed_count', 0, 'logs_updated', r.files,
             'kept_shared_count', 0, 'set_aside_count', 0, 'freed_bytes', r.files * 1363148 + floor(r.u * 400000)::int,
             'batches', 1, 'partial', false)
           when r.job = 'export-log-cleanup' then jsonb_build_object(
             'errors', '[]'::jsonb, 'rows_affected', 1800 + floor(r.u * 700)::int, 'retention_days', 30,
             'cutoff', to_char((r.started - interval '720 hours') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'archive_enabled', false, 'deleted_count', 1800 + floor(r.u * 700)::int, 'archived_count', 0,
             'archive_objects', 0, 'archive_keys', '[]'::jsonb, 'batches', 1, 'partial', false, 'failed', false)
           else jsonb_build_object(
             'errors', '[]'::jsonb, 'rows_affected', 0, 'deleted_count', 0,
             'pruned', jsonb_build_object('cron_job_runs', 0, 'export_metrics', 0, 'export_metrics_hourly', 0, 'audit_logs', 0, 'deleted_users', 0, 'export_file_claims', 0),
             'retention_days', 90,
             'retention', jsonb_build_object('cron_job_runs', 90, 'export_metrics', 90, 'export_metrics_hourly', 400, 'audit_logs', 365, 'deleted_users', 365),
             'batches', 6, 'partial', false, 'failed', false)
         end as result,
         case r.outcome
           when 'timeout' then 'canceling statement due to statement timeout'
           when 'lease_expired' then 'lease expired before the run finished: its process died or overran its time limit'
         end as error
    from runs r
)
insert into cronwarden.cron_job_runs (id, job, status, started_at, finished_at, duration_ms, dry_run, trigger, input, result, rows_affected, error)
select md5('cronwarden-demo-run-' || f.job || '-' || extract(epoch from f.at)::text)::uuid,
       f.job, f.status, f.started, f.started + make_interval(secs => f.duration / 1000.0), f.duration, false, 'demo',
       case when f.job = 'draft-cleanup' and f.outcome = 'timeout' then '{"batchSize": 5000}'::jsonb else '{}'::jsonb end,
       f.result, coalesce((f.result->>'rows_affected')::bigint, 0),
       -- A run whose job reported failure records its first five errors, as the runner does.
       case when f.outcome = 'storage_down'
            then (select string_agg(e.value->>'subject' || ': ' || (e.value->>'message'), '; ' order by e.ord)
                    from jsonb_array_elements(f.result->'errors') with ordinality e (value, ord) where e.ord <= 5)
            else f.error end
  from final f
 where not exists (select 1 from cronwarden.cron_job_runs r where r.trigger <> 'demo')
   and not exists (select 1 from cronwarden.cron_job_runs r
                    where r.job = f.job and r.started_at > f.at - interval '1 minute' and r.started_at < f.at + interval '1 minute')
on conflict (id) do nothing;

-- The lines the partial and failed draft-cleanup runs wrote, as the runner captures them.
insert into cronwarden.cron_job_run_logs (run_id, seq, logged_at, level, line)
select r.id, l.seq, r.started_at + make_interval(secs => l.after_ms / 1000.0), l.level,
       jsonb_build_object('level', l.level, 'time', to_char((r.started_at + make_interval(secs => l.after_ms / 1000.0)) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                          'service', 'cronwarden', 'job', r.job, 'run_id', r.id::text, 'msg', l.msg) || l.fields
  from cronwarden.cron_job_runs r
 cross join lateral (
   values (1, 0::numeric, 'info', 'job started', jsonb_build_object('type', 'cron_run_started', 'dry_run', false, 'trigger', r.trigger)),
          (2, r.duration_ms - 5, case r.status when 'failed' then 'error' else 'info' end,
             case r.status when 'failed' then 'job failed' else 'draft cleanup finished' end,
             case r.status
               when 'failed' then jsonb_build_object('type', 'cron_run_failed', 'duration_ms', r.duration_ms, 'err', jsonb_build_object('type', 'Error', 'message', r.error))
               else jsonb_build_object('type', 'draft_cleanup_complete', 'deleted_count', r.rows_affected, 'hours', 24,
                                       'batches', (r.result->>'batches')::int, 'partial', r.status = 'partial') end),
          (3, r.duration_ms, 'info', 'job finished',
             jsonb_build_object('type', 'cron_run_finished', 'status', r.status, 'duration_ms', r.duration_ms,
                                'rows_affected', r.rows_affected, 'error_count', 0, 'dry_run', false))
 ) as l (seq, after_ms, level, msg, fields)
 where r.trigger = 'demo' and r.job = 'draft-cleanup' and r.status in ('partial', 'failed')
   and not (r.status = 'failed' and l.seq = 3) -- a run that failed ends with its error
on conflict (run_id, seq) do nothing;

-- --- Export operations (supabase/migrations/20261123000300_export_operations.sql) ---
-- 160 exports over the last 48 hours, one every 18 minutes (7 minutes off, so none sits on the
-- 24 h expiry boundary), from six users in the four formats, mostly jsonl and json. About one in
-- eleven failed, including a burst of five timeouts about six hours ago. Completed exports expire
-- 24 h after they finish: those that finished 24-30 h ago are still 'completed' and due for
-- export-file-cleanup; older ones were already expired. The newest is queued and the one before
-- it processing. Twenty finished exports 31-60 days old are what export-log-cleanup removes.
-- Ids are md5-derived, so a re-run inserts nothing new.
insert into export_logs (export_id, user_id, format, status, conversation_count, file_path, file_size_bytes,
                         created_at, completed_at, expires_at, error_type, error_message, expired_at)
select md5('cronwarden-demo-export-' || s.n)::uuid,
       s.user_id,
       s.format,
       case when s.outcome = 'completed' and s.finished_at < now() - interval '30 hours' then 'expired' else s.outcome end,
       s.conversations,
       case when s.outcome = 'completed' then 'exports/' || s.user_id || '/' || md5('cronwarden-demo-export-' || s.n) || '.' || s.format end,
       case when s.outcome = 'completed' then s.conversations * 3400 + (s.n * 101) % 5000 end,
       s.created_at,
       case when s.outcome in ('completed', 'failed') then s.finished_at end,
       case when s.outcome = 'completed' then s.finished_at + interval '24 hours' end,
       case when s.outcome = 'failed' then (array['DatabaseError', 'StorageError', 'TimeoutError'])[1 + s.n % 3] end,
       case when s.outcome = 'failed' then (array['Connection timeout', 'Upload to storage failed: 503 Service Unavailable', 'Export exceeded 60 s'])[1 + s.n % 3] end,
       case when s.outcome = 'completed' and s.finished_at < now() - interval '30 hours' then s.finished_at + interval '26 hours' end
  from (
    select n,
           md5('cronwarden-demo-export-user-' || (n % 6))::uuid as user_id,
           (array['json', 'jsonl', 'jsonl', 'csv', 'markdown', 'json', 'jsonl'])[1 + n % 7] as format,
           5 + (n * 37) % 600 as conversations,
           now() - make_interval(mins => n * 18 + 7) as created_at,
           now() - make_interval(mins => n * 18 + 7)
             + make_interval(secs => (400 + (5 + (n * 37) % 600) * 12 + (n * 53) % 700) / 1000.0) as finished_at,
           case when n = 1 then 'queued'
                when n = 2 then 'processing'
                when n between 18 and 22 or n % 17 = 0 then 'failed'
                else 'completed' end as outcome
      from generate_series(1, 160) as n
  ) s
on conflict (export_id) do nothing;

insert into export_logs (export_id, user_id, format, status, conversation_count, file_path, file_size_bytes,
                         created_at, completed_at, expires_at, error_type, error_message, expired_at)
select md5('cronwarden-demo-old-export-' || n)::uuid,
       md5('cronwarden-demo-export-user-' || (n % 6))::uuid,
       (array['json', 'jsonl', 'csv', 'markdown'])[1 + n % 4],
       case when n % 5 = 0 then 'failed' else 'expired' end,
       10 + (n * 71) % 700,
       case when n % 5 <> 0 then 'exports/old/' || md5('cronwarden-demo-old-export-' || n) || '.json' end,
       case when n % 5 <> 0 then (10 + (n * 71) % 700) * 3400 end,
       now() - make_interval(hours => 744 + n * 36),
       now() - make_interval(hours => 744 + n * 36) + interval '3 seconds',
       case when n % 5 <> 0 then now() - make_interval(hours => 720 + n * 36) end,
       case when n % 5 = 0 then 'DatabaseError' end,
       case when n % 5 = 0 then 'Connection timeout' end,
       case when n % 5 <> 0 then now() - make_interval(hours => 718 + n * 36) end
  from generate_series(1, 20) as n
on conflict (export_id) do nothing;

-- One metrics row per finished demo export, then the hourly rollup the admin charts read.
insert into cronwarden.export_metrics (export_id, user_id, format, status, duration_ms, file_size_bytes, conversation_count,
                            count_range, error_type, error_message, created_at)
select l.export_id, l.user_id, l.format,
       case when l.status = 'failed' then 'failed' else 'completed' end,
       (extract(epoch from (l.completed_at - l.created_at)) * 1000)::integer,
       l.file_size_bytes, l.conversation_count, cronwarden.export_count_range(l.conversation_count),
       l.error_type, l.error_message, l.completed_at
  from export_logs l
 where l.export_id in (select md5('cronwarden-demo-export-' || n)::uuid from generate_series(1, 160) n
                       union all
                       select md5('cronwarden-demo-old-export-' || n)::uuid from generate_series(1, 20) n)
   and l.completed_at is not null
on conflict (export_id) do nothing;

select * from cronwarden.export_rollup_hourly(p_lookback_hours => 72);

-- --- Draft cleanup (supabase/migrations/20261123000500_draft_cleanup.sql) ---
-- Four organizations and 360 courses created over the last 30 days (one every 2 hours, with
-- jitter): about 55 % published, 7 % archived, 18 % drafts whose generation started, 20 % unused
-- drafts, many of them older than 24 h (what the hourly draft-cleanup deletes) and a few from the
-- last hours. Ids are derived from the row number, so running this again adds nothing.
insert into organizations (id, name, created_at) values
  ('0d5a0000-0000-4000-8000-000000000001', 'Acme Learning', now() - interval '120 days'),
  ('0d5a0000-0000-4000-8000-000000000002', 'Northwind Academy', now() - interval '90 days'),
  ('0d5a0000-0000-4000-8000-000000000003', 'Globex Training', now() - interval '60 days'),
  ('0d5a0000-0000-4000-8000-000000000004', 'Initech University', now() - interval '45 days')
on conflict (id) do nothing;

insert into courses (id, organization_id, title, status, generation_status, created_at, updated_at, created_by)
select md5('cronwarden-demo-course-' || n)::uuid,
       ('0d5a0000-0000-4000-8000-00000000000' || (1 + (n * 7 + h.k) % 4))::uuid,
       'Demo course ' || n,
       case when h.k < 55 then 'published' when h.k < 62 then 'archived' else 'draft' end,
       case when h.k < 62 then 'completed'
            when h.k < 80 then (array['generating_structure', 'generating_content', 'failed'])[1 + n % 3]
            else null end,
       x.t,
       x.t + make_interval(secs => case when h.k < 80 then h.s % 5400 else h.s % 600 end),
       md5('cronwarden-demo-user-' || (n % 25))::uuid
  from generate_series(1, 360) as n
 cross join lateral (
   select case when n in (1, 2, 4, 7, 11) then 90 -- recent unused drafts in every age bucket
               else ('x' || substr(md5('k' || n), 1, 4))::bit(16)::integer % 100 end as k,
          ('x' || substr(md5('s' || n), 1, 4))::bit(16)::integer as s,
          case when n = 1 then 0 else ('x' || substr(md5('j' || n), 1, 4))::bit(16)::integer % 110 end as j
 ) h
 cross join lateral (select now() - make_interval(mins => (n - 1) * 120 + 5 + h.j) as t) x
 where exists (select 1 from organizations o where o.id = '0d5a0000-0000-4000-8000-000000000001')
on conflict (id) do nothing;

-- --- User deletion (supabase/migrations/20261201000800_user_deletion.sql) ---
-- Twelve users (2 admins, 6 members, 4 guests) with dispatches, addresses, uploads, sessions and
-- preferences, for DELETE /api/users/[userId], and the six members whose exports are above (a
-- deleted user leaves no export log behind); and four weeks of past deletion attempts in the
-- audit trail (cronwarden.audit_logs): about six a weekday and fewer at weekends, busiest at 14:00
-- UTC, about 8 % failed (not_found, conflict, timeout, db_error) and a few slow ones, for the
-- monitors and reports. Ids are md5-derived, so a re-run adds nothing, and a demo user deleted
-- through the endpoint (it has a cronwarden.deleted_users row) is not created again.
insert into users (id, email, type, created_at)
select md5('cronwarden-demo-person-' || n)::uuid,
       'demo.person' || n || '@example.com',
       case when n <= 2 then 'admin' when n <= 8 then 'member' else 'guest' end,
       now() - make_interval(days => 40 + n * 3)
  from generate_series(1, 12) as n
 where not exists (select 1 from cronwarden.deleted_users d where d.user_id = md5('cronwarden-demo-person-' || n)::uuid::text)
on conflict do nothing;

insert into users (id, email, type, created_at)
select md5('cronwarden-demo-export-user-' || n)::uuid,
       'demo.exporter' || n || '@example.com',
       'member',
       now() - make_interval(days => 90 + n)
  from generate_series(0, 5) as n
 where not exists (select 1 from cronwarden.deleted_users d where d.user_id = md5('cronwarden-demo-export-user-' || n)::uuid::text)
on conflict do nothing;

insert into dispatches (id, user_id, status, created_at)
select md5('cronwarden-demo-dispatch-' || n || '-' || k)::uuid, u.id,
       (array['pending', 'assigned', 'delivered'])[1 + (n + k) % 3],
       now() - make_interval(days => k * 2, hours => n)
  from generate_series(1, 12) as n
 cross join generate_series(1, 1 + n % 4) as k
  join users u on u.id = md5('cronwarden-demo-person-' || n)::uuid
on conflict do nothing;

insert into addresses (id, user_id, line1, city, created_at)
select md5('cronwarden-demo-address-' || n || '-' || k)::uuid, u.id,
       (10 + n * 7 + k) || ' Demo Street', (array['Austin', 'Denver', 'Portland'])[1 + k % 3],
       u.created_at + make_interval(days => k)
  from generate_series(1, 12) as n
 cross join generate_series(1, 1 + n % 2) as k
  join users u on u.id = md5('cronwarden-demo-person-' || n)::uuid
on conflict do nothing;

insert into file_uploads (id, user_id, storage_path, size_bytes, created_at)
select md5('cronwarden-demo-upload-' || n || '-' || k)::uuid, u.id,
       'uploads/' || u.id || '/document-' || k || '.pdf', 20000 + n * 1000 + k,
       now() - make_interval(days => k * 3)
  from generate_series(1, 12) as n
 cross join generate_series(1, n % 3) as k
  join users u on u.id = md5('cronwarden-demo-person-' || n)::uuid
on conflict do nothing;

insert into user_sessions (id, user_id, created_at, expires_at)
select md5('cronwarden-demo-session-' || n)::uuid, u.id, now() - interval '2 hours', now() + interval '28 days'
  from generate_series(1, 12) as n
  join users u on u.id = md5('cronwarden-demo-person-' || n)::uuid
on conflict do nothing;

-- Sessions that expired 2 to 5 days ago: what the example retention policy `expired-sessions`
-- (cronwarden.config.ts) removes.
insert into user_sessions (id, user_id, created_at, expires_at)
select md5('cronwarden-demo-expired-session-' || n)::uuid, u.id, now() - make_interval(days => 30 + n), now() - make_interval(days => 1 + n)
  from generate_series(1, 4) as n
  join users u on u.id = md5('cronwarden-demo-person-' || n)::uuid
on conflict do nothing;

insert into user_preferences (user_id, preferences)
select u.id, jsonb_build_object('theme', (array['light', 'dark'])[1 + n % 2], 'notifications', n % 3 <> 0)
  from generate_series(1, 12) as n
  join users u on u.id = md5('cronwarden-demo-person-' || n)::uuid
on conflict do nothing;

insert into cronwarden.audit_logs (id, action, actor, target_type, target_id, status, duration_ms, error_type, error_message, details, created_at)
select md5('cronwarden-demo-user-deletion-' || n)::uuid,
       'USER_DELETION', 'admin_api_token', 'user',
       md5('cronwarden-demo-deleted-user-' || n)::uuid::text,
       case when h.k < 95 then 'success' else 'failure' end,
       case when h.k < 88 then 250 + h.s % 1500
            when h.k < 95 then 3200 + h.s % 3500               -- slow successes
            when h.k < 97 then 8 + h.s % 30                    -- not_found
            when h.k = 97 then 40 + h.s % 200                  -- conflict
            when h.k = 98 then 25000 + h.s % 300               -- timeout
            else 150 + h.s % 400 end,                          -- db_error
       case when h.k < 95 then null when h.k < 97 then 'not_found' when h.k = 97 then 'conflict'
            when h.k = 98 then 'timeout' else 'db_error' end,
       case when h.k < 95 then null
            when h.k < 97 then 'user ' || md5('cronwarden-demo-deleted-user-' || n)::uuid || ' not found'
            when h.k = 97 then 'a deletion of this user is already running'
            when h.k = 98 then 'canceling statement due to statement timeout (user deletion over 25000 ms)'
            else 'could not serialize access due to read/write dependencies among transactions' end,
       case when h.k between 95 and 96 then jsonb_build_object('sqlstate', null)
            else jsonb_build_object(
              'user_type', case when h.u < 10 then 'admin' when h.u < 65 then 'member' else 'guest' end,
              'sqlstate', case when h.k = 98 then '57014' when h.k = 99 then 'XX000' else null end)
              || case when h.k < 95 then jsonb_build_object(
                   'deleted', jsonb_build_object('dispatches', h.s % 6, 'addresses', 1 + h.s % 2, 'file_uploads', h.s % 4,
                                                 'sessions', h.s % 3, 'preferences', 1),
                   'storage', jsonb_build_object('objects', h.s % 4, 'removed', h.s % 4, 'failed', 0, 'queued', 0))
                 else '{}'::jsonb end
       end,
       x.t
  from generate_series(1, 220) as n
 cross join lateral (
   select case when n % 53 = 7 then 98 when n % 71 = 3 then 99   -- a few timeouts and db errors
               else ('x' || substr(md5('udk' || n), 1, 4))::bit(16)::integer % 100 end as k,
          ('x' || substr(md5('uds' || n), 1, 4))::bit(16)::integer as s,
          ('x' || substr(md5('udu' || n), 1, 4))::bit(16)::integer % 100 as u,
          ('x' || substr(md5('udh' || n), 1, 4))::bit(16)::integer as r
 ) h
 cross join lateral (
   select date_trunc('day', now()) - make_interval(days => n % 28)
          + make_interval(hours => (array[8, 9, 10, 11, 13, 13, 14, 14, 14, 15, 15, 16, 17, 19, 21, 2])[1 + h.r % 16],
                          mins => h.r % 60) as t
 ) x
 where x.t <= now()
   and (extract(isodow from x.t) < 6 or h.r % 3 = 0)
on conflict do nothing;

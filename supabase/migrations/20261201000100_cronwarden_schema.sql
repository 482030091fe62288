-- Cronwarden keeps its own state in its own schema, as graphile-worker keeps `graphile_worker`,
-- pg-boss `pgboss` and pg_cron `cron`: run history, leases, alerts, counters, rollups, archive and
-- retry bookkeeping, and the functions behind them. The team's tables stay theirs: they are read
-- through the views that a binding creates in this schema (cronwarden.exports, ...), and nothing
-- here creates or alters a table outside this schema.
--
-- A database that ran the first release (supabase/legacy/, 2026-11-23) has our tables in public.
-- They move here with their rows; our old functions in public are dropped (the files after this
-- one create them again here). The domain tables that release created (export_logs, courses,
-- users, ...) stay where they are: they are now the team's (or the demo app's) and are reached
-- through a binding like any other.

create schema if not exists cronwarden;
comment on schema cronwarden is 'Cronwarden: scheduled data maintenance, run history, alerts. Managed by its migrations.';

-- Functions are callable by PUBLIC by default; ours are for the server alone (the service role
-- on Supabase, the owner elsewhere). Grants to service_role follow in each file.
alter default privileges in schema cronwarden revoke execute on functions from public;

do $$
begin
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    execute 'grant usage on schema cronwarden to service_role';
    execute 'alter default privileges in schema cronwarden grant all on tables to service_role';
    execute 'alter default privileges in schema cronwarden grant all on sequences to service_role';
    execute 'alter default privileges in schema cronwarden grant execute on functions to service_role';
  end if;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Upgrade from the first release
-- ---------------------------------------------------------------------------------------------
-- Each part of the first release is recognised by one of its functions with its exact signature
-- (no other software defines these), never by table names alone: a team's own public.alerts or
-- public.audit_logs is never touched.
do $$
declare
  v_runner boolean := to_regprocedure('public.cron_begin_run(text,uuid,integer,boolean,jsonb,text,timestamp with time zone)') is not null;
  v_alerts boolean := to_regprocedure('public.alert_observe(text,text,boolean,double precision,double precision,text,text,jsonb,integer,timestamp with time zone,boolean)') is not null;
  v_exports boolean := to_regprocedure('public.export_log_metric(uuid,uuid,text,text,integer,bigint,integer,text,text,timestamp with time zone)') is not null;
  v_users boolean := to_regprocedure('public.user_deletion_begin(uuid,uuid,text,integer,timestamp with time zone)') is not null;
  v_imports boolean := to_regprocedure('public.get_maintenance_status(timestamp with time zone,integer)') is not null;
  v_drafts boolean := to_regprocedure('public.draft_cleanup_batch(integer,integer,boolean,timestamp with time zone)') is not null;
  v_table text;
  v_fn record;
  v_legacy_functions text[] := array[
    'cron_begin_run', 'cron_finish_run', 'cron_prune_run_history', 'cron_job_summary', 'cron_recent_runs',
    'cron_get_run', 'cronwarden_ping', 'alert_observe', 'alert_resolve_absent', 'alert_resolve_unknown_rules',
    'alert_due_notifications', 'alert_record_notifications', 'alert_list_active', 'alert_list_recent',
    'alert_counts', 'alert_silence_create', 'alert_silence_delete', 'alert_silence_list', 'alert_prune',
    'cron_run_totals', 'cron_job_staleness', 'cron_job_failure_streaks', 'cron_fail_overrun_runs',
    'cron_overrun_summary', 'export_count_range', 'export_record', 'export_log_metric',
    'export_aggregate_metrics', 'export_failure_stats', 'export_rollup_hourly', 'export_hourly_series',
    'export_file_is_due', 'export_file_cleanup_preview', 'export_claim_expired_files',
    'export_finish_file_cleanup', 'export_log_cleanup_stats', 'export_delete_old_logs',
    'export_log_archive_batch', 'export_log_archive_begin', 'export_log_archive_pending_batch',
    'export_delete_logs_by_id', 'export_purge_user_data', 'maintenance_check_args', 'mark_stuck_import_runs',
    'list_expired_temp_uploads', 'delete_temp_uploads', 'compact_old_import_jobs',
    'purge_failed_run_raw_items', 'get_maintenance_status', 'run_maintenance_cleanup',
    'maintenance_last_run', 'draft_cleanup_batch', 'trigger_manual_cleanup', 'draft_system_health',
    'draft_age_distribution', 'draft_cleanup_performance', 'draft_organization_leaderboard',
    'draft_daily_trend', 'draft_pending_cleanup', 'draft_hourly_traffic', 'draft_redis_consistency',
    'draft_cleanup_effectiveness', 'draft_before_after', 'draft_session_duration', 'user_deletion_begin',
    'delete_user_cascade', 'record_user_deletion_audit', 'user_deletion_audit_complete',
    'storage_cleanup_enqueue', 'storage_cleanup_due', 'storage_cleanup_resolve', 'storage_cleanup_stats',
    'user_deletion_stats', 'user_deletion_error_rate_series', 'user_deletion_usage_slice',
    'user_deletion_period_stats', 'user_integrity_orphans_batch', 'user_integrity_table_estimates',
    'user_orphan_counts', 'user_integrity_foreign_keys', 'user_integrity_audit',
    'user_uploads_unknown_paths', 'user_deletion_completeness_sample'];
begin
  if not (v_runner or v_alerts or v_exports or v_users or v_imports or v_drafts) then
    return; -- a new install
  end if;

  if v_imports then
    execute 'drop view if exists public.maintenance_status';
  end if;

  -- Our tables, with their rows. Each moves only when its part of the first release is present.
  foreach v_table in array
    (case when v_runner then array['cron_job_runs', 'cron_job_leases'] else '{}'::text[] end)
    || (case when v_alerts then array['alerts', 'alert_silences', 'alert_notifications', 'cron_run_counters', 'cron_job_first_seen'] else '{}'::text[] end)
    || (case when v_exports then array['export_metrics', 'export_metrics_hourly', 'export_log_archive_pending'] else '{}'::text[] end)
    || (case when v_users then array['audit_logs', 'deleted_users', 'user_deletions_in_progress', 'storage_cleanup_queue'] else '{}'::text[] end)
  loop
    if to_regclass('public.' || v_table) is not null and to_regclass('cronwarden.' || v_table) is null then
      execute format('alter table public.%I set schema cronwarden', v_table);
    end if;
  end loop;

  -- The two trigger functions move rather than drop, so the triggers that call them keep working;
  -- later files replace their bodies.
  if v_alerts and to_regprocedure('public.cron_run_counters_bump()') is not null then
    alter function public.cron_run_counters_bump() set schema cronwarden;
  end if;
  if v_users and to_regprocedure('public.users_record_deletion()') is not null then
    alter function public.users_record_deletion() set schema cronwarden;
  end if;

  -- Our functions in public: every overload of every name the first release defined, only when
  -- that release is present (checked above).
  for v_fn in
    select p.oid::regprocedure as sig
      from pg_proc p
     where p.pronamespace = 'public'::regnamespace
       and p.proname = any (v_legacy_functions)
  loop
    execute format('drop function %s', v_fn.sig);
  end loop;

  if v_alerts and to_regtype('public.alert_info') is not null then
    drop type public.alert_info;
  end if;
end;
$$;

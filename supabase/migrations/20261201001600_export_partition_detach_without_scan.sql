-- Partition retention without reading the partition.
--
-- export_partition_detach used to count a partition's rows and look for a kept row (a completed
-- export whose file still exists) in one pass over the whole partition before detaching it. At
-- 10M rows that pass cost about 110 ms per 230,000-row partition, more than the detach and the
-- drop together, and made the job 0.67x of the batched row delete where dropping partitions is
-- meant to cost a small fraction of it. Now:
--   * the kept-row check is an EXISTS, which stops at the first kept row and reads by the index
--     of completed exports when the table has one (file cleanup needs the same index);
--   * the row count comes from PostgreSQL's statistics of the partition (reltuples of its last
--     VACUUM or ANALYZE, else the live tuples the statistics system counted) and is marked
--     estimated, except when the statistics say it holds under 10,000 rows: then it is
--     counted, which costs a few milliseconds at most.
-- With archival on, the rows archived are counted exactly as they are written, and the drop
-- reports that count.
alter table cronwarden.export_partitions_detached
  add column if not exists row_count_estimated boolean not null default false;

drop function if exists cronwarden.export_partition_detach(text, integer, timestamptz, boolean);
drop function if exists cronwarden.export_partition_drop(text);

-- Step 1: detaches p_partition when it is a partition of the bound exports table wholly older
-- than the cutoff and holds no kept row, and records it, in one transaction. outcome:
--   detached  done; about row_count rows left the table (exact unless row_count_estimated)
--   kept      it holds a kept row: it stays, its eligible rows go row by row (row_count 1)
--   not_due   not a partition of the bound table, or not wholly older than the cutoff
--   busy      a lock was not granted within 2 s (long transactions on the table): next run
-- The partition is locked against writers while it is checked; DETACH then holds the table's
-- ACCESS EXCLUSIVE lock until commit, a few milliseconds.
create function cronwarden.export_partition_detach(
  p_partition text,
  p_retention_days integer,
  p_now timestamptz default now(),
  p_archive boolean default false
) returns table (outcome text, row_count bigint, row_count_estimated boolean)
language plpgsql
security definer
set search_path = cronwarden, pg_temp
set lock_timeout = '2s'
as $$
#variable_conflict use_column
declare
  v_cutoff timestamptz := p_now - make_interval(hours => 24 * p_retention_days);
  v_part regclass := to_regclass(p_partition);
  v_cols jsonb := bound_setting('exports', 'columns');
  v_words jsonb := bound_setting('exports', 'statuses');
  v record;
  v_lo timestamptz;
  v_hi timestamptz;
  v_rows bigint;
  v_estimated boolean := false;
  v_kept boolean;
begin
  if p_retention_days is null or p_retention_days < 1 then
    raise exception 'p_retention_days must be at least 1' using errcode = '22023';
  end if;
  select * into v from export_partitioning();
  if v.parent is null or v_part is null
     or not exists (select 1 from pg_inherits i where i.inhrelid = v_part and i.inhparent = v.parent) then
    return query select 'not_due'::text, 0::bigint, false;
    return;
  end if;
  select b.range_from, b.range_to into v_lo, v_hi from export_partition_bounds(v_part, v.time_tz) b;
  if v_hi is null or v_hi > v_cutoff then
    return query select 'not_due'::text, 0::bigint, false;
    return;
  end if;
  begin
    execute format('lock table %s in share mode', v_part);
    execute format('select exists (select 1 from %s t where t.%I in (%s) and t.%I is not null)',
                   v_part,
                   v_cols ->> 'status',
                   (select string_agg(quote_literal(w), ', ') from jsonb_array_elements_text(v_words -> 'completed') w),
                   v_cols ->> 'filePath')
      into v_kept;
    if v_kept then
      return query select 'kept'::text, 1::bigint, false;
      return;
    end if;
    -- reltuples from the partition's last VACUUM or ANALYZE (autovacuum runs both once its
    -- day's writes stop); before either, the live tuples the statistics system counted.
    select case when c.reltuples >= 0 then c.reltuples::bigint else pg_stat_get_live_tuples(v_part) end
      into v_rows
      from pg_class c where c.oid = v_part;
    if v_rows < 10000 then
      execute format('select count(*) from %s', v_part) into v_rows;
    else
      v_estimated := true;
    end if;
    execute format('alter table %s detach partition %s', v.parent, v_part);
  exception when lock_not_available then
    return query select 'busy'::text, 0::bigint, false;
    return;
  end;
  insert into export_partitions_detached (partition_name, parent_name, range_from, range_to, id_column, time_column,
                                          time_tz, row_count, row_count_estimated, archive, detached_at, updated_at)
  values (v_part::text, v.parent::text, v_lo, v_hi, v.id_column, v.time_column, v.time_tz, v_rows, v_estimated,
          coalesce(p_archive, false) and v_rows > 0, p_now, p_now);
  return query select 'detached'::text, v_rows, v_estimated;
end;
$$;

-- Step 3: drops a partition this product detached, once every row is archived (archival on) or
-- at once (archival off). outcome: dropped (row_count: the rows archived, exact, when archival
-- was on; the count recorded at detach otherwise, estimated when row_count_estimated),
-- not_archived (rows after the archive cursor remain; row_count: about how many), unknown (not
-- recorded, or attached again: its record is removed).
create function cronwarden.export_partition_drop(p_partition text)
returns table (outcome text, row_count bigint, row_count_estimated boolean)
language plpgsql
security definer
set search_path = cronwarden, pg_temp
set lock_timeout = '2s'
as $$
#variable_conflict use_column
declare
  d export_partitions_detached;
  v_rel regclass;
  v_left boolean;
begin
  select * into d from export_partitions_detached x where x.partition_name = p_partition for update;
  if d.partition_name is null then
    return query select 'unknown'::text, 0::bigint, false;
    return;
  end if;
  v_rel := to_regclass(d.partition_name);
  if v_rel is not null and exists (select 1 from pg_inherits i where i.inhrelid = v_rel) then
    delete from export_partitions_detached x where x.partition_name = p_partition;
    return query select 'unknown'::text, 0::bigint, false;
    return;
  end if;
  if v_rel is not null and d.archive then
    execute format(
      'select exists (select 1 from %s t where $1 is null or (t.%I, t.%I) > (%s, $2::%s))',
      v_rel, d.time_column, d.id_column,
      case when d.time_tz then '$1' else '($1 at time zone ''UTC'')' end,
      (select format_type(a.atttypid, a.atttypmod) from pg_attribute a where a.attrelid = v_rel and a.attname = d.id_column))
      into v_left using d.cursor_at, d.cursor_key;
    if v_left then
      return query select 'not_archived'::text, greatest(d.row_count - d.archived_rows, 1), d.row_count_estimated;
      return;
    end if;
  end if;
  if v_rel is not null then
    execute format('drop table %s', v_rel);
  end if;
  delete from export_partitions_detached x where x.partition_name = p_partition;
  if d.archive then
    return query select 'dropped'::text, d.archived_rows, false;
  else
    return query select 'dropped'::text, d.row_count, d.row_count_estimated;
  end if;
end;
$$;

do $$
declare
  v_fn text;
begin
  foreach v_fn in array array['cronwarden.export_partition_detach(text,integer,timestamptz,boolean)',
                              'cronwarden.export_partition_drop(text)'] loop
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

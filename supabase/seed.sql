-- Demo data for the embedded default (applied by the app's migrator on first start and
-- whenever this file changes; every statement is safe to run again).
select 1;

-- --- Import maintenance (supabase/migrations/20261123000400_import_maintenance.sql) ---
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


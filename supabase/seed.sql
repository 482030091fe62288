-- Demo data for the embedded default (applied by the app's migrator on first start and
-- whenever this file changes; every statement is safe to run again).
select 1;

/**
 * The draft system-health query (draftSystemHealth, /api/admin/drafts/system-health) over
 * `rows` courses, against the same SELECT sent inline and against counting in JavaScript over
 * rows paged to the client. The three answers are compared before any time is reported.
 */
import type { SqlDb } from '../../src/lib/db/types';
import { draftSystemHealth } from '../../src/lib/monitoring/drafts';
import { seedCourses } from './draft-cleanup';
import { assert, DAY_MS, fmtInt, fmtMs, median, NOW, timed, type BenchCase, type Measurement } from './lib';

const HOURS = 24;
const NAIVE_PAGE = 1000;

/** draft_system_health's statement, sent as it is rather than through the function. */
const BARE = `
  with s as (
    select count(*)::integer as total_courses,
           count(*) filter (where c.status = 'draft')::integer as total_drafts,
           count(*) filter (where c.status = 'draft' and c.generation_status is null)::integer as unused_drafts,
           count(*) filter (where c.created_at > $2::timestamptz - interval '1 hour' and c.created_at <= $2::timestamptz)::integer as created_last_hour,
           count(*) filter (where c.created_at > $2::timestamptz - interval '24 hours' and c.created_at <= $2::timestamptz)::integer as created_last_24h,
           count(*) filter (where c.status = 'draft' and c.generation_status is null
                              and c.created_at < $2::timestamptz - make_interval(hours => $1::integer))::integer as pending_cleanup
      from courses c
  )
  select s.total_courses, s.total_drafts, s.unused_drafts, s.total_drafts - s.unused_drafts as active_drafts,
         round(100.0 * s.unused_drafts / nullif(s.total_drafts, 0), 2)::double precision as pollution_percentage,
         s.created_last_hour, s.created_last_24h, s.pending_cleanup
    from s`;

type Counts = {
  total_courses: number;
  total_drafts: number;
  unused_drafts: number;
  active_drafts: number;
  pollution_percentage: number | null;
  created_last_hour: number;
  created_last_24h: number;
  pending_cleanup: number;
};

const pick = (r: Counts): Counts => ({
  total_courses: Number(r.total_courses),
  total_drafts: Number(r.total_drafts),
  unused_drafts: Number(r.unused_drafts),
  active_drafts: Number(r.active_drafts),
  pollution_percentage: r.pollution_percentage === null ? null : Number(r.pollution_percentage),
  created_last_hour: Number(r.created_last_hour),
  created_last_24h: Number(r.created_last_24h),
  pending_cleanup: Number(r.pending_cleanup),
});

async function bare(db: SqlDb): Promise<Counts> {
  const [r] = await db.query<Counts>(BARE, [HOURS, NOW]);
  return pick(r);
}

async function naive(db: SqlDb): Promise<{ counts: Counts; pages: number }> {
  const c = { total_courses: 0, total_drafts: 0, unused_drafts: 0, created_last_hour: 0, created_last_24h: 0, pending_cleanup: 0 };
  const now = NOW.getTime();
  let last = '00000000-0000-0000-0000-000000000000';
  let pages = 0;
  for (;;) {
    const page = await db.query<{ id: string; status: string; generation_status: string | null; created_at: Date | string }>(
      `select id, status, generation_status, created_at from courses where id > $1::uuid order by id limit ${NAIVE_PAGE}`,
      [last],
    );
    pages++;
    for (const r of page) {
      const at = (r.created_at instanceof Date ? r.created_at : new Date(r.created_at)).getTime();
      c.total_courses++;
      if (r.status === 'draft') {
        c.total_drafts++;
        if (r.generation_status === null) {
          c.unused_drafts++;
          if (at < now - HOURS * 3_600_000) c.pending_cleanup++;
        }
      }
      if (at > now - 3_600_000 && at <= now) c.created_last_hour++;
      if (at > now - DAY_MS && at <= now) c.created_last_24h++;
    }
    if (page.length < NAIVE_PAGE) break;
    last = page[page.length - 1].id;
  }
  const pollution = c.total_drafts ? Math.round((10000 * c.unused_drafts) / c.total_drafts) / 100 : null;
  return { counts: pick({ ...c, active_drafts: c.total_drafts - c.unused_drafts, pollution_percentage: pollution }), pages };
}

export const draftHealth: BenchCase = {
  id: 'draft-health',
  title: 'draft system-health query',
  steps: () => 3,
  async run(ctx) {
    const db = await ctx.engine.open();
    try {
      const n = ctx.rows;
      ctx.step(`system health: seeding ${fmtInt(n)} courses`);
      await seedCourses(db, n);
      const job = async () => pick(await draftSystemHealth(db, NOW, HOURS));

      ctx.step('system health: draftSystemHealth and the inline SELECT (warm-up, then alternating)');
      const expected = await job();
      assert(expected.total_courses === n, `system health counted ${expected.total_courses} courses, seeded ${n}`);
      assert(JSON.stringify(await bare(db)) === JSON.stringify(expected), 'the inline SELECT disagrees with draftSystemHealth');
      const jobMs: number[] = [];
      const bareMs: number[] = [];
      for (let i = 0; i < ctx.repeats; i++) {
        jobMs.push((await timed(job)).ms);
        bareMs.push((await timed(() => bare(db))).ms);
      }

      ctx.step(`system health: naive, ${NAIVE_PAGE} rows a page, counted in JS`);
      const nv = await timed(() => naive(db));
      assert(JSON.stringify(nv.value.counts) === JSON.stringify(expected), `the naive counts disagree: ${JSON.stringify(nv.value.counts)} vs ${JSON.stringify(expected)}`);

      const measurements: Measurement[] = [
        { method: 'job', label: 'draftSystemHealth(db, now) (one rpc)', rows: n, ms: median(jobMs), runs: ctx.repeats, details: { runs_ms: jobMs.map(Math.round) } },
        { method: 'naive', label: `page ${NAIVE_PAGE} rows at a time, count in JS`, rows: n, ms: nv.ms, runs: 1, details: { pages: nv.value.pages } },
        { method: 'reference', label: "draft_system_health's SELECT sent inline", rows: n, ms: median(bareMs), runs: ctx.repeats, details: { runs_ms: bareMs.map(Math.round) } },
      ];
      return {
        id: this.id,
        title: this.title,
        tableRows: n,
        measurements,
        targets: [],
        notes: [
          `${fmtInt(expected.total_drafts)} drafts, ${fmtInt(expected.unused_drafts)} unused, ${fmtInt(expected.pending_cleanup)} pending; the three answers agree`,
          `draftSystemHealth ${jobMs.map(fmtMs).join(' / ')}, inline SELECT ${bareMs.map(fmtMs).join(' / ')} (after a warm-up, alternating; medians above)`,
        ],
      };
    } finally {
      await ctx.engine.release(db);
    }
  },
};

import { Cron } from 'croner';
import { z } from 'zod';

/**
 * The bindings: which of the team's tables, columns and values each feature works on. The team
 * edits them in `cronwarden.config.ts`; every default is the demo app's name, so the quick start
 * needs nothing. Validated with zod here (shapes, identifiers, operators); checked against the
 * database's catalog at start (src/lib/bindings/check.ts).
 */

export const FEATURES = ['exports', 'imports', 'drafts', 'userDeletion'] as const;
export type FeatureName = (typeof FEATURES)[number];

/** How a person names each feature in messages and on the admin page. */
export const FEATURE_TITLES: Record<FeatureName, string> = {
  exports: 'Export operations',
  imports: 'Import maintenance',
  drafts: 'Draft cleanup',
  userDeletion: 'User deletion',
};

// An identifier as PostgreSQL stores it (quoted when generated, so mixed case is kept as written).
const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, { message: 'must be a column name (letters, digits, _ and $; at most 63)' });

/** `schema.table` or `table` (schema public). */
const tableName = z
  .string()
  .regex(/^(?:[A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_$]{0,62}$/, {
    message: "must be a table name such as 'public.export_logs'",
  })
  .transform((v) => (v.includes('.') ? v : `public.${v}`));

export const OPERATORS = ['=', '<>', '<', '<=', '>', '>=', 'in', 'not in', 'is null', 'is not null', 'is true', 'is false'] as const;
export type Operator = (typeof OPERATORS)[number];

const scalar = z.union([z.string().max(1000), z.number().finite(), z.boolean()]);

/**
 * One term of a condition: `{ column: 'status', op: 'in', value: ['failed', 'cancelled'] }`.
 * Conditions are data, never SQL text: the column is checked against the catalog and quoted, the
 * value checked against the column's type and written as a literal.
 */
export const termSchema = z
  .strictObject({
    column: identifier,
    op: z.enum(OPERATORS, { message: `must be one of ${OPERATORS.join(', ')}` }),
    value: z.union([scalar, z.array(scalar).min(1).max(100)]).optional(),
  })
  .superRefine((t, ctx) => {
    const needsNone = t.op.startsWith('is ');
    const needsList = t.op === 'in' || t.op === 'not in';
    if (needsNone && t.value !== undefined) ctx.addIssue({ code: 'custom', message: `operator '${t.op}' takes no value`, path: ['value'] });
    if (!needsNone && t.value === undefined) ctx.addIssue({ code: 'custom', message: `operator '${t.op}' needs a value`, path: ['value'] });
    if (needsList && t.value !== undefined && !Array.isArray(t.value)) {
      ctx.addIssue({ code: 'custom', message: `operator '${t.op}' needs a list of values`, path: ['value'] });
    }
    if (!needsNone && !needsList && Array.isArray(t.value)) {
      ctx.addIssue({ code: 'custom', message: `operator '${t.op}' takes one value, not a list`, path: ['value'] });
    }
  });
export type Term = z.infer<typeof termSchema>;

const condition = z.array(termSchema).max(20);
const values = z.array(z.string().min(1).max(200)).min(1).max(20);
const enabled = z.boolean().default(true);

const exportsSchema = z.strictObject({
  enabled,
  table: tableName.default('public.export_logs'),
  columns: z
    .strictObject({
      id: identifier.default('export_id'),
      userId: identifier.default('user_id'),
      status: identifier.default('status'),
      filePath: identifier.default('file_path'),
      createdAt: identifier.default('created_at'),
      expiresAt: identifier.default('expires_at'),
      completedAt: identifier.nullable().default('completed_at'),
      fileSizeBytes: identifier.nullable().default('file_size_bytes'),
    })
    .prefault({}),
  /** The status words: which mean completed (file stored), failed, and the word written once the file is gone. */
  statuses: z
    .strictObject({
      completed: values.default(['completed']),
      failed: values.default(['failed']),
      expired: z.string().min(1).max(200).default('expired'),
    })
    .prefault({}),
});

const importRunsSchema = z.strictObject({
  table: tableName.default('public.import_runs'),
  columns: z
    .strictObject({
      id: identifier.default('id'),
      status: identifier.default('status'),
      /** The heartbeat a worker bumps while it makes progress. */
      heartbeatAt: identifier.default('updated_at'),
      finishedAt: identifier.nullable().default('finished_at'),
      error: identifier.nullable().default('error'),
    })
    .prefault({}),
  statuses: z
    .strictObject({
      processing: values.default(['processing']),
      /** Written on a stuck run; also what "failed" means for the raw-items rule. */
      failed: z.string().min(1).max(200).default('failed'),
    })
    .prefault({}),
});

const rawItemsSchema = z.strictObject({
  table: tableName.default('public.raw_import_items'),
  columns: z.strictObject({ id: identifier.default('id'), runId: identifier.default('run_id') }).prefault({}),
});

const tempUploadsSchema = z.strictObject({
  table: tableName.default('public.temp_uploads'),
  columns: z
    .strictObject({
      id: identifier.default('id'),
      storagePath: identifier.default('storage_path'),
      createdAt: identifier.default('created_at'),
      sizeBytes: identifier.nullable().default('size_bytes'),
    })
    .prefault({}),
});

const importJobsSchema = z.strictObject({
  table: tableName.default('public.import_jobs'),
  columns: z
    .strictObject({
      id: identifier.default('id'),
      status: identifier.default('status'),
      createdAt: identifier.default('created_at'),
      finishedAt: identifier.nullable().default('finished_at'),
      compactedAt: identifier.nullable().default('compacted_at'),
    })
    .prefault({}),
  statuses: z.strictObject({ finished: values.default(['completed', 'failed', 'cancelled']) }).prefault({}),
  /** The bulky columns compaction sets to null; everything else of the row is kept. */
  compactColumns: z.array(identifier).min(1).max(20).default(['payload', 'result']),
});

const importsSchema = z.strictObject({
  enabled,
  runs: importRunsSchema.prefault({}),
  /** `false`: the team has no such table; that step is skipped. */
  rawItems: z.union([z.literal(false), rawItemsSchema]).prefault({}),
  tempUploads: z.union([z.literal(false), tempUploadsSchema]).prefault({}),
  jobs: z.union([z.literal(false), importJobsSchema]).prefault({}),
});

const draftsSchema = z.strictObject({
  enabled,
  table: tableName.default('public.courses'),
  columns: z
    .strictObject({
      id: identifier.default('id'),
      createdAt: identifier.default('created_at'),
      updatedAt: identifier.nullable().default('updated_at'),
      organizationId: identifier.nullable().default('organization_id'),
      title: identifier.nullable().default('title'),
      createdBy: identifier.nullable().default('created_by'),
    })
    .prefault({}),
  /** What makes a row a draft. */
  draft: condition.min(1).default([{ column: 'status', op: '=', value: 'draft' }]),
  /** What else makes a draft unused (never worked on): these drafts are cleaned up. */
  unused: condition.min(1).default([{ column: 'generation_status', op: 'is null' }]),
  organizations: z
    .union([
      z.literal(false),
      z.strictObject({
        table: tableName.default('public.organizations'),
        columns: z.strictObject({ id: identifier.default('id'), name: identifier.default('name') }).prefault({}),
      }),
    ])
    .prefault({}),
});

const childTableSchema = z.strictObject({
  table: tableName,
  userColumn: identifier,
  /** A column holding storage paths of objects the row owns: removed after the deletion. */
  storagePathColumn: identifier.optional(),
});

const userDeletionSchema = z.strictObject({
  enabled,
  users: z
    .strictObject({
      table: tableName.default('public.users'),
      columns: z
        .strictObject({
          id: identifier.default('id'),
          type: identifier.nullable().default('type'),
          createdAt: identifier.nullable().default('created_at'),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Child tables are found from the foreign keys that reference the users table. */
  discoverForeignKeys: z.boolean().default(true),
  /** Tables a foreign key does not show (or that need a storage path column). */
  children: z
    .array(childTableSchema)
    .max(100)
    .default([{ table: 'public.file_uploads', userColumn: 'user_id', storagePathColumn: 'storage_path' }]),
  /** Foreign-key children to leave to the database (for example an on delete set null table). */
  exclude: z.array(tableName).max(100).default([]),
});

export const bindingsSchema = z.strictObject({
  exports: exportsSchema.prefault({}),
  imports: importsSchema.prefault({}),
  drafts: draftsSchema.prefault({}),
  userDeletion: userDeletionSchema.prefault({}),
});

// ---------------------------------------------------------------------------------------------
// Retention policies and orphaned-file sweeps: the team's own rules, on any table
// ---------------------------------------------------------------------------------------------

/** A rule's name: lower-case words joined by '-', used in its route, job name and view. */
const slug = z
  .string()
  .max(40, { message: 'must be at most 40 characters' })
  .regex(/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/, { message: "must be a slug such as 'expired-sessions' (a-z, 0-9 and single '-')" });

const DURATION_UNITS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 };

/** A duration as people write it: `'30 days'`, `'12 hours'`, `'90 minutes'`, `'2 weeks'`. */
export interface Duration {
  text: string;
  /** Milliseconds; a day is exactly 24 hours (UTC, whatever the session's time zone). */
  ms: number;
}

/** `'30 days'` -> 2,592,000,000 ms; zero and negative durations are refused. */
export function parseDuration(text: string): Duration | string {
  const m = /^\s*(-?\d+)\s*(minute|hour|day|week)s?\s*$/i.exec(text);
  if (!m) return "must be a duration such as '30 days', '12 hours', '90 minutes' or '2 weeks'";
  const n = Number(m[1]);
  if (!Number.isSafeInteger(n) || n <= 0) return 'must be more than zero';
  const ms = n * DURATION_UNITS[m[2].toLowerCase()];
  if (ms > 100 * 365 * 86_400_000) return 'must be at most 100 years';
  return { text: `${n} ${m[2].toLowerCase()}${n === 1 ? '' : 's'}`, ms };
}

const duration = (min: { ms: number; text: string } = { ms: 1, text: 'zero' }) =>
  z.string().max(40).transform((v, ctx): Duration => {
    const d = parseDuration(v);
    if (typeof d === 'string') ctx.addIssue({ code: 'custom', message: d });
    else if (d.ms < min.ms) ctx.addIssue({ code: 'custom', message: `must be at least ${min.text}` });
    return typeof d === 'string' ? { text: v, ms: 0 } : d;
  });

/** A Vercel Cron expression: five fields (minute hour day-of-month month day-of-week), UTC. */
const cronExpression = z
  .string()
  .max(100)
  .refine(
    (v) => {
      if (v.trim().split(/\s+/).length !== 5) return false;
      try {
        new Cron(v, { paused: true, timezone: 'UTC' });
        return true;
      } catch {
        return false;
      }
    },
    { message: "must be a cron expression of five fields such as '30 3 * * *' (minute hour day month weekday, UTC)" },
  );

export const policySchema = z
  .strictObject({
    name: slug,
    /** Shown on the admin page; defaults to a sentence made from the rule. */
    description: z.string().min(1).max(200).optional(),
    table: tableName,
    keyColumn: identifier,
    /** The rows' age is read from this timestamp column; rows whose value is NULL are never selected. */
    timeColumn: identifier,
    /** Rows whose time is more than this long ago are selected. */
    age: duration(),
    /** Further terms every selected row meets (all of them), over the table's own columns. */
    where: condition.default([]),
    /** What happens to a selected row: deleted, or one column set to a value (the row is then no longer selected). */
    action: z
      .union([
        z.literal('delete'),
        z.strictObject({ update: z.strictObject({ column: identifier, value: scalar.nullable() }) }),
      ], { message: "must be 'delete' or { update: { column: '<column>', value: <value> } }" })
      .default('delete'),
    /** Write each batch to storage first (gzipped NDJSON and a manifest, read back and verified), then delete it. */
    archive: z.boolean().default(false),
    /** A column holding a storage path: the object is removed before its row (never under the archive prefix, never while another row references it). */
    storagePathColumn: identifier.optional(),
    /** Rows per call (per archive object when archiving). */
    batchSize: z.number().int().min(1).max(50_000).optional(),
    schedule: cronExpression,
  })
  .superRefine((p, ctx) => {
    if (p.archive && p.action !== 'delete') {
      ctx.addIssue({ code: 'custom', message: "archive applies to the 'delete' action only", path: ['archive'] });
    }
  });
export type PolicySpec = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

export const orphanSweepSchema = z.strictObject({
  name: slug,
  description: z.string().min(1).max(200).optional(),
  /** The objects swept: paths starting with this prefix, in the configured storage bucket. */
  prefix: z
    .string()
    .min(1, { message: "must name a prefix such as 'uploads/'" })
    .max(500)
    .refine((v) => !v.startsWith('/') && !v.includes('\\') && !v.includes('\0') && !v.split('/').slice(0, -1).some((s) => s === '' || s === '.' || s === '..'), {
      message: "must be a relative storage path prefix such as 'uploads/'",
    }),
  /** Objects younger than this are left alone, so an upload whose row is not written yet is never taken. */
  grace: duration({ ms: 3_600_000, text: 'one hour' }),
  /** Tables that hold paths under the prefix beyond those the bindings and policies already name. */
  references: z.array(z.strictObject({ table: tableName, column: identifier })).max(50).default([]),
  /** Objects listed per page (and checked per call). */
  batchSize: z.number().int().min(1).max(1000).default(1000),
  schedule: cronExpression,
});
export type OrphanSweepSpec = z.infer<typeof orphanSweepSchema>;
export type OrphanSweepInput = z.input<typeof orphanSweepSchema>;

export type RuleKind = 'policy' | 'orphanSweep';

/** A rule refused by its shape (before the catalog is read): one line per problem, naming it. */
export interface RuleRefusal {
  kind: RuleKind;
  /** Its name as written (or `#<index>` when it has none). */
  name: string;
  index: number;
  problems: string[];
}

/** How a problem of a rule starts: `policy expired-sessions:` / `orphan sweep uploads:`. */
export function ruleSubject(kind: RuleKind, name: string): string {
  return `${kind === 'policy' ? 'policy' : 'orphan sweep'} ${name}`;
}

/** Where a rule's settings are: `policies[0]` / `orphanSweeps[1]`. */
export function ruleSetting(kind: RuleKind, index: number): string {
  return `${kind === 'policy' ? 'policies' : 'orphanSweeps'}[${index}]`;
}

// The rules are parsed one by one: a rule that does not fit is refused on its own (its job
// answers 503 with the reasons), the bindings and the other rules keep working.
const rawConfigSchema = z.strictObject({
  bindings: bindingsSchema.prefault({}),
  policies: z.array(z.unknown()).max(100).default([]),
  orphanSweeps: z.array(z.unknown()).max(50).default([]),
});

export const cronwardenConfigSchema = z.strictObject({
  bindings: bindingsSchema.prefault({}),
  policies: z.array(policySchema).max(100).default([]),
  orphanSweeps: z.array(orphanSweepSchema).max(50).default([]),
});

export type Bindings = z.infer<typeof bindingsSchema>;
export type ExportsBinding = Bindings['exports'];
export type ImportsBinding = Bindings['imports'];
export type DraftsBinding = Bindings['drafts'];
export type UserDeletionBinding = Bindings['userDeletion'];
export interface CronwardenConfig {
  bindings: Bindings;
  /** The policies whose shape is valid (each still checked against the catalog at start). */
  policies: PolicySpec[];
  orphanSweeps: OrphanSweepSpec[];
  /** The rules refused by their shape. */
  refusals: RuleRefusal[];
}
export type CronwardenConfigInput = z.input<typeof cronwardenConfigSchema>;

/**
 * A rule's input as the editor offers it: every string setting suggests its known values
 * (operators, actions) but takes any string, so a mistake in one policy reaches the start-up
 * check, which refuses that policy alone with a line naming it, instead of failing the type
 * check of the whole app (`next build`).
 */
export type LooseRuleInput<T> = T extends string
  ? T | (string & {})
  : T extends readonly (infer U)[]
    ? LooseRuleInput<U>[]
    : T extends object
      ? { [K in keyof T]: LooseRuleInput<T[K]> }
      : T;

/** What `cronwarden.config.ts` exports: the bindings as typed, the rules loosely typed. */
export type CronwardenConfigFile = Omit<CronwardenConfigInput, 'policies' | 'orphanSweeps'> & {
  policies?: LooseRuleInput<PolicyInput>[];
  orphanSweeps?: LooseRuleInput<OrphanSweepInput>[];
};

/** Typed helper for `cronwarden.config.ts`: `export default defineConfig({ bindings: { ... } })`. */
export function defineConfig(config: CronwardenConfigFile): CronwardenConfigFile {
  return config;
}

export class BindingConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid cronwarden.config.ts:\n  - ${issues.join('\n  - ')}`);
    this.name = 'BindingConfigError';
  }
}

function parseRules<T extends { name: string }>(
  kind: RuleKind,
  items: unknown[],
  schema: z.ZodType<T>,
  refusals: RuleRefusal[],
): T[] {
  const out: T[] = [];
  const seen = new Set<string>();
  items.forEach((item, index) => {
    const rawName = (item as { name?: unknown } | null)?.name;
    const name = typeof rawName === 'string' && rawName.length > 0 && rawName.length <= 40 ? rawName : `#${index}`;
    const subject = ruleSubject(kind, name);
    const parsed = schema.safeParse(item);
    if (!parsed.success) {
      refusals.push({
        kind,
        name,
        index,
        problems: parsed.error.issues.map((i) => {
          const at = i.path.length ? `${i.path.join('.')}: ` : '';
          const setting = i.path.length ? `${ruleSetting(kind, index)}.${i.path.join('.')}` : ruleSetting(kind, index);
          return `${subject}: ${at}${i.message} (set ${setting} in cronwarden.config.ts)`;
        }),
      });
      return;
    }
    if (seen.has(parsed.data.name)) {
      refusals.push({ kind, name, index, problems: [`${subject}: the name is used by an earlier ${kind === 'policy' ? 'policy' : 'orphan sweep'} (set ${ruleSetting(kind, index)}.name in cronwarden.config.ts)`] });
      return;
    }
    seen.add(parsed.data.name);
    out.push(parsed.data);
  });
  return out;
}

/**
 * Parses a configuration (the default export of cronwarden.config.ts, or an object in tests).
 * Throws BindingConfigError with one line per problem of the bindings, each naming its setting;
 * a policy or orphan sweep that does not fit is not thrown but listed in `refusals`, one line per
 * problem, each naming the rule.
 */
export function parseCronwardenConfig(input: unknown): CronwardenConfig {
  const parsed = rawConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new BindingConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`));
  }
  const refusals: RuleRefusal[] = [];
  const policies = parseRules('policy', parsed.data.policies, policySchema, refusals);
  const orphanSweeps = parseRules('orphanSweep', parsed.data.orphanSweeps, orphanSweepSchema, refusals);
  return { bindings: parsed.data.bindings, policies, orphanSweeps, refusals };
}

/** The demo app's bindings (every default). */
export function demoBindings(): Bindings {
  return parseCronwardenConfig({}).bindings;
}

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

export const cronwardenConfigSchema = z.strictObject({
  bindings: bindingsSchema.prefault({}),
});

export type Bindings = z.infer<typeof bindingsSchema>;
export type ExportsBinding = Bindings['exports'];
export type ImportsBinding = Bindings['imports'];
export type DraftsBinding = Bindings['drafts'];
export type UserDeletionBinding = Bindings['userDeletion'];
export type CronwardenConfig = z.infer<typeof cronwardenConfigSchema>;
export type CronwardenConfigInput = z.input<typeof cronwardenConfigSchema>;

/** Typed helper for `cronwarden.config.ts`: `export default defineConfig({ bindings: { ... } })`. */
export function defineConfig(config: CronwardenConfigInput): CronwardenConfigInput {
  return config;
}

export class BindingConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid cronwarden.config.ts:\n  - ${issues.join('\n  - ')}`);
    this.name = 'BindingConfigError';
  }
}

/**
 * Parses a configuration (the default export of cronwarden.config.ts, or an object in tests).
 * Throws BindingConfigError with one line per problem, each naming its setting.
 */
export function parseCronwardenConfig(input: unknown): CronwardenConfig {
  const parsed = cronwardenConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new BindingConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`));
  }
  return parsed.data;
}

/** The demo app's bindings (every default). */
export function demoBindings(): Bindings {
  return parseCronwardenConfig({}).bindings;
}

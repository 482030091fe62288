import type { StorageSettings } from '../config';
import { LocalStorage } from './local';
import { S3Storage } from './s3';
import { SupabaseStorage } from './supabase';
import type { Storage } from './types';

export * from './types';
export { LocalStorage } from './local';
export { S3Storage, S3_DELETE_BATCH } from './s3';
export { SupabaseStorage, SUPABASE_DELETE_BATCH } from './supabase';
export { withRetry, httpStatusOf, isTransientError, type RetryOptions } from './retry';

export interface CreateStorageOptions {
  /** Used by the Supabase driver (tests, edge runtimes). */
  fetch?: typeof fetch;
}

export function createStorage(settings: StorageSettings, opts: CreateStorageOptions = {}): Storage {
  switch (settings.driver) {
    case 'local':
      return new LocalStorage(settings.root);
    case 'supabase':
      return new SupabaseStorage(settings, { fetch: opts.fetch });
    case 's3':
      return new S3Storage(settings);
    default: {
      const unknown: never = settings;
      throw new Error(`Unknown storage driver: ${JSON.stringify(unknown)}`);
    }
  }
}

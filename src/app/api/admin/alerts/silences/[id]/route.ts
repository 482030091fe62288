import { silenceDelete } from '@/lib/alerts/admin';

export const dynamic = 'force-dynamic';

/** Ends a silence now (404 when there is none with this id). */
export const DELETE = silenceDelete();

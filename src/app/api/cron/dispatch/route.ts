import { dispatchRoute } from '@/lib/http/dispatch-route';

export const dynamic = 'force-dynamic';
// Vercel Hobby's longest function; equals DISPATCH_MAX_DURATION_SECONDS (checked by a test).
export const maxDuration = 300;

export const { GET, HEAD, POST, PUT, PATCH, DELETE } = dispatchRoute();

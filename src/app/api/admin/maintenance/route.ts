import { maintenanceGet, maintenanceNotAllowed } from '@/lib/cron/maintenance-route';

// Not behind the admin guard: this route keeps the seed's contract (CRON_ENABLED + x-cron-secret).
export const dynamic = 'force-dynamic';
export const maxDuration = 300;

export const GET = maintenanceGet;
export const POST = maintenanceNotAllowed;
export const PUT = maintenanceNotAllowed;
export const PATCH = maintenanceNotAllowed;
export const DELETE = maintenanceNotAllowed;

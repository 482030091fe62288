import { signOut } from '@/lib/admin/session';

export const dynamic = 'force-dynamic';

/** The admin page's "Sign out" form: clears the cookie and goes back to the sign-in page. */
export const POST = async (request: Request) => signOut(request, true);

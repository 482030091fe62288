import { signIn, signOut } from '@/lib/admin/session';

export const dynamic = 'force-dynamic';

/** Sign in: JSON `{ "password": "..." }` or a form post from /admin/sign-in. */
export const POST = (request: Request) => signIn(request);

/** Sign out: clears the session cookie. */
export const DELETE = async (request: Request) => signOut(request, false);

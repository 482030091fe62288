import { handleDeleteUser, userMethodNotAllowed } from '@/lib/users/delete-user-route';

export const dynamic = 'force-dynamic';
export const maxDuration = 60;

/** Deletes a user and everything it owns; see src/lib/users/delete-user.ts. */
export async function DELETE(request: Request, { params }: { params: Promise<{ userId: string }> }): Promise<Response> {
  return handleDeleteUser(request, (await params).userId);
}

export const GET = userMethodNotAllowed;
export const POST = userMethodNotAllowed;
export const PUT = userMethodNotAllowed;
export const PATCH = userMethodNotAllowed;

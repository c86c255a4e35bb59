import { describe, expect, it } from 'vitest';
import { expectError, useTestApp } from '../helpers/test-app.js';

// One app per file: this one is invite-only; open (the default) is what every other suite runs.
const ctx = useTestApp({ REGISTRATION_MODE: 'invite_only' });

describe('REGISTRATION_MODE=invite_only', () => {
  it('answers both sign-up routes with 403 auth.registration_closed and creates nothing', async () => {
    const register = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'a@example.com', username: 'someone', password: 'long-enough-1' },
    });
    expect(expectError(register, 403, 'AuthorizationError').code).toBe('auth.registration_closed');
    const client = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/client/register',
      payload: {
        email: 'b@example.com',
        password: 'long-enough-1',
        first_name: 'B',
        last_name: 'C',
        company_name: 'D',
      },
    });
    expect(expectError(client, 403, 'AuthorizationError').code).toBe('auth.registration_closed');
    expect(await ctx.database.query('SELECT id FROM users')).toEqual([]);
  });

  it('still lets accounts made another way (the CLI, invitations) sign in', async () => {
    const { user } = await ctx.signIn();
    expect(user.isApproved).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { expectError, USER_FIELDS, useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp();

describe('POST /api/v1/auth/register', () => {
  it('creates the user and answers 201 with the public fields only', async () => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: ' Alice@Example.COM ', username: 'alice', password: 'correct-horse', first_name: 'Alice' },
    });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(USER_FIELDS);
    expect(body).toMatchObject({ email: 'alice@example.com', username: 'alice', is_active: true, is_superuser: false });
    expect(body.created_at).toMatch(/Z$/);
  });
});

describe('POST /api/v1/auth/login', () => {
  it('returns a bearer token for the right password', async () => {
    const user = await ctx.createUser();
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: user.username, password: user.password },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ token_type: 'bearer', expires_in: 1800 });
  });

  it('answers 401 for a wrong password', async () => {
    const user = await ctx.createUser();
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: user.username, password: 'wrong-password' },
    });
    expect(expectError(response, 401, 'AuthenticationError').message).toBe('Incorrect username or password');
  });
});

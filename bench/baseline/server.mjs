// The baseline the API is measured against: bare node:http + pg prepared statements doing the same
// per-request work as our routes (HS256 check, user + session + feature flags in one query, the portal's
// approval rule, the same JSON), with no framework, validation, headers or logging. Written for the benchmark only.
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { hash, verify } from '@node-rs/argon2';
import pg from 'pg';

const { DATABASE_URL, SECRET_KEY, PORT = '8001', POOL_MAX = '15' } = process.env;
const key = Buffer.from(SECRET_KEY, 'utf8');
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: Number(POOL_MAX) });
const ARGON2 = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };

const USER_COLUMNS =
  'u.id, u.email, u.username, u.first_name, u.last_name, u.is_active, u.is_superuser, u.email_verified, u.role, u.is_approved, u.approved_at, u.company_name, u.phone, u.created_at, u.updated_at';
// The session's user with their stored feature flags, refused while not approved (the portal's rules).
const ME = {
  name: 'baseline_me',
  text: `SELECT ${USER_COLUMNS},
           (SELECT json_object_agg(f.feature_key, f.enabled) FROM user_features f WHERE f.user_id = u.id) AS flags
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3 AND u.is_active
           AND (u.is_approved OR u.is_superuser OR u.role = 'admin')`,
};
const FEATURE_DEFAULTS = {
  can_view_dashboard: true,
  can_view_reports: true,
  can_export_data: true,
  can_view_analytics: true,
};

const b64url = (buf) => buf.toString('base64url');
const HEADER = b64url(Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));

function sign(payload) {
  const body = `${HEADER}.${b64url(Buffer.from(JSON.stringify(payload)))}`;
  return `${body}.${b64url(createHmac('sha256', key).update(body).digest())}`;
}

function verifyToken(header) {
  if (!header?.startsWith('Bearer ')) return undefined;
  const token = header.slice(7);
  const [h, p, s] = token.split('.');
  if (!h || !p || !s) return undefined;
  if (JSON.parse(Buffer.from(h, 'base64url').toString()).alg !== 'HS256') return undefined;
  const expected = createHmac('sha256', key).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) return undefined;
  return claims;
}

const toUser = (r) => ({
  id: r.id,
  email: r.email,
  username: r.username,
  first_name: r.first_name,
  last_name: r.last_name,
  is_active: r.is_active,
  is_superuser: r.is_superuser,
  email_verified: r.email_verified,
  role: r.role,
  is_approved: r.is_approved,
  approved_at: r.approved_at ? r.approved_at.toISOString() : null,
  company_name: r.company_name,
  phone: r.phone,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

const features = (r) => {
  const out = {};
  for (const key in FEATURE_DEFAULTS)
    out[key] = r.is_superuser || r.role === 'admin' ? true : (r.flags?.[key] ?? FEATURE_DEFAULTS[key]);
  return out;
};

async function currentUser(req) {
  const claims = verifyToken(req.headers.authorization);
  if (!claims) return undefined;
  const { rows } = await pool.query({ ...ME, values: [claims.sid, Number(claims.sub), new Date()] });
  return rows[0] ? { user: rows[0], sid: claims.sid } : undefined;
}

function send(res, status, body, headers = {}) {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), ...headers });
  res.end(json);
}

const readJson = (req) =>
  new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (c) => {
      data += c;
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(data));
      } catch (e) {
        reject(e);
      }
    });
  });

const hashToken = (t) => createHash('sha256').update(t).digest('hex');

async function startSession(userId) {
  const refresh = randomBytes(32).toString('base64url');
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query(
      "INSERT INTO sessions (user_id, expires_at) VALUES ($1, now() + interval '30 days') RETURNING id",
      [userId],
    );
    await client.query(
      "INSERT INTO refresh_tokens (session_id, token_hash, expires_at) VALUES ($1, $2, now() + interval '14 days')",
      [rows[0].id, hashToken(refresh)],
    );
    await client.query('COMMIT');
    return { sid: rows[0].id, refresh };
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  } finally {
    client.release();
  }
}

function tokens(userId, sid, refresh) {
  const iat = Math.floor(Date.now() / 1000);
  const access_token = sign({ sid, sub: String(userId), iat, exp: iat + 1800, jti: randomUUID() });
  return { access_token, token_type: 'bearer', expires_in: 1800, refresh_token: refresh };
}

const routes = {
  'GET /health': async (_req, res) => send(res, 200, { status: 'healthy' }),

  'GET /api/v1/users/me': async (req, res) => {
    const me = await currentUser(req);
    if (!me) return send(res, 401, { error: 'unauthorized' });
    send(res, 200, { ...toUser(me.user), features: features(me.user) });
  },

  'GET /api/v1/users': async (req, res, url) => {
    const me = await currentUser(req);
    if (!me) return send(res, 401, { error: 'unauthorized' });
    if (!me.user.is_superuser) return send(res, 403, { error: 'forbidden' });
    const limit = Number(url.searchParams.get('limit') ?? 100);
    const skip = Number(url.searchParams.get('skip') ?? 0);
    const search = url.searchParams.get('search');
    const where = search
      ? 'WHERE u.username ILIKE $1 OR u.email ILIKE $1 OR u.first_name ILIKE $1 OR u.last_name ILIKE $1'
      : '';
    const params = search ? [`%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`] : [];
    const [page, total] = await Promise.all([
      pool.query({
        name: search ? 'baseline_search' : 'baseline_list',
        text: `SELECT ${USER_COLUMNS} FROM users u ${where} ORDER BY u.id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        values: [...params, limit, skip],
      }),
      pool.query({
        name: search ? 'baseline_search_count' : 'baseline_count',
        text: `SELECT count(*)::int AS n FROM users u ${where}`,
        values: params,
      }),
    ]);
    send(res, 200, page.rows.map(toUser), { 'x-total-count': String(total.rows[0].n) });
  },

  'POST /api/v1/auth/login': async (req, res) => {
    const { username, password } = await readJson(req);
    const { rows } = await pool.query({
      name: 'baseline_login',
      text: 'SELECT id, hashed_password, is_active FROM users WHERE lower(username) = lower($1) LIMIT 1',
      values: [username],
    });
    const user = rows[0];
    if (!user || !(await verify(user.hashed_password, password))) return send(res, 401, { error: 'unauthorized' });
    const { sid, refresh } = await startSession(user.id);
    send(res, 200, tokens(user.id, sid, refresh));
  },

  'POST /api/v1/auth/register': async (req, res) => {
    const body = await readJson(req);
    const hashed = await hash(body.password, ARGON2);
    const { rows } = await pool.query(
      `INSERT INTO users AS u (email, username, hashed_password) VALUES ($1, $2, $3) RETURNING ${USER_COLUMNS}`,
      [body.email.toLowerCase(), body.username, hashed],
    );
    send(res, 201, toUser(rows[0]));
  },

  'POST /api/v1/auth/refresh': async (req, res) => {
    const { refresh_token } = await readJson(req);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query(
        `UPDATE refresh_tokens t SET rotated_at = now() FROM sessions s
         WHERE t.token_hash = $1 AND t.rotated_at IS NULL AND t.expires_at > now() AND s.id = t.session_id AND s.revoked_at IS NULL
         RETURNING s.id AS sid, s.user_id`,
        [hashToken(refresh_token)],
      );
      if (!rows[0]) {
        await client.query('ROLLBACK');
        return send(res, 401, { error: 'unauthorized' });
      }
      const next = randomBytes(32).toString('base64url');
      await client.query(
        "INSERT INTO refresh_tokens (session_id, token_hash, expires_at) VALUES ($1, $2, now() + interval '14 days')",
        [rows[0].sid, hashToken(next)],
      );
      await client.query('COMMIT');
      send(res, 200, tokens(rows[0].user_id, rows[0].sid, next));
    } catch (e) {
      await client.query('ROLLBACK');
      throw e;
    } finally {
      client.release();
    }
  },
};

createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const route = routes[`${req.method} ${url.pathname}`];
  if (!route) return send(res, 404, { error: 'not found' });
  route(req, res, url).catch((error) => send(res, 500, { error: String(error.message) }));
}).listen(Number(PORT), '127.0.0.1', () => process.stdout.write(`baseline listening on ${PORT}\n`));

process.on('SIGTERM', () => pool.end().then(() => process.exit(0)));

// Drives one scenario against one server from its own process (so the load generator does not share an
// event loop with what it measures) and prints autocannon's summary as one JSON line.
import autocannon from 'autocannon';

const { url, scenario, duration, connections, tokens } = JSON.parse(process.argv[2]);
let counter = 0;
const runId = `${process.pid}${Date.now().toString(36)}`;

const json = { 'content-type': 'application/json' };
const bearer = (token) => ({ authorization: `Bearer ${token}` });

const scenarios = {
  health: () => ({ requests: [{ method: 'GET', path: '/health' }] }),
  me: () => ({ requests: [{ method: 'GET', path: '/api/v1/users/me', headers: bearer(tokens.user) }] }),
  list: () => ({
    requests: [{ method: 'GET', path: '/api/v1/users?limit=100', headers: bearer(tokens.admin) }],
  }),
  search: () => ({
    requests: [{ method: 'GET', path: '/api/v1/users?search=user12', headers: bearer(tokens.admin) }],
  }),
  login: () => ({
    requests: [
      {
        method: 'POST',
        path: '/api/v1/auth/login',
        headers: json,
        body: JSON.stringify({ username: 'bench_login', password: 'bench-password' }),
      },
    ],
  }),
  register: () => ({
    requests: [
      {
        method: 'POST',
        path: '/api/v1/auth/register',
        headers: json,
        setupRequest: (req) => {
          counter += 1;
          const name = `reg_${runId}_${counter}`;
          return {
            ...req,
            body: JSON.stringify({ email: `${name}@bench.example`, username: name, password: 'bench-password' }),
          };
        },
      },
    ],
  }),
  // Rotation chains: a request takes a spent-free token from the pool, its response puts the successor back.
  // (autocannon resets its per-request context between requests, so the pool lives here.)
  refresh: () => {
    const available = [...tokens.refresh];
    return {
      requests: [
        {
          method: 'POST',
          path: '/api/v1/auth/refresh',
          headers: json,
          setupRequest: (req) => ({
            ...req,
            body: JSON.stringify({ refresh_token: available.shift() ?? 'exhausted' }),
          }),
          onResponse: (status, body) => {
            if (status === 200) available.push(JSON.parse(body).refresh_token);
          },
        },
      ],
    };
  },
};

const result = await autocannon({ url, duration, connections, ...scenarios[scenario]() });
process.stdout.write(
  `${JSON.stringify({
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    total: result.requests.total,
  })}\n`,
);

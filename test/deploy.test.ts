import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { buildApp } from '../src/app.js';
import { ConfigError, loadConfig, settings } from '../src/config/config.js';
import { createLogger } from '../src/shared/logger.js';
import { TEST_SECRET } from './helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';

/**
 * The deploy files checked against the app itself (kubeconform is not packaged here): every manifest parses
 * with the kind, apiVersion and fields Kubernetes requires; the probes ask routes the app has, on the port it
 * listens on, with a Host it accepts; and every variable the files set is a setting of src/config/config.ts.
 */
const ROOT = new URL('..', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');

const isSetting = (key: string) => key in settings;

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked field by field and every field is asserted.
type Manifest = Record<string, any>;

const API_VERSIONS: Record<string, string> = {
  ConfigMap: 'v1',
  Secret: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  Job: 'batch/v1',
  PodDisruptionBudget: 'policy/v1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
};

const K8S_DIR = 'deploy/kubernetes/';
const manifestFiles = readdirSync(new URL(K8S_DIR, ROOT)).filter(
  (f) => f.endsWith('.yaml') && f !== 'kustomization.yaml',
);
const manifests: (Manifest & { file: string })[] = manifestFiles.flatMap((file) =>
  parseAllDocuments(read(`${K8S_DIR}${file}`)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return { ...(doc.toJS() as Manifest), file };
  }),
);
const one = (kind: string): Manifest => {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found, `one ${kind}`).toHaveLength(1);
  return found[0] as Manifest;
};

const configMap = () => one('ConfigMap').data as Record<string, string>;
const secret = () => one('Secret').stringData as Record<string, string>;
const deployment = () => one('Deployment');
const apiContainer = () => deployment().spec.template.spec.containers[0] as Manifest;

/** The environment a pod gets: the ConfigMap, the Secret (real values for the placeholders), its own env. */
function podEnvironment(): Record<string, string> {
  return { ...configMap(), ...secret(), SECRET_KEY: TEST_SECRET, METRICS_TOKEN: 'a-token' };
}

/** The same, for the app these tests build: load shedding off, since a busy test machine is not what is tested. */
function testedPodEnvironment(): Record<string, string> {
  return { ...podEnvironment(), OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' };
}

/** Kubernetes quantities (250m, 1, 512Mi) in base units, to compare requests with limits. */
function quantity(value: string | number): number {
  const match = /^([0-9.]+)(m|Ki|Mi|Gi)?$/.exec(String(value));
  if (!match) throw new Error(`not a quantity: ${value}`);
  const factor = { m: 0.001, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * factor;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('the Kubernetes manifests', () => {
  it('are the resources kustomization.yaml lists, each with its kind, apiVersion and a valid name', () => {
    const kustomization = parse(read(`${K8S_DIR}kustomization.yaml`)) as Manifest;
    expect(kustomization.kind).toBe('Kustomization');
    expect([...kustomization.resources].sort()).toEqual([...manifestFiles].sort());
    expect(manifests.map((m) => m.kind).sort()).toEqual(Object.keys(API_VERSIONS).sort());
    for (const manifest of manifests) {
      expect(manifest.apiVersion, `${manifest.file} apiVersion`).toBe(API_VERSIONS[manifest.kind]);
      expect(manifest.metadata?.name, `${manifest.file} name`).toMatch(DNS_LABEL);
    }
  });

  it('select the API pods consistently: Deployment, Service, PodDisruptionBudget and autoscaler', () => {
    const spec = deployment().spec;
    const podLabels = spec.template.metadata.labels as Record<string, string>;
    expect(podLabels).toMatchObject(spec.selector.matchLabels);
    expect(podLabels).toMatchObject(one('Service').spec.selector);
    expect(podLabels).toMatchObject(one('PodDisruptionBudget').spec.selector.matchLabels);

    const service = one('Service').spec.ports[0];
    expect(apiContainer().ports.map((p: Manifest) => p.name)).toContain(service.targetPort);

    const hpa = one('HorizontalPodAutoscaler').spec;
    expect(hpa.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment().metadata.name });
    expect(hpa.minReplicas).toBeLessThanOrEqual(hpa.maxReplicas);
    // A node drain can always evict one pod: more pods run than the budget keeps.
    expect(hpa.minReplicas).toBeGreaterThan(one('PodDisruptionBudget').spec.minAvailable);
    expect(spec.replicas).toBeGreaterThanOrEqual(hpa.minReplicas);
    expect(spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it('give every container resource requests and limits, requests within the limits', () => {
    const containers = manifests
      .filter((m) => m.kind === 'Deployment' || m.kind === 'Job')
      .flatMap((m) => m.spec.template.spec.containers as Manifest[]);
    expect(containers.length).toBe(2);
    for (const container of containers) {
      for (const resource of ['cpu', 'memory']) {
        const request = container.resources?.requests?.[resource];
        const limit = container.resources?.limits?.[resource];
        expect(request, `${container.name} ${resource} request`).toBeDefined();
        expect(limit, `${container.name} ${resource} limit`).toBeDefined();
        expect(quantity(request)).toBeLessThanOrEqual(quantity(limit));
      }
    }
  });

  it('set only variables that are settings of the service', () => {
    const container = apiContainer();
    const keys = [
      ...Object.keys(configMap()),
      ...Object.keys(secret()),
      ...((container.env ?? []) as Manifest[]).map((e) => e.name as string),
    ];
    expect(keys.filter((key) => !isSetting(key))).toEqual([]);
    for (const workload of [deployment(), one('Job')]) {
      const refs = workload.spec.template.spec.containers[0].envFrom as Manifest[];
      expect(refs).toEqual([
        { configMapRef: { name: one('ConfigMap').metadata.name } },
        { secretRef: { name: one('Secret').metadata.name } },
      ]);
    }
  });

  it('give a pod more time to stop than its drain delay and shutdown timeout together', () => {
    const grace = deployment().spec.template.spec.terminationGracePeriodSeconds as number;
    const delay = Number(configMap().SHUTDOWN_DELAY_SECONDS);
    const timeout = Number(configMap().SHUTDOWN_TIMEOUT_SECONDS);
    expect(delay).toBeGreaterThan(0);
    expect(grace).toBeGreaterThan(delay + timeout);
    // Either the app's own delay or a preStop sleep, not both (they would add up).
    expect(apiContainer().lifecycle?.preStop).toBeUndefined();
  });

  it('migrate in a Job with the CLI of the same image, and not on the pods start', () => {
    const job = one('Job').spec.template.spec;
    expect(job.containers[0].command).toEqual(['node', 'dist/cli/main.js', 'migrate']);
    expect(job.containers[0].image).toBe(apiContainer().image);
    expect(['OnFailure', 'Never']).toContain(job.restartPolicy);
    expect(existsSync(new URL('dist/cli/main.js', ROOT))).toBe(true);
    expect(existsSync(new URL('src/cli/commands/migrate.ts', ROOT))).toBe(true);
    expect(configMap().MIGRATE_ON_START).toBe('false');
  });

  it('refuse to start with the Secret placeholders as they are (production wants a real SECRET_KEY)', () => {
    expect(() => loadConfig({ ...configMap(), ...secret() })).toThrow(ConfigError);
    expect(() => loadConfig({ ...configMap(), ...secret() })).toThrow(/SECRET_KEY/);
  });

  describe('probes, against the app built with these settings', () => {
    let database: TestDatabase;
    let app: FastifyInstance;
    beforeAll(async () => {
      database = await createTestDatabase();
      const config = loadConfig(testedPodEnvironment());
      app = await buildApp({ config, database: database.handle, logger: createLogger({ level: 'silent' }) });
      await app.ready();
    });
    afterAll(async () => {
      await app?.close();
      await database?.close();
    });

    it('ask /health (liveness) and /health/ready (readiness) on the port the app listens on, with a Host it accepts', async () => {
      const container = apiContainer();
      const config = loadConfig(podEnvironment());
      const expected = { livenessProbe: '/health', readinessProbe: '/health/ready', startupProbe: '/health' };
      for (const [probe, path] of Object.entries(expected)) {
        const get = container[probe]?.httpGet as Manifest;
        expect(get?.path, probe).toBe(path);
        const port = container.ports.find((p: Manifest) => p.name === get.port || p.containerPort === get.port);
        expect(port?.containerPort, `${probe} port`).toBe(config.port);
        expect(app.hasRoute({ method: 'GET', url: path })).toBe(true);
        const host = ((get.httpHeaders ?? []) as Manifest[]).find((h) => h.name.toLowerCase() === 'host')?.value;
        const response = await app.inject({ url: path, headers: host ? { host } : {} });
        expect(response.statusCode, `${probe} ${path} with Host ${host}`).toBe(200);
      }
      // Without the Host header kubelet would send the pod's IP, which ALLOWED_HOSTS does not list.
      expect((await app.inject({ url: '/health', headers: { host: '10.1.2.3:8000' } })).statusCode).toBe(400);
    });

    it('point Prometheus at /metrics on the same port', async () => {
      const annotations = deployment().spec.template.metadata.annotations as Record<string, string>;
      expect(annotations['prometheus.io/path']).toBe('/metrics');
      expect(Number(annotations['prometheus.io/port'])).toBe(loadConfig(podEnvironment()).port);
      const response = await app.inject({
        url: '/metrics',
        headers: { host: 'localhost', authorization: 'Bearer a-token' },
      });
      expect(response.statusCode).toBe(200);
    });
  });
});

describe('the compose file of N replicas behind Caddy', () => {
  // merge: the services share their common variables through a YAML anchor and merge key (<<), as Compose reads it.
  const compose = parse(read('deploy/compose/compose.yaml'), { merge: true }) as Manifest;
  const services = compose.services as Record<string, Manifest>;
  const caddyfile = read('deploy/compose/Caddyfile');
  const environment = (service: string) => services[service]?.environment as Record<string, string>;

  it('runs PostgreSQL 15, Redis 7, a migration step, the API replicas and the proxy, each with a health check', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'migrate', 'postgres', 'proxy', 'redis']);
    expect(services.postgres?.image).toBe('postgres:15');
    expect(services.redis?.image).toBe('redis:7');
    expect(services.proxy?.image).toMatch(/^caddy:2/);
    for (const name of ['api', 'postgres', 'redis', 'proxy']) expect(services[name]?.healthcheck?.test).toBeDefined();
    expect(services.migrate?.command).toEqual(['node', 'dist/cli/main.js', 'migrate']);
    expect(environment('migrate').DATABASE_URL).toBe(environment('api').DATABASE_URL);
    expect(services.api?.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
    expect(services.proxy?.depends_on?.api).toEqual({ condition: 'service_healthy' });
  });

  it('runs several replicas that publish no port of their own, behind a proxy that finds them all', () => {
    const replicas = /^\$\{API_REPLICAS:-(\d+)\}$/.exec(String(services.api?.deploy?.replicas))?.[1];
    expect(Number(replicas)).toBeGreaterThanOrEqual(2);
    expect(services.api?.ports).toBeUndefined();
    const port = environment('api').PORT;
    expect(caddyfile).toMatch(new RegExp(`dynamic a api ${port}\\b`));
    expect(caddyfile).toMatch(/unhealthy_status 503/);
    expect(services.api?.healthcheck?.test.join(' ')).toContain(`port: ${port}, path: '/health/ready'`);
    expect(environment('api').TRUST_PROXY).toBe('true');
    expect(environment('api').MIGRATE_ON_START).toBe('false');
  });

  it('sets only settings of the service, and gives a replica time to drain before Docker kills it', () => {
    for (const service of ['api', 'migrate']) {
      expect(Object.keys(environment(service)).filter((key) => !isSetting(key))).toEqual([]);
    }
    const api = environment('api');
    const grace = Number(/^(\d+)s$/.exec(services.api?.stop_grace_period)?.[1]);
    expect(grace).toBeGreaterThan(Number(api.SHUTDOWN_DELAY_SECONDS) + Number(api.SHUTDOWN_TIMEOUT_SECONDS));
  });
});

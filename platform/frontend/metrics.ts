/**
 * Platform counters in Prometheus text format (prom-client): what ran, how it ended, how warm it was.
 * Each platform has its own registry, so several platforms in one process (tests) do not mix their numbers.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ExecutionStatus, InvocationRecord } from '../records.js';

export class PlatformMetrics {
  readonly registry = new Registry();
  private readonly executions = new Counter({
    name: 'mf_executions_total',
    help: 'Workflow executions and direct invocations that finished, by app, workflow and status.',
    labelNames: ['app', 'workflow', 'status'] as const,
    registers: [this.registry],
  });
  private readonly invocations = new Counter({
    name: 'mf_invocations_total',
    help: 'Function invocations, by app, function, temperature and outcome.',
    labelNames: ['app', 'function', 'temperature', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'mf_execution_duration_seconds',
    help: 'Platform-side execution time, from request received to result back in the frontend.',
    labelNames: ['app'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly apps = new Gauge({ name: 'mf_apps', help: 'Apps deployed.', registers: [this.registry] });

  /** `liveSandboxes` is read when the metrics are scraped. */
  constructor(liveSandboxes: () => number) {
    new Gauge({
      name: 'mf_sandboxes',
      help: 'Sandboxes alive.',
      registers: [this.registry],
      collect() {
        this.set(liveSandboxes());
      },
    });
  }

  recordExecution(app: string, workflow: string, status: ExecutionStatus, seconds: number, records: readonly InvocationRecord[]): void {
    this.executions.inc({ app, workflow, status });
    this.latency.observe({ app }, seconds);
    for (const r of records) this.invocations.inc({ app, function: r.function, temperature: r.temperature, outcome: r.outcome.state });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

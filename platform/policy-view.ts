/**
 * The platform's resolved policy as `GET /config` reports it, and as the harness records it in a run's manifest
 * (the same shape whether the platform is embedded or remote).
 */
import type { PlatformPolicy } from './api.js';
import type { ResolvedConfig } from './config.js';

export function platformPolicy(c: ResolvedConfig): PlatformPolicy {
  return {
    backend: c.backend,
    preset: c.preset,
    sandboxing: c.sandboxing,
    busMode: c.busMode,
    workerConcurrency: c.workerConcurrency,
    maxWorkersPerFunction: c.maxWorkersPerFunction,
    maxSandboxesPerFunction: c.maxSandboxesPerFunction,
    maxSandboxesPerApp: c.maxSandboxesPerApp,
    keepAliveSeconds: c.keepAliveSeconds,
    poolSize: c.poolSize,
    workerStart: c.workerStart,
    handover: c.handover,
    recoveryAttempts: c.recoveryAttempts,
    keepHistory: c.keepHistory,
    maxResultBytes: c.maxResultBytes,
    maxTransitions: c.maxTransitions,
    maxExecutionSeconds: c.maxExecutionSeconds,
    globalLayer: c.broker === null ? { bus: 'journal', storage: 'journal', broker: null } : { bus: 'jetstream', storage: 'jetstream-kv', broker: withoutCredentials(c.broker), replicas: c.brokerReplicas },
  };
}

/** A broker URL list with any `user:password@` taken out: the policy is shown, a credential never. */
function withoutCredentials(urls: string): string {
  return urls.replace(/\/\/[^/@,]*@/g, '//');
}

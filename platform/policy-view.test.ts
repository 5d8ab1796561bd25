import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { platformPolicy } from './policy-view.js';

describe('platformPolicy', () => {
  it('shows a broker without its credentials', () => {
    const p = platformPolicy(resolveConfig({ broker: 'nats://alice:s3cret@127.0.0.2:4222,nats://bob:pw@127.0.0.3:4222', brokerReplicas: 2 }));
    expect(p.globalLayer).toEqual({ bus: 'jetstream', storage: 'jetstream-kv', broker: 'nats://127.0.0.2:4222,nats://127.0.0.3:4222', replicas: 2 });
    expect(JSON.stringify(p)).not.toMatch(/s3cret|alice|bob/);
  });

  it('carries the switches the preset resolved', () => {
    const p = platformPolicy(resolveConfig({ preset: 'grouped' }));
    expect(p).toMatchObject({ preset: 'grouped', sandboxing: 'grouped', busMode: 'hierarchical', workerConcurrency: 16, maxWorkersPerFunction: 4 });
  });
});

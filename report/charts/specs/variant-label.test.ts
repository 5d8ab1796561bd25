import { describe, expect, it } from 'vitest';
import { variantLabeler } from './variant-label.js';

describe('variantLabeler', () => {
  it.each([
    [['microfunctions/process/grouped', 'microfunctions/process/per-function'], ['grouped', 'per-function']],
    [['microfunctions/process/grouped', 'openwhisk/-/-', 'openfaas/-/-'], ['grouped', 'openwhisk', 'openfaas']],
    [['microfunctions/process/grouped', 'microfunctions/docker/grouped'], ['process', 'docker']],
    [['microfunctions/process/grouped', 'microfunctions/docker/per-function', 'microfunctions/docker/grouped'], ['process/grouped', 'docker/per-function', 'docker/grouped']],
    [['microfunctions/process/grouped', 'microfunctions/docker/grouped', 'openwhisk/-/-'], ['microfunctions/process/grouped', 'microfunctions/docker/grouped', 'openwhisk']],
    [['microfunctions/process/grouped'], ['grouped']],
  ])('%j -> %j', (variants, labels) => {
    const label = variantLabeler(variants);
    expect(variants.map(label)).toEqual(labels);
  });
});

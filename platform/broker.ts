/**
 * The connection to a NATS JetStream broker (config `broker`), shared by the JetStream global bus and global storage.
 * Names on the broker are derived here so that the bus and storage layouts live in one place (docs/distributed.md).
 */
import { connect, type NatsConnection } from 'nats';
import { MfError } from './errors.js';

/** How long the first connection may take before the broker counts as unreachable. */
const CONNECT_TIMEOUT_MS = 5_000;

/** Connects, or throws MF_BROKER_UNREACHABLE naming the URL. */
export async function connectBroker(url: string): Promise<NatsConnection> {
  const servers = brokerServers(url);
  try {
    const nc = await connect({ servers, timeout: CONNECT_TIMEOUT_MS, name: 'mfbench', maxReconnectAttempts: -1 });
    // A server without JetStream (started without -js) would fail every call later; say so now.
    await (await nc.jetstreamManager()).getAccountInfo();
    return nc;
  } catch (err) {
    throw new MfError('MF_BROKER_UNREACHABLE', `the NATS broker at ${url} did not answer with JetStream: ${(err as Error).message}`, { broker: url });
  }
}

/** `nats://host:port[,nats://host:port...]` (checked by the config) into the server list the client takes. */
export function brokerServers(url: string): string[] {
  return url.split(',').map((s) => s.trim().slice('nats://'.length));
}

/**
 * A name as one NATS token (stream, consumer, bucket and subject token): letters, digits, '-' kept; every other
 * character escaped as `_XX` (hex of its UTF-8 bytes), so distinct names stay distinct and prefixes stay prefixes.
 */
export function brokerToken(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9-]/.test(c) ? c : '_' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** The name a token was made from (the inverse of brokerToken). */
export function fromBrokerToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '_') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

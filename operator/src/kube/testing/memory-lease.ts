import type { LeaseApi } from '../leader.js';
import type { LeaseObject, LeaseRecord } from '../lease.js';

const httpError = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });

/**
 * One Lease in memory, for the leader election's unit tests: resourceVersions and optimistic concurrency as on
 * the API server. Each candidate gets its own client (`client(name)`), which a test can cut off: its requests
 * then hang until their AbortSignal fires, as over a dead connection.
 */
export class MemoryLease {
  private lease?: LeaseObject;
  private rv = 1;
  private readonly cut = new Set<string>();
  /** Writes that landed, in order: who wrote which holder. */
  readonly writes: { by: string; holder: string }[] = [];

  /** The stored Lease's record, or undefined before the first write. */
  record(): Partial<LeaseRecord> | undefined {
    return this.lease?.spec;
  }

  cutOff(client: string): void {
    this.cut.add(client);
  }

  reconnect(client: string): void {
    this.cut.delete(client);
  }

  client(name: string): LeaseApi {
    const reach = async (signal?: AbortSignal): Promise<void> => {
      await Promise.resolve();
      if (!this.cut.has(name)) return;
      await new Promise<void>((_resolve, reject) => {
        if (signal?.aborted) return reject(httpError(0, 'aborted'));
        signal?.addEventListener('abort', () => reject(httpError(0, 'aborted')), { once: true });
      });
    };
    const store = (spec: LeaseRecord): LeaseObject => {
      this.lease = {
        metadata: { name: 'lease', namespace: 'ns', resourceVersion: String(++this.rv) },
        spec: { ...spec },
      };
      this.writes.push({ by: name, holder: spec.holderIdentity });
      return structuredClone(this.lease);
    };
    return {
      get: async (signal) => {
        await reach(signal);
        if (!this.lease) throw httpError(404, 'leases "lease" not found');
        return structuredClone(this.lease);
      },
      create: async (record, signal) => {
        await reach(signal);
        if (this.lease) throw httpError(409, 'leases "lease" already exists');
        return store(record);
      },
      replace: async (base, record, signal) => {
        await reach(signal);
        if (base.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion)
          throw httpError(409, 'the object has been modified');
        return store({ ...(base.spec as LeaseRecord), ...record });
      },
    };
  }
}

/**
 * Records Kubernetes Events about objects, as `kubectl describe` shows them. A repeat of the same event bumps
 * its count instead of creating another object. Recording never fails a reconcile.
 */
import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import type { Logger } from '../telemetry/logger.js';
import { messageOf, statusCodeOf, type KubeWriter } from './client.js';

const eventSource = 'modelship-operator';

/** One Event to record about an object. */
export interface EventRecord {
  type: 'Normal' | 'Warning';
  /** CamelCase, e.g. RevisionCreated. */
  reason: string;
  message: string;
}

/** The object an Event is about: it must carry its apiVersion, kind, name, namespace and uid. */
export type InvolvedObject = KubernetesObject & { apiVersion: string; kind: string };

export class EventRecorder {
  /** "namespace/name" of an involved object → name of each Event this process recorded about it → count. */
  private readonly seen = new Map<string, Map<string, number>>();

  constructor(
    private readonly client: KubeWriter,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(obj: InvolvedObject, e: EventRecord): Promise<void> {
    const md = obj as InvolvedObject & { metadata: NonNullable<KubernetesObject['metadata']> };
    const namespace = md.metadata.namespace!;
    const digest = createHash('sha256')
      .update(`${md.metadata.uid}/${e.type}/${e.reason}/${e.message}`)
      .digest('hex')
      .slice(0, 16);
    const name = `${md.metadata.name}.${digest}`;
    const objectKey = `${namespace}/${md.metadata.name}`;
    let seen = this.seen.get(objectKey);
    if (!seen) this.seen.set(objectKey, (seen = new Map()));
    const time = this.now().toISOString();
    this.logger.info(e.message, { namespace, name: md.metadata.name, event: e.reason, eventType: e.type });
    try {
      const count = seen.get(name);
      if (count !== undefined) {
        try {
          await this.client.patchEvent(namespace, name, { count: count + 1, lastTimestamp: time });
          seen.set(name, count + 1);
          return;
        } catch (err) {
          if (statusCodeOf(err) !== 404) throw err; // reported below
          seen.delete(name); // expired on the server (--event-ttl, 1 h by default): record it afresh
        }
      }
      const event: CoreV1Event = {
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: md.apiVersion,
          kind: md.kind,
          name: md.metadata.name,
          namespace,
          uid: md.metadata.uid,
          resourceVersion: md.metadata.resourceVersion,
        },
        type: e.type,
        reason: e.reason,
        message: e.message,
        source: { component: eventSource },
        reportingComponent: eventSource,
        reportingInstance: eventSource,
        action: e.reason,
        count: 1,
        firstTimestamp: time as unknown as Date,
        lastTimestamp: time as unknown as Date,
      };
      await this.client.createEvent(event);
      seen.set(name, 1);
    } catch (err) {
      if (statusCodeOf(err) === 409) seen.set(name, 1); // created by an earlier run: bump it next time
      this.logger.warn('could not record an event', {
        namespace,
        name: md.metadata.name,
        event: e.reason,
        error: messageOf(err),
      });
    }
  }

  /** Forget the Events of a deleted object (their objects expire on the server). */
  forget(namespace: string, name: string): void {
    this.seen.delete(`${namespace}/${name}`);
  }
}

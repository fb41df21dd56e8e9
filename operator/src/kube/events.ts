/**
 * Records Kubernetes Events about ModelDeployments, as `kubectl describe` shows them. A repeat of the same
 * event bumps its count instead of creating another object. Recording never fails a reconcile.
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { apiVersion, kind, type ModelDeployment } from '../api/v1alpha1/schema.js';
import type { EventRecord } from '../reconcile/events.js';
import type { Logger } from '../telemetry/logger.js';
import { messageOf, statusCodeOf, type KubeClient } from './client.js';

export const eventSource = 'modelship-operator';

export class EventRecorder {
  /** name of the Event object → count, for events this process created. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(md: ModelDeployment, e: EventRecord): Promise<void> {
    const namespace = md.metadata.namespace!;
    const key = createHash('sha256')
      .update(`${md.metadata.uid}/${e.type}/${e.reason}/${e.message}`)
      .digest('hex')
      .slice(0, 16);
    const name = `${md.metadata.name}.${key}`;
    const time = this.now().toISOString();
    this.logger.info(e.message, { namespace, name: md.metadata.name, event: e.reason, eventType: e.type });
    try {
      const count = this.seen.get(name);
      if (count !== undefined) {
        await this.client.patchEvent(namespace, name, { count: count + 1, lastTimestamp: time });
        this.seen.set(name, count + 1);
        return;
      }
      const event: CoreV1Event = {
        metadata: { name, namespace },
        involvedObject: {
          apiVersion,
          kind,
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
      this.seen.set(name, 1);
    } catch (err) {
      if (statusCodeOf(err) === 409) this.seen.set(name, 1); // created by an earlier run: bump it next time
      this.logger.warn('could not record an event', {
        namespace,
        name: md.metadata.name,
        event: e.reason,
        error: messageOf(err),
      });
    }
  }

  /** Forget the Events of a deleted ModelDeployment (their objects expire on the server). */
  forget(md: { metadata?: { name?: string } }): void {
    const prefix = `${md.metadata?.name}.`;
    for (const name of this.seen.keys()) if (name.startsWith(prefix)) this.seen.delete(name);
  }
}

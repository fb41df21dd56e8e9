import type { V1Service } from '@kubernetes/client-node';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { commonLabels, revisionLabels, revisionObjectName, revisionSelector } from './names.js';
import { ownedMeta } from './owner.js';

/** Port users call on the Services (targets the server's `http` port). */
export const servicePort = 80;

/**
 * `<name>`: the address users call. It selects the pods of the live revision only; moving traffic to a new
 * revision is a change of this selector.
 */
export function desiredMainService(md: ModelDeployment, liveRevision: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMeta(md, md.metadata.name!, commonLabels(md)),
    spec: {
      type: 'ClusterIP',
      selector: revisionSelector(md, liveRevision),
      ports: [{ name: 'http', port: servicePort, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

/** `<name>-<revision>`: one revision's pods, for traffic providers and per-revision metrics. */
export function desiredRevisionService(md: ModelDeployment, revision: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMeta(md, revisionObjectName(md, revision), revisionLabels(md, revision)),
    spec: {
      type: 'ClusterIP',
      selector: revisionSelector(md, revision),
      ports: [
        { name: 'http', port: servicePort, targetPort: 'http', protocol: 'TCP' },
        { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' },
      ],
    },
  };
}

/** The revision the main Service sends traffic to, read back from the cluster (the truth, not a cached number). */
export function liveRevisionOf(service: V1Service | undefined): string | undefined {
  return service?.spec?.selector?.['modelship.dev/revision'];
}

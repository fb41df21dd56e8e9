import type { V1Service } from '@kubernetes/client-node';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { commonLabels, labelKeys, revisionLabels, revisionObjectName, revisionSelector } from './names.js';
import { ownedMeta } from './owner.js';
import { metricsTls, servesTls } from './security.js';

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
      // appProtocol tells meshes and gateways that speak to the Service what the pods serve (spec.tls).
      ports: [
        {
          name: 'http',
          port: servicePort,
          targetPort: 'http',
          protocol: 'TCP',
          appProtocol: servesTls(md) ? 'https' : undefined,
        },
        {
          name: 'metrics',
          port: 9090,
          targetPort: 'metrics',
          protocol: 'TCP',
          appProtocol: metricsTls(md) ? 'https' : undefined,
        },
      ],
    },
  };
}

/** Name of the headless Service over every serving pod of a ModelDeployment (`<name>-pods`). */
export const peersServiceName = (md: ModelDeployment): string => `${md.metadata.name}-pods`;

/** The port of `<name>-pods`: the serving container's own, as a headless Service addresses pods directly. */
export const peersPort = 8080;

/**
 * `<name>-pods`, headless: its name resolves to every ready serving pod, of every revision. Replicas forward ground
 * truth for a prediction they did not make to each other through it (spec.monitoring.feedback), so feedback posted
 * to the `<name>` Service reaches the pod that kept the prediction. Only with feedback.
 */
export function desiredPeersService(md: ModelDeployment): V1Service | undefined {
  if (!md.spec.monitoring?.feedback) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMeta(md, peersServiceName(md), commonLabels(md)),
    spec: {
      clusterIP: 'None',
      selector: { [labelKeys.deployment]: md.metadata.name!, [labelKeys.component]: 'model-server' },
      ports: [{ name: 'http', port: peersPort, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

/** The revision the main Service sends traffic to, read back from the cluster (the truth, not a cached number). */
export function liveRevisionOf(service: V1Service | undefined): string | undefined {
  return service?.spec?.selector?.['modelship.dev/revision'];
}

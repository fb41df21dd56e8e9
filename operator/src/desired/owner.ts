import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { apiVersion, kind, type ModelDeployment } from '../api/v1alpha1/schema.js';

/** The controller owner reference every object of a ModelDeployment carries (garbage collection, watches). */
export function ownerReference(md: ModelDeployment): V1OwnerReference {
  return {
    apiVersion,
    kind,
    name: md.metadata.name!,
    uid: md.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Metadata of an owned object. */
export function ownedMeta(md: ModelDeployment, name: string, labels: Record<string, string>): V1ObjectMeta {
  return { name, namespace: md.metadata.namespace!, labels, ownerReferences: [ownerReference(md)] };
}

/** Everything a ModelDeployment should own after a decision, in the order it is applied. Pure. */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { desiredDeployment } from './deployment.js';
import { desiredHpa } from './hpa.js';
import { desiredPdb } from './pdb.js';
import { desiredMainService, desiredRevisionService } from './service.js';

/** Which revision the spec asks for, and which one the `<name>` Service sends traffic to. */
export interface Placement {
  target: string;
  live: string;
}

/**
 * The target revision's objects, then the main Service. Objects of an older revision that is still kept
 * (the live one during a switch) are not rebuilt: they were made from an older spec and stay as they are
 * until they are removed.
 */
export function desiredObjects(md: ModelDeployment, placement: Placement, image: string): KubernetesObject[] {
  const t = placement.target;
  const objects: (KubernetesObject | undefined)[] = [
    desiredDeployment(md, t, image),
    desiredRevisionService(md, t),
    desiredPdb(md, t),
    desiredHpa(md, t),
    // Last: traffic moves only after the target's objects are in place.
    desiredMainService(md, placement.live),
  ];
  return objects.filter((o): o is KubernetesObject => o !== undefined);
}

export { desiredDeployment, desiredHpa, desiredPdb, desiredMainService, desiredRevisionService };

/** The pure builders of a revision's objects, by kind. */
export { desiredDeployment, desiredReplicas } from './deployment.js';
export { desiredHpa } from './hpa.js';
export { desiredPdb } from './pdb.js';
export { desiredMainService, desiredRevisionService } from './service.js';

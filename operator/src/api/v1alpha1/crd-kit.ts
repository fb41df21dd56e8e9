/** A CustomResourceDefinition of this API group, assembled from a kind's names, columns and schema. Pure. */
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import type { JsonSchema } from '../structural.js';
import { group, version } from './schema.js';

export interface CrdOptions {
  kind: string;
  plural: string;
  shortNames: string[];
  printerColumns: object[];
  schema: JsonSchema;
}

export function customResourceDefinition(o: CrdOptions): V1CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${o.plural}.${group}`,
      labels: { 'app.kubernetes.io/name': 'modelship', 'app.kubernetes.io/part-of': 'modelship' },
    },
    spec: {
      group,
      scope: 'Namespaced',
      names: {
        kind: o.kind,
        listKind: `${o.kind}List`,
        plural: o.plural,
        singular: o.kind.toLowerCase(),
        shortNames: o.shortNames,
        categories: ['modelship'],
      },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: o.printerColumns as never,
          schema: { openAPIV3Schema: o.schema as never },
        },
      ],
    },
  };
}

/** Building blocks of the API's TypeBox schemas (schema.ts, retraining.ts, model-version.ts). */
import { Type } from '@sinclair/typebox';
import { durationPattern } from './duration.js';

/** A CEL validation rule as the API server evaluates it. */
export interface CelRule {
  rule: string;
  message: string;
  /** A CEL string expression that builds the message from the value (naming what is wrong); wins over `message`. */
  messageExpression?: string;
  /** JSON path, relative to the schema node, of the field the error is reported on. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}
export const cel = (...rules: CelRule[]) => ({ 'x-kubernetes-validations': rules });

/** An embedded Kubernetes type: upstream's schema, client-node's TypeScript type. */
export function upstream<T>(schema: object, description: string) {
  return Type.Unsafe<T>({ ...(schema as Record<string, unknown>), description });
}

// Label-value syntax: a version appears as the app.kubernetes.io/version label of every object.
export const labelValuePattern = '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';

/** A Kubernetes object name (DNS subdomain), as CEL. */
export const dnsSubdomainRule = (what: string): CelRule => ({
  rule: "self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",
  message: `must be a valid ${what} name (lowercase letters, digits, "-" and ".")`,
});

/** A duration field ("30s", "1m30s"), with its default in the description too. */
export const duration = (description: string, dflt?: string) =>
  Type.String({
    description: dflt === undefined ? description : `${description} Default: ${dflt}.`,
    pattern: durationPattern,
    maxLength: 32,
    ...(dflt === undefined ? {} : { default: dflt }),
  });

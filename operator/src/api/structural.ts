/**
 * Turns a JSON Schema made with TypeBox into a Kubernetes *structural* schema, the dialect a CRD must use
 * (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
 * every node has a type, maps are `additionalProperties`, enumerations are `enum`, and nothing the
 * API server rejects (`$id`, `const`, `patternProperties`) is left. Pure; throws on anything it cannot express.
 */
export type JsonSchema = Record<string, unknown>;

const dropped = new Set(['$id', '$schema', 'title', 'examples']);

export function toStructural(schema: unknown, path = ''): JsonSchema {
  const input = JSON.parse(JSON.stringify(schema)) as JsonSchema; // also drops TypeBox's symbol keys
  return convert(input, path || '<root>');
}

function convert(node: JsonSchema, path: string): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (dropped.has(key)) continue;
    switch (key) {
      case 'properties':
        out.properties = Object.fromEntries(
          Object.entries(value as Record<string, JsonSchema>).map(([name, child]) => [
            name,
            convert(child, `${path}.${name}`),
          ]),
        );
        break;
      case 'items':
        out.items = convert(value as JsonSchema, `${path}[]`);
        break;
      case 'additionalProperties':
        if (typeof value === 'object') out.additionalProperties = convert(value as JsonSchema, `${path}{}`);
        else if (value === true) out['x-kubernetes-preserve-unknown-fields'] = true;
        // `false` is the structural default (unknown fields are pruned, and refused under strict validation).
        break;
      case 'patternProperties': {
        const entries = Object.entries(value as Record<string, JsonSchema>);
        if (entries.length !== 1 || entries[0]![0] !== '^(.*)$') {
          throw new Error(
            `${path}: patternProperties other than a plain string-keyed map cannot be expressed in a CRD`,
          );
        }
        out.additionalProperties = convert(entries[0]![1], `${path}{}`);
        break;
      }
      case 'const':
        out.enum = [value];
        break;
      case 'anyOf':
        Object.assign(out, convertAnyOf(node, value as JsonSchema[], path));
        break;
      default:
        out[key] = value;
    }
  }
  if (
    out.type === undefined &&
    !out['x-kubernetes-int-or-string'] &&
    !out['x-kubernetes-preserve-unknown-fields']
  ) {
    throw new Error(`${path}: every node of a structural schema needs a type`);
  }
  return out;
}

/** A union of literals becomes an enum; an int-or-string keeps its anyOf (the one structural use of it). */
function convertAnyOf(node: JsonSchema, branches: JsonSchema[], path: string): JsonSchema {
  if (node['x-kubernetes-int-or-string']) return { anyOf: branches };
  if (branches.length > 0 && branches.every((b) => 'const' in b)) {
    const types = new Set(branches.map((b) => b.type ?? typeof b.const));
    if (types.size !== 1)
      throw new Error(`${path}: an enum must have one type, found ${[...types].join(', ')}`);
    return { type: [...types][0], enum: branches.map((b) => b.const) };
  }
  throw new Error(`${path}: anyOf is only supported for unions of literals or int-or-string`);
}

/** Every property path of a structural schema with the node at it, depth first (for checks and tests). */
export function* walk(schema: JsonSchema, path = ''): Generator<[string, JsonSchema]> {
  for (const [name, child] of Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>)) {
    const p = path ? `${path}.${name}` : name;
    yield [p, child];
    yield* walk(child, p);
  }
  if (schema.items) yield* walk(schema.items as JsonSchema, `${path}[]`);
  if (typeof schema.additionalProperties === 'object')
    yield* walk(schema.additionalProperties as JsonSchema, `${path}{}`);
}

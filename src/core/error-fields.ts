/**
 * What a log line keeps of an error: its type, message, code, hint, details, HTTP status (AWS
 * SDK errors), stack and cause chain, as a plain object. Error fields such as `message` and
 * `stack` are not enumerable, so an Error copied field by field (as redaction does) comes out as
 * `{}`; loggers serialize errors with this first and redact the result.
 */

/** How many causes deep a chain is followed (a cycle stops there too). */
const MAX_CAUSE_DEPTH = 8;

export interface ErrorFields {
  type: string;
  message: string;
  code?: unknown;
  hint?: unknown;
  details?: unknown;
  statusCode?: number;
  stack?: string;
  errors?: unknown[];
  cause?: unknown;
}

interface ErrorShape {
  code?: unknown;
  Code?: unknown;
  hint?: unknown;
  details?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** A plain object for an Error (and its causes); anything else is returned unchanged. */
export function errorFields(value: unknown, depth = 0): unknown {
  if (!(value instanceof Error)) return value;
  const shape = value as Error & ErrorShape;
  const out: ErrorFields = { type: value.name, message: value.message };
  const code = shape.code ?? shape.Code;
  if (code !== undefined) out.code = code;
  if (shape.hint !== undefined) out.hint = shape.hint;
  if (
    shape.details !== undefined &&
    !(typeof shape.details === 'object' && shape.details !== null && Object.keys(shape.details).length === 0)
  ) {
    out.details = shape.details;
  }
  const status = shape.$metadata?.httpStatusCode;
  if (typeof status === 'number') out.statusCode = status;
  if (value.stack !== undefined) out.stack = value.stack;
  if (depth < MAX_CAUSE_DEPTH) {
    if (value instanceof AggregateError && Array.isArray(value.errors)) {
      out.errors = value.errors.map((inner: unknown) => errorFields(inner, depth + 1));
    }
    if (value.cause !== undefined && value.cause !== value) out.cause = errorFields(value.cause, depth + 1);
  }
  return out;
}

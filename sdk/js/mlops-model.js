// Write an mlops-host model in JavaScript (componentize-js).
//
// A model is a class; one instance is built per sandbox instance by
// `initialization` and used by every `predict`:
//
//     import { exportModel, Field, Frame, log } from '../../sdk/js/mlops-model.js';
//
//     class Doubler {
//       static inputs = [Field.f64('x', 'any number')];
//       static outputs = [Field.f64('y', 'twice x')];
//       initialization(artifactFolder, secrets) { log.info('ready'); }
//       predict(frame, secrets) { return Frame.fromF64('y', frame.f64('x').map((v) => 2 * v)); }
//     }
//
//     export const prediction = exportModel(Doubler);
//
// A model that also trains has a `train(data, folderPath, secrets)` method
// (on an instance of its own: `initialization` is not called first) that
// writes its artifacts with `writeArtifact` and returns metadata:
//
//       train(frame, folderPath) {
//         writeArtifact(folderPath, 'factor.json', JSON.stringify(2));
//         return { rows: frame.rows };
//       }
//
//     export const training = exportTraining(Doubler);
//
// Build it for a world in ./wit (mlops:model's `predictor`, or `model` for a
// model that also trains, plus the WASI filesystem this module reads and
// writes artifacts with); see README.md.
//
// The module mirrors the Rust SDK (sdk/rust): the same error messages, the
// same validity-bitmap rules, the same signature defaults.

import { log as hostLog } from 'mlops:model/logging@0.1.0';
import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';

/** An error the model reports on purpose; throw it from a model method.
 * Any other exception becomes an `internal` error (its stack is logged). */
export class ModelError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'ModelError';
    this.kind = kind;
    // componentize-js turns a thrown value with an own `payload` property
    // into the `err` case of the WIT `result`.
    this.payload = { kind, message };
  }

  /** The caller's data is wrong; the message says what to fix. */
  static badInput(message) {
    return new ModelError('bad-input', message);
  }

  /** An artifact is missing or malformed. */
  static badArtifact(message) {
    return new ModelError('bad-artifact', message);
  }

  /** The model does not offer this operation. */
  static unsupported(message) {
    return new ModelError('unsupported', message);
  }

  /** Anything else. */
  static internal(message) {
    return new ModelError('internal', message);
  }
}

// The validity bitmap for `valid` (bit i % 8 of byte i / 8, least
// significant bit first), or undefined (`none`) when every row is present.
function bitmap(valid) {
  if (valid.every(Boolean)) return undefined;
  const bits = new Uint8Array(Math.ceil(valid.length / 8));
  valid.forEach((present, row) => {
    if (present) bits[row >> 3] |= 1 << (row & 7);
  });
  return bits;
}

function rowValid(column, row) {
  const bits = column.validity;
  if (bits === undefined || bits === null) return true;
  const byte = row >> 3;
  return byte < bits.length && (bits[byte] & (1 << (row & 7))) !== 0;
}

/** A table of named columns: what `predict` reads and returns. Values come
 * as typed arrays: Float64Array (f64), BigInt64Array (s64), arrays of
 * strings and booleans. */
export class Frame {
  constructor(columns = []) {
    this.columns = columns;
  }

  /** A frame with one f64 column; `valid[i] === false` marks row i missing
   * (its value should be 0). */
  static fromF64(name, values, valid) {
    return new Frame().withF64(name, values, valid);
  }

  /** Adds an f64 column (an array or Float64Array) and returns the frame. */
  withF64(name, values, valid) {
    return this.#with(name, 'f64', values, valid);
  }

  /** Adds an s64 column (BigInts, or a BigInt64Array) and returns the frame. */
  withS64(name, values, valid) {
    return this.#with(name, 's64', values, valid);
  }

  /** Adds a string column and returns the frame. */
  withStrings(name, values, valid) {
    return this.#with(name, 'string', values, valid);
  }

  /** Adds a boolean column and returns the frame. */
  withBools(name, values, valid) {
    return this.#with(name, 'bool', values, valid);
  }

  #with(name, tag, values, valid) {
    const validity = valid ? bitmap(valid) : undefined;
    this.columns.push({ name, data: { tag, val: values }, validity });
    return this;
  }

  /** The number of rows (that of the first column; 0 without columns). */
  get rows() {
    return this.columns.length ? this.columns[0].data.val.length : 0;
  }

  /** The column called `name`, or a bad-input error naming it. */
  column(name) {
    const column = this.columns.find((c) => c.name === name);
    if (column) return column;
    const have = this.columns.map((c) => c.name).join(', ') || 'no columns';
    throw ModelError.badInput(`missing column \`${name}\` (the request has: ${have})`);
  }

  #values(name, tag) {
    const { data } = this.column(name);
    if (data.tag !== tag) {
      throw ModelError.badInput(`column \`${name}\` holds ${data.tag} values, expected ${tag}`);
    }
    return data.val;
  }

  /** The f64 values of column `name` (a Float64Array; missing rows hold 0). */
  f64(name) {
    return this.#values(name, 'f64');
  }

  /** The s64 values of column `name` (a BigInt64Array). */
  s64(name) {
    return this.#values(name, 's64');
  }

  /** The strings of column `name`. */
  strings(name) {
    return this.#values(name, 'string');
  }

  /** The booleans of column `name`. */
  bools(name) {
    return this.#values(name, 'bool');
  }

  /** Whether column `name` has a value in every row. */
  allValid(name) {
    const column = this.column(name);
    const rows = column.data.val.length;
    if (column.validity === undefined || column.validity === null) return true;
    for (let row = 0; row < rows; row++) if (!rowValid(column, row)) return false;
    return true;
  }

  /** Which rows hold a value in every one of the named columns, or null
   * when none of them has a validity bitmap (every row present: the fast
   * path). Rows past the end of a short bitmap are missing. */
  valid(...names) {
    const columns = names.map((name) => this.column(name));
    if (columns.every((c) => c.validity === undefined || c.validity === null)) return null;
    const rows = columns.length ? columns[0].data.val.length : 0;
    return Array.from({ length: rows }, (_, row) => columns.every((c) => rowValid(c, row)));
  }
}

/** Builds the `field` records of a signature. */
export const Field = {
  /** A column the model needs (rows may be missing). */
  required: (name, type, description) => ({ name, type, required: true, nullable: true, description }),
  /** A column the model uses when it is there. */
  optional: (name, type, description) => ({ name, type, required: false, nullable: true, description }),
  /** A required f64 column. */
  f64: (name, description) => Field.required(name, 'f64', description),
};

function emit(level, message, fields) {
  hostLog(level, message, Object.entries(fields).map(([k, v]) => [k, String(v)]));
}

/** Logging to the host: `log.info('message', { key: 'value' })`. */
export const log = {
  trace: (message, fields = {}) => emit('trace', message, fields),
  debug: (message, fields = {}) => emit('debug', message, fields),
  info: (message, fields = {}) => emit('info', message, fields),
  warn: (message, fields = {}) => emit('warn', message, fields),
  error: (message, fields = {}) => emit('error', message, fields),
};

// The secrets of the call in progress; `secret` reads them.
let currentSecrets = new Map();

/** The value of a secret the model declared, if the host has it (undefined
 * otherwise). Valid inside `initialization`, `predict` and `train`. */
export function secret(name) {
  return currentSecrets.get(name);
}

const dispose = Symbol.dispose ?? Symbol.for('dispose');

/** Reads an artifact file as a Uint8Array. A missing folder or file is a
 * bad-artifact error that names the file. */
export function readArtifact(artifactFolder, name) {
  if (artifactFolder === undefined || artifactFolder === null) {
    throw ModelError.badArtifact(
      `the model needs artifact \`${name}\` but has no artifact folder: set \`artifact_folder\` in mlops_settings.yaml`,
    );
  }
  const path = `${artifactFolder}/${name}`;
  // The engine has no file API: open the file through the preopened
  // directory that holds it (the host preopens the artifact folder).
  const target = preopenOf(path);
  if (!target) throw ModelError.badArtifact(`cannot read artifact \`${name}\`: ${path} is not in a preopened folder`);
  const [dir, inside] = target;
  let file;
  try {
    file = dir.openAt({ symlinkFollow: true }, inside, {}, { read: true });
    const chunks = [];
    let offset = 0n;
    for (;;) {
      const [bytes, end] = file.read(65536n, offset);
      chunks.push(bytes);
      offset += BigInt(bytes.length);
      if (end || bytes.length === 0) break;
    }
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
    return out;
  } catch (e) {
    // A WASI error arrives as an exception whose payload is its error code.
    throw ModelError.badArtifact(`cannot read artifact \`${name}\`: ${e?.payload ?? e}`);
  } finally {
    file?.[dispose]?.();
    dir[dispose]?.();
  }
}

// The preopened directory that holds `path`, and the path inside it.
function preopenOf(path) {
  const found = getDirectories().find(([, mount]) => path.startsWith(mount === '/' ? '/' : `${mount}/`));
  if (!found) return null;
  const [dir, mount] = found;
  return [dir, path.slice(mount.length).replace(/^\/+/, '')];
}

/** Writes an artifact file into `folderPath` (the folder `train` is given):
 * `content` is a string (written as UTF-8) or a Uint8Array; `name` may hold
 * subfolders (`sub/model.json`). A failure is an internal error naming the
 * file. */
export function writeArtifact(folderPath, name, content) {
  const parts = String(name).split('/');
  if (!name || name.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw ModelError.internal(
      `artifact name \`${name}\` is not a relative path inside the folder (like \`model.json\` or \`sub/model.json\`)`,
    );
  }
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : new Uint8Array(content);
  const target = preopenOf(`${folderPath}/${name}`);
  if (!target) throw ModelError.internal(`cannot write artifact \`${name}\`: ${folderPath} is not a writable folder`);
  const [dir, inside] = target;
  let file;
  try {
    const folders = inside.split('/').slice(0, -1);
    for (let i = 1; i <= folders.length; i++) {
      try {
        dir.createDirectoryAt(folders.slice(0, i).join('/'));
      } catch (e) {
        if (e?.payload !== 'exist') throw e;
      }
    }
    file = dir.openAt({}, inside, { create: true, truncate: true }, { write: true });
    let offset = 0;
    while (offset < bytes.length) {
      const written = Number(file.write(bytes.subarray(offset), BigInt(offset)));
      if (written <= 0) throw new Error('no progress writing');
      offset += written;
    }
  } catch (e) {
    if (e instanceof ModelError) throw e;
    throw ModelError.internal(`cannot write artifact \`${name}\`: ${e?.payload ?? e}`);
  } finally {
    file?.[dispose]?.();
    dir[dispose]?.();
  }
}

/** Reads an artifact file as UTF-8 text. */
export function readArtifactText(artifactFolder, name) {
  const bytes = readArtifact(artifactFolder, name);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw ModelError.badArtifact(`artifact \`${name}\` is not UTF-8 text`);
  }
}

function schema(spec) {
  if (spec === undefined || spec === 'any') return { tag: 'any' };
  if (spec === 'json') return { tag: 'json' };
  return { tag: 'frame', val: spec };
}

function input(spec, data) {
  if (data.tag === 'frame') {
    if (spec === 'json') throw ModelError.badInput('this model reads a JSON document, not columns');
    return new Frame(data.val.columns);
  }
  if (spec !== 'json' && spec !== 'any' && spec !== undefined) {
    throw ModelError.badInput('this model reads columns: send `data` as an object of named columns');
  }
  return data.val;
}

function output(result) {
  if (result instanceof Frame) return { tag: 'frame', val: { columns: result.columns } };
  if (typeof result === 'string') return { tag: 'json', val: result };
  throw ModelError.internal(`predict returned ${typeof result}: return a Frame or JSON text`);
}

// The metadata `train` returned, as the contract's entries.
function entries(metadata) {
  if (metadata === undefined || metadata === null) return [];
  if (typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw ModelError.internal(`train returned ${Array.isArray(metadata) ? 'an array' : typeof metadata}: return an object of metadata (or nothing)`);
  }
  return Object.entries(metadata).map(([key, value]) => ({ key, value: String(value) }));
}

// Runs a model method with the call's secrets; exceptions other than
// ModelError become `internal` errors instead of crashing the instance.
function call(secrets, run) {
  currentSecrets = new Map(secrets.map((s) => [s.name, s.value]));
  try {
    return run(currentSecrets);
  } catch (e) {
    if (e instanceof ModelError) throw e;
    log.error('unexpected exception', { stack: e?.stack ?? String(e) });
    throw ModelError.internal(`${e?.name ?? 'Error'}: ${e?.message ?? e}`);
  } finally {
    currentSecrets = new Map();
  }
}

/** The `state` resource: holds the model instance `initialization` built. */
class State {
  constructor(model) {
    this.model = model;
  }
}

// componentize-js 0.23 does not bind the class of an exported resource that
// has no methods (bytecodealliance/ComponentizeJS#221): its generated glue
// checks `instanceof State` against a global that is never defined. The glue
// runs in its own global object; `hostLog` is a function created there, so
// its `Function` constructor reaches that global, where we define `State`.
hostLog.constructor('return globalThis')().State = State;

/** The `prediction` export for `ModelClass`: export it from the model's
 * module as `prediction`. The class's static `inputs`/`outputs` are a list
 * of fields (a frame), 'json' or 'any' (the default). */
export function exportModel(ModelClass) {
  return {
    State, // where componentize-js looks for the resource class once #221 is fixed
    initialization(artifactFolder, secrets) {
      const model = new ModelClass();
      call(secrets, (s) => model.initialization?.(artifactFolder, s));
      return new State(model);
    },
    predict(data, state, secrets) {
      const { model } = state;
      return call(secrets, (s) => output(model.predict(input(ModelClass.inputs, data), s)));
    },
    describe() {
      return { inputs: schema(ModelClass.inputs), outputs: schema(ModelClass.outputs) };
    },
  };
}

/** The `training` export for `ModelClass` (its `train`): export it from the
 * model's module as `training` and build for the world `model`. */
export function exportTraining(ModelClass) {
  return {
    train(data, folderPath, secrets) {
      return call(secrets, (s) => {
        const model = new ModelClass();
        if (typeof model.train !== 'function') throw ModelError.unsupported('this model does not train');
        return entries(model.train(input('any', data), folderPath, s));
      });
    },
  };
}

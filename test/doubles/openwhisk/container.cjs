'use strict';
// One action container of the OpenWhisk test double, keeping the contract and the limits of the Node.js runtime's
// action proxy (apache/openwhisk-runtime-nodejs core/nodejsActionBase: app.js, src/service.js, runner.js), read
// from its source:
// - /init gets {value: {name, main, code, binary, env}} once; a body over the proxy's JSON limit (48 MB) is refused
//   as every bad request is, 500 {"error": "Bad request."}, whatever the deployment's code-size limit;
// - /init copies value.env into process.env; a binary action must start with the zip magic (else "The file type is
//   unsupported") and is unpacked with the system's `unzip -qq`, which checks every CRC;
// - /init failures answer 502 "Initialization has failed due to: ..." and leave the proxy stopped; a second /init
//   answers 403;
// - /run copies the per-activation string keys to __OW_* variables, then calls main: a value or promise gives the
//   result (a rejected promise: {error: <the error serialised>}); main throwing synchronously answers 502 "An error
//   has occurred: <error>" and stops the proxy, so every later /run answers 403 "System not ready, status is
//   stopped."; a result that is not an object answers 502 "The action did not return a dictionary.";
// - the sentinel line is written on stdout and stderr after each activation so that the invoker can cut the logs.
// Messages travel over the fork IPC channel instead of HTTP on port 8080; their shapes and status codes are the proxy's.
const { execFileSync } = require('node:child_process');
const { mkdtempSync, writeFileSync, existsSync, readFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX';
/** express.json({limit: '48mb'}) in the proxy's app.js: bytes as the `bytes` package counts "48mb". */
const REQUEST_BODY_LIMIT = 48 * 1024 * 1024;
let status = 'ready';
let main = null;

function reply(type, code, response) {
  process.send({ type, code, response });
}

function markers() {
  process.stdout.write(SENTINEL + '\n');
  process.stderr.write(SENTINEL + '\n');
}

function unpack(base64) {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.subarray(0, 4).toString('hex') !== '504b0304') throw 'There was an error uncompressing the action archive. The file type is unsupported';
  const archive = join(mkdtempSync(join(tmpdir(), 'owd-zip-')), 'action.zip');
  writeFileSync(archive, bytes);
  const dir = mkdtempSync(join(tmpdir(), 'owd-action-'));
  try {
    execFileSync('unzip', ['-qq', archive, '-d', dir], { stdio: 'ignore' });
  } catch {
    throw 'There was an error uncompressing the action Zip archive.';
  }
  return dir;
}

function load(value) {
  if (value.env && typeof value.env === 'object') {
    for (const [k, v] of Object.entries(value.env)) process.env[k] = typeof v !== 'object' || v === null ? (v ? String(v) : '') : JSON.stringify(v);
  }
  let mod;
  if (value.binary) {
    const dir = unpack(value.code);
    process.chdir(dir);
    if (!existsSync(join(dir, 'package.json')) && !existsSync(join(dir, 'index.js'))) throw 'Zipped actions must contain either package.json or index.js at the root.';
    mod = require(dir);
  } else {
    const file = join(mkdtempSync(join(tmpdir(), 'owd-action-')), 'action.js');
    writeFileSync(file, value.code + '\n;if (typeof main === "function" && !module.exports.main) module.exports.main = main;\n');
    mod = require(file);
  }
  const fn = mod[value.main];
  if (typeof fn !== 'function') throw "Action entrypoint '" + value.main + "' is not a function.";
  return fn;
}

function serialise(error) {
  if (!error) return {};
  if (error instanceof Error) {
    const out = { name: error.name, message: error.message, stack: error.stack };
    for (const [k, v] of Object.entries(error)) out[k] = v;
    return out;
  }
  return error;
}

function init(m) {
  if (status !== 'ready' || main !== null) return reply('init', 403, { error: main !== null ? 'Cannot initialize the action more than once.' : `System not ready, status is ${status}.` });
  if (m.bodyBytes > REQUEST_BODY_LIMIT) return reply('init', 500, { error: 'Bad request.' });
  const value = m.body.value || {};
  if (typeof value.main !== 'string' || typeof value.code !== 'string' || !value.main || !value.code) return reply('init', 403, { error: 'Missing main/no code to execute.' });
  try {
    main = load(value);
    reply('init', 200, { OK: true });
  } catch (e) {
    status = 'stopped';
    console.error('Error during initialization:', e);
    markers();
    reply('init', 502, { error: `Initialization has failed due to: ${e && e.stack ? String(e.stack) : e}` });
  }
}

async function run(m) {
  if (status !== 'ready' || main === null) return reply('run', 403, { error: main !== null ? `System not ready, status is ${status}.` : 'System not initialized.' });
  for (const [k, v] of Object.entries(m.body)) if (typeof v === 'string' && k !== 'value') process.env['__OW_' + k.toUpperCase()] = v;
  const args = m.body.value === undefined || m.body.value === null ? {} : m.body.value;
  status = 'running';
  let result;
  try {
    result = await new Promise((resolve, reject) => {
      let r;
      try {
        r = main(args);
      } catch (e) {
        return reject(e);
      }
      Promise.resolve(r).then(
        (v) => resolve(v === undefined ? {} : v),
        (e) => resolve({ error: serialise(e) }),
      );
    });
  } catch (e) {
    console.error(e);
    markers();
    status = 'stopped';
    return reply('run', 502, { error: `An error has occurred: ${e}` });
  }
  markers();
  status = 'ready';
  if (typeof result !== 'object' || result === null) return reply('run', 502, { error: 'The action did not return a dictionary.' });
  reply('run', 200, result);
}

process.on('message', (m) => {
  if (m.type === 'init') init(m);
  else if (m.type === 'run') void run(m);
});
process.send({ type: 'ready' });
